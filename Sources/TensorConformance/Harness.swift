import TensorCore

/// Buffers for one conformance case on one backend: inputs uploaded from host values,
/// outputs poisoned before the run and followed by guard elements that must survive it.
public final class Harness {
    /// Elements after every output that no kernel may write.
    public static let guardCount = 67
    /// Written into every output element and guard before a run: an unwritten element or a
    /// stray write shows as this value (finite, so NaN checks stay meaningful).
    public static let poison: Float = -1.2345e29

    public let backend: any Backend
    /// Whether ops with a composite run as that composite (see ``ConformanceCase/viaComposite``).
    public let viaComposite: Bool
    var rng: SeededRandom

    init(backend: any Backend, seed: UInt64, viaComposite: Bool = false) {
        self.backend = backend
        self.viaComposite = viaComposite
        rng = SeededRandom(seed: seed)
    }

    /// Runs `op` through ``Backend/run(_:)``; in a composite case, its composite's parts
    /// instead (ops without a composite run as they are).
    func run(_ op: BackendOp) throws(TensorError) {
        if viaComposite,
           let parts = try op.composite(temporary: { (count) throws(TensorError) in try backend.makeBuffer(elementCount: count) }) {
            for part in parts { try backend.run(part) }
        } else {
            try backend.run(op)
        }
    }

    /// A device buffer holding `values`.
    func input(_ values: [Float]) throws(TensorError) -> any BackendBuffer {
        try inputBytes(ConformanceTable.rawBytes(values))
    }

    /// A poisoned output of `count` elements plus the guard.
    func output(_ count: Int) throws(TensorError) -> GuardedOutput {
        let buffer = try backend.makeBuffer(elementCount: count + Self.guardCount)
        try backend.run(.fill(buffer, value: Self.poison, count: count + Self.guardCount))
        return GuardedOutput(buffer: buffer, count: count)
    }

    /// The output's values; throws when a guard element was overwritten.
    func read(_ output: GuardedOutput) throws(TensorError) -> [Float] {
        let total = output.count + Self.guardCount
        var values = [Float](repeating: 0, count: total)
        var failure: TensorError?
        values.withUnsafeMutableBytes { bytes in
            do throws(TensorError) {
                try backend.read(output.buffer, into: bytes)
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        if let stray = (output.count..<total).first(where: { values[$0].bitPattern != Self.poison.bitPattern }) {
            throw .deviceFailure(device: backend.name,
                                 reason: "out-of-bounds write: guard element \(stray - output.count) past the end holds \(values[stray])")
        }
        return Array(values[0..<output.count])
    }

    /// Values of a class: "normal", "large", "denormal", "zeros" (sparse, most exactly 0).
    func values(_ count: Int, _ kind: String, scale: Float = 1) -> [Float] {
        switch kind {
        case "large": return rng.normalFloats(count, std: 1e4 * scale)
        case "denormal":
            return (0..<count).map { _ in
                let magnitude = Float(rng.nextUniform()) * 1e-38
                return rng.nextUniform() < 0.5 ? -magnitude : magnitude
            }
        case "zeros":
            return (0..<count).map { _ in rng.nextUniform() < 0.9 ? 0 : scale * Float(rng.nextNormal()) }
        default: return rng.normalFloats(count, std: scale)
        }
    }
}

/// An output buffer with ``Harness/guardCount`` guard elements after `count`.
struct GuardedOutput {
    let buffer: any BackendBuffer
    let count: Int
}
