@testable import CPUBackend
import TensorCore
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("Device, library loading and memory")
struct DeviceTests {
    @Test("the shared device loads OpenBLAS and describes itself")
    func describes() {
        let device = CPUDevice.shared
        #expect(device.kind == .cpu)
        #expect(device.openBLASUnavailableReason == nil, "\(device.details)")
        #expect(device.details.contains("OpenBLAS"))
        #expect(device.details.contains("core \(device.openBLASCore ?? "?")"))
        #expect(device.details.contains("thread"))
    }

    @Test("OpenBLAS's idle workers spin briefly unless the user chose otherwise")
    func workerSpin() throws {
        _ = CPUDevice.shared
        // The test process does not set it, so the device did (before loading the library).
        let raw = try #require(getenv("OPENBLAS_THREAD_TIMEOUT"), "the device sets OPENBLAS_THREAD_TIMEOUT")
        #expect(String(cString: raw) == CPUDevice.workerSpinExponent)
    }

    @Test("a missing library gives a working device on the built-in matmul")
    func fallback() throws {
        let device = Devices.swift
        #expect(device.openBLASUnavailableReason?.contains("/nonexistent/") == true)
        #expect(device.details.contains("OpenBLAS unavailable:"))
        #expect(device.details.contains("using the built-in matmul (\(PackedGemm.kernelDescription(isa: CPUISA.active)))"))
        #expect(PackedGemm.kernelDescription(isa: .portable).contains("Swift"))
        #expect(PackedGemm.kernelDescription(isa: .avx512).contains("packed C kernel, avx512"))
        let a = try upload([1, 2, 3, 4, 5, 6], on: device), b = try upload([1, 0, 0, 1, 1, 1], on: device)
        let c = try device.makeBuffer(elementCount: 4)
        try device.matmul(a, b, into: c, geometry: MatmulGeometry(m: 2, n: 2, k: 3), epilogue: .none)
        #expect(try download(c, count: 4, on: device) == [4, 5, 10, 11])
    }

    @Test("a library without the CBLAS symbols is rejected with the reason")
    func wrongLibrary() {
        let device = CPUDevice(openBLASPath: "libc.so.6")
        #expect(device.openBLASUnavailableReason?.contains("cblas_sgemm") == true)
    }

    @Test("threads can be changed at run time")
    func threads() {
        let device = CPUDevice(threads: 1)
        #expect(device.threads == 1)
        device.threads = 2
        #expect(device.threads == 2)
        device.threads = 0
        #expect(device.threads == 1)
    }

    @Test("each device's products run OpenBLAS at its own thread count, whatever other devices use")
    func blasThreadsPerDevice() throws {
        // OpenBLAS rounds an 80 x 384 x 384 sgemm differently on one thread and on two; a
        // device made with one thread used to switch the whole process to one.
        let (m, k, n) = (80, 384, 384)
        var rng = SplitMix(seed: 21)
        let a = rng.floats(m * k, scale: 1), b = rng.floats(k * n, scale: 1)
        func product(on device: CPUDevice) throws -> [Float] {
            let c = try device.makeBuffer(elementCount: m * n)
            try device.matmul(try upload(a, on: device), try upload(b, on: device), into: c,
                              geometry: MatmulGeometry(m: m, n: n, k: k), epilogue: .none)
            return try download(c, count: m * n, on: device)
        }
        let two = CPUDevice(threads: 2)
        let first = try product(on: two)
        let one = CPUDevice(threads: 1)
        let single = try product(on: one)
        #expect(try product(on: two) == first, "a one-thread device changed a two-thread device's products")
        #expect(try product(on: one) == single)
        two.threads = 1
        #expect(try product(on: two) == single, "threads = 1 runs OpenBLAS on one thread")
        var worst = 0.0
        for row in 0..<m {
            for column in 0..<n {
                var exact = 0.0, magnitude = 0.0
                for i in 0..<k {
                    exact += Double(a[row * k + i]) * Double(b[i * n + column])
                    magnitude += abs(Double(a[row * k + i]) * Double(b[i * n + column]))
                }
                worst = max(worst, abs(Double(first[row * n + column]) - exact) / magnitude)
            }
        }
        #expect(worst < 1e-5, "largest error relative to sum |a b|: \(worst)")
    }

    @Test("core type choice follows the CPU flags")
    func coreChoice() {
        typealias F = OpenBLASCoreType.CPUFeatures
        let skx: Set<String> = ["avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"]
        #expect(OpenBLASCoreType.choose(for: F(vendor: "GenuineIntel", flags: skx))?.core == "SkylakeX")
        #expect(OpenBLASCoreType.choose(for: F(vendor: "GenuineIntel", flags: skx.union(["avx512_bf16"])))?.core
                == "Cooperlake")
        #expect(OpenBLASCoreType.choose(for: F(vendor: "GenuineIntel", flags: ["avx2", "fma"]))?.core == "Haswell")
        #expect(OpenBLASCoreType.choose(for: F(vendor: "AuthenticAMD", flags: ["avx2", "fma"]))?.core == "Zen")
        #expect(OpenBLASCoreType.choose(for: F(vendor: "GenuineIntel", flags: ["sse2"])) == nil)
        let parsed = OpenBLASCoreType.parse(cpuinfo: "vendor_id\t: GenuineIntel\nflags\t\t: fpu avx2 fma\n\nflags : x\n")
        #expect(parsed == F(vendor: "GenuineIntel", flags: ["fpu", "avx2", "fma"]))
    }

    @Test("buffers are 64-byte aligned and freed memory is reused")
    func bufferReuse() throws {
        let device = CPUDevice.shared
        var address: UInt = 0
        do {
            let buffer = try device.makeBuffer(elementCount: 3_000_001) as! CPUBuffer
            address = UInt(bitPattern: buffer.base)
            #expect(address % 64 == 0)
        }
        let again = try device.makeBuffer(elementCount: 3_000_001) as! CPUBuffer
        #expect(UInt(bitPattern: again.base) == address)
        let empty = try device.makeBuffer(elementCount: 0)
        #expect(empty.elementCount == 0)
    }

    @Test("size classes waste at most a quarter and the cache stays bounded")
    func sizeClasses() {
        for bytes in [1, 64, 65, 4096, 4097, 1 << 20, (1 << 20) + 1, 3_000_001 * 4] {
            let c = BufferPool.sizeClass(for: bytes)
            #expect(c >= bytes && c % 64 == 0 && Double(c) <= max(64, Double(bytes) * 1.25 + 64))
        }
        let pool = BufferPool(limitBytes: 1 << 20)
        for _ in 0..<4 {
            if let (p, capacity) = pool.acquire(bytes: 400_000) {
                pool.release(p, bytes: capacity)
            }
        }
        var blocks: [(UnsafeMutableRawPointer, Int)] = []
        for _ in 0..<5 { if let block = pool.acquire(bytes: 400_000) { blocks.append(block) } }
        for (p, capacity) in blocks { pool.release(p, bytes: capacity) }
        #expect(pool.cachedBytes <= 1 << 20)
        pool.trim(to: 0)
        #expect(pool.cachedBytes == 0)
    }
}
