import Foundation
import TensorEngine

/// `tensorbench fewbit`: the tables against the published ones, and the fused few-bit
/// linear + GELU forward and backward against the exact one.
enum FewBitBench {
    static let help = """
        tensorbench fewbit [options]
          1. Our optimal tables vs the published tables of the fewbit project
             (Tests/TensorCoreTests/Resources/fewbit_published_tables.json) for GELU, SiLU,
             Tanh, Sigmoid at 1-4 bits: the weighted L2 error of each (same integral).
          2. Time to compute every table (11 activations x 8 widths) in this process.
          3. Fused linear + GELU forward + backward (dx, dW, db), x [256, 1024] W [1024, 4096]
             (--quick: [128, 512] x [512, 1024]): exact vs few-bit 1-4 bits, step time min /
             median and the ratio to exact (few-bit target: within 1.1x); PyTorch's
             F.gelu(x W + b) forward + backward on the same x, W and gradient in the same run
             (Benchmarks/peers/fewbit_linear.py). The fewbit reference project itself is a
             C++/CUDA PyTorch extension that does not install here; its column says so.
        tensorbench fewbit step [options]
          Only part 3, the linear + GELU step (scripts/device-check runs this).
        tensorbench fewbit certify=6,7,8 [--filter TEXT,TEXT]
          Only the optimality certificates: FewBitTable.certified for every activation (or
          those whose name contains one of the TEXTs) at the listed bits, two tables at a time: error,
          certified lower bound, relative gap, seconds. Slow at 8 bits (minutes a table).
        """

    static func run(_ options: Options, report: inout Report) throws {
        if let token = options.rest.first(where: { $0.hasPrefix("certify=") }) {
            let list = token.dropFirst("certify=".count).split(separator: ",").compactMap { Int($0) }
            guard !list.isEmpty, list.allSatisfy((1...8).contains) else {
                throw UsageError("certify= takes bits in 1...8, e.g. certify=6,7,8; got \(token)")
            }
            try certificates(bits: list, filter: options.filter, report: &report)
            return
        }
        let device = try options.resolveDevice()
        if !options.rest.contains("step") {
            try tables(report: &report, device: device, timeAll: !options.quick)
            print("")
        }
        try linearStep(options, device: device, report: &report)
    }

    static func tables(report: inout Report, device: Device, timeAll: Bool) throws {
        let path = Peers.repositoryRoot + "/Tests/TensorCoreTests/Resources/fewbit_published_tables.json"
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
        let published = json?["tables"] as? [String: [String: [String: [Double]]]] ?? [:]
        var table = Table("activation", "bits", "ours L2", "published L2", "ours / published")
        for (name, activation) in [("gelu", Activation.gelu), ("silu", .silu), ("tanh", .tanh), ("sigmoid", .sigmoid)] {
            for bits in 1...4 {
                let ours = try FewBitTable.optimal(for: activation, bits: bits)
                guard let entry = published[name]?["\(bits)"], let borders = entry["borders"], let levels = entry["levels"] else {
                    table.add([name, "\(bits)", String(format: "%.4e", ours.l2Error), "missing", "-"])
                    continue
                }
                // Published borders include the outer ends -100 and 100.
                let theirs = try FewBitTable(borders: borders.dropFirst().dropLast().map(Float.init), levels: levels.map(Float.init),
                                             activation: activation)
                table.add([name, "\(bits)", String(format: "%.4e", ours.l2Error), String(format: "%.4e", theirs.l2Error),
                           format(ours.l2Error / theirs.l2Error, digits: 3)])
                var record = Record(benchmark: "fewbit-table", device: "host", label: "\(name) \(bits)-bit", shape: [bits],
                                    metric: "L2 error", unit: "", ours: Timing([0]), work: 0)
                record.extra = ["ours_l2": ours.l2Error, "published_l2": theirs.l2Error]
                report.records.append(record)
            }
        }
        print("fewbit tables: weighted L2 error of f' - q over uniform [-100, 100], ours vs published")
        print(table.render())
        guard timeAll else { return }
        let start = Date()
        for activation in Activation.allCases {
            for bits in 1...8 { _ = try FewBitTable.optimal(for: activation, bits: bits) }
        }
        print(String(format: "all %d tables (11 activations x 1-8 bits) computed and cached in %.2f s", Activation.allCases.count * 8,
                     Date().timeIntervalSince(start)))
    }

