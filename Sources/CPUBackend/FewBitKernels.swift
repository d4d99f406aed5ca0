import TensorCore

/// Few-bit encoding and decoding on the host: codes packed LSB-first, b bits each, so
/// every run of 32 elements fills exactly b 32-bit words. Work is split on 32-element
/// boundaries, so no two threads ever write the same word.
enum FewBitKernels {
    /// Elements per independently packed run.
    static let run = 32

    /// Writes the codes of `values[0..<count]` into `words`, starting at element `start` (a
    /// multiple of 32). Up to 15 borders (4 bits) the codes of 16 values at a time come from
    /// one vector comparison per border; above, from a binary search per value. A value's
    /// code is the number of borders strictly below it (NaN: 0).
    static func encode(_ values: UnsafePointer<Float>, count: Int, start: Int, borders: UnsafeBufferPointer<Float>,
                       bits: Int, words: UnsafeMutablePointer<UInt32>) {
        var accumulator: UInt64 = 0
        var filled = 0
        var word = start / run * bits
        var i = 0
        while i < count {
            let n = min(16, count - i)
            var x = SIMD16<Float>()
            if n == 16 {
                x = UnsafeRawPointer(values + i).loadUnaligned(as: SIMD16<Float>.self)
            } else {
                for lane in 0..<n { x[lane] = values[i + lane] }
            }
            var codes = SIMD16<Int32>()
            if borders.count <= 15 {
                for border in borders { codes.replace(with: codes &+ 1, where: x .> SIMD16(repeating: border)) }
            } else {
                for lane in 0..<n { codes[lane] = Int32(truncatingIfNeeded: search(x[lane], borders)) }
            }
            for lane in 0..<n {
                accumulator |= UInt64(UInt32(bitPattern: codes[lane])) << UInt64(filled)
                filled += bits
                if filled >= 32 {
                    words[word] = UInt32(truncatingIfNeeded: accumulator)
                    word += 1
                    accumulator >>= 32
                    filled -= 32
                }
            }
            i += n
        }
        if filled > 0 { words[word] = UInt32(truncatingIfNeeded: accumulator) }
    }

    /// The number of borders strictly less than x (NaN: 0).
    @inline(__always)
    static func search(_ x: Float, _ borders: UnsafeBufferPointer<Float>) -> Int {
        var low = 0, high = borders.count
        while low < high {
            let middle = (low + high) >> 1
            if borders[middle] < x { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// `gradIn[i] = gradOut[i] * levels[code_i]` for elements `range` (range.lowerBound a multiple of 32).
    static func decode(range: Range<Int>, levels: UnsafeBufferPointer<Float>, bits: Int,
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
                FewBitKernels.encode(x + start, count: range.count, start: start, borders: borders, bits: bits, words: words)
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
    /// Elements per step: z of one step (16 KiB) stays in L1 between the epilogue and the encoder.
    static let step = 4096

    static func apply(_ activation: Activation, table: FewBitTable, bias: UnsafePointer<Float>?,
                      preActivation: UnsafeMutablePointer<Float>?, codes: CPUBuffer, c: UnsafeMutablePointer<Float>,
                      rows: Int, columns: Int, threads: Int) {
        let count = rows * columns
        let words = UnsafeMutableRawPointer(codes.base).assumingMemoryBound(to: UInt32.self)
        table.borders.withUnsafeBufferPointer { borders in
            parallelFor(count: count, threads: threads, grain: 65536, alignment: FewBitKernels.run) { range in
                // Step by step: the epilogue writes z (to preActivation, or to a scratch buffer) and
                // f(z) to c, row segment by row segment; then the step's z is encoded.
                let scratch = preActivation == nil ? UnsafeMutablePointer<Float>.allocate(capacity: step) : nil
                defer { scratch?.deallocate() }
                var first = range.lowerBound
                while first < range.upperBound {
                    let end = min(first + step, range.upperBound)
                    let z = preActivation.map { $0 + first } ?? scratch!
                    var flat = first
                    while flat < end {
                        let column = flat % columns
                        let length = min(columns - column, end - flat)
                        ActivationKernels.epilogueRow(activation, bias: bias.map { $0 + column },
                                                      pre: z + (flat - first), row: c + flat, count: length)
                        flat += length
                    }
                    FewBitKernels.encode(z, count: end - first, start: first, borders: borders, bits: table.bits,
                                         words: words)
                    first = end
                }
            }
        }
    }
}
