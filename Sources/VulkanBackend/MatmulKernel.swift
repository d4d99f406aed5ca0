import TensorCore

/// Which matrix-product kernel to run.
enum MatmulKernelChoice: Equatable, Sendable {
    /// Shaders/matvec.comp: K split across lanes, combined in shared memory.
    case matvec
    /// Shaders/matvec_subgroup.comp: one subgroup per output column, reduced with subgroupAdd.
    case matvecSubgroup
    case tiled(MatmulTileConfig, aligned: Bool)
    /// The tiled kernel over `split.splits` K ranges into a float32 temporary, then
    /// Shaders/matmul_split_k_reduce.comp (sum and epilogue).
    case splitK(MatmulTileConfig, aligned: Bool, split: MatmulSplitK)
    case naive

    /// Products with at most `matvecMaxRows` rows use a matrix-vector kernel.
    static let matvecMaxRows = 4

    /// The kernel for a product on a device.
    ///
    /// M <= 4: the subgroup matrix-vector kernel when the device has subgroup arithmetic and
    /// B is transposed ([N, K], each column's dot product contiguous in memory: a subgroup
    /// reads it coalesced), else the shared-memory one. Otherwise the tiled kernel with the
    /// tile of ``MatmulTileConfig/choose(m:n:batch:device:)``, split along K when
    /// ``MatmulSplitK/choose(m:n:k:batch:config:device:)`` says so.
    ///
    /// ```swift
    /// MatmulKernelChoice.choose(MatmulGeometry(m: 8, n: 16, k: 4096), device: .genericGPU)
    /// // .splitK(.small, aligned: false, split: MatmulSplitK(k: 4096, splits: 16, bk: 8)): 16 parts of 256
    /// ```
    static func choose(_ geometry: MatmulGeometry, device: MatmulDeviceProfile = .genericGPU) -> MatmulKernelChoice {
        if geometry.m <= matvecMaxRows {
            return device.subgroupArithmetic && geometry.transposeB ? .matvecSubgroup : .matvec
        }
        let config = MatmulTileConfig.choose(m: geometry.m, n: geometry.n, batch: geometry.batch, device: device)
        if let split = MatmulSplitK.choose(m: geometry.m, n: geometry.n, k: geometry.k, batch: geometry.batch,
                                           config: config, device: device) {
            return .splitK(config, aligned: config.isAligned(geometry), split: split)
        }
        return .tiled(config, aligned: config.isAligned(geometry))
    }
}

extension VulkanDevice {
    /// What the matrix-product kernel choice knows of this device (limits, vendor, enabled features).
    var matmulProfile: MatmulDeviceProfile { MatmulDeviceProfile(info: info, features: enabledFeatures) }

