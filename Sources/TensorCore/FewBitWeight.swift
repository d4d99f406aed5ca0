import Foundation

/// The weight w(x) of the few-bit L2 error: the distribution of the activation's inputs.
///
/// A few-bit table minimises the integral of (f'(x) - q(x))^2 w(x) dx, where w is a
/// probability density. The published reference tables use `.uniform(-100, 100)`;
/// a Gaussian, or an empirical histogram of a layer's actual inputs, concentrates the
/// levels where the inputs are.
///
/// ```swift
/// let flat = FewBitWeight.uniform(-100, 100)                  // density 1/200 on [-100, 100]
/// let normal = FewBitWeight.gaussian(mean: 0, std: 1)        // N(0, 1)
/// let seen = FewBitWeight.histogram(edges: [-2, 0, 1, 3], counts: [10, 50, 40])
/// let table = try FewBitTable.optimal(for: .gelu, bits: 3, weight: normal)
/// ```
public enum FewBitWeight: Sendable, Hashable, CustomStringConvertible {
    /// The uniform density 1 / (upper - lower) on [lower, upper], zero outside.
    case uniform(Double, Double)
    /// The normal density with this mean and standard deviation. It is integrated over
    /// mean ± 12 std; the mass outside is below 1e-32.
    case gaussian(mean: Double, std: Double)
    /// An empirical density: `counts[i]` samples fell in [edges[i], edges[i + 1]).
    /// The density is counts[i] / (total * width) on each bin and zero outside the edges.
    case histogram(edges: [Double], counts: [Double])

    public var description: String {
        switch self {
        case let .uniform(lower, upper): return "uniform(\(lower), \(upper))"
        case let .gaussian(mean, std): return "gaussian(mean: \(mean), std: \(std))"
        case let .histogram(edges, counts): return "histogram(\(counts.count) bins on [\(edges.first ?? 0), \(edges.last ?? 0)])"
        }
    }

    /// Throws unless the weight is a valid density (finite, ordered, positive mass).
    func validate(op: String) throws(TensorError) {
        switch self {
        case let .uniform(lower, upper):
            guard lower.isFinite, upper.isFinite, lower < upper else {
                throw .invalidArgument(op: op, reason: "uniform weight needs finite lower < upper, got [\(lower), \(upper)]")
            }
        case let .gaussian(mean, std):
            guard mean.isFinite, std.isFinite, std > 0 else {
                throw .invalidArgument(op: op, reason: "gaussian weight needs a finite mean and std > 0, got \(mean), \(std)")
            }
        case let .histogram(edges, counts):
            guard !counts.isEmpty, edges.count == counts.count + 1 else {
                throw .invalidArgument(op: op, reason: "histogram needs counts.count + 1 edges, got \(edges.count) edges and \(counts.count) counts")
            }
            guard edges.allSatisfy(\.isFinite), zip(edges, edges.dropFirst()).allSatisfy({ $0 < $1 }) else {
                throw .invalidArgument(op: op, reason: "histogram edges must be finite and strictly ascending")
            }
            guard counts.allSatisfy({ $0.isFinite && $0 >= 0 }), counts.reduce(0, +) > 0 else {
                throw .invalidArgument(op: op, reason: "histogram counts must be finite, non-negative, with a positive total")
            }
        }
    }

    /// The interval integrated over: where the density is (numerically) non-zero.
    var support: (lower: Double, upper: Double) {
        switch self {
        case let .uniform(lower, upper): return (lower, upper)
        case let .gaussian(mean, std): return (mean - 12 * std, mean + 12 * std)
        case let .histogram(edges, _): return (edges[0], edges[edges.count - 1])
        }
    }

    /// Points inside the support where the density jumps (histogram edges).
    var breakpoints: [Double] {
        switch self {
        case .uniform, .gaussian: return []
        case let .histogram(edges, _): return Array(edges.dropFirst().dropLast())
        }
    }

    /// The largest sub-interval the quadrature uses, relative to the weight's own scale.
    var quadratureStep: Double {
        switch self {
        case .uniform: return 0.25
        case let .gaussian(_, std): return min(0.25, std / 4)
        case let .histogram(edges, _): return min(0.25, (edges[edges.count - 1] - edges[0]) / 64)
        }
    }

    /// A density evaluator; for a histogram `x` on an edge takes the bin to its right.
    func density() -> @Sendable (Double) -> Double {
        switch self {
        case let .uniform(lower, upper):
            let value = 1 / (upper - lower)
            return { x in x >= lower && x <= upper ? value : 0 }
        case let .gaussian(mean, std):
            let norm = 1 / (std * (2 * Double.pi).squareRoot())
            return { x in
                let z = (x - mean) / std
                return norm * exp(-0.5 * z * z)
            }
        case let .histogram(edges, counts):
            let total = counts.reduce(0, +)
            let values = (0..<counts.count).map { counts[$0] / (total * (edges[$0 + 1] - edges[$0])) }
            return { x in
                guard x >= edges[0], x <= edges[edges.count - 1] else { return 0 }
                // Last edge <= x, by binary search.
                var lo = 0
                var hi = edges.count - 1
                while hi - lo > 1 {
                    let mid = (lo + hi) / 2
                    if edges[mid] <= x { lo = mid } else { hi = mid }
                }
                return values[min(lo, values.count - 1)]
            }
        }
    }
}
