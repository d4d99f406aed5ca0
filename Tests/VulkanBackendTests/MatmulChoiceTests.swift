import Testing
import TensorCore
@testable import VulkanBackend

/// The matrix-product kernel choice as pure logic: fake device descriptions and shapes in,
/// the tile, split and kernel out (no device needed).
@Suite struct MatmulChoiceTests {
    static func gpu(_ vendor: MatmulDeviceProfile.Vendor, shared: Int = 49152, invocations: Int = 1024,
                    subgroup: Int = 32, arithmetic: Bool = true, concurrent: Int = 256) -> MatmulDeviceProfile {
        MatmulDeviceProfile(vendor: vendor, isCPU: false, subgroupSize: subgroup, maxSharedMemoryBytes: shared,
                            maxWorkgroupInvocations: invocations, subgroupArithmetic: arithmetic,
                            concurrentWorkgroups: concurrent)
    }

    static let lavapipe = MatmulDeviceProfile(vendor: .other, isCPU: true, subgroupSize: 8, maxSharedMemoryBytes: 32768,
                                              maxWorkgroupInvocations: 1024, subgroupArithmetic: true,
                                              concurrentWorkgroups: 8)
    /// Vulkan's minimum limits: 16 KiB of shared memory, 128 invocations.
    static let minimal = gpu(.other, shared: 16384, invocations: 128, subgroup: 4, arithmetic: false, concurrent: 64)

    @Test func vendorsFromPCIIdentifiers() {
        #expect(MatmulDeviceProfile.Vendor(vendorID: 0x10de) == .nvidia)
        #expect(MatmulDeviceProfile.Vendor(vendorID: 0x1002) == .amd)
        #expect(MatmulDeviceProfile.Vendor(vendorID: 0x8086) == .intel)
        #expect(MatmulDeviceProfile.Vendor(vendorID: 0x10005) == .other)
    }

    @Test func profileFromDeviceInfo() {
        let info = VulkanDeviceInfo(index: 0, name: "test GPU", type: .discrete, vendorID: 0x1002, deviceID: 1,
                                    apiVersion: "1.3.0", driverName: "test", driverVersion: "1", deviceLocalMemoryBytes: 1 << 30,
                                    subgroupSize: 64, maxComputeSharedMemoryBytes: 65536, maxComputeWorkgroupInvocations: 1024,
                                    supportedFeatures: [.subgroupArithmetic], isUsable: true, unusableReason: nil)
        let profile = MatmulDeviceProfile(info: info, features: [.subgroupArithmetic])
        #expect(profile == Self.gpu(.amd, shared: 65536, subgroup: 64))
        // Features come from the enabled set (TENSOR_VULKAN_NO_SUBGROUP removes it there).
        #expect(!MatmulDeviceProfile(info: info, features: []).subgroupArithmetic)
    }

