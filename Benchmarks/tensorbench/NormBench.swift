import TensorEngine

/// `tensorbench layernorm`: LayerNorm and RMSNorm over the last axis, forward and
/// forward + backward, ours vs PyTorch CPU (Benchmarks/peers/norms.py) on the same data.
enum NormBench {
    static let help = """
        tensorbench layernorm [options]
          layerNorm (weight, bias, eps 1e-12) and rmsNorm (weight, eps 1e-6) over the last axis
          of a rows x columns float32 tensor (default 4096 x 384, a MiniLM batch; --sizes R,C):
          forward alone, and forward + backward (gradients of x, weight and bias from a given
          output gradient). Time in ms at the min and median; PyTorch's F.layer_norm /
          F.rms_norm and autograd on the same tensors, in the same run.
        """

    static func run(_ options: Options, report: inout Report) throws {
        let device = try options.resolveDevice()
        let rows = options.sizes?.first ?? (options.quick ? 1024 : 4096)
        let columns = options.sizes.flatMap { $0.count > 1 ? $0[1] : nil } ?? 384
        let repeats = options.repeats ?? (options.quick ? 5 : 20)
        let threads = options.threads ?? CPUThreads.current
        let x = try Tensor.randn([rows, columns], seed: 1, on: device)
        let grad = try Tensor.randn([rows, columns], seed: 2, on: device)
        let weight = try Tensor.randn([columns], mean: 1, std: 0.1, seed: 3, on: device)
        let bias = try Tensor.randn([columns], std: 0.1, seed: 4, on: device)
        let peers = options.noPeers ? [:]
            : Peers.run("norms.py", ["--rows", "\(rows)", "--columns", "\(columns)", "--repeat", "\(repeats)",
                                     "--threads", "\(threads)"],
                        threads: threads, sharing: ["x": x, "grad": grad, "weight": weight, "bias": bias])
        let firstRecord = report.records.count
        var table = Table("norm", "pass", "ours ms min", "median", "torch ms", "ratio")
        let xLeaf = x.requiringGrad(), wLeaf = weight.requiringGrad(), bLeaf = bias.requiringGrad()
        for norm in ["layernorm", "rmsnorm"] {
            for pass in ["forward", "forward+backward"] {
                Progress.say("\(norm) \(pass) on \(device.identifier)")
                let timing = try Timing.measure(repeats: repeats, on: device) {
                    if pass == "forward" {
                        _ = norm == "layernorm" ? try layerNorm(x, weight: weight, bias: bias, epsilon: 1e-12)
                            : try rmsNorm(x, weight: weight, epsilon: 1e-6)
                        return
                    }
                    for leaf in [xLeaf, wLeaf, bLeaf] { leaf.clearGrad() }
                    let y = norm == "layernorm" ? try layerNorm(xLeaf, weight: wLeaf, bias: bLeaf, epsilon: 1e-12)
                        : try rmsNorm(xLeaf, weight: wLeaf, epsilon: 1e-6)
                    try y.backward(grad)
                }
                let label = "\(norm) \(pass)"
                var record = Record(benchmark: "layernorm", device: device.identifier, label: label, shape: [rows, columns],
                                    metric: "Gelem/s", unit: "elements", ours: timing, work: Double(rows * columns))
                var cells = [norm, pass, format(timing.min * 1e3, digits: 3), format(timing.median * 1e3, digits: 3)]
                if !options.noPeers {
                    let figure = Peers.figure(peers, peer: "torch", label: label)
                    record.peers["torch"] = figure
                    cells += peerTimeCells(figure, ours: timing, digits: 3)
                }
                report.records.append(record)
                table.add(cells)
            }
        }
        Progress.done()
        print("layernorm on \(device), \(rows)x\(columns) float32")
        print(table.render())
        print("ratio = peer time / our time at the min (> 1: we are faster)")
        Peers.printReasons(report.records[firstRecord...])
    }
}