    /// The certificate of every table asked for: two computed at a time (one per core).
    static func certificates(bits list: [Int], filter: String?, report: inout Report) throws {
        let wanted = filter?.split(separator: ",").map(String.init)
        let activations = Activation.allCases.filter { activation in
            wanted?.contains { activation.description.contains($0) } ?? true
        }
        let jobs = activations.flatMap { activation in list.map { (activation, $0) } }
        let results = LockedResults(count: jobs.count)
        DispatchQueue.concurrentPerform(iterations: jobs.count) { index in
            let (activation, bits) = jobs[index]
            let start = Date()
            var seconds = 0.0
            let outcome: Result<(FewBitTable, FewBitTable), TensorError>
            do throws(TensorError) {
                // The certified table (timed), and the default one `optimal` returns (not searched above 5 bits).
                let certified = try FewBitTable.certified(for: activation, bits: bits)
                seconds = Date().timeIntervalSince(start)
                outcome = .success((certified, try FewBitTable.optimal(for: activation, bits: bits)))
            } catch { outcome = .failure(error) }
            results.set(index, (outcome, seconds))
            Progress.say("certified \(activation) \(bits) bits")
        }
        var table = Table("activation", "bits", "L2 error", "lower bound", "gap", "seconds", "optimal() error", "its gap")
        for (index, (activation, bits)) in jobs.enumerated() {
            guard let (outcome, seconds) = results.get(index) else { continue }
            let (certified, optimal) = try outcome.get()
            // How far the default table is from the proven bound: the certificate covers it too when small.
            let defaultGap = optimal.l2Error > 0 ? (optimal.l2Error - certified.lowerBound) / optimal.l2Error : 0
            table.add(["\(activation)", "\(bits)", String(format: "%.6e", certified.l2Error),
                       String(format: "%.6e", certified.lowerBound), String(format: "%.2e", certified.optimalityGap),
                       String(format: "%.2f", seconds), String(format: "%.6e", optimal.l2Error),
                       String(format: "%.2e", defaultGap)])
            var record = Record(benchmark: "fewbit-certificate", device: "host", label: "\(activation) \(bits)-bit",
                                shape: [bits], metric: "seconds", unit: "", ours: Timing([seconds]), work: 0)
            record.extra = ["l2": certified.l2Error, "lower_bound": certified.lowerBound, "gap": certified.optimalityGap,
                            "optimal_l2": optimal.l2Error, "optimal_gap": defaultGap]
            report.records.append(record)
        }
        print("fewbit certificates: no table with this many bits has an error below the lower bound (uniform [-100, 100])")
        print(table.render())
    }

