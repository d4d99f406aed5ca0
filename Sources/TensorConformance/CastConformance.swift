import Foundation
import TensorCore

/// Conformance of `cast` between every pair of dtypes: every float16 and bfloat16 bit
/// pattern, every uint8, and float32/int32 values at each rounding, overflow and saturation
/// edge, contiguous and through strided views with sub-word offsets. The float64 reference
/// rounds each exact source value once (RNE to the destination's precision and range; for
/// integers truncation toward zero with saturation, NaN -> 0), and results must match it
/// exactly, bit for bit (zero signs and NaN included).
extension ConformanceTable {
    static func castCases() -> [ConformanceCase] {
        var cases: [ConformanceCase] = []
        for source in DType.allCases {
            for destination in DType.allCases {
                cases.append(castCase(source, destination, view: "contiguous"))
            }
        }
        for (source, destination) in [(DType.float32, DType.float16), (.float16, .float32), (.bfloat16, .float32),
                                      (.uint8, .float32), (.float32, .bfloat16), (.int32, .uint8)] {
            for view in ["transposed", "offset", "1", "empty"] {
                cases.append(castCase(source, destination, view: view))
            }
        }
        return cases
    }

    /// Source elements as bytes, with the exact value of each.
    static func castSource(_ type: DType, _ h: Harness) -> (bytes: [UInt8], exact: [Double]) {
        switch type {
        case .float32:
            var values: [Float] = [0, -0.0, 1, -1, 0.5, 65504, 65519.996, 65520, -65520, 1e-8, 5.9604645e-8,
                                   0x1p-25, 0x1.8p-24, 1 + 0x1p-11, 1 + 0x1.8p-10, 1 + 0x1p-8, 1 + 0x1.8p-7,
                                   3.4e38, -3.4e38, .greatestFiniteMagnitude, .infinity, -.infinity, .nan,
                                   .leastNormalMagnitude / 3, -.leastNormalMagnitude / 3, 300.7, -300.7, 2.5e9, -2.5e9, 2147483520, 2147483648, -2147483648,
                                   -2147483904, 255.9, 256, -0.9, 127.5, 0x1.fffffep-1, 6.1e-5, 6.09e-5]
            values += h.values(257, "normal", scale: 100) + h.values(64, "denormal")
            return (rawBytes(values), values.map { Double($0) })
        case .float16:
            let patterns = [UInt16](0...UInt16.max)
            return (rawBytes(patterns), patterns.map(halfValue))
        case .bfloat16:
            let patterns = [UInt16](0...UInt16.max)
            return (rawBytes(patterns), patterns.map { Double(Float(bitPattern: UInt32($0) << 16)) })
        case .int32:
            var values: [Int32] = [0, 1, -1, 255, 256, -256, .min, .max, 16_777_217, -16_777_219, 33_554_435,
                                   65504, 65519, 65520, 100_000, 2049, 2051, 257, 259, 384, 385]
            values += (0..<257).map { _ in Int32(truncatingIfNeeded: h.rng.next()) >> Int32(h.rng.next() % 31) }
            return (rawBytes(values), values.map { Double($0) })
        case .uint8:
            return ((0...255).map { UInt8($0) }, (0...255).map { Double($0) })
        }
    }

    static func castCase(_ source: DType, _ destination: DType, view: String) -> ConformanceCase {
        ConformanceCase(.cast, "cast \(source) to \(destination)", shapeClass: view, shape: view, values: "edges",
                        bound: exactBound, exactSigns: true) { (h) throws(TensorError) in
            let (bytes, exact) = castSource(source, h)
            let all = exact.count
            let layout: StridedLayout
            switch view {
            case "transposed":
                let columns = 16, rows = all / columns
                layout = StridedLayout(shape: [columns, rows], strides: [1, columns])
            case "offset": layout = StridedLayout(shape: [all - 3], strides: [1], offset: 3)
            case "1": layout = StridedLayout(shape: [1], strides: [1], offset: 1)
            case "empty": layout = StridedLayout(shape: [0], strides: [1])
            default: layout = StridedLayout(shape: [all], strides: [1])
            }
            let count = layout.elementCount
            let input = try h.inputBytes(bytes)
            let output = try h.outputBytes(count * destination.byteSize)
            try h.run(.cast(source: input, sourceType: source, layout: layout, destination: output.buffer,
                            destinationType: destination))
            let written = try h.readBytes(output, byteCount: count * destination.byteSize)
            let actual = decode(written, destination, count: count)
            let reference = (0..<count).map {
                castReference(exact[References.stridedOffset($0, layout)], to: destination)
            }
            return .init(actual: exactly(actual, reference), reference: reference)
        }
    }

