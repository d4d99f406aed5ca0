/// `--rounds N`: ours and the peers measured in N alternating rounds (peers, ours, peers,
/// ours, ...) instead of one block each, so a slow minute on a shared host falls on both
/// sides of a ratio. Both sides merge alike: the min over every round, the median of the
/// rounds' medians.
enum Rounds {
    /// Merges one figure's timings from several rounds.
    static func merge(_ timings: [Timing]) -> Timing {
        guard let first = timings.first else { return Timing([]) }
        var merged = first
        merged.min = timings.map(\.min).min() ?? .nan
        merged.median = medianOf(timings.map(\.median))
        merged.samples = timings.map(\.samples).reduce(0, +)
        return merged
    }

    /// Merges the peers' figures (by peer, then label) from several rounds: a figure missing
    /// from every round keeps the first round's reason.
    static func merge(_ rounds: [[String: [String: PeerFigure]]]) -> [String: [String: PeerFigure]] {
        guard var merged = rounds.first else { return [:] }
        for (peer, labels) in merged {
            for label in labels.keys {
                let figures = rounds.compactMap { $0[peer]?[label] }
                let timed = figures.filter { $0.min != nil }
                guard var figure = timed.first else { continue }
                figure.min = timed.compactMap(\.min).min()
                figure.median = medianOf(timed.compactMap(\.median))
                merged[peer]?[label] = figure
            }
        }
        return merged
    }

    private static func medianOf(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        return (sorted[(sorted.count - 1) / 2] + sorted[sorted.count / 2]) / 2
    }
}
