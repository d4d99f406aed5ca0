import Foundation
import TensorEngine

/// `tensorbench delta`: DeltaLinear on a slowly varying sequence.
enum DeltaBench {
    static let help = """
        tensorbench delta [options] [KxN] [steps=N] [theta=T]
          DeltaLinear (x_ref, accumulator, threshold theta, dense refresh every 100 steps) on a
          random-walk input sequence: per step time vs the dense linear layer, MACs done vs
          dense, and the max error against x_t * W + b next to its bound theta * ||W[:, i]||_1.
          Default 4096x11008 (--quick: 1024x2816), 200 steps, theta 0.05, walk step std 0.02.
          Peers: numpy's and PyTorch's dense x_t W + b on the same sequence, W and b, cold
          weights too (Benchmarks/peers/delta.py): what a user would otherwise run.
        """

    static func run(_ options: Options, report: inout Report) throws {
        let device = try options.resolveDevice()
        var (k, n) = options.quick ? (1024, 2816) : (4096, 11008)
        var steps = options.quick ? 100 : 200
        var theta: Float = 0.05
        for token in options.rest {
            if token.hasPrefix("steps=") { steps = Int(token.dropFirst(6)) ?? steps }
            else if token.hasPrefix("theta=") { theta = Float(token.dropFirst(6)) ?? theta }
            else {
                let parts = token.split(separator: "x").compactMap { Int($0) }
                guard parts.count == 2 else { throw UsageError("cannot read '\(token)'") }
                (k, n) = (parts[0], parts[1])
            }
        }
        let walkStd: Float = 0.02
        let w = try Tensor.randn([k, n], std: 0.02, seed: 11, on: device)
        let b = try Tensor.randn([n], std: 0.1, seed: 12, on: device)
        let wHost = try w.toArray(), bHost = try b.toArray()
        var columnNorms = [Double](repeating: 0, count: n)
        for row in 0..<k { for j in 0..<n { columnNorms[j] += Double(abs(wHost[row * n + j])) } }
        let layer = try DeltaLinear(weight: w, bias: b, theta: theta, refreshInterval: 100)
        var rng = SeededRandom(seed: 5)
        var x = rng.normalFloats(k)
        var deltaSeconds: [Double] = [], denseSeconds: [Double] = []
        var worstRatio = 0.0, worstError = 0.0, boundAtWorst = 0.0
        var flusher = CacheFlusher()
        var sequence: [Float] = []
        sequence.reserveCapacity(steps * k)
        for step in 0..<steps {
            Progress.say("delta step \(step + 1)/\(steps)")
            for i in 0..<k { x[i] += walkStd * Float(rng.nextNormal()) }
            sequence += x
            let input = try Tensor(x, shape: [1, k], on: device)
            flusher.flush()
            var start = DispatchTime.now().uptimeNanoseconds
            let y = try layer.step(input)
            try device.synchronize()
            deltaSeconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
            flusher.flush()
            start = DispatchTime.now().uptimeNanoseconds
            _ = try linear(input, weight: w, bias: b)
            try device.synchronize()
            denseSeconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
            // Error against the exact x_t W + b in float64, on a strided sample of outputs.
            let got = try y.toArray()
            for j in stride(from: 0, to: n, by: max(1, n / 256)) {
                var exact = Double(bHost[j])
                for row in 0..<k { exact += Double(x[row]) * Double(wHost[row * n + j]) }
                let error = abs(Double(got[j]) - exact)
                let bound = Double(theta) * columnNorms[j]
                if error / bound > worstRatio { (worstRatio, worstError, boundAtWorst) = (error / bound, error, bound) }
            }
        }
        let threads = options.threads ?? CPUThreads.current
        let peers = options.noPeers ? [:]
            : Peers.run("delta.py", ["--shape", "\(k)x\(n)", "--steps", "\(steps)", "--threads", "\(threads)"], threads: threads,
                        sharing: ["xs": try Tensor(sequence, shape: [steps, k], on: device), "w": w, "b": b])
        Progress.done()
        let ours = Timing(deltaSeconds), dense = Timing(denseSeconds)
        var record = Record(benchmark: "delta", device: device.identifier, label: "\(k)x\(n) theta \(theta)", shape: [1, k, n],
                            metric: "steps/s", unit: "steps", ours: ours, work: 1e9)
        record.extra = ["dense_min_s": dense.min, "dense_median_s": dense.median, "macs_saved": layer.macsSavedFraction,
                        "max_error": worstError, "bound_at_max": boundAtWorst, "max_error_over_bound": worstRatio]
        var table = Table("K x N", "steps", "theta", "MACs saved", "delta ms min", "med", "dense ms min", "med",
                          "x dense (med)", "max |err|", "its bound", "max err/bound")
        var cells = ["\(k)x\(n)", "\(steps)", "\(theta)", format(100 * layer.macsSavedFraction) + "%",
                     SparseBench.ms(ours.min), SparseBench.ms(ours.median), SparseBench.ms(dense.min), SparseBench.ms(dense.median),
                     format(dense.median / ours.median, digits: 2) + "x", String(format: "%.3e", worstError),
                     String(format: "%.3e", boundAtWorst), format(worstRatio, digits: 3)]
        for peer in ["numpy", "torch"] where !options.noPeers {
            let figure = Peers.figure(peers, peer: peer, label: "\(k)x\(n)")
            record.peers[peer] = figure
            table.headers += ["\(peer) dense ms min", "x \(peer)"]
            cells += peerTimeCells(figure, ours: ours, digits: 3)
        }
        table.add(cells)
        report.records.append(record)
        print("delta on \(device): random walk, step std \(walkStd), dense refresh every 100 steps, cold weights")
        print(table.render())
        print("bound = theta * ||W[:, i]||_1 for the output with the largest err/bound (every 256th output checked each step)")
        if !options.noPeers {
            print("x numpy, x torch: the peer's dense step time / our delta step time at the min (> 1: delta is faster)")
            Peers.printReasons([record])
        }
    }
}
