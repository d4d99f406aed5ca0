import TensorEngine

/// PyTorch's side of `tensorbench train` (Benchmarks/peers/train.py): the same digits MLP
/// from our initial weights and the same teacher-student shapes, in one run of the script.
enum TrainPeers {
    /// Runs train.py for the sizes `options` selects; figures labelled "digits exact" and
    /// "teacher-student exact".
    static func run(_ options: Options, device: Device) throws -> [String: [String: PeerFigure]] {
        Progress.say("train: PyTorch peer")
        let threads = options.threads ?? CPUThreads.current
        let (widths, batch, steps) = TrainBench.teacherStudentShape(options)
        // The weights every one of our digits runs starts from: w0, b0, w1, b1, w2, b2.
        let parameters = try TrainBench.digitsModel(.exact, on: device).parameters
        var initial: [String: Tensor] = [:]
        for (index, parameter) in parameters.enumerated() {
            initial[(index % 2 == 0 ? "w" : "b") + "\(index / 2)"] = parameter
        }
        return Peers.run("train.py", ["--epochs", "\(TrainBench.digitsEpochs(options))", "--widths",
                                      widths.map(String.init).joined(separator: ","), "--ts-batch", "\(batch)",
                                      "--ts-steps", "\(steps)", "--threads", "\(threads)"],
                         threads: threads, sharing: initial, as: "--init")
    }

    /// "torch min / ours min" with an x, or "n/a".
    static func ratio(_ figure: PeerFigure, ours: Timing) -> String {
        figure.min.map { format($0 / ours.min, digits: 2) + "x" } ?? "n/a"
    }

    /// The figure as stored on one of our rows: the loss series only on the exact row (the
    /// one it is the same run as), so the report carries it once.
    static func attached(_ figure: PeerFigure, to memory: ActivationMemory) -> PeerFigure {
        var figure = figure
        if memory != .exact { figure.series = nil }
        return figure
    }

    /// The peer's own table row: label, `cells` from its extra figures, no activation bytes,
    /// its step times, no ratio.
    static func row(_ figure: PeerFigure, digits: Int = 2, cells: ([String: Double]) -> [String]) -> [String] {
        guard let min = figure.min, let median = figure.median else { return ["torch exact: n/a"] }
        let extra = figure.extra ?? [:]
        return ["torch exact (\(figure.version ?? "?"))"] + cells(extra) + ["-", "-"]
            + [format(min * 1e3, digits: digits), format(median * 1e3, digits: digits), "-"]
    }
}
