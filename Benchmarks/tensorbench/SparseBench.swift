import Foundation
import TensorEngine

/// `tensorbench sparse`: activation-sparse x * W against the same backend's dense matmul and numpy.
enum SparseBench {
    static let help = """
        tensorbench sparse [options] [KxN ...] [b=1,4,...] [s=0,50,...] [mask=indep|shared]
          y = x~ * W with x [B, K] of the given sparsity (exact zeros, threshold 0) and W [K, N]
          float32, cold weights (a 96 MB buffer is read between timed runs). Per row: the
          dense matmul (sgemv/sgemm), the sparse kernel on the cost model's preferred sparse
          path, and sparseMatmul's dispatcher (which may choose dense); numpy's dense x @ W in
          the same run. Masks: independent per batch row, or one mask shared by the batch.
          Defaults: 4096x11008, 11008x4096, 4096x4096; b=1,4,16,64; s=0,50,70,80,90,95,99.
          --quick: 4096x11008 only, b=1,4,16,64, s=0,50,90.
        """

    struct Config {
        var shapes: [(Int, Int)]
        var batches: [Int]
        var sparsities: [Int]
        var masks: [String]

        init(_ options: Options) throws {
            shapes = options.quick ? [(4096, 11008)] : [(4096, 11008), (11008, 4096), (4096, 4096)]
            batches = [1, 4, 16, 64]
            sparsities = options.quick ? [0, 50, 90] : [0, 50, 70, 80, 90, 95, 99]
            masks = ["indep", "shared"]
            var explicitShapes: [(Int, Int)] = []
            for token in options.rest {
                if token.hasPrefix("b=") {
                    batches = try ints(token.dropFirst(2))
                } else if token.hasPrefix("s=") {
                    sparsities = try ints(token.dropFirst(2))
                } else if token.hasPrefix("mask=") {
                    masks = token.dropFirst(5).split(separator: ",").map(String.init)
                } else {
                    let parts = token.split(separator: "x").compactMap { Int($0) }
                    guard parts.count == 2, parts.allSatisfy({ $0 > 0 }) else { throw UsageError("cannot read '\(token)'") }
                    explicitShapes.append((parts[0], parts[1]))
                }
            }
            if !explicitShapes.isEmpty { shapes = explicitShapes }
        }
    }

    static func ints(_ text: Substring) throws -> [Int] {
        let values = text.split(separator: ",").compactMap { Int($0) }
        guard !values.isEmpty else { throw UsageError("cannot read '\(text)'") }
        return values
    }

