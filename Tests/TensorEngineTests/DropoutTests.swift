import Foundation
import TestSupport
import Testing
import TensorEngine

/// Dropout: Philox4x32-10 against the Random123 known answers, the mask as a pure function of
/// (seed, index) identical on every device, the kept fraction, inverted scaling, p = 0 and 1,
/// a backward that regenerates the mask and retains nothing, bad probabilities.
@Suite(.vulkanValidation) struct DropoutTests {
    /// Random123's kat_vectors, philox4x32 10: counter, key, expected words.
    @Test func philoxMatchesTheKnownAnswers() {
        let vectors: [(SIMD4<UInt32>, SIMD2<UInt32>, SIMD4<UInt32>)] = [
            (.zero, .zero, SIMD4(0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8)),
            (SIMD4(repeating: .max), SIMD2(repeating: .max), SIMD4(0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd)),
            (SIMD4(0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344), SIMD2(0xa409_3822, 0x299f_31d0),
             SIMD4(0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1)),
        ]
        for (counter, key, expected) in vectors {
            #expect(Philox4x32.block(counter: counter, key: key) == expected)
        }
        // Stream index n reads word n % 4 of block n / 4: index 2 under seed 0 is word 2 of the first vector.
        #expect(Philox4x32.dropoutUniform(seed: 0, index: 2) == Float(0xbc57_ac4c >> 8) * 0x1p-24)
    }

    /// Every kept element is x / (1 - p) rounded once, every dropped one 0, as the Philox uniform says.
    @Test(arguments: TestDevices.all)
    func maskFollowsTheGeneratorAndScales(device: Device) throws {
        let count = 20_000, p: Float = 0.3, seed: UInt64 = 0xDEAD_BEEF_1234
        let values = (0..<count).map { Float($0 % 97) * 0.125 + 1 }   // never 0
        let y = try dropout(Tensor(values, shape: [count / 4, 4], on: device), probability: p, seed: seed).toArray()
        let scale = Float(1.0 / (1.0 - Double(p)))   // float64, rounded once
        var kept = 0, wrong = 0
        for i in 0..<count {
            let keep = Philox4x32.dropoutUniform(seed: seed, index: UInt64(i)) >= p
            if keep { kept += 1 }
            if y[i] != (keep ? values[i] * scale : 0) { wrong += 1 }
        }
        #expect(wrong == 0, "\(wrong) elements differ from the generator's mask on \(device.identifier)")
        // Kept fraction 0.7, standard deviation ~0.0032 at this size: a bound of 0.02 is > 6 sigma.
        #expect(Swift.abs(Double(kept) / Double(count) - 0.7) < 0.02)
        #expect(y.filter { $0 != 0 }.count == kept)
        // A pure function of the seed: again the same, another seed different.
        let again = try dropout(Tensor(values, shape: [count], on: device), probability: p, seed: seed).toArray()
        #expect(again == y)
        let other = try dropout(Tensor(values, shape: [count], on: device), probability: p, seed: seed + 1).toArray()
        #expect(other != y)
    }

    @Test func masksAreBitwiseEqualAcrossDevices() throws {
        let devices = TestDevices.all
        guard devices.count > 1 else { return }
        let values = (0..<5000).map { Float(sin(Double($0))) }
        let outputs = try devices.map { device in
            try dropout(Tensor(values, shape: [50, 100], on: device), probability: 0.45, seed: 987_654_321).rawBytes()
        }
        for (device, output) in zip(devices, outputs).dropFirst() {
            let differing = zip(output, outputs[0]).filter { $0 != $1 }.count
            #expect(output.count == outputs[0].count && differing == 0,
                    "\(differing) bytes of \(device.identifier) differ from \(devices[0].identifier)")
        }
    }

    @Test(arguments: TestDevices.all)
    func edgeProbabilitiesAndBadOnes(device: Device) throws {
        let x = try Tensor([1, -2, 3, .infinity], shape: [4], on: device)
        #expect(try dropout(x, probability: 0, seed: 1).toArray() == [1, -2, 3, .infinity])
        #expect(try dropout(x, probability: 1, seed: 1).toArray() == [0, 0, 0, 0])
        #expect(try dropout(x, probability: 0.9, seed: 1, training: false).toArray() == [1, -2, 3, .infinity])
        for bad in [Float(-0.1), 1.5, .nan] {
            #expect(throws: TensorError.self) { try dropout(x, probability: bad, seed: 1) }
        }
        #expect(try dropout(Tensor.zeros([0, 3], on: device), probability: 0.5, seed: 1).shape == [0, 3])
    }

    /// The backward applies the same mask and scale and keeps no tensor.
    @Test(arguments: TestDevices.all)
    func backwardRegeneratesTheMask(device: Device) throws {
        let n = 600, p: Float = 0.5, seed: UInt64 = 77
        let x = try Tensor((0..<n).map { Float($0) * 0.01 + 0.5 }, shape: [20, 30], on: device).requiringGrad()
        let weights = (0..<n).map { Float($0 % 7) - 3 }
        let y = try dropout(x, probability: p, seed: seed)
        let loss = try (y * Tensor(weights, shape: [20, 30], on: device)).sum()
        #expect(loss.retainedBytesByOp()["dropout", default: 0] == 0)
        try loss.backward()
        let expected = (0..<n).map { i in
            Philox4x32.dropoutUniform(seed: seed, index: UInt64(i)) < p ? 0 : weights[i] * 2
        }
        #expect(try x.grad!.toArray() == expected)
        try AutogradTests.check("dropout", on: device, shapes: [[5, 7]]) { t in
            try (dropout(t[0], probability: 0.3, seed: 5) * t[0]).sum()
        }
    }
}
