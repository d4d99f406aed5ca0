import Foundation
import TestSupport
import Testing
import TensorConformance
import TensorEngine
import VulkanBackend

/// The conformance table on every available backend: the CPU, and Vulkan devices
/// (lavapipe in CI) with the Khronos validation layer on.
@Suite(.vulkanValidation) struct ConformanceTests {
    @Test(arguments: TestDevices.all)
    func tableConformsOn(device: Device) {
        let start = Date()
        let results = ConformanceRunner.run(on: device.backend, device: device.identifier)
        let failures = results.filter { !$0.passed }
        for failure in failures {
            Issue.record("\(failure)")
        }
        #expect(results.count == ConformanceTable.cases().count)
        print("conformance \(device.identifier): \(results.count - failures.count) passed, \(failures.count) failed in \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
    }

    /// Every kind of ``BackendOp`` has conformance cases (``BackendOp/operation`` is an
    /// exhaustive switch, so a new op needs a kind), and every op with a composite has
    /// composite cases too.
    @Test func everyBackendOperationHasAnEntry() {
        let cases = ConformanceTable.cases()
        let covered = Set(cases.map(\.operation))
        for operation in BackendOperation.allCases {
            #expect(covered.contains(operation), "\(operation) has no conformance case")
        }
        let composite = Set(cases.filter(\.viaComposite).map(\.operation))
        #expect(composite.isSuperset(of: [.scaleShift, .matmul]), "composite cases cover \(composite)")
    }

    /// Every shader in Shaders/ is exercised by a backend operation that has conformance
    /// cases; a new shader file without an entry here fails.
    @Test func everyShaderIsCoveredByAnOperation() throws {
        let shaderOperations: [String: [BackendOperation]] = [
            "activation": [.activate, .activationBackward],
            "binary": [.binary],
            "cast": [.cast],
            "onehot": [.oneHot],
            "attention_forward": [.attentionForward],
            "attention_backward_q": [.attentionBackward],
            "attention_backward_kv": [.attentionBackward],
            "delta_update": [.deltaUpdate],
            "adam_update": [.adamUpdate],
            "select": [.select],
            "reduce_index": [.reduceIndex],
            "topk": [.topK],
            "dropout": [.dropout],
            "gather_rows": [.gatherRows],
            "scatter_add_rows": [.scatterAddRows],
            "copy_strided": [.copyStrided],
            "copy_into": [.copyInto],
            "fewbit": [.activateFewBit, .fewBitBackward],
            "fill": [.fill],
            "matmul_naive": [.matmul],          // also tensorbench's naive baseline
            "matmul_tiled": [.matmul],
            "matvec": [.matmul],
            "matvec_subgroup": [.matmul],         // M <= 4 with B transposed, subgroup arithmetic
            "matmul_split_k_reduce": [.matmul],   // split-K: long K, few tiles
            "output_sparse_matmul": [.outputSparseMatmul],
            "reduce_sum": [.reduceSum],
            "scale_shift": [.scaleShift],
            "softmax": [.softmax],
            "sparse_matmul": [.sparseMatmul, .sparseActiveCounts],
            "unary": [.unary],
            "layer_norm": [.layerNorm, .rmsNorm],
            "layer_norm_backward": [.layerNormBackward, .rmsNormBackward, .normBackwardFromOutput],
            "group_quantize": [.groupQuantize, .groupDequantize],
            // Diagnostic busy loop, run by no op: Tests/ReliabilityTests/FenceTimeoutTests.swift.
            "spin": [],
        ]
        let shaders = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Shaders").standardized
        let files = try FileManager.default.contentsOfDirectory(atPath: shaders.path).filter { $0.hasSuffix(".comp") }
        #expect(files.count >= 10)
        let covered = Set(ConformanceTable.cases().map(\.operation))
        for file in files {
            let name = String(file.dropLast(".comp".count))
            guard let operations = shaderOperations[name] else {
                Issue.record("Shaders/\(file) is not mapped to the operations that run it (and so to their conformance cases)")
                continue
            }
            for operation in operations {
                #expect(covered.contains(operation), "Shaders/\(file): \(operation) has no conformance case")
            }
        }
    }

    /// The checks themselves catch what they claim to: a wrong value, an unwritten element,
    /// a NaN, a flipped zero sign.
    @Test func checksRejectWrongOutputs() {
        let reference: [Double] = [1, -2, 0, 3]
        #expect(ConformanceRunner.check([1, -2, 0, 3], reference, exactSigns: true, bound: 1e-10).failure == nil)
        #expect(ConformanceRunner.check([1, -2, 0, 3.01], reference, exactSigns: false, bound: 1e-10).failure != nil)
        #expect(ConformanceRunner.check([1, -2, .nan, 3], reference, exactSigns: false, bound: 1).failure != nil)
        #expect(ConformanceRunner.check([1, -2, -0.0, 3], reference, exactSigns: true, bound: 1).failure != nil)
        let unwritten = ConformanceRunner.check([1, -2, Harness.poison, 3], reference, exactSigns: false, bound: 1e-10).failure ?? ""
        #expect(unwritten.contains("never written"))
    }
}
