import TensorEngine
import VulkanBackend

/// `tensorbench matmul`: square fp32 matmul GFLOP/s, ours vs numpy and PyTorch.
enum MatmulBench {
    static let help = """
        tensorbench matmul [options]
          Square float32 C = A * B at each size: GFLOP/s at the min and median time,
          with numpy's and PyTorch's figures for the same sizes measured in the same run.
          --dtype float16|bfloat16 stores A, B and C in that type (float32 arithmetic); the
          peers and the naive kernel are float32 only, so they are left out.
        """

    static func run(_ options: Options, report: inout Report) throws {
        let device = try options.resolveDevice()
        let sizes = options.sizes ?? (options.quick ? [256, 512, 1024] : [1024, 2048, 4096])
        let repeats = options.repeats ?? (options.quick ? 3 : 5)
        let threads = options.threads ?? CPUThreads.current
        let vulkan = device.backend as? VulkanDevice
        var table = vulkan != nil ? Table("n", "ours GFLOP/s min", "median", "naive kernel", "tiled / naive")
                                  : Table("n", "ours GFLOP/s min", "median", "% peak", "numpy", "ratio", "torch", "ratio")
        if vulkan == nil, report.peak == nil { report.peak = Peak.load() }
        let firstRecord = report.records.count
        let dtype = options.dtype
        let peers = options.noPeers || device.kind != .cpu || dtype != .float32 ? [:]
            : Peers.run("matmul.py", ["--sizes", sizes.map(String.init).joined(separator: ","), "--repeat", "\(repeats)",
                                      "--threads", "\(threads)"], threads: threads)
        for n in sizes {
            Progress.say("matmul \(n) on \(device.identifier)")
            let a = try Tensor.randn([n, n], seed: 1, on: device).cast(to: dtype)
            let b = try Tensor.randn([n, n], seed: 2, on: device).cast(to: dtype)
            let timing = try Timing.measure(repeats: repeats, on: device) { _ = try matmul(a, b) }
            let label = dtype == .float32 ? "\(n)" : "\(n) \(dtype)"
            var record = Record(benchmark: "matmul", device: device.identifier, label: label, shape: [n, n, n],
                                metric: "GFLOP/s", unit: "FLOP", ours: timing, work: 2 * Double(n) * Double(n) * Double(n))
            var cells = [label, format(record.bestRate), format(record.medianRate)]
            if vulkan == nil, let peak = report.peak {
                cells.append(format(100 * record.bestRate / peak.fmaGFLOPS) + "%")
            }
            if vulkan != nil, dtype != .float32 {
                cells += ["-", "-"]
            } else if let vulkan {
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
            for peer in ["numpy", "torch"] where !options.noPeers && vulkan == nil && dtype == .float32 {
                let figure = Peers.figure(peers, peer: peer, label: "\(n)")
                record.peers[peer] = figure
                cells += peerCells(figure, work: record.work, ours: timing)
            }
            report.records.append(record)
            table.add(cells)
        }
        Progress.done()
        print("matmul on \(device)")
        print(table.render())
        print("ratio = our GFLOP/s / peer GFLOP/s at the min time (> 1: we are faster)")
        Peers.printReasons(report.records[firstRecord...])
        if !options.noPeers {
            print(OpenBLASEnvironment.description)
            print(Peers.blasReport(threads: threads))
        }
        if vulkan == nil, let peak = report.peak { print(peak.description) }
    }
}
