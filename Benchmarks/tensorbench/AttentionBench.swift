import TensorEngine

/// `tensorbench attention`: fused scaled dot-product attention, forward and forward + backward,
/// ours vs PyTorch's `torch.nn.functional.scaled_dot_product_attention` on the same tensors.
enum AttentionBench {
    static let help = """
        tensorbench attention [options]
          scaledDotProductAttention over q, k, v [batch, 12, L, 32] (no mask, not causal) at
          sequence lengths L (--sizes, default 128,512; batch 4, 2 with --quick): forward (no
          autograd) and forward + backward (gradients of q, k and v from a fixed output
          gradient). GFLOP/s counts 4 B H L^2 Dh for forward and 2.5 times that again for
          backward. PyTorch CPU's F.scaled_dot_product_attention times the same work on the
          same tensors in the same run (ratio > 1: we are faster).
        """

    static let heads = 12, headDim = 32

    static func run(_ options: Options, report: inout Report) throws {
        let device = try options.resolveDevice()
        let lengths = options.sizes ?? (options.quick ? [128] : [128, 512])
        let batch = options.quick ? 2 : 4
        let repeats = options.repeats ?? (options.quick ? 3 : 10)
        let threads = options.threads ?? CPUThreads.current
        let firstRecord = report.records.count
        var table = Table("L", "pass", "ours ms min", "median", "GFLOP/s", "torch ms", "ratio")
        for length in lengths {
            let shape = [batch, heads, length, headDim]
            let q = try Tensor.randn(shape, seed: 1, on: device), k = try Tensor.randn(shape, seed: 2, on: device)
            let v = try Tensor.randn(shape, seed: 3, on: device), g = try Tensor.randn(shape, seed: 4, on: device)
            let peers = options.noPeers ? [:]
                : Peers.run("attention.py", ["--batch", "\(batch)", "--heads", "\(heads)", "--length", "\(length)",
                                             "--head-dim", "\(headDim)", "--repeat", "\(repeats)", "--threads", "\(threads)"],
                            threads: threads, sharing: ["q": q, "k": k, "v": v, "grad": g])
            let forwardFlops = 4.0 * Double(batch * heads * length * length * headDim)
            for pass in ["forward", "forward+backward"] {
                Progress.say("attention L \(length) \(pass) on \(device.identifier)")
                let timing: Timing
                if pass == "forward" {
                    timing = try Timing.measure(repeats: repeats, on: device) {
                        _ = try withNoGrad { try scaledDotProductAttention(query: q, key: k, value: v) }
                    }
                } else {
                    let (qg, kg, vg) = (q.requiringGrad(), k.requiringGrad(), v.requiringGrad())
                    timing = try Timing.measure(repeats: repeats, on: device) {
                        for leaf in [qg, kg, vg] { leaf.clearGrad() }
                        try scaledDotProductAttention(query: qg, key: kg, value: vg).backward(g)
                    }
                }
                let label = "L\(length) \(pass)"
                var record = Record(benchmark: "attention", device: device.identifier, label: label, shape: shape,
                                    metric: "GFLOP/s", unit: "FLOP", ours: timing,
                                    work: pass == "forward" ? forwardFlops : 3.5 * forwardFlops)
                var cells = ["\(length)", pass, format(timing.min * 1e3, digits: 2), format(timing.median * 1e3, digits: 2),
                             format(record.bestRate, digits: 1)]
                if !options.noPeers {
                    let figure = Peers.figure(peers, peer: "torch", label: label)
                    record.peers["torch"] = figure
                    cells += peerTimeCells(figure, ours: timing)
                    if let median = figure.median { record.extra["torch median ratio"] = median / timing.median }
                }
                report.records.append(record)
                table.add(cells)
            }
        }
        Progress.done()
        print("attention on \(device), batch \(batch), \(heads) heads of \(headDim), float32")
        print(table.render())
        print("ratio = torch time / our time at the min (> 1: we are faster)")
        Peers.printReasons(report.records[firstRecord...])
    }
}