    static func run(_ options: Options, report: inout Report) throws {
        let device = try options.resolveDevice()
        let config = try Config(options)
        let repeats = options.repeats ?? (options.quick ? 5 : 7)
        let threads = options.threads ?? CPUThreads.current
        let shapeList = config.shapes.map { "\($0.0)x\($0.1)" }.joined(separator: ",")
        let peers = options.noPeers ? [:] : Peers.run("sparse.py", ["--shapes", shapeList, "--batches",
            config.batches.map(String.init).joined(separator: ","), "--repeat", "\(repeats)"], threads: threads)
        var flusher = CacheFlusher()
        var worst: [(label: String, min: Double, minRow: String, paired: Double, pairedRow: String)] = []
        var table = Table("K x N", "B", "sparse", "mask", "union", "path", "dense ms min", "med",
                          "kernel ms min", "med", "x dense", "auto ms min", "med", "x dense", "paired",
                          "auto path", "decide us", "numpy ms", "x numpy")
        for (k, n) in config.shapes {
            let w = try Tensor.randn([k, n], std: 0.02, seed: 7, on: device)
            for batch in config.batches {
                let peerLabel = "\(k)x\(n) b\(batch)"
                let numpy = Peers.figure(peers, peer: "numpy", label: peerLabel)
                for sparsity in config.sparsities {
                    for mask in config.masks where !(batch == 1 && mask == "shared") {
                        Progress.say("sparse \(peerLabel) \(sparsity)% \(mask)")
                        let x = try Tensor(maskedInput(batch: batch, inner: k, sparsity: sparsity, shared: mask == "shared"),
                                           shape: [batch, k], on: device)
                        let decision = try sparseDecision(x, w, threshold: 0)
                        let costs = SparseCostModel.default(for: device.kind).costs(
                            rows: batch, inner: k, columns: n, rowCounts: decision.rowCounts, unionCount: decision.unionCount)
                        let path: SparseMode = costs.perRow <= costs.union ? .perRow : .unionOverBatch
                        // Dense, the forced sparse kernel and the dispatcher take turns, so all three
                        // see the same machine load.
                        let samples = try Timing.measureInterleaved(repeats: repeats, on: device, before: { flusher.flush() }, [
                            { _ = try matmul(x, w) },
                            { _ = try sparseMatmul(x, w, threshold: 0, mode: path) },
                            { _ = try sparseMatmul(x, w, threshold: 0) },
                        ])
                        let (dense, kernel, auto) = (Timing(samples[0]), Timing(samples[1]), Timing(samples[2]))
                        // Ratios of back-to-back runs: robust to load that drifts during the row.
                        let paired = Timing(zip(samples[0], samples[2]).map { $0 / $1 }).median
                        let decide = try Timing.measureInterleaved(repeats: repeats, on: device, before: { flusher.flush() }, [
                            { _ = try sparseDecision(x, w, threshold: 0) },
                        ])[0].min() ?? 0
                        let label = "\(k)x\(n) b\(batch) s\(sparsity) \(mask)"
                        var record = Record(benchmark: "sparse", device: device.identifier, label: label, shape: [batch, k, n],
                                            metric: "GFLOP/s (dense-equivalent)", unit: "FLOP", ours: auto,
                                            work: 2 * Double(batch * k * n))
                        record.extra = ["dense_min_s": dense.min, "dense_median_s": dense.median,
                                        "kernel_min_s": kernel.min, "kernel_median_s": kernel.median,
                                        "speedup_min": dense.min / auto.min, "speedup_median": dense.median / auto.median,
                                        "kernel_speedup_min": dense.min / kernel.min,
                                        "union_density": decision.unionDensity, "row_density": decision.rowDensity,
                                        "paired_speedup_median": paired, "decision_min_s": decide]
                        if !options.noPeers { record.peers["numpy"] = numpy }
                        report.records.append(record)
                        let numpyCells: [String] = options.noPeers ? ["-", "-"]
                            : numpy.min.map { [ms($0), format($0 / auto.min, digits: 2) + "x"] }
                            ?? [numpy.why.map { "n/a (\($0))" } ?? "n/a", "-"]
                        let group = "\(k)x\(n) b\(batch)", row = "\(sparsity)% \(mask)"
                        if worst.last?.label != group { worst.append((group, .infinity, "", .infinity, "")) }
                        if dense.min / auto.min < worst[worst.count - 1].min {
                            (worst[worst.count - 1].min, worst[worst.count - 1].minRow) = (dense.min / auto.min, row)
                        }
                        if paired < worst[worst.count - 1].paired {
                            (worst[worst.count - 1].paired, worst[worst.count - 1].pairedRow) = (paired, row)
                        }
                        table.add(["\(k)x\(n)", "\(batch)", "\(sparsity)%", mask, format(100 * decision.unionDensity) + "%",
                                   path.rawValue, ms(dense.min), ms(dense.median), ms(kernel.min), ms(kernel.median),
                                   format(dense.min / kernel.min, digits: 2) + "x", ms(auto.min), ms(auto.median),
                                   format(dense.min / auto.min, digits: 2) + "x", format(paired, digits: 2) + "x",
                                   decision.mode.rawValue, format(decide * 1e6)] + numpyCells)
                    }
                }
            }
        }
        Progress.done()
        print("sparse on \(device), float32, cold weights, \(repeats) repeats")
        print(table.render())
        print("x dense = dense min / ours min (> 1: sparse is faster); kernel = the forced sparse path; auto = sparseMatmul's")
        print("dispatcher; paired = median over repeats of dense / auto for back-to-back runs; decide = the dispatcher's")
        print("measurement and choice alone (its whole overhead when it picks dense); x numpy = numpy min / auto min")
        print("\nworst case of the dispatcher against dense, per shape and batch (over the sparsities and masks above):")
        var floor = Table("K x N, batch", "x dense (min)", "at", "paired (median)", "at")
        for w in worst {
            floor.add([w.label, format(w.min, digits: 2) + "x", w.minRow, format(w.paired, digits: 2) + "x", w.pairedRow])
        }
        print(floor.render())
    }

    static func ms(_ seconds: Double) -> String { format(seconds * 1e3, digits: 2) }

    /// x [batch, inner] with exactly round(sparsity% * inner) zeros per row, independent per row or shared.
    static func maskedInput(batch: Int, inner: Int, sparsity: Int, shared: Bool) -> [Float] {
        var rng = SeededRandom(seed: UInt64(1000 + sparsity))
        var values = rng.normalFloats(batch * inner)
        for i in values.indices where values[i] == 0 { values[i] = 1 }
        let zeros = (sparsity * inner + 50) / 100
        var order = Array(0..<inner)
        for row in 0..<batch {
            if row == 0 || !shared { order.shuffle(using: &rng) }
            for k in order.prefix(zeros) { values[row * inner + k] = 0 }
        }
        return values
    }
}

/// Evicts the CPU caches by reading a buffer three times the size of the L3 cache.
struct CacheFlusher {
    var buffer = [SIMD16<Float>](repeating: SIMD16(repeating: 1), count: 96 << 20 / 64)
    var sink: Float = 0

    mutating func flush() {
        var acc = SIMD16<Float>()
        buffer.withUnsafeBufferPointer { for v in $0 { acc += v } }
        sink += acc.sum()
    }
}
