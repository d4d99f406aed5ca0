import Foundation
import TestSupport
import Testing
import TensorEngine

/// Few-bit activation memory through the public API, on every device.
@Suite(.vulkanValidation) struct FewBitTests {
    @Test(arguments: TestDevices.all)
    func backwardIsGradientTimesLevelExactly(device: Device) throws {
        var rng = SeededRandom(seed: 9)
        for bits in 1...8 {
            // 7- and 8-bit tables take seconds each in a debug build (minutes under TSan):
            // two activations there cover the code layout, which does not depend on f'.
            let activations: [Activation] = bits <= 6 ? [.gelu, .silu, .tanh, .sigmoid, .relu, .mish] : [.gelu, .relu]
            for activation in activations {
                let table = try FewBitTable.optimal(for: activation, bits: bits)
                var values = rng.normalFloats(301, std: 3)
                values[0] = table.borders[0]                       // a border goes to the lower piece
                values[1] = table.borders[table.borders.count - 1]
                let x = try Tensor(values, shape: [301], on: device).requiringGrad()
                let y = try activate(x, activation, memory: .fewBit(bits: bits))
                #expect(try y.toArray() == activate(x.detached(), activation).toArray(), "\(activation) \(bits)-bit forward")
                let g = rng.normalFloats(301)
                try y.backward(Tensor(g, shape: [301], on: device))
                let expected = values.indices.map { g[$0] * table.levels[table.code(for: values[$0])] }
                #expect(try x.grad!.toArray() == expected, "\(activation) \(bits)-bit backward")
            }
        }
    }

    @Test(arguments: TestDevices.all)
    func fusedLinearMatchesHostFewBitGradients(device: Device) throws {
        // 7 bits with GELU: the table is cached, shared with the test above (a smooth 7-bit
        // table costs seconds to compute in a debug build).
        for (bits, activation) in [(1, Activation.relu), (3, .geluTanh), (5, .silu), (7, .gelu)] {
            let x = try Tensor.randn([13, 9], seed: 1, on: device).requiringGrad()
            let w = try Tensor.randn([9, 21], std: 0.5, seed: 2, on: device).requiringGrad()
            let b = try Tensor.randn([21], seed: 3, on: device).requiringGrad()
            let y = try linear(x, weight: w, bias: b, activation: activation, memory: .fewBit(bits: bits))
            let exact = try withNoGrad { () throws(TensorError) in try linear(x, weight: w, bias: b, activation: activation) }
            #expect(try y.toArray() == exact.toArray())
            let g = try Tensor.randn([13, 21], seed: 4, on: device)
            try y.backward(g)
            // Host: gz = g * levels[code(z)], with z = x w + b from the same device.
            let table = try FewBitTable.optimal(for: activation, bits: bits)
            let z = try withNoGrad { () throws(TensorError) in try linear(x, weight: w, bias: b) }.toArray()
            let gv = try g.toArray()
            let gz = z.indices.map { gv[$0] * table.levels[table.code(for: z[$0])] }
            let gzTensor = try Tensor(gz, shape: [13, 21], on: device)
            let expectedGx = try matmul(gzTensor, w.detached().transposed()).toArray()
            let expectedGw = try matmul(x.detached().transposed(), gzTensor).toArray()
            #expect(nmse(try x.grad!.toArray(), doubles(expectedGx)) < 1e-12, "\(bits)-bit dx")
            #expect(nmse(try w.grad!.toArray(), doubles(expectedGw)) < 1e-12, "\(bits)-bit dw")
            #expect(nmse(try b.grad!.toArray(), doubles(try gzTensor.sum(axis: 0).toArray())) < 1e-12, "\(bits)-bit db")
        }
    }

    @Test(arguments: TestDevices.all)
    func fewBitRetainsAFractionOfExact(device: Device) throws {
        let x = try Tensor.randn([64, 64], seed: 1, on: device)
        func retained(_ memory: ActivationMemory) throws -> Int {
            let layer = try Linear(64, 512, activation: .gelu, memory: memory, seed: 2, on: device)
            return try layer(x).sum().retainedBytesByOp()["gelu activation (\(memory))"] ?? 0
        }
        let exact = try retained(.exact)
        #expect(exact == 64 * 512 * 4)
        for bits in 1...8 {
            let fewBit = try retained(.fewBit(bits: bits))
            #expect(fewBit == 64 * 512 * bits / 8, "\(bits)-bit keeps \(fewBit) bytes")
        }
        #expect(try Double(exact) / Double(retained(.fewBit(bits: 3))) >= 10)
        #expect(throws: TensorError.self) { try Linear(4, 4, activation: .gelu, memory: .fewBit(bits: 9), on: device) }
        #expect(throws: TensorError.self) { try activate(x.requiringGrad(), .gelu, memory: .fewBit(bits: 0)) }
    }

    @Test(arguments: TestDevices.all)
    func threeBitGELUTrainsLikeExact(device: Device) throws {
        let (x, _, labels) = try TrainingTests.digits(on: device)
        let pixels = try x.toArray()
        let trainCount = 1400
        let xTrain = try Tensor(Array(pixels[0..<(trainCount * 64)]), shape: [trainCount, 64], on: device)
        let yTrain = try Tensor(int32: Array(labels[0..<trainCount]), shape: [trainCount], on: device)
        let xTest = try Tensor(Array(pixels[(trainCount * 64)...]), shape: [1797 - trainCount, 64], on: device)
        var accuracies: [ActivationMemory: Double] = [:]
        for memory in [ActivationMemory.exact, .fewBit(bits: 3)] {
            let model = Sequential([
                try Linear(64, 64, activation: .gelu, memory: memory, seed: 1, on: device),
                try Linear(64, 10, seed: 2, on: device),
            ])
            let optimizer = Adam(parameters: model.parameters, learningRate: 1e-2)
            for _ in 0..<(device.kind == .cpu ? 40 : 15) {
                optimizer.zeroGrad()
                try softmaxCrossEntropy(logits: model(xTrain), labels: yTrain).backward()
                try optimizer.step()
            }
            accuracies[memory] = try TrainingTests.accuracy(try withNoGrad { () throws(TensorError) in try model(xTest) }, labels[trainCount...])
        }
        let exact = accuracies[.exact]!, fewBit = accuracies[.fewBit(bits: 3)]!
        #expect(exact > 0.8, "exact accuracy \(exact)")
        #expect(fewBit > exact - 0.03, "3-bit accuracy \(fewBit) vs exact \(exact)")
    }
}
