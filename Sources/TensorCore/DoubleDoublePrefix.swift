import Foundation

/// Double-double prefix sums of cell moments (A_0, A_1, A_2), stored flat: high parts of
/// A_0, A_1, A_2, then the low parts, each n + 1 long.
struct DoubleDoublePrefix {
    let count: Int
    private(set) var storage: [Double]

    init(_ moments: [(Double, Double, Double)]) {
        let n = moments.count
        count = n + 1
        storage = [Double](repeating: 0, count: 6 * (n + 1))
        storage.withUnsafeMutableBufferPointer { p in
            for j in 0..<n {
                let values = [moments[j].0, moments[j].1, moments[j].2]
                for t in 0..<3 {
                    let h = t * (n + 1), l = (t + 3) * (n + 1)
                    let s = p[h + j] + values[t]
                    let bb = s - p[h + j]
                    let e = (p[h + j] - (s - bb)) + (values[t] - bb)
                    p[h + j + 1] = s
                    p[l + j + 1] = p[l + j] + e
                }
            }
        }
    }

    /// The prefix sums of moment t (0, 1 or 2), high and low parts added.
    func sums(_ t: Int) -> [Double] {
        (0..<count).map { storage[t * count + $0] + storage[(t + 3) * count + $0] }
    }

    /// A_2 of the whole support.
    var total2: Double { storage[3 * count - 1] + storage[6 * count - 1] }

    /// The error of the cells from node i to node j (i < j) with their best level, read from
    /// `p`, the storage's base address.
    @inline(__always)
    static func cost(_ p: UnsafePointer<Double>, count: Int, _ i: Int, _ j: Int) -> Double {
        let h0 = p, h1 = p + count, h2 = p + 2 * count
        let l0 = p + 3 * count, l1 = p + 4 * count, l2 = p + 5 * count
        let w = (h0[j] - h0[i]) + (l0[j] - l0[i])
        guard w > 0 else { return 0 }
        let a = (h1[j] - h1[i]) + (l1[j] - l1[i])
        let q = (h2[j] - h2[i]) + (l2[j] - l2[i])
        return max(0, q - a * a / w)
    }
}

/// Running minima for the early stop of the programmes' scans.
enum RunningMinimum {
    /// result[i] = the least of values[0...i].
    static func prefix(_ values: [Double]) -> [Double] {
        var result = values
        for i in result.indices.dropFirst() { result[i] = min(result[i], result[i - 1]) }
        return result
    }

    /// result[i] = the least of values[i...].
    static func suffix(_ values: [Double]) -> [Double] {
        var result = values
        for i in result.indices.reversed().dropFirst() { result[i] = min(result[i], result[i + 1]) }
        return result
    }
}