    /// The reference for one exact value.
    static func castReference(_ x: Double, to type: DType) -> Double {
        switch type {
        case .float32: return References.round(x, significandBits: 24, minExponent: -126, maxExponent: 127)
        case .float16: return References.round(x, significandBits: 11, minExponent: -14, maxExponent: 15)
        case .bfloat16: return References.round(x, significandBits: 8, minExponent: -126, maxExponent: 127)
        case .int32: return References.saturatingTruncation(x, low: -2_147_483_648, high: 2_147_483_647)
        case .uint8: return References.saturatingTruncation(x, low: 0, high: 255)
        }
    }

    /// The first `count` elements of `bytes` holding `type`, exactly.
    static func decode(_ bytes: [UInt8], _ type: DType, count: Int) -> [Double] {
        bytes.withUnsafeBytes { raw in
            (0..<count).map { i in
                switch type {
                case .float32: return Double(raw.loadUnaligned(fromByteOffset: 4 * i, as: Float.self))
                case .float16: return halfValue(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                case .bfloat16:
                    return Double(Float(bitPattern: UInt32(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16))
                case .int32: return Double(raw.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))
                case .uint8: return Double(raw[i])
                }
            }
        }
    }

    /// A float16 bit pattern's value, from its fields.
    static func halfValue(_ bits: UInt16) -> Double {
        let sign: Double = bits & 0x8000 != 0 ? -1 : 1
        let exponent = Int(bits >> 10) & 0x1F, mantissa = Double(bits & 0x3FF)
        if exponent == 0x1F { return mantissa == 0 ? sign * .infinity : .nan }
        if exponent == 0 { return sign * mantissa * 0x1p-24 }
        return sign * (1 + mantissa / 1024) * Double(sign: .plus, exponent: exponent - 15, significand: 1)
    }

    /// Results that must equal the reference exactly: each matching element reads back as
    /// the reference, each other as a value the check rejects (NaN, or 0 where NaN was due).
    static func exactly(_ actual: [Double], _ reference: [Double]) -> [Float] {
        zip(actual, reference).map { a, r in
            let same = (a.isNaN && r.isNaN) || (a == r && a.sign == r.sign)
            if same { return Float(r) }
            return r.isNaN ? 0 : .nan
        }
    }

    /// The little-endian bytes of `values` (this host's order).
    static func rawBytes<T>(_ values: [T]) -> [UInt8] {
        values.withUnsafeBytes { [UInt8]($0) }
    }
}

extension References {
    /// `x` rounded to nearest even with `significandBits` bits, subnormals below
    /// 2^minExponent, and infinity past the largest finite value; NaN and infinities kept.
    static func round(_ x: Double, significandBits: Int, minExponent: Int, maxExponent: Int) -> Double {
        guard x.isFinite, x != 0 else { return x }
        let exponent = max(Int(x.exponent), minExponent)
        let quantum = Double(sign: .plus, exponent: exponent - (significandBits - 1), significand: 1)
        let rounded = (x / quantum).rounded(.toNearestOrEven) * quantum
        let largest = (2 - Double(sign: .plus, exponent: 1 - significandBits, significand: 1))
            * Double(sign: .plus, exponent: maxExponent, significand: 1)
        if Swift.abs(rounded) > largest { return x < 0 ? -.infinity : .infinity }
        return rounded == 0 ? (x < 0 ? -0.0 : 0) : rounded
    }

    /// Truncation toward zero, saturated to `low...high`; NaN gives 0 (always +0).
    static func saturatingTruncation(_ x: Double, low: Double, high: Double) -> Double {
        if x.isNaN { return 0 }
        let truncated = Swift.min(Swift.max(x.rounded(.towardZero), low), high)
        return truncated == 0 ? 0 : truncated
    }

    /// The element offset of row-major index `index` in `layout`.
    static func stridedOffset(_ index: Int, _ layout: StridedLayout) -> Int {
        var rest = index, offset = layout.offset
        for axis in stride(from: layout.shape.count - 1, through: 0, by: -1) {
            offset += rest % layout.shape[axis] * layout.strides[axis]
            rest /= layout.shape[axis]
        }
        return offset
    }
}

extension Harness {
    /// A device buffer holding `bytes`.
    func inputBytes(_ bytes: [UInt8]) throws(TensorError) -> any BackendBuffer {
        let buffer = try backend.makeBuffer(byteCount: bytes.count)
        if !bytes.isEmpty {
            let result: Result<Void, TensorError> = bytes.withUnsafeBytes { raw in
                do throws(TensorError) {
                    try backend.write(raw, to: buffer)
                    return .success(())
                } catch {
                    return .failure(error)
                }
            }
            try result.get()
        }
        return buffer
    }

    /// A poisoned output of `byteCount` bytes, rounded up to whole words, plus the guard words.
    func outputBytes(_ byteCount: Int) throws(TensorError) -> GuardedOutput {
        try output((byteCount + 3) / 4)
    }

    /// The first `byteCount` bytes of an output from ``outputBytes(_:)``; throws when a guard
    /// word was overwritten.
    func readBytes(_ output: GuardedOutput, byteCount: Int) throws(TensorError) -> [UInt8] {
        Array(ConformanceTable.rawBytes(try read(output)).prefix(byteCount))
    }
}
