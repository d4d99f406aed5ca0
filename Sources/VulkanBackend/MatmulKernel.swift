import TensorCore

/// Tile sizes of the tiled matrix product (specialisation constants of Shaders/matmul_tiled.comp).
struct MatmulTileConfig: Sendable, Equatable {
    var bm: Int, bn: Int, bk: Int, tm: Int, tn: Int
    /// Stage operand tiles in shared memory (GPUs); false reads global memory directly (CPU drivers).
    var stageShared = true
    var threads: Int { (bm / tm) * (bn / tn) }

    /// 128 x 128 tiles, 8 x 8 accumulators per invocation: big products.
    static let large = MatmulTileConfig(bm: 128, bn: 128, bk: 8, tm: 8, tn: 8)
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

    /// The configuration for a shape: the largest tile that still yields enough workgroups.
    /// `cpuDevice` picks the direct (unstaged) variants that suit CPU implementations.
    static func choose(m: Int, n: Int, batch: Int, cpuDevice: Bool = false) -> MatmulTileConfig {
        if cpuDevice { return m >= 128 && n >= 128 ? .cpuLarge : .cpuSmall }
        func groups(_ config: MatmulTileConfig) -> Int {
            ((m + config.bm - 1) / config.bm) * ((n + config.bn - 1) / config.bn) * batch
        }
        if m >= 128, n >= 128, groups(.large) >= 64 { return .large }
        if m >= 48, n >= 48, groups(.medium) >= 16 { return .medium }
        return .small
    }

    /// The constraints of Shaders/matmul_tiled.comp: whole blocks per invocation, whole
    /// loads per invocation, and runs of 4 rows / columns when staging in shared memory.
    var isValid: Bool {
        guard bm % tm == 0, bn % tn == 0 else { return false }
        guard stageShared else { return true }
        return tm % 4 == 0 && tn % 4 == 0 && (bm * bk) % threads == 0 && (bn * bk) % threads == 0
    }

    func isAligned(_ geometry: MatmulGeometry) -> Bool {
        geometry.m % bm == 0 && geometry.n % bn == 0 && geometry.k % bk == 0
    }
}

/// Which matrix-product kernel to run.
enum MatmulKernelChoice: Equatable {
    case matvec
    case tiled(MatmulTileConfig, aligned: Bool)
    case naive

    /// Products with at most `matvecMaxRows` rows use the matrix-vector kernel.
    static let matvecMaxRows = 4

    static func choose(_ geometry: MatmulGeometry, cpuDevice: Bool = false) -> MatmulKernelChoice {
        if geometry.m <= matvecMaxRows { return .matvec }
        let config = MatmulTileConfig.choose(m: geometry.m, n: geometry.n, batch: geometry.batch,
                                             cpuDevice: cpuDevice)
        return .tiled(config, aligned: config.isAligned(geometry))
    }
}

extension VulkanDevice {
    /// C = op(A) op(B) with the epilogue fused into the store, per ``MatmulGeometry``.
    ///
    /// With a few-bit epilogue the same kernel also writes each output's code (one fused pass).
    /// M <= 4 runs the matrix-vector kernel (Shaders/matvec.comp); everything else the
    /// register-blocked tiled kernel (Shaders/matmul_tiled.comp) with a tile size chosen
    /// by shape, and its unchecked variant when M, N and K are multiples of the tile. On
    /// CPU-type devices the tiled kernel skips shared memory (see ``MatmulTileConfig/cpuLarge``).
    ///
    /// float16 / bfloat16 operands (``MatmulGeometry/types``) run the kernels' 16-bit storage
    /// variants, converting on load and rounding C to nearest even on store, with float32
    /// arithmetic; the device must have 16-bit storage buffers (``VulkanFeatures/fp16Storage``).
    ///
    /// Which outputs the epilogue writes (pre-activation values, few-bit codes) is set by
    /// specialisation constants of the one module per kernel, so each combination is its
    /// own cached pipeline with the unused stores folded away, not a compiled variant.
    public func matmul(_ a: any BackendBuffer, _ b: any BackendBuffer, into c: any BackendBuffer,
                       geometry: MatmulGeometry, epilogue: MatmulEpilogue) throws(TensorError) {
        try matmul(a, b, into: c, geometry: geometry, epilogue: epilogue, kernel: MatmulKernelChoice.choose(geometry, cpuDevice: info.type == .cpu))
    }

    /// The naive one-invocation-per-output kernel (Shaders/matmul_naive.comp), with the
    /// same operands and epilogue as ``matmul(_:_:into:geometry:epilogue:)``. For
    /// benchmarks only: it shows what tiling and register blocking gain.
    public func naiveMatmul(_ a: any BackendBuffer, _ b: any BackendBuffer, into c: any BackendBuffer,
                            geometry: MatmulGeometry, epilogue: MatmulEpilogue = .none) throws(TensorError) {
        try matmul(a, b, into: c, geometry: geometry, epilogue: epilogue, kernel: .naive)
    }