    static func linearStep(_ options: Options, device: Device, report: inout Report) throws {
        let (rows, inputs, outputs) = options.quick ? (128, 512, 1024) : (256, 1024, 4096)
        let repeats = options.repeats ?? (options.quick ? 5 : 10)
        let threads = options.threads ?? CPUThreads.current
        // x needs its gradient too, so the step is the whole 6 m k n FLOP (dx, dW, db) the peer does.
        let x = try Tensor.randn([rows, inputs], seed: 1, on: device).requiringGrad()
        let w = try Tensor.randn([inputs, outputs], std: 1 / Float(inputs).squareRoot(), seed: 2, on: device).requiringGrad()
        let b = try Tensor.zeros([outputs], on: device).requiringGrad()
        let g = try Tensor.randn([rows, outputs], seed: 3, on: device)
        let peers = options.noPeers ? [:]
            : Peers.run("fewbit_linear.py", ["--shape", "\(rows)x\(inputs)x\(outputs)", "--repeat", "\(repeats)",
                                             "--threads", "\(threads)"], threads: threads, sharing: ["x": x, "w": w, "g": g])
        let firstRecord = report.records.count
        var table = Table("memory", "fwd+bwd ms min", "median", "vs exact (min)", "vs exact (median)", "paired",
                          "activation bytes")
        if !options.noPeers { table.headers += ["torch exact ms", "ratio", "fewbit"] }
        let memories = [ActivationMemory.exact, .fewBit(bits: 1), .fewBit(bits: 2), .fewBit(bits: 3), .fewBit(bits: 4)]
        var bytes = [Int](repeating: 0, count: memories.count)
        // The modes take turns (exact, 1, 2, 3, 4, exact, ...), so load that drifts during the
        // run hits them alike; `paired` is the median ratio of back-to-back steps.
        Progress.say("fewbit linear+gelu exact and 1-4 bits")
        let samples = try Timing.measureInterleaved(repeats: repeats, on: device, memories.indices.map { index in
            {
                let y = try linear(x, weight: w, bias: b, activation: .gelu, memory: memories[index])
                bytes[index] = y.retainedBytesByOp().filter { $0.key.contains("activation") }.values.reduce(0, +)
                try y.backward(g)
                x.clearGrad()
                w.clearGrad()
                b.clearGrad()
            }
        })
        let exact = Timing(samples[0])
        for (index, memory) in memories.enumerated() {
            let timing = Timing(samples[index])
            let paired = Timing(zip(samples[index], samples[0]).map { $0 / $1 }).median
            var cells = ["\(memory)", format(timing.min * 1e3, digits: 2), format(timing.median * 1e3, digits: 2),
                         format(timing.min / exact.min, digits: 3) + "x", format(timing.median / exact.median, digits: 3) + "x",
                         format(paired, digits: 3) + "x", "\(bytes[index])"]
            var record = Record(benchmark: "fewbit-linear-gelu", device: device.identifier, label: "\(memory)",
                                shape: [rows, inputs, outputs], metric: "GFLOP/s", unit: "FLOP", ours: timing,
                                work: 6 * Double(rows) * Double(inputs) * Double(outputs))
            record.extra = ["activation_bytes": Double(bytes[index]), "ratio_to_exact_min": timing.min / exact.min,
                            "ratio_to_exact_median": timing.median / exact.median, "ratio_to_exact_paired": paired]
            if !options.noPeers {
                // PyTorch has exact GELU only: every row is compared with its exact step.
                let torch = Peers.figure(peers, peer: "torch", label: "exact")
                let fewbit = Peers.figure(peers, peer: "fewbit", label: "\(memory)")
                record.peers = ["torch": torch, "fewbit": fewbit, "numpy": Peers.figure(peers, peer: "numpy", label: "exact")]
                cells += peerTimeCells(torch, ours: timing) + [fewbit.min.map { format($0 * 1e3, digits: 2) } ?? "n/a"]
            }
            table.add(cells)
            report.records.append(record)
        }
        Progress.done()
        print("fewbit: linear + GELU forward and backward (dx, dW, db), x [\(rows), \(inputs)] W [\(inputs), \(outputs)], on \(device)")
        print(table.render())
        print("paired = median over rounds of this step's time / the exact step's in the same round (modes take turns)")
        if !options.noPeers {
            print("ratio = torch's exact step time / ours at the min (> 1: we are faster)")
            Peers.printReasons(report.records[firstRecord...])
        }
    }
}

/// Per-job results written by concurrent workers.
private final class LockedResults: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [(Result<(FewBitTable, FewBitTable), TensorError>, Double)?]

    init(count: Int) { values = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ value: (Result<(FewBitTable, FewBitTable), TensorError>, Double)) {
        lock.withLock { values[index] = value }
    }

    func get(_ index: Int) -> (Result<(FewBitTable, FewBitTable), TensorError>, Double)? {
        lock.withLock { values[index] }
    }
}
