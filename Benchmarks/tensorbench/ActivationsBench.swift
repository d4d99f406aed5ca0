import TensorEngine

/// `tensorbench activations`: elementwise activation throughput (Gelem/s), ours vs PyTorch and numpy.
enum ActivationsBench {
    static let help = """
        tensorbench activations [options]
          Forward (and exact-derivative backward) of each activation over an n x n float32
          tensor: Gelem/s at the min and median time; PyTorch's F.gelu / F.silu / ... with out=
          (backward: the aten backward op autograd calls, e.g. gelu_backward) and numpy's
          equivalent expressions, on the same x and gradient, in the same run.
          --rounds N: the peers and ours take N turns (on a shared host, a slow minute then
          falls on both sides).
        """

    static let measured: [Activation] = [.relu, .gelu, .geluTanh, .silu, .tanh, .sigmoid, .softplus, .mish, .elu(alpha: 1), .leakyReLU(slope: 0.01)]

    static func run(_ options: Options, report: inout Report) throws {
        let device = try options.resolveDevice()
        let n = options.sizes?.first ?? (options.quick ? 1024 : 4096)
        let repeats = options.repeats ?? (options.quick ? 5 : 10)
        let threads = options.threads ?? CPUThreads.current
        let names = measured.map(activationName).joined(separator: ",")
        let x = try Tensor.randn([n, n], std: 3, seed: 1, on: device)
        let grad = try Tensor.randn([n, n], seed: 2, on: device)
        let rounds = options.rounds ?? 1
        var peerRounds: [[String: [String: PeerFigure]]] = []
        var ourRounds: [String: [Timing]] = [:]
        for round in 0..<rounds {
            if !options.noPeers {
                peerRounds.append(Peers.run("activations.py", ["--sizes", "\(n)x\(n)", "--repeat", "\(repeats)",
                                                               "--threads", "\(threads)", "--activations", names],
                                            threads: threads, sharing: ["x": x, "grad": grad]))
            }
            for activation in measured {
                let name = activationName(activation)
                for pass in ["forward", "backward"] {
                    let turn = rounds > 1 ? " (round \(round + 1) of \(rounds))" : ""
                    Progress.say("activations \(name) \(pass) on \(device.identifier)\(turn)")
                    ourRounds["\(name) \(pass)", default: []].append(try Timing.measure(repeats: repeats, on: device) {
                        if pass == "forward" {
                            _ = try activate(x, activation)
                        } else {
                            _ = try activationBackward(activation, input: x, gradOutput: grad)
                        }
                    })
                }
            }
        }
        let peers = Rounds.merge(peerRounds)
        let firstRecord = report.records.count
        if device.kind == .cpu, report.peak == nil { report.peak = Peak.load() }
        let peak = device.kind == .cpu ? report.peak : nil
        var table = Table("activation", "pass", "ours Gelem/s min", "median", "% copy peak", "torch", "ratio", "numpy", "ratio")
        for activation in measured {
            let name = activationName(activation)
            for pass in ["forward", "backward"] {
                let label = "\(name) \(pass)"
                let timing = Rounds.merge(ourRounds[label] ?? [])
                var record = Record(benchmark: "activations", device: device.identifier, label: label, shape: [n, n],
                                    metric: "Gelem/s", unit: "elements", ours: timing, work: Double(n * n))
                if rounds > 1 { record.extra["rounds"] = Double(rounds) }
                // Bytes moved: read x (and the gradient), write y.
                let bytesPerElement = pass == "forward" ? 8.0 : 12.0
                var cells = [name, pass, format(record.bestRate, digits: 2), format(record.medianRate, digits: 2),
                             peak.map { format(100 * record.bestRate * bytesPerElement / $0.copyGBps) + "%" } ?? "-"]
                for peer in ["torch", "numpy"] where !options.noPeers {
                    let figure = Peers.figure(peers, peer: peer, label: label)
                    record.peers[peer] = figure
                    cells += peerCells(figure, work: record.work, ours: timing)
                }
                report.records.append(record)
                table.add(cells)
            }
        }
        Progress.done()
        print("activations on \(device), \(n)x\(n) float32" + (rounds > 1 ? ", \(rounds) alternating rounds" : ""))
        print(table.render())
        print("ratio = our Gelem/s / peer Gelem/s at the min time (> 1: we are faster)")
        Peers.printReasons(report.records[firstRecord...])
        if !options.noPeers {
            print(OpenBLASEnvironment.description)
            print(Peers.blasReport(threads: threads))
        }
        if let peak { print(peak.description) }
    }

    /// The name the peer scripts use.
    static func activationName(_ activation: Activation) -> String {
        switch activation {
        case .leakyReLU: return "leaky_relu"
        case .elu: return "elu"
        case .geluTanh: return "gelu_tanh"
        default: return activation.description
        }
    }
}