    func matmul(_ a: any BackendBuffer, _ b: any BackendBuffer, into c: any BackendBuffer,
                geometry g: MatmulGeometry, epilogue: MatmulEpilogue,
                kernel: MatmulKernelChoice) throws(TensorError) {
        let left = try buffer(a, "matmul")
        let right = try buffer(b, "matmul")
        let output = try buffer(c, "matmul")
        let bias = try epilogue.bias.map { buffer throws(TensorError) in try self.buffer(buffer, "matmul bias") }
        let pre = try epilogue.preActivation.map { buffer throws(TensorError) in try self.buffer(buffer, "matmul preActivation") }
        guard g.m > 0, g.n > 0, g.batch > 0 else { return }
        // Few-bit codes are OR-ed into place by the epilogue, so they start from zero.
        var codes: (buffer: VulkanBuffer, table: VulkanBuffer, bits: Int)?
        if let fewBit = epilogue.fewBit {
            let words = FewBitCodes.packedWordCount(count: g.batch * g.m * g.n, bits: fewBit.table.bits)
            let target = try buffer(fewBit.codes, "matmul codes")
            try fill(target, value: 0, count: words)
            codes = (target, try tableBuffer(fewBit.table), fewBit.table.bits)
        }

        var push = PushConstants()
        push.append(g.m)
        push.append(g.n)
        push.append(g.k)
        push.append(g.batch)
        push.append(g.leadingDimensionA)
        push.append(g.leadingDimensionB)
        push.append(g.batchStrideA)
        push.append(g.batchStrideB)
        push.append(epilogue.activation.parameter)

        var constants = SpecConstants()
        let shader: Shader
        let groups: (x: Int, y: Int, z: Int)
        let batchGroups = min(g.batch, maxGroupCount.z)
        // 16-bit storage: the kernels' storage16 variants, the types a constant (the naive
        // kernel has none, so it runs as the tiled one).
        let storage16 = !g.types.isFloat32
        try requireStorage16(g.types, op: "matmul")
        var kernel = kernel
        if storage16, kernel == .naive {
            let config = MatmulTileConfig.choose(m: g.m, n: g.n, batch: g.batch, cpuDevice: info.type == .cpu)
            kernel = .tiled(config, aligned: config.isAligned(g))
        }
        if storage16 { constants.set(22, g.types.kernelCode) }
        switch kernel {
        case let .tiled(config, aligned):
            precondition(config.isValid, "invalid matmul tile configuration \(config)")
            shader = storage16 ? .matmulTiledStorage16 : .matmulTiled
            constants.set(0, UInt32(config.threads))
            constants.set(1, UInt32(config.bm))
            constants.set(2, UInt32(config.bn))
            constants.set(3, UInt32(config.bk))
            constants.set(4, UInt32(config.tm))
            constants.set(5, UInt32(config.tn))
            constants.set(6, aligned ? 1 : 0)
            constants.set(7, config.stageShared ? 1 : 0)
            groups = ((g.n + config.bn - 1) / config.bn, (g.m + config.bm - 1) / config.bm, batchGroups)
        case .matvec:
            shader = storage16 ? .matvecStorage16 : .matvec
            let columns = g.transposeB ? 8 : 32
            constants.set(0, 256)
            constants.set(1, UInt32(columns))
            constants.set(2, UInt32(256 / columns))
            groups = ((g.n + columns - 1) / columns, 1, batchGroups)
        case .naive:
            shader = .matmulNaive
            groups = ((g.n + 15) / 16, (g.m + 15) / 16, batchGroups)
        }
        constants.set(16, g.transposeA ? 1 : 0)
        constants.set(17, g.transposeB ? 1 : 0)
        constants.set(18, bias == nil ? 0 : 1)
        constants.set(19, UInt32(bitPattern: epilogue.activation.kernelCode))
        // The epilogue outputs are switched on by constants (one module per kernel, no
        // compiled variants); a slot a dispatch leaves off is still bound. The shader writes
        // the pre-activation and code slots statically, and synchronization validation
        // judges the unspecialised shader, so a shared placeholder there would look written
        // by every matmul (hazards with all its other uses). The output, which this dispatch
        // writes anyway (and the stream tracks as written), fills them instead; the
        // read-only borders slot takes the placeholder.
        constants.set(20, pre == nil ? 0 : 1)
        constants.set(21, UInt32(codes?.bits ?? 0))
        let buffers: [(VulkanBuffer, Access)] = [
            (left, .read), (right, .read), (output, .write),
            bias.map { ($0, .read) } ?? (placeholder, .unused),
            pre.map { ($0, .write) } ?? (output, .unused),
            codes.map { ($0.buffer, .write) } ?? (output, .unused),
            codes.map { ($0.table, .read) } ?? (placeholder, .unused),
        ]
        try dispatch(shader, constants: constants,
                     buffers: buffers, push: push, groups: groups)
    }
}
