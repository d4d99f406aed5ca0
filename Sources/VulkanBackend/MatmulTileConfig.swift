import Foundation
import TensorCore

/// What the matrix-product kernel choice needs to know about a device, as plain data so the
/// choice can be tested without one (``MatmulTileConfig/choose(m:n:batch:device:)``,
/// ``MatmulKernelChoice/choose(_:device:)``).
struct MatmulDeviceProfile: Sendable, Equatable {
    /// The GPU vendors with their own large tile (from the PCI vendor ID).
    enum Vendor: Sendable, Equatable {
        case nvidia, amd, intel, other

        init(vendorID: UInt32) {
            switch vendorID {
            case 0x10de: self = .nvidia
            case 0x1002, 0x1022: self = .amd
            case 0x8086: self = .intel
            default: self = .other
            }
        }
    }

    var vendor: Vendor
    /// A CPU implementation (lavapipe): unstaged tiles, no shared memory.
    var isCPU: Bool
    /// The default subgroup size (sizes the subgroup matrix-vector kernel's workgroup share).
    var subgroupSize: Int
    /// Shared memory one workgroup may declare, in bytes.
    var maxSharedMemoryBytes: Int
    /// Invocations one one-dimensional workgroup may have.
    var maxWorkgroupInvocations: Int
    /// Subgroup arithmetic in compute shaders (enabled, after TENSOR_VULKAN_NO_SUBGROUP).
    var subgroupArithmetic: Bool
    /// Workgroups that keep the whole device busy: the occupancy below which a product with
    /// a long K is split (split-K). Vulkan does not report core counts portably, so this is
    /// a per-type estimate: 256 for discrete GPUs (around a hundred compute units, two
    /// workgroups each), 32 for integrated ones, 64 otherwise, and a fixed 8 for CPU
    /// drivers (lavapipe runs one workgroup per thread; fixed so that every host runs the
    /// same kernels for the same shape). To be measured on real GPUs (scripts/device-check).
    var concurrentWorkgroups: Int

    /// A discrete GPU of no particular vendor at the Vulkan minimum limits' typical values
    /// (32-wide subgroups, 48 KiB shared memory, 1024 invocations), with subgroup arithmetic.
    static let genericGPU = MatmulDeviceProfile(vendor: .other, isCPU: false, subgroupSize: 32,
                                                maxSharedMemoryBytes: 49152, maxWorkgroupInvocations: 1024,
                                                subgroupArithmetic: true, concurrentWorkgroups: 256)

    init(vendor: Vendor, isCPU: Bool, subgroupSize: Int, maxSharedMemoryBytes: Int, maxWorkgroupInvocations: Int,
         subgroupArithmetic: Bool, concurrentWorkgroups: Int) {
        self.vendor = vendor
        self.isCPU = isCPU
        self.subgroupSize = subgroupSize
        self.maxSharedMemoryBytes = maxSharedMemoryBytes
        self.maxWorkgroupInvocations = maxWorkgroupInvocations
        self.subgroupArithmetic = subgroupArithmetic
        self.concurrentWorkgroups = concurrentWorkgroups
    }

    /// The profile of an opened device: its reported limits and its enabled features.
    init(info: VulkanDeviceInfo, features: VulkanFeatures) {
        let concurrent: Int
        switch info.type {
        case .cpu: concurrent = 8
        case .discrete: concurrent = 256
        case .integrated: concurrent = 32
        case .virtual, .other: concurrent = 64
        }
        self.init(vendor: Vendor(vendorID: info.vendorID), isCPU: info.type == .cpu,
                  subgroupSize: max(1, info.subgroupSize),
                  maxSharedMemoryBytes: info.maxComputeSharedMemoryBytes,
                  maxWorkgroupInvocations: info.maxComputeWorkgroupInvocations,
                  subgroupArithmetic: features.contains(.subgroupArithmetic), concurrentWorkgroups: concurrent)
    }
}

