import Foundation
import TestSupport
import Testing
import TensorEngine

@Suite(.vulkanValidation) struct TensorTests {
    @Test(arguments: TestDevices.all)
    func creationAndReadBack(device: Device) throws {
        let x = try Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3], on: device)
        #expect(x.shape == [2, 3])
        #expect(x.device == device)
        #expect(try x.toArray() == [1, 2, 3, 4, 5, 6])
        #expect(try Tensor.zeros([3, 1], on: device).toArray() == [0, 0, 0])
        #expect(try Tensor.ones([2], on: device).toArray() == [1, 1])
        #expect(try Tensor.full([2, 2], value: -2.5, on: device).toArray() == [-2.5, -2.5, -2.5, -2.5])
        #expect(try Tensor.zeros([0, 4], on: device).toArray() == [])
        #expect(try Tensor(scalar: 3, on: device).item() == 3)
        let labels = try Tensor(int32: [Int32(3), 1, 4], shape: [3], on: device)
        #expect(labels.dtype == .int32)
        #expect(try labels.toInt32Array() == [3, 1, 4])
    }

    @Test func randomTensorsAreSeededAndDeviceIndependent() throws {
        let a = try Tensor.randn([1000], seed: 5, on: .cpu).toArray()
        let b = try Tensor.randn([1000], seed: 5, on: .cpu).toArray()
        let c = try Tensor.randn([1000], seed: 6, on: .cpu).toArray()
        #expect(a == b)
        #expect(a != c)
        let mean = a.reduce(0, +) / 1000
        let variance = a.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 1000
        #expect(abs(mean) < 0.1)
        #expect(abs(variance - 1) < 0.15)
        for device in TestDevices.all {
            #expect(try Tensor.randn([1000], seed: 5, on: device).toArray() == a)
        }
        let u = try Tensor.uniform([1000], low: -2, high: 3, seed: 1, on: .cpu).toArray()
        #expect(u.allSatisfy { $0 >= -2 && $0 < 3 })
    }

    @Test(arguments: TestDevices.all)
    func moveBetweenDevices(device: Device) throws {
        let x = try Tensor.randn([5, 3], seed: 2, on: .cpu)
        let moved = try x.to(device)
        #expect(moved.device == device)
        #expect(try moved.toArray() == x.toArray())
        #expect(try moved.to(.cpu).toArray() == x.toArray())
    }

    @Test func devicesDescribeThemselves() throws {
        let cpu = Device.cpu
        #expect(cpu.kind == .cpu)
        #expect(!cpu.name.isEmpty)
        #expect(!cpu.details.isEmpty)
        #expect(Device.available.first == cpu)
        #expect(Device.available.contains(Device.default))
        #expect(try Device.select("cpu") == .cpu)
        #expect(throws: TensorError.self) { try Device.select("tpu") }
        // A CPU-type Vulkan device (lavapipe) is never the automatic choice.
        let automatic = try Device.select(nil)
        if automatic.kind == .vulkan {
            #expect(!automatic.name.lowercased().contains("llvmpipe"))
        }
        // Vulkan either opens or says why not.
        if Device.available.allSatisfy({ $0.kind == .cpu }) {
            #expect(!Device.unavailable.isEmpty)
            #expect(throws: TensorError.self) { try Device.vulkan(index: 0) }
        }
        #expect(throws: TensorError.self) { try Device.vulkan(index: 999) }
    }

    @Test func npyRoundTripAndRealFile() throws {
        let x = try Tensor.randn([3, 5, 2], seed: 1, on: .cpu)
        let data = try x.npyData()
        let back = try Tensor(npy: data, on: .cpu)
        #expect(back.shape == [3, 5, 2])
        #expect(try back.toArray() == x.toArray())
        let labels = try Tensor(int32: [Int32(7), -1], shape: [2], on: .cpu)
        let labelsBack = try Tensor(npy: labels.npyData(), on: .cpu)
        #expect(labelsBack.dtype == .int32)
        #expect(try labelsBack.toInt32Array() == [7, -1])
        let scalar = try Tensor(npy: Tensor(scalar: 2, on: .cpu).npyData(), on: .cpu)
        #expect(scalar.shape == [])
        // The header is padded to a multiple of 64 bytes, as NumPy writes it.
        #expect((Int(data[8]) + 10) % 64 == 0)

        let digits = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Benchmarks/data/digits_x.npy").standardized.path
        let images = try Tensor(npyFile: digits, on: .cpu)
        #expect(images.shape == [1797, 64])
        let pixels = try images.toArray()
        #expect(pixels.allSatisfy { $0 >= 0 && $0 <= 1 })
        #expect(pixels.contains { $0 > 0.9 })
    }

    @Test func malformedNPYThrows() throws {
        let good = try Tensor([1, 2, 3, 4], shape: [2, 2], on: .cpu).npyData()
        func header(_ text: String) -> Data {
            var padded = text
            while (10 + padded.utf8.count + 1) % 64 != 0 { padded += " " }
            padded += "\n"
            var data = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(padded.utf8.count), 0])
            data.append(contentsOf: Array(padded.utf8))
            return data
        }
        let sixteenBytes = Data(count: 16)
        let cases: [(String, Data)] = [
            ("truncated", good.prefix(good.count - 3)),
            ("wrong magic", Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x58]) + good.dropFirst(6)),
            ("empty", Data()),
            ("header too long", Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, 0xFF, 0xFF, 0x7B])),
            ("big-endian", header("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }") + sixteenBytes),
            ("float64", header("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }") + sixteenBytes),
            ("fortran", header("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }") + sixteenBytes),
            ("lies about size", header("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000), }") + sixteenBytes),
            ("too much data", header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }") + sixteenBytes),
            ("negative shape", header("{'descr': '<f4', 'fortran_order': False, 'shape': (-4,), }") + sixteenBytes),
            ("no shape", header("{'descr': '<f4', 'fortran_order': False, }") + sixteenBytes),
        ]
        for (name, data) in cases {
            #expect(throws: TensorError.self, "\(name)") { try Tensor(npy: data, on: .cpu) }
        }
        #expect(throws: TensorError.self) { try Tensor(npyFile: "/nonexistent/file.npy", on: .cpu) }
    }
}
