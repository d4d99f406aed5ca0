import CPUKernels
import TensorCore

/// Few-bit encoding and decoding on the host: codes packed LSB-first, b bits each, so
/// every run of 32 elements fills exactly b 32-bit words. Work is split on 32-element
/// boundaries, so no two threads ever write the same word.
enum FewBitKernels {
    /// Elements per independently packed run.
    static let run = 32

    /// Writes the codes of `count` values `(value(i))` into `words`, starting at element
    /// `start` (a multiple of 32).
    @inline(__always)
    static func encode(count: Int, start: Int, borders: UnsafeBufferPointer<Float>, bits: Int,
                       words: UnsafeMutablePointer<UInt32>, value: (Int) -> Float) {
        var accumulator: UInt64 = 0
        var filled = 0
        var word = start / run * bits
        let linear = borders.count <= 15
        for i in 0..<count {
            let x = value(i)
            var code: UInt64 = 0
            if linear {
                for border in borders where x > border { code &+= 1 }
            } else {
                var low = 0, high = borders.count
                while low < high {
                    let middle = (low + high) >> 1
                    if borders[middle] < x { low = middle + 1 } else { high = middle }
                }
                code = UInt64(low)
            }
            accumulator |= code << UInt64(filled)
            filled += bits
            if filled >= 32 {
                words[word] = UInt32(truncatingIfNeeded: accumulator)
                word += 1
                accumulator >>= 32
                filled -= 32
            }
        }
        if filled > 0 { words[word] = UInt32(truncatingIfNeeded: accumulator) }
    }

    /// The codes of `z[i] = x[i] + bias[(column + i) % columns]` (no bias: `x[i]`) for `i < count`,
    /// from element `start` (a multiple of 32) on: the C kernel of `isa` (AVX-512 or AVX2) where
    /// the CPU runs it, else ``encode(count:start:borders:bits:words:value:)``.
    static func encode(_ x: UnsafePointer<Float>, bias: UnsafePointer<Float>?, columns: Int, column: Int, count: Int,
                       start: Int, borders: UnsafeBufferPointer<Float>, bits: Int, words: UnsafeMutablePointer<UInt32>,
                       isa: CPUISA = .active) {
        if let base = borders.baseAddress,
           te_fewbit_encode(isa.rawValue, x, bias, columns, column, base, Int32(borders.count), Int32(bits), words, start, count) != 0 {
            return
        }
        guard let bias else {
            encode(count: count, start: start, borders: borders, bits: bits, words: words) { x[$0] }
            return
        }
        var column = column
        encode(count: count, start: start, borders: borders, bits: bits, words: words) { i in
            let z = x[i] + bias[column]
            column += 1
            if column == columns { column = 0 }
            return z
        }
    }

    /// `gradIn[i] = gradOut[i] * levels[code_i]` for elements `range` (range.lowerBound a multiple
    /// of 32): the C kernel of `isa` (AVX-512 or AVX2) where the CPU runs it, else one code at a time.
    static func decode(range: Range<Int>, levels: UnsafeBufferPointer<Float>, bits: Int,
                       words: UnsafePointer<UInt32>, gradOut: UnsafePointer<Float>, gradIn: UnsafeMutablePointer<Float>,
                       isa: CPUISA = .active) {
        if let base = levels.baseAddress, levels.count == 1 << bits,
           te_fewbit_decode(isa.rawValue, base, Int32(bits), words, range.lowerBound, gradOut + range.lowerBound,
                            gradIn + range.lowerBound, range.count) != 0 {
            return
        }
        decodeScalar(range: range, levels: levels, bits: bits, words: words, gradOut: gradOut, gradIn: gradIn)
    }

    /// ``decode(range:levels:bits:words:gradOut:gradIn:)`` one code at a time.
    static func decodeScalar(range: Range<Int>, levels: UnsafeBufferPointer<Float>, bits: Int,
                       words: UnsafePointer<UInt32>, gradOut: UnsafePointer<Float>, gradIn: UnsafeMutablePointer<Float>) {
        var word = range.lowerBound / run * bits
        var accumulator: UInt64 = 0
        var available = 0
        let mask: UInt64 = (1 << UInt64(bits)) - 1
        for i in range {
            if available < bits {
                accumulator |= UInt64(words[word]) << UInt64(available)
                word += 1
                available += 32
            }
            gradIn[i] = gradOut[i] * levels[Int(accumulator & mask)]
            accumulator >>= UInt64(bits)
            available -= bits
        }
    }
}