/// Tile sizes of the tiled matrix product (specialisation constants of Shaders/matmul_tiled.comp).
///
/// The candidates are a small table, filtered per device by what it allows (the tile's
/// shared memory, its invocations) and chosen per product by shape:
///
/// | tile | BM x BN x BK | TM x TN | invocations | shared memory | for |
/// |---|---|---|---|---|---|
/// | ``small`` | 32 x 32 x 8 | 4 x 4 | 64 | 2.3 KB | small or thin products |
/// | ``medium`` | 64 x 64 x 16 | 4 x 4 | 256 | 8.7 KB | mid-size products |
/// | ``large`` | 128 x 128 x 8 | 8 x 8 | 256 | 8.6 KB | big products, unknown vendor |
/// | ``nvidiaLarge`` | 128 x 128 x 16 | 8 x 8 | 256 | 16.9 KB | big products, NVIDIA |
/// | ``amdLarge`` | 128 x 128 x 16 | 4 x 8 | 512 | 16.9 KB | big products, AMD (64-wide waves) |
/// | ``intelLarge`` | 64 x 128 x 16 | 4 x 8 | 256 | 12.8 KB | big products, Intel (smaller register files) |
/// | ``cpuLarge``, ``cpuSmall`` | 128 / 32 | 16 / 4 | 64 | none used | CPU drivers |
///
/// ```swift
/// let config = MatmulTileConfig.choose(m: 4096, n: 4096, batch: 1, device: .genericGPU)   // .large
/// ```
struct MatmulTileConfig: Sendable, Equatable, CustomStringConvertible {
    var bm: Int, bn: Int, bk: Int, tm: Int, tn: Int
    /// Stage operand tiles in shared memory (GPUs); false reads global memory directly (CPU drivers).
    var stageShared = true
    var threads: Int { (bm / tm) * (bn / tn) }

    /// 128 x 128 tiles, 8 x 8 accumulators per invocation: big products on a GPU of no known vendor.
    static let large = MatmulTileConfig(bm: 128, bn: 128, bk: 8, tm: 8, tn: 8)
    /// NVIDIA: the large tile with a deeper K step (BK 16), fewer barriers per K.
    static let nvidiaLarge = MatmulTileConfig(bm: 128, bn: 128, bk: 16, tm: 8, tn: 8)
    /// AMD: 512 invocations (eight 64-wide waves) with 4 x 8 accumulators each.
    static let amdLarge = MatmulTileConfig(bm: 128, bn: 128, bk: 16, tm: 4, tn: 8)
    /// Intel: a 64 x 128 tile, 4 x 8 accumulators (less register pressure).
    static let intelLarge = MatmulTileConfig(bm: 64, bn: 128, bk: 16, tm: 4, tn: 8)
    /// 64 x 64 tiles, 4 x 4 per invocation.
    static let medium = MatmulTileConfig(bm: 64, bn: 64, bk: 16, tm: 4, tn: 4)
    /// 32 x 32 tiles, 4 x 4 per invocation, 64 invocations: small or thin products.
    static let small = MatmulTileConfig(bm: 32, bn: 32, bk: 8, tm: 4, tn: 4)

    /// CPU drivers (lavapipe): 128 x 128 tiles, 16 x 16 accumulators per invocation (64
    /// invocations), operands read straight from (cached) memory, no shared memory or
    /// barriers. Measured on lavapipe at 512^3 (a loaded 2-core machine, noisy): about
    /// 1.0 GFLOP/s against 0.8-0.9 for 64 x 128 / 8 x 16, 0.3-0.4 for the shared-memory
    /// 128 x 128 tile and 0.05-0.1 for the naive kernel.
    static let cpuLarge = MatmulTileConfig(bm: 128, bn: 128, bk: 8, tm: 16, tn: 16, stageShared: false)
    /// CPU drivers, small products.
    static let cpuSmall = MatmulTileConfig(bm: 32, bn: 32, bk: 8, tm: 4, tn: 4, stageShared: false)

    /// Every configuration the choice can return (each one is run by the tests).
    static let candidates: [MatmulTileConfig] = [.nvidiaLarge, .amdLarge, .intelLarge, .large, .medium, .small,
                                                 .cpuLarge, .cpuSmall]

    /// The vendor's large tile, or ``large``.
    static func large(for vendor: MatmulDeviceProfile.Vendor) -> MatmulTileConfig {
        switch vendor {
        case .nvidia: return .nvidiaLarge
        case .amd: return .amdLarge
        case .intel: return .intelLarge
        case .other: return .large
        }
    }

    /// Shared memory the shader declares for this tile, in bytes: the A and B tiles of BK
    /// rows, each row padded by 4 floats (declared even when unstaged, so counted always).
    var sharedMemoryBytes: Int { 4 * bk * ((bm + 4) + (bn + 4)) }

    /// Whether the device can run this tile: its shared memory and invocations within limits.
    func fits(_ device: MatmulDeviceProfile) -> Bool {
        sharedMemoryBytes <= device.maxSharedMemoryBytes && threads <= device.maxWorkgroupInvocations
    }

