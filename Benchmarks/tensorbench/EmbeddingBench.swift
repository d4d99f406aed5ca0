import TensorEngine

/// `tensorbench embedding`: embedding lookup forward and its scatter-add backward, ours vs PyTorch.
enum EmbeddingBench {
    static let help = """
        tensorbench embedding [options] [VxD] [BxL]
          Embedding lookup of int32 token ids [B, L] in a float32 table [V, D] (default the
          BERT/MiniLM shape 30522x384 with ids 32x128; --quick: ids 8x128), forward and
          backward: ms at the min and median time. Forward is embedding(ids, weight) (the
          host check of the ids included); backward is output.backward(g) with weight.grad
          cleared before each run: the deterministic scatter-add into a zeroed [V, D]
          gradient. Peer: PyTorch's torch.nn.functional.embedding and its autograd backward
          (retain_graph, weight.grad = None between runs) on the same ids, table and
          gradient (Benchmarks/peers/embedding.py), in the same run.
        """

    static func run(_ options: Options, report: inout Report) throws {
        let device = try options.resolveDevice()
        var (vocabulary, width) = (30522, 384)
        var (batch, length) = (options.quick ? 8 : 32, 128)
        var shapes = 0
        for token in options.rest {
            let parts = token.split(separator: "x").compactMap { Int($0) }
            guard parts.count == 2 else { throw UsageError("cannot read '\(token)'") }
            if shapes == 0 { (vocabulary, width) = (parts[0], parts[1]) } else { (batch, length) = (parts[0], parts[1]) }
            shapes += 1
        }
        let repeats = options.repeats ?? (options.quick ? 5 : 20)
        let threads = options.threads ?? CPUThreads.current
        var rng = SeededRandom(seed: 3)
        // Token ids as text gives them: a few very frequent ids (padding, [CLS], [SEP], "the")
        // among mostly distinct ones, so the backward sees heavily repeated rows.
        let ids = (0..<(batch * length)).map { position -> Int32 in
            if position % length == 0 { return 101 }
            if position % length > length * 3 / 4 { return 0 }
            return Int32(rng.next() % UInt64(vocabulary))
        }
        let indices = try Tensor(int32: ids, shape: [batch, length], on: device)
        let weight = try Tensor.randn([vocabulary, width], std: 0.02, seed: 1, on: device).requiringGrad()
        let gradient = try Tensor.randn([batch, length, width], seed: 2, on: device)
        let peers = options.noPeers ? [:]
            : Peers.run("embedding.py", ["--vocab", "\(vocabulary)", "--width", "\(width)", "--ids", "\(batch)x\(length)",
                                         "--repeat", "\(repeats)", "--threads", "\(threads)"], threads: threads,
                        sharing: ["ids": try indices.cast(to: .float32), "weight": weight.detached(), "grad": gradient])
        let output = try embedding(indices, weight: weight)
        var table = Table("pass", "ours ms min", "median", "torch ms min", "ratio min", "torch ms median", "ratio median")
        let firstRecord = report.records.count
        for pass in ["forward", "backward"] {
            Progress.say("embedding \(pass) on \(device.identifier)")
            let timing = try Timing.measure(repeats: repeats, on: device) {
                if pass == "forward" {
                    _ = try withNoGrad { try embedding(indices, weight: weight) }
                } else {
                    weight.clearGrad()
                    try output.backward(gradient)
                }
            }
            let label = "embedding \(pass)"
            var record = Record(benchmark: "embedding", device: device.identifier, label: label,
                                shape: [vocabulary, width, batch, length], metric: "Mrows/s", unit: "rows", ours: timing,
                                work: Double(batch * length) * 1e3)   // bestRate in Mrows/s
            var cells = [pass, format(timing.min * 1e3, digits: 3), format(timing.median * 1e3, digits: 3)]
            if !options.noPeers {
                let figure = Peers.figure(peers, peer: "torch", label: label)
                record.peers["torch"] = figure
                if let min = figure.min, let median = figure.median {
                    cells += [format(min * 1e3, digits: 3), format(min / timing.min, digits: 2) + "x",
                              format(median * 1e3, digits: 3), format(median / timing.median, digits: 2) + "x"]
                } else {
                    cells += ["n/a", "-", "n/a", "-"]
                }
            }
            report.records.append(record)
            table.add(cells)
        }
        Progress.done()
        print("embedding on \(device), table [\(vocabulary), \(width)] float32, ids [\(batch), \(length)]")
        print(table.render())
        print("ratio = torch time / our time (> 1: we are faster)")
        Peers.printReasons(report.records[firstRecord...])
    }
}