extension CPUDevice {
    public func activateFewBit(_ activation: Activation, _ input: any BackendBuffer, count: Int,
                               into output: any BackendBuffer, fewBit: FewBitOutput) throws(TensorError) {
        let op = "activateFewBit"
        let ib = try cpuBuffer(input, op: op), ob = try cpuBuffer(output, op: op)
        let cb = try cpuBuffer(fewBit.codes, op: op)
        try require(ib, holds: count, op: op, role: "input")
        try require(ob, holds: count, op: op, role: "output")
        try require(cb, holds: FewBitCodes.packedWordCount(count: count, bits: fewBit.table.bits), op: op, role: "codes")
        let x = UnsafePointer(ib.base), y = ob.base
        let words = UnsafeMutableRawPointer(cb.base).assumingMemoryBound(to: UInt32.self)
        let bits = fewBit.table.bits
        fewBit.table.borders.withUnsafeBufferPointer { borders in
            parallelFor(count: count, threads: threads, grain: Self.elementwiseGrain, alignment: FewBitKernels.run) { range in
                let start = range.lowerBound
                FewBitKernels.encode(x + start, bias: nil, columns: 0, column: 0, count: range.count, start: start,
                                     borders: borders, bits: bits, words: words)
                ActivationKernels.forward(activation, x, y, range: range)
            }
        }
    }

    public func fewBitBackward(_ fewBit: FewBitOutput, gradOutput: any BackendBuffer, count: Int,
                               into gradInput: any BackendBuffer) throws(TensorError) {
        let op = "fewBitBackward"
        let gb = try cpuBuffer(gradOutput, op: op), ob = try cpuBuffer(gradInput, op: op)
        let cb = try cpuBuffer(fewBit.codes, op: op)
        try require(gb, holds: count, op: op, role: "gradOutput")
        try require(ob, holds: count, op: op, role: "gradInput")
        try require(cb, holds: FewBitCodes.packedWordCount(count: count, bits: fewBit.table.bits), op: op, role: "codes")
        let g = UnsafePointer(gb.base), out = ob.base
        let words = UnsafePointer(UnsafeMutableRawPointer(cb.base).assumingMemoryBound(to: UInt32.self))
        let bits = fewBit.table.bits
        fewBit.table.levels.withUnsafeBufferPointer { levels in
            parallelFor(count: count, threads: threads, grain: Self.elementwiseGrain, alignment: FewBitKernels.run) { range in
                FewBitKernels.decode(range: range, levels: levels, bits: bits, words: words, gradOut: g, gradIn: out)
            }
        }
    }
}

/// The matmul epilogue with few-bit codes: `z = c + bias[column]`, codes of z, `c = f(z)`,
/// over 32-element-aligned runs of the flat output (so threads own whole code words).
enum FewBitEpilogue {
    static func apply(_ activation: Activation, table: FewBitTable, bias: UnsafePointer<Float>?,
                      preActivation: UnsafeMutablePointer<Float>?, codes: CPUBuffer, c: UnsafeMutablePointer<Float>,
                      rows: Int, columns: Int, threads: Int) {
        let count = rows * columns
        let words = UnsafeMutableRawPointer(codes.base).assumingMemoryBound(to: UInt32.self)
        table.borders.withUnsafeBufferPointer { borders in
            parallelFor(count: count, threads: threads, grain: 65536, alignment: FewBitKernels.run) { range in
                // Encode the whole run first (it reads c + bias), then finish it row segment by row segment.
                FewBitKernels.encode(c + range.lowerBound, bias: bias, columns: columns, column: range.lowerBound % columns,
                                     count: range.count, start: range.lowerBound, borders: borders, bits: table.bits,
                                     words: words)
                var flat = range.lowerBound
                while flat < range.upperBound {
                    let column = flat % columns
                    let length = min(columns - column, range.upperBound - flat)
                    ActivationKernels.epilogueRow(activation, bias: bias.map { $0 + column },
                                                  pre: preActivation.map { $0 + flat }, row: c + flat, count: length)
                    flat += length
                }
            }
        }
    }
}