    /// Workgroups (tiles) of an m x n product over `batch` matrices.
    func tiles(m: Int, n: Int, batch: Int) -> Int {
        ((m + bm - 1) / bm) * ((n + bn - 1) / bn) * batch
    }

    /// The configuration for a shape on a device: the largest tile that the device allows
    /// and that still yields enough workgroups to occupy it.
    ///
    /// CPU drivers take ``cpuLarge`` when both sides reach 128, else ``cpuSmall``. GPUs try, in
    /// order, the vendor's large tile (``large(for:)``, or ``large`` when the vendor's does not
    /// fit), needing both sides at least the tile and a quarter of
    /// ``MatmulDeviceProfile/concurrentWorkgroups`` tiles; ``medium``, needing both sides at
    /// least 48 and a sixteenth; else ``small`` (which fits the Vulkan minimum limits).
    static func choose(m: Int, n: Int, batch: Int, device: MatmulDeviceProfile) -> MatmulTileConfig {
        if device.isCPU {
            let large = MatmulTileConfig.cpuLarge
            return m >= 128 && n >= 128 && large.fits(device) ? large : .cpuSmall
        }
        let fill = device.concurrentWorkgroups
        let vendorLarge = large(for: device.vendor)
        if let big = [vendorLarge, .large].first(where: { $0.fits(device) }),
           m >= big.bm, n >= big.bn, big.tiles(m: m, n: n, batch: batch) >= max(1, fill / 4) {
            return big
        }
        if medium.fits(device), m >= 48, n >= 48, medium.tiles(m: m, n: n, batch: batch) >= max(1, fill / 16) {
            return .medium
        }
        return .small
    }

    /// The constraints of Shaders/matmul_tiled.comp: whole blocks per invocation, whole
    /// loads per invocation, and runs of 4 rows / columns when staging in shared memory.
    var isValid: Bool {
        guard bm > 0, bn > 0, bk > 0, tm > 0, tn > 0, bm % tm == 0, bn % tn == 0 else { return false }
        guard stageShared else { return true }
        return tm % 4 == 0 && tn % 4 == 0 && (bm * bk) % threads == 0 && (bn * bk) % threads == 0
    }

    func isAligned(_ geometry: MatmulGeometry) -> Bool {
        geometry.m % bm == 0 && geometry.n % bn == 0 && geometry.k % bk == 0
    }

    var description: String {
        "\(bm)x\(bn)x\(bk)/\(tm)x\(tn)\(stageShared ? "" : " unstaged")"
    }
}

/// How a product with a long K and few output tiles is split across workgroups (split-K).
///
/// Each of `splits` workgroup layers computes the partial product over `chunk` consecutive
/// k (a multiple of the tile's BK; the last one may be shorter) into a float32 temporary
/// `[splits, M, N]`; a second kernel (Shaders/matmul_split_k_reduce.comp) adds the layers in
/// order and applies the whole epilogue.
struct MatmulSplitK: Sendable, Equatable {
    /// The number of K ranges (workgroup layers).
    let splits: Int
    /// The k of each range but the last, a multiple of BK.
    let chunk: Int

    /// K below this is never split.
    static let minimumK = 1024
    /// Every split covers at least this many k.
    static let minimumChunk = 256
    static let maximumSplits = 16
    /// The temporary's bound, in floats (16 MiB).
    static let maximumTemporaryElements = 4 << 20

    /// The split of a single (unbatched) product whose tiles fill less than half of
    /// ``MatmulDeviceProfile/concurrentWorkgroups``: as many layers as fill it, at most
    /// ``maximumSplits``, each at least ``minimumChunk`` long; nil when not worth splitting.
    static func choose(m: Int, n: Int, k: Int, batch: Int, config: MatmulTileConfig,
                       device: MatmulDeviceProfile) -> MatmulSplitK? {
        guard batch == 1, k >= minimumK, m > 0, n > 0 else { return nil }
        let tiles = config.tiles(m: m, n: n, batch: 1)
        guard tiles * 2 <= device.concurrentWorkgroups else { return nil }
        let wanted = min(device.concurrentWorkgroups / tiles, k / minimumChunk, maximumSplits,
                         maximumTemporaryElements / (m * n))
        guard wanted >= 2 else { return nil }
        return MatmulSplitK(k: k, splits: wanted, bk: config.bk)
    }

    /// `splits` layers over k rounded up to whole BK steps (the count may then drop).
    init(k: Int, splits: Int, bk: Int) {
        let perSplit = (k + splits - 1) / splits
        chunk = max(bk, (perSplit + bk - 1) / bk * bk)
        self.splits = (k + chunk - 1) / chunk
    }
}