    /// Big products take the vendor's large tile where it fits.
    @Test(arguments: [(MatmulDeviceProfile.Vendor.nvidia, MatmulTileConfig.nvidiaLarge), (.amd, .amdLarge),
                      (.intel, .intelLarge), (.other, .large)])
    func largeTilePerVendor(vendor: MatmulDeviceProfile.Vendor, expected: MatmulTileConfig) {
        let device = Self.gpu(vendor)
        #expect(MatmulTileConfig.choose(m: 4096, n: 4096, batch: 1, device: device) == expected)
        #expect(MatmulKernelChoice.choose(MatmulGeometry(m: 4096, n: 4096, k: 4096), device: device)
            == .tiled(expected, aligned: true))
    }

    /// A tile the device cannot hold is never chosen: the next one that fits is.
    @Test func limitsFilterTheCandidates() {
        // 16 KiB of shared memory: NVIDIA's and AMD's 16.9 KB tiles do not fit, the generic large one does.
        #expect(MatmulTileConfig.choose(m: 4096, n: 4096, batch: 1, device: Self.gpu(.nvidia, shared: 16384)) == .large)
        #expect(MatmulTileConfig.choose(m: 4096, n: 4096, batch: 1, device: Self.gpu(.amd, shared: 16384)) == .large)
        #expect(MatmulTileConfig.choose(m: 4096, n: 4096, batch: 1, device: Self.gpu(.intel, shared: 16384)) == .intelLarge)
        // 256 invocations: AMD's 512-invocation tile does not fit.
        #expect(MatmulTileConfig.choose(m: 4096, n: 4096, batch: 1, device: Self.gpu(.amd, invocations: 256)) == .large)
        // The Vulkan minimum (128 invocations): only the small tile.
        #expect(MatmulTileConfig.choose(m: 4096, n: 4096, batch: 1, device: Self.minimal) == .small)
        #expect(MatmulTileConfig.small.fits(Self.minimal))
        let vendors: [MatmulDeviceProfile.Vendor] = [.nvidia, .amd, .intel, .other]
        let limits = [16384, 32768, 49152].flatMap { shared in [128, 256, 512, 1024].map { (shared, $0) } }
        for vendor in vendors {
            for (shared, invocations) in limits {
                let device = Self.gpu(vendor, shared: shared, invocations: invocations)
                for (m, n, batch) in [(4096, 4096, 1), (256, 256, 1), (100, 100, 8), (9, 700, 1)] {
                    let config = MatmulTileConfig.choose(m: m, n: n, batch: batch, device: device)
                    #expect(config.fits(device), "\(config) on \(device)")
                }
            }
        }
    }

    @Test func sharedMemoryOfTheTiles() {
        // BK rows of (BM + 4) and (BN + 4) floats.
        #expect(MatmulTileConfig.large.sharedMemoryBytes == 4 * 8 * (132 + 132))
        #expect(MatmulTileConfig.intelLarge.sharedMemoryBytes == 4 * 16 * (68 + 132))
        #expect(MatmulTileConfig.amdLarge.threads == 512)
        for config in MatmulTileConfig.candidates {
            #expect(config.isValid, "\(config)")
            #expect(config.fits(.genericGPU), "\(config)")
        }
    }

    /// Smaller products step down so that enough workgroups remain; occupancy scales with the device.
    @Test func tileFollowsShape() {
        let nvidia = Self.gpu(.nvidia)
        #expect(MatmulTileConfig.choose(m: 1000, n: 1000, batch: 1, device: nvidia) == .nvidiaLarge)   // 64 tiles
        #expect(MatmulTileConfig.choose(m: 512, n: 512, batch: 1, device: nvidia) == .medium)         // 16 large tiles
        #expect(MatmulTileConfig.choose(m: 512, n: 512, batch: 4, device: nvidia) == .nvidiaLarge)
        #expect(MatmulTileConfig.choose(m: 200, n: 200, batch: 1, device: nvidia) == .medium)
        #expect(MatmulTileConfig.choose(m: 40, n: 4000, batch: 1, device: nvidia) == .small)
        #expect(MatmulTileConfig.choose(m: 10, n: 10, batch: 1, device: nvidia) == .small)
        // An integrated GPU is filled by fewer workgroups: 512^2 is large there.
        #expect(MatmulTileConfig.choose(m: 512, n: 512, batch: 1, device: Self.gpu(.intel, concurrent: 32)) == .intelLarge)
        #expect(MatmulTileConfig.choose(m: 1024, n: 1024, batch: 1, device: Self.lavapipe) == .cpuLarge)
        #expect(MatmulTileConfig.choose(m: 100, n: 1024, batch: 1, device: Self.lavapipe) == .cpuSmall)
    }

    @Test func splitKForLongKAndFewTiles() throws {
        // The shape: one tile, K = 4096.
        let g = MatmulGeometry(m: 8, n: 16, k: 4096)
        #expect(MatmulKernelChoice.choose(g, device: Self.lavapipe)
            == .splitK(.cpuSmall, aligned: false, split: MatmulSplitK(k: 4096, splits: 8, bk: 8)))
        #expect(MatmulSplitK(k: 4096, splits: 8, bk: 8) == MatmulSplitK.choose(m: 8, n: 16, k: 4096, batch: 1,
                                                                                config: .cpuSmall, device: Self.lavapipe))
        let onGPU = try #require(MatmulSplitK.choose(m: 8, n: 16, k: 4096, batch: 1, config: .small, device: .genericGPU))
        #expect(onGPU.splits == 16 && onGPU.chunk == 256)
        // Not split: short K, batches, enough tiles, matrix-vector products.
        #expect(MatmulKernelChoice.choose(MatmulGeometry(m: 8, n: 16, k: 1000), device: Self.lavapipe)
            == .tiled(.cpuSmall, aligned: false))
        #expect(MatmulKernelChoice.choose(MatmulGeometry(m: 8, n: 16, k: 4096, batch: 2), device: Self.lavapipe)
            == .tiled(.cpuSmall, aligned: false))
        #expect(MatmulKernelChoice.choose(MatmulGeometry(m: 4096, n: 4096, k: 4096), device: .genericGPU)
            == .tiled(.large, aligned: true))
        #expect(MatmulKernelChoice.choose(MatmulGeometry(m: 1, n: 16, k: 100_000), device: Self.lavapipe) == .matvec)
        #expect(MatmulSplitK.choose(m: 128, n: 128, k: 8192, batch: 1, config: .cpuLarge, device: Self.lavapipe) != nil)
        #expect(MatmulSplitK.choose(m: 512, n: 512, k: 8192, batch: 1, config: .cpuLarge, device: Self.lavapipe) == nil)
    }

    /// Whatever the shape, the parts cover K exactly once in whole BK steps, within the temporary's bound.
    @Test func splitKPartsCoverK() {
        for k in [1024, 1025, 3001, 4095, 4096, 4097, 65537, 1 << 20] {
            for (m, n) in [(5, 5), (8, 16), (33, 65), (200, 100)] {
                for (config, device) in [(MatmulTileConfig.cpuSmall, Self.lavapipe), (.small, .genericGPU),
                                         (.medium, .genericGPU), (.nvidiaLarge, Self.gpu(.nvidia))] {
                    guard let split = MatmulSplitK.choose(m: m, n: n, k: k, batch: 1, config: config, device: device) else {
                        continue
                    }
                    #expect(split.splits >= 2 && split.splits <= MatmulSplitK.maximumSplits, "\(split)")
                    #expect(split.chunk % config.bk == 0 && split.chunk >= MatmulSplitK.minimumChunk, "\(split)")
                    #expect((split.splits - 1) * split.chunk < k && split.splits * split.chunk >= k, "\(split) k \(k)")
                    #expect(split.splits * m * n <= MatmulSplitK.maximumTemporaryElements)
                }
            }
        }
        // Rounding the parts up to BK can leave fewer of them.
        let split = MatmulSplitK(k: 100, splits: 7, bk: 16)
        #expect(split.chunk == 16 && split.splits == 7)
        let rounded = MatmulSplitK(k: 100, splits: 6, bk: 16)
        #expect(rounded.chunk == 32 && rounded.splits == 4)
    }

    @Test func matvecKernelPerDeviceAndLayout() {
        let transposed = MatmulGeometry(m: 1, n: 4096, k: 4096, transposeB: true)
        let rowMajor = MatmulGeometry(m: 4, n: 4096, k: 4096)
        #expect(MatmulKernelChoice.choose(transposed, device: Self.gpu(.nvidia)) == .matvecSubgroup)
        #expect(MatmulKernelChoice.choose(transposed, device: Self.lavapipe) == .matvecSubgroup)
        #expect(MatmulKernelChoice.choose(transposed, device: Self.gpu(.nvidia, arithmetic: false)) == .matvec)
        #expect(MatmulKernelChoice.choose(rowMajor, device: Self.gpu(.nvidia)) == .matvec)
        #expect(MatmulKernelChoice.choose(MatmulGeometry(m: 5, n: 4096, k: 64, transposeB: true), device: Self.gpu(.nvidia))
            != .matvecSubgroup)
        // One column per subgroup of a 128-invocation workgroup.
        #expect(MatvecSubgroupShape(subgroupSize: 32).columns == 4)
        #expect(MatvecSubgroupShape(subgroupSize: 8).columns == 16)
        #expect(MatvecSubgroupShape(subgroupSize: 128).columns == 1)
        #expect(MatvecSubgroupShape(subgroupSize: 0).columns == 128)
    }
}
