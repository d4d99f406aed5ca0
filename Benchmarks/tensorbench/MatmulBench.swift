import TensorEngine
import VulkanBackend

/// `tensorbench matmul`: square fp32 matmul GFLOP/s, ours vs numpy and PyTorch.
enum MatmulBench {
    static let help = """
        tensorbench matmul [options]
          Square float32 C = A * B at each size: GFLOP/s at the min and median time,
          with numpy's and PyTorch's figures for the same sizes measured in the same run.
          --dtype float16|bfloat16: 16-bit operands and result (no CPU peers). Where the
          backend has no 16-bit matmul it is timed as cast to float32, matmul, cast back,
          and the record says so (note "path"). --rounds N: the peers and ours take N
          turns at each size.
        """

    static func run(_ options: Options, report: inout Report) throws {
        let device = try options.resolveDevice()
        let sizes = options.sizes ?? (options.quick ? [256, 512, 1024] : [1024, 2048, 4096])
        let repeats = options.repeats ?? (options.quick ? 3 : 5)
        let threads = options.threads ?? CPUThreads.current
        let vulkan = device.backend as? VulkanDevice
        let dtype = options.dtype ?? .float32
        // Vulkan float32: the naive kernel for comparison; CPU float32: the peers; 16-bit: neither.
        var table = switch (vulkan != nil, dtype == .float32) {
        case (true, true): Table("n", "ours GFLOP/s min", "median", "naive kernel", "tiled / naive")
        case (false, true): Table("n", "ours GFLOP/s min", "median", "% peak", "numpy", "ratio", "torch", "ratio")
        case (true, false): Table("n", "ours GFLOP/s min", "median")
        case (false, false): Table("n", "ours GFLOP/s min", "median", "% peak")
        }
        if vulkan == nil, report.peak == nil { report.peak = Peak.load() }
        let firstRecord = report.records.count
        let withPeers = !options.noPeers && device.kind == .cpu && dtype == .float32
        let rounds = options.rounds ?? 1
        for n in sizes {
            // The peers run size by size just before ours, not all sizes in one block first: a
            // slower minute on a shared host then falls on both sides of a ratio, not on one.
            // With --rounds, they take turns that many times.
            let a = try Tensor.randn([n, n], seed: 1, on: device).cast(to: dtype)
            let b = try Tensor.randn([n, n], seed: 2, on: device).cast(to: dtype)
            let (product, path) = try Self.product(dtype, on: device)
            report.notes["path"] = path
            var peerRounds: [[String: [String: PeerFigure]]] = []
            var ourRounds: [Timing] = []
            for round in 0..<rounds {
                if withPeers {
                    peerRounds.append(Peers.run("matmul.py", ["--sizes", "\(n)", "--repeat", "\(repeats)",
                                                              "--threads", "\(threads)"], threads: threads))
                }
                Progress.say("matmul \(n) on \(device.identifier)" + (rounds > 1 ? " (round \(round + 1) of \(rounds))" : ""))
                ourRounds.append(try Timing.measure(repeats: repeats, on: device) { _ = try product(a, b) })
            }
            let peers = Rounds.merge(peerRounds)
            let timing = Rounds.merge(ourRounds)
            let label = dtype == .float32 ? "\(n)" : "\(n) \(dtype)"
            var record = Record(benchmark: "matmul", device: device.identifier, label: label, shape: [n, n, n],
                                metric: "GFLOP/s", unit: "FLOP", ours: timing, work: 2 * Double(n) * Double(n) * Double(n))
            if rounds > 1 { record.extra["rounds"] = Double(rounds) }
            var cells = ["\(n)", format(record.bestRate), format(record.medianRate)]
            if vulkan == nil, let peak = report.peak {
                cells.append(format(100 * record.bestRate / peak.fmaGFLOPS) + "%")
            }
            if let vulkan, dtype == .float32 {
                // The one-invocation-per-output kernel on the same operands: what tiling gains.
                let c = try Tensor.zeros([n, n], on: device)
                let naive = try Timing.measure(repeats: max(1, repeats / 2), on: device) {
                    try vulkan.naiveMatmul(a.storageForBenchmarks, b.storageForBenchmarks, into: c.storageForBenchmarks,
                                           geometry: MatmulGeometry(m: n, n: n, k: n))
                }
                record.extra["naive_min_s"] = naive.min
                record.extra["naive_median_s"] = naive.median
                cells += [format(record.work / naive.min / 1e9, digits: 2), format(naive.min / timing.min, digits: 1) + "x"]
            }
            for peer in ["numpy", "torch"] where withPeers {
                let figure = Peers.figure(peers, peer: peer, label: "\(n)")
                record.peers[peer] = figure
                cells += peerCells(figure, work: record.work, ours: timing)
            }
            report.records.append(record)
            table.add(cells)
        }
        Progress.done()
        print("matmul \(dtype) on \(device)" + (report.notes["path"].map { " (\($0))" } ?? ""))
        print(table.render())
        print("ratio = our GFLOP/s / peer GFLOP/s at the min time (> 1: we are faster)")
        Peers.printReasons(report.records[firstRecord...])
        if !options.noPeers {
            print(OpenBLASEnvironment.description)
            print(Peers.blasReport(threads: threads))
        }
        if vulkan == nil, let peak = report.peak { print(peak.description) }
    }

    /// The product for `dtype` operands and a word on how it runs: the backend's own when it
    /// takes the type, else cast to float32, multiply, cast back (what a 16-bit caller would do).
    static func product(_ dtype: DType, on device: Device) throws -> ((Tensor, Tensor) throws -> Tensor, String) {
        if dtype == .float32 { return ({ try matmul($0, $1) }, "float32") }
        // matmul takes 16-bit operands on every backend: the backend's 16-bit kernel where it
        // supports the op, else the op's composite (casts around the float32 kernel).
        let probe = try device.backend.makeBuffer(count: 4, dtype: dtype)
        let native = device.backend.supports(.matmul(a: probe, b: probe, c: probe,
                                                     geometry: MatmulGeometry(m: 2, n: 2, k: 2,
                                                                              types: OperandTypes(a: dtype, b: dtype, c: dtype)),
                                                     epilogue: .none))
        return ({ try matmul($0, $1) }, native ? "native \(dtype) kernel"
                    : "\(dtype) through the composite: cast to float32, float32 matmul, cast back")
    }
}