    /// C = op(A) op(B) with the epilogue fused into the store, per ``MatmulGeometry``.
    ///
    /// With a few-bit epilogue the same kernel also writes each output's code (one fused pass).
    /// M <= 4 runs a matrix-vector kernel (Shaders/matvec_subgroup.comp on devices with
    /// subgroup arithmetic when B is transposed, else Shaders/matvec.comp); everything else
    /// the register-blocked tiled kernel (Shaders/matmul_tiled.comp) with a tile chosen by
    /// shape and device (``MatmulTileConfig``), and its unchecked variant when M, N and K are
    /// multiples of the tile. On CPU-type devices the tiled kernel skips shared memory (see
    /// ``MatmulTileConfig/cpuLarge``). A long K with too few tiles to occupy the device is
    /// split across workgroups (``MatmulSplitK``), and a second kernel adds the parts and
    /// applies the epilogue.
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
        try matmul(a, b, into: c, geometry: geometry, epilogue: epilogue,
                   kernel: MatmulKernelChoice.choose(geometry, device: matmulProfile))
    }

    /// The naive one-invocation-per-output kernel (Shaders/matmul_naive.comp), with the
    /// same operands and epilogue as ``matmul(_:_:into:geometry:epilogue:)``. For
    /// benchmarks only: it shows what tiling and register blocking gain.
    public func naiveMatmul(_ a: any BackendBuffer, _ b: any BackendBuffer, into c: any BackendBuffer,
                            geometry: MatmulGeometry, epilogue: MatmulEpilogue = .none) throws(TensorError) {
        try matmul(a, b, into: c, geometry: geometry, epilogue: epilogue, kernel: .naive)
    }

    /// The product with a given kernel (tests and benchmarks force each one through here).
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
        // 16-bit storage: the kernels' storage16 variants, the types a constant (the naive
        // kernel has none, so it runs as the tiled one).
        let storage16 = !g.types.isFloat32
        try requireStorage16(g.types, op: "matmul")
        var kernel = kernel
        if storage16, kernel == .naive {
            let config = MatmulTileConfig.choose(m: g.m, n: g.n, batch: g.batch, device: matmulProfile)
            kernel = .tiled(config, aligned: config.isAligned(g))
        }
        if kernel == .matvecSubgroup, !enabledFeatures.contains(.subgroupArithmetic) {
            throw TensorError.unsupportedOperation(op: "matmul", backend: "Vulkan",
                                                   reason: "the subgroup matrix-vector kernel needs subgroup arithmetic")
        }
        switch kernel {
        case let .tiled(config, _), let .splitK(config, _, _):
            guard config.isValid else {
                throw TensorError.invalidArgument(op: "matmul", reason: "tile \(config) breaks the tiled kernel's constraints")
            }
            guard config.fits(matmulProfile) else {
                throw TensorError.unsupportedOperation(op: "matmul", backend: "Vulkan", reason: "tile \(config) needs "
                    + "\(config.sharedMemoryBytes) bytes of shared memory and \(config.threads) invocations; the device allows "
                    + "\(info.maxComputeSharedMemoryBytes) and \(info.maxComputeWorkgroupInvocations)")
            }
        default: break
        }
        if case let .splitK(config, _, split) = kernel, g.batch != 1 || split.splits < 2
            || split.chunk % config.bk != 0 || split.splits != (g.k + split.chunk - 1) / split.chunk {
            throw TensorError.invalidArgument(op: "matmul", reason: "split-K into \(split.splits) parts of \(split.chunk) "
                + "(tile BK \(config.bk)) for batch \(g.batch): split-K needs one product, two parts or more, whole BK steps covering K = \(g.k)")
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
        if case let .splitK(_, _, split) = kernel { push.append(split.chunk) } else { push.append(g.k) }

        var constants = SpecConstants()
        let shader: Shader
        let groups: (x: Int, y: Int, z: Int)
        let batchGroups = min(g.batch, maxGroupCount.z)
        if storage16 { constants.set(22, g.types.kernelCode) }
        var partials: VulkanBuffer?
        switch kernel {
        case let .tiled(config, aligned), let .splitK(config, aligned, _):
            shader = storage16 ? .matmulTiledStorage16 : .matmulTiled
            constants.set(0, UInt32(config.threads))
            constants.set(1, UInt32(config.bm))
            constants.set(2, UInt32(config.bn))
            constants.set(3, UInt32(config.bk))
            constants.set(4, UInt32(config.tm))
            constants.set(5, UInt32(config.tn))
            constants.set(6, aligned ? 1 : 0)
            constants.set(7, config.stageShared ? 1 : 0)
            let tileGroups = ((g.n + config.bn - 1) / config.bn, (g.m + config.bm - 1) / config.bm)
            if case let .splitK(_, _, split) = kernel {
                constants.set(8, 1)
                partials = try buffer(makeBuffer(elementCount: split.splits * g.m * g.n), "matmul split-K")
                groups = (tileGroups.0, tileGroups.1, split.splits)
            } else {
                groups = (tileGroups.0, tileGroups.1, batchGroups)
            }
        case .matvec:
            shader = storage16 ? .matvecStorage16 : .matvec
            let columns = g.transposeB ? 8 : 32
            constants.set(0, 256)
            constants.set(1, UInt32(columns))
            constants.set(2, UInt32(256 / columns))
            groups = ((g.n + columns - 1) / columns, 1, batchGroups)
        case .matvecSubgroup:
            shader = storage16 ? .matvecSubgroupStorage16 : .matvecSubgroup
            let columns = MatvecSubgroupShape(subgroupSize: info.subgroupSize).columns
            constants.set(0, UInt32(MatvecSubgroupShape.invocations))
            constants.set(1, UInt32(columns))
            groups = ((g.n + columns - 1) / columns, 1, batchGroups)
        case .naive:
            shader = .matmulNaive
            groups = ((g.n + 15) / 16, (g.m + 15) / 16, batchGroups)
        }
        constants.set(16, g.transposeA ? 1 : 0)
        constants.set(17, g.transposeB ? 1 : 0)
        if let partials {
            // Split-K, first pass: raw partial sums, no epilogue (the reduction applies it).
            let buffers: [(VulkanBuffer, Access)] = [
                (left, .read), (right, .read), (partials, .write), (placeholder, .unused),
                (partials, .unused), (partials, .unused), (placeholder, .unused),
            ]
            try dispatch(shader, constants: constants, buffers: buffers, push: push, groups: groups)
        }
        var epilogueConstants = partials == nil ? constants : SpecConstants()
        if partials != nil, storage16 { epilogueConstants.set(22, g.types.kernelCode) }
        epilogueConstants.set(18, bias == nil ? 0 : 1)
        epilogueConstants.set(19, UInt32(bitPattern: epilogue.activation.kernelCode))
        // The epilogue outputs are switched on by constants (one module per kernel, no
        // compiled variants); a slot a dispatch leaves off is still bound. The shader writes
        // the pre-activation and code slots statically, and synchronization validation
        // judges the unspecialised shader, so a shared placeholder there would look written
        // by every matmul (hazards with all its other uses). The output, which this dispatch
        // writes anyway (and the stream tracks as written), fills them instead; the
        // read-only borders slot takes the placeholder.
        epilogueConstants.set(20, pre == nil ? 0 : 1)
        epilogueConstants.set(21, UInt32(codes?.bits ?? 0))
        let buffers: [(VulkanBuffer, Access)] = [
            partials.map { ($0, .read) } ?? (left, .read), partials == nil ? (right, .read) : (placeholder, .unused),
            (output, .write),
            bias.map { ($0, .read) } ?? (placeholder, .unused),
            pre.map { ($0, .write) } ?? (output, .unused),
            codes.map { ($0.buffer, .write) } ?? (output, .unused),
            codes.map { ($0.table, .read) } ?? (placeholder, .unused),
        ]
        if partials != nil {
            // Split-K, second pass: one invocation per output, the layers added in order.
            try dispatch(storage16 ? .matmulSplitKReduceStorage16 : .matmulSplitKReduce, constants: epilogueConstants,
                         buffers: buffers, push: push, groups: elementwiseGroups(g.m * g.n))
        } else {
            try dispatch(shader, constants: epilogueConstants, buffers: buffers, push: push, groups: groups)
        }
    }
}

/// The workgroup of Shaders/matvec_subgroup.comp: 128 invocations (a multiple of every
/// subgroup size Vulkan allows, and the minimum workgroup limit), one output column per
/// subgroup at a time, so as many columns per workgroup as the default size makes subgroups.
/// The shader counts its subgroups itself, so a driver that picks another size stays correct.
struct MatvecSubgroupShape {
    static let invocations = 128
    let columns: Int

    init(subgroupSize: Int) {
        columns = max(1, Self.invocations / min(max(subgroupSize, 1), Self.invocations))
    }
}
