import TensorCore

/// Element conversions between the storage types (the rules of ``BackendOp/cast``): float
/// to float rounds to nearest even, float to integer truncates toward zero and saturates
/// (NaN gives 0), integer to float rounds to nearest even in one step.
enum CastKernels {
    /// One element, read from a source type: a float for float types, an integer otherwise.
    enum Scalar {
        case float(Float)
        case integer(Int32)
    }

    @inline(__always)
    static func load(_ type: DType, _ base: UnsafeRawPointer, _ index: Int) -> Scalar {
        switch type {
        case .float32: return .float(base.load(fromByteOffset: index * 4, as: Float.self))
        case .float16: return .float(Float(Float16(bitPattern: base.load(fromByteOffset: index * 2, as: UInt16.self))))
        case .bfloat16:
            return .float(Float(bitPattern: UInt32(base.load(fromByteOffset: index * 2, as: UInt16.self)) << 16))
        case .int32: return .integer(base.load(fromByteOffset: index * 4, as: Int32.self))
        case .uint8: return .integer(Int32(base.load(fromByteOffset: index, as: UInt8.self)))
        }
    }

    @inline(__always)
    static func store(_ value: Scalar, _ type: DType, _ base: UnsafeMutableRawPointer, _ index: Int) {
        switch (value, type) {
        case let (.float(f), .float32): base.storeBytes(of: f, toByteOffset: index * 4, as: Float.self)
        case let (.float(f), .float16): base.storeBytes(of: Float16(f).bitPattern, toByteOffset: index * 2, as: UInt16.self)
        case let (.float(f), .bfloat16): base.storeBytes(of: bfloat16Bits(f), toByteOffset: index * 2, as: UInt16.self)
        case let (.float(f), .int32):
            base.storeBytes(of: saturatingInteger(f, Int32.min, Int32.max), toByteOffset: index * 4, as: Int32.self)
        case let (.float(f), .uint8):
            base.storeBytes(of: UInt8(saturatingInteger(f, 0, 255)), toByteOffset: index, as: UInt8.self)
        case let (.integer(i), .float32): base.storeBytes(of: Float(i), toByteOffset: index * 4, as: Float.self)
        case let (.integer(i), .float16):
            base.storeBytes(of: Float16(Double(i)).bitPattern, toByteOffset: index * 2, as: UInt16.self)
        case let (.integer(i), .bfloat16):
            base.storeBytes(of: bfloat16Bits(exactly: i), toByteOffset: index * 2, as: UInt16.self)
        case let (.integer(i), .int32): base.storeBytes(of: i, toByteOffset: index * 4, as: Int32.self)
        case let (.integer(i), .uint8): base.storeBytes(of: UInt8(min(max(i, 0), 255)), toByteOffset: index, as: UInt8.self)
        }
    }

    /// float32 -> bfloat16, round to nearest even (the carry into the exponent gives infinity
    /// on overflow); NaN stays a quiet NaN.
    @inline(__always)
    static func bfloat16Bits(_ f: Float) -> UInt16 {
        let bits = f.bitPattern
        if f.isNaN { return UInt16(bits >> 16) | 0x40 }
        return UInt16((bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
    }

    /// An integer rounded once to bfloat16's 8 significant bits (nearest even).
    static func bfloat16Bits(exactly value: Int32) -> UInt16 {
        let magnitude = value.magnitude
        guard magnitude != 0 else { return 0 }
        let width = UInt32.bitWidth - magnitude.leadingZeroBitCount
        var rounded = Double(magnitude)
        if width > 8 {
            let shift = UInt32(width - 8)
            var kept = magnitude >> shift
            let rest = magnitude & ((1 << shift) - 1), halfway = UInt32(1) << (shift - 1)
            if rest > halfway || (rest == halfway && kept & 1 == 1) { kept += 1 }
            rounded = Double(kept) * Double(sign: .plus, exponent: Int(shift), significand: 1)
        }
        let bits = Float(value < 0 ? -rounded : rounded).bitPattern   // exact: 8 significant bits
        return UInt16(bits >> 16)
    }

    /// Truncation toward zero, saturated to `low...high`; NaN gives 0.
    @inline(__always)
    static func saturatingInteger(_ f: Float, _ low: Int32, _ high: Int32) -> Int32 {
        if f.isNaN { return 0 }
        if f >= Float(high) { return high }
        if f <= Float(low) { return low }
        return Int32(f.rounded(.towardZero))
    }
}

extension CPUDevice {
    /// Contiguous `destination[i] = cast(source[layout(i)])` between any two dtypes (the
    /// rules of ``BackendOp/cast``); the tail of the destination's last 4-byte word is zeroed.
    ///
    /// ```swift
    /// try cpu.cast(x, from: .float32, layout: StridedLayout(shape: [n], strides: [1]), to: y, as: .bfloat16)
    /// ```
    public func cast(_ source: any BackendBuffer, from sourceType: DType, layout: StridedLayout,
                     to destination: any BackendBuffer, as destinationType: DType) throws(TensorError) {
        let op = "cast"
        let src = try cpuBuffer(source, op: op), dst = try cpuBuffer(destination, op: op)
        let count = layout.elementCount
        guard layout.shape.count == layout.strides.count else {
            throw .invalidArgument(op: op, reason: "layout shape \(layout.shape) and strides \(layout.strides) differ in rank")
        }
        guard count > 0 else { return }
        let reached = layout.reachedOffsets
        guard reached.lowerBound >= 0, reached.upperBound < src.byteCount / sourceType.byteSize,
              count * destinationType.byteSize <= dst.elementCount * 4 else {
            throw .invalidArgument(op: op, reason: "\(count) elements of layout \(layout.shape) strides \(layout.strides) "
                                   + "offset \(layout.offset) do not fit buffers of \(src.byteCount) and \(dst.byteCount) bytes")
        }
        let from = UnsafeRawPointer(src.base), to = UnsafeMutableRawPointer(dst.base)
        let tail = count * destinationType.byteSize
        if tail % 4 != 0 { (to + tail).initializeMemory(as: UInt8.self, repeating: 0, count: 4 - tail % 4) }
        let c = layout.coalesced()
        let contiguous = c.shape.count <= 1 && (c.strides.first ?? 1) == 1
        parallelFor(count: count, threads: threads, grain: Self.elementwiseGrain) { range in
            for i in range {
                let offset = contiguous ? layout.offset + i : Self.stridedOffset(i, c)
                CastKernels.store(CastKernels.load(sourceType, from, offset), destinationType, to, i)
            }
        }
    }

    /// The element offset of row-major index `index` in `layout`.
    @inline(__always)
    static func stridedOffset(_ index: Int, _ layout: StridedLayout) -> Int {
        var rest = index, offset = layout.offset
        for axis in stride(from: layout.shape.count - 1, through: 0, by: -1) {
            offset += rest % layout.shape[axis] * layout.strides[axis]
            rest /= layout.shape[axis]
        }
        return offset
    }
}
