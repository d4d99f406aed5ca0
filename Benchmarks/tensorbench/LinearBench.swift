import TensorEngine

/// `tensorbench linear`: the fused linear + activation against the same work unfused, and PyTorch.
enum LinearBench {
    static let help = """
        tensorbench linear [options]
          y = activation(x * W + b) for x [m, k], W [k, n]: our fused kernel (one call), the same
          work unfused on the same device (matmul, bias add, activation: three passes), and
          PyTorch's F.linear + activation in the same run. GFLOP/s (2 m n k) at min and median.
          --shapes MxKxN,... replaces the default products (e.g. 1x4096x4096 for the matrix-vector
          kernels, 16x8192x128 for split-K on a GPU).
        """

    static func run(_ options: Options, report: inout Report) throws {
        let device = try options.resolveDevice()
        let shapes: [(Int, Int, Int)] = options.shapes ?? (options.quick ? [(64, 512, 1024), (256, 512, 1024)]
            : [(64, 1024, 4096), (256, 1024, 4096), (1024, 1024, 4096)])
        let repeats = options.repeats ?? (options.quick ? 5 : 10)
        let threads = options.threads ?? CPUThreads.current
        let firstRecord = report.records.count
        var tables: [String: Table] = [:]
        for activation in [Activation.gelu, .relu] {
            let name = activation.description
            let labels = shapes.map { "\($0.0)x\($0.1)x\($0.2)" }
            let peers = options.noPeers || device.kind != .cpu ? [:]
                : Peers.run("linear.py", ["--shapes", labels.joined(separator: ","), "--activation", name,
                                          "--repeat", "\(repeats)", "--threads", "\(threads)"], threads: threads)
            var table = Table("m x k x n", "fused GFLOP/s min", "median", "unfused", "fused / unfused", "torch", "ratio")
            for ((m, k, n), label) in zip(shapes, labels) {
                Progress.say("linear \(name) \(label) on \(device.identifier)")
                let x = try Tensor.randn([m, k], seed: 1, on: device)
                let w = try Tensor.randn([k, n], std: 1 / Float(k).squareRoot(), seed: 2, on: device)
                let b = try Tensor.randn([n], seed: 3, on: device)
                let fused = try Timing.measure(repeats: repeats, on: device) {
                    _ = try linear(x, weight: w, bias: b, activation: activation)
                }
                let unfused = try Timing.measure(repeats: repeats, on: device) {
                    _ = try activate(matmul(x, w) + b, activation)
                }
                var record = Record(benchmark: "linear", device: device.identifier, label: "\(name) \(label)", shape: [m, k, n],
                                    metric: "GFLOP/s", unit: "FLOP", ours: fused, work: 2 * Double(m) * Double(n) * Double(k))
                record.extra = ["unfused_min_s": unfused.min, "unfused_median_s": unfused.median]
                var cells = [label, format(record.bestRate), format(record.medianRate),
                             format(record.work / unfused.min / 1e9), format(unfused.min / fused.min, digits: 2) + "x"]
                if device.kind == .cpu, !options.noPeers {
                    let figure = Peers.figure(peers, peer: "torch", label: label)
                    record.peers["torch"] = figure
                    cells += peerCells(figure, work: record.work, ours: fused)
                }
                report.records.append(record)
                table.add(cells)
            }
            tables[name] = table
        }
        Progress.done()
        for name in ["gelu", "relu"] {
            print("linear + \(name) on \(device)")
            print(tables[name]!.render())
        }
        print("fused / unfused and ratio: time of the other / time of ours at the min (> 1: fused is faster)")
        Peers.printReasons(report.records[firstRecord...])
    }
}
