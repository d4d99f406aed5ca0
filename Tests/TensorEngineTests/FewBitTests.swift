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

    /// ReGELU2's published definition (yyyyychen/LowMemoryBP): gradOut * sum_i a_i [x > c_i].
    static func reGELU2(_ x: Float) -> Double {
        let c: [Double] = [-3.1858810036855245, -0.001178821281161997, 3.190832613414926]
        let a: [Double] = [-0.04922261145617846, 1.0979632065417297, -0.048740595085551286]
        return zip(a, c).reduce(0) { $0 + (x > Float($1.1) ? $1.0 : 0) }
    }

    @Test(arguments: TestDevices.all)
    func reGELU2ForwardIsExactAndBackwardIsItsDefinition(device: Device) throws {
        var rng = SeededRandom(seed: 21)
        var values = rng.normalFloats(997, std: 3)
        for (i, border) in FewBitTable.reGELU2.borders.enumerated() { values[3 * i] = border; values[3 * i + 1] = border.nextUp }
        let x = try Tensor(values, shape: [997], on: device).requiringGrad()
        let y = try activate(x, .gelu, memory: .reGELU2)
        #expect(try y.toArray() == activate(x.detached(), .gelu).toArray())
        #expect(y.retainedBytesByOp()["activate gelu ReGELU2"] == FewBitCodes.packedWordCount(count: 997, bits: 2) * 4)
        let g = rng.normalFloats(997)
        try y.backward(Tensor(g, shape: [997], on: device))
        #expect(nmse(try x.grad!.toArray(), values.indices.map { Double(g[$0]) * Self.reGELU2(values[$0]) }) < 1e-14)

        // The fused linear path keeps the same codes.
        let input = try Tensor.randn([16, 24], seed: 5, on: device).requiringGrad()
        let w = try Tensor.randn([24, 40], std: 0.5, seed: 6, on: device).requiringGrad()
        let out = try linear(input, weight: w, activation: .gelu, memory: .reGELU2)
        #expect(out.retainedBytesByOp()["gelu activation (ReGELU2)"] == 16 * 40 * 2 / 8)
        let gy = try Tensor.randn([16, 40], seed: 7, on: device)
        try out.backward(gy)
        let z = try withNoGrad { () throws(TensorError) in try linear(input, weight: w) }.toArray()
        let gyv = try gy.toArray()
        let gz = try Tensor(z.indices.map { Float(Double(gyv[$0]) * Self.reGELU2(z[$0])) }, shape: [16, 40], on: device)
        let expectedGx = try matmul(gz, w.detached().transposed()).toArray()
        #expect(nmse(try input.grad!.toArray(), doubles(expectedGx)) < 1e-12)

        #expect(throws: TensorError.self) { try Linear(4, 4, activation: .silu, memory: .reGELU2, on: device) }
        #expect(throws: TensorError.self) { try activate(x, .geluTanh, memory: .reGELU2) }
    }

    /// The documented distance of each table's backward from exact (ActivationMemory's
    /// documentation): gradient NMSE against the float64 GELU' on standard normal inputs.
    @Test(arguments: TestDevices.all)
    func gradientErrorAgainstExactIsTheDocumentedOne(device: Device) throws {
        let documented: [(ActivationMemory, Double)] = [
            (.fewBit(bits: 1), 0.103), (.fewBit(bits: 2), 0.0198), (.fewBit(bits: 3), 0.0075), (.fewBit(bits: 4), 0.0018),
            (.reGELU2, 0.128),
        ]
        var rng = SeededRandom(seed: 8)
        let count = 200_000
        let values = rng.normalFloats(count)
        let exact = values.map { Reference.derivative(.gelu, Double($0)) }
        for (memory, expected) in documented {
            let x = try Tensor(values, shape: [count], on: device).requiringGrad()
            try activate(x, .gelu, memory: memory).backward(Tensor.ones([count], on: device))
            let error = nmse(try x.grad!.toArray(), exact)
            print("gradient NMSE vs exact GELU', N(0, 1) inputs, \(memory): \(error)")
            #expect(abs(error - expected) <= 0.02 * expected, "\(memory): \(error), documented \(expected)")
        }
    }
}
