import TensorCore

/// Runs the conformance table on a backend and judges each case.
///
/// ```swift
/// let results = ConformanceRunner.run(on: CPUDevice.shared, device: "cpu", seed: 1)
/// let failures = results.filter { !$0.passed }
/// ```
public enum ConformanceRunner {
    /// Runs every case (or those whose op contains `filter`) with seeds `seed + index`.
    public static func run(on backend: any Backend, device: String, seed: UInt64 = 20_261_124,
                           filter: String? = nil,
                           progress: ((Int, Int, ConformanceCase) -> Void)? = nil) -> [ConformanceResult] {
        let all = ConformanceTable.cases()
        var results: [ConformanceResult] = []
        for (index, testCase) in all.enumerated() {
            if let filter, !testCase.op.contains(filter) { continue }
            progress?(index, all.count, testCase)
            let caseSeed = seed &+ UInt64(index)
            results.append(judge(testCase, on: backend, device: device, seed: caseSeed))
        }
        return results
    }

    /// Runs one case and applies every check: finiteness, signs, NMSE, guards, poison.
    public static func judge(_ testCase: ConformanceCase, on backend: any Backend, device: String,
                             seed: UInt64) -> ConformanceResult {
        let harness = Harness(backend: backend, seed: seed, viaComposite: testCase.viaComposite)
        let computed: ConformanceCase.Computed
        do {
            computed = try testCase.body(harness)
        } catch {
            return ConformanceResult(testCase: testCase, device: device, seed: seed, nmse: .nan, failure: "threw: \(error)")
        }
        let (error, failure) = check(computed.actual, computed.reference, exactSigns: testCase.exactSigns, bound: testCase.bound)
        return ConformanceResult(testCase: testCase, device: device, seed: seed, nmse: error, failure: failure)
    }

    /// Compares `actual` with `reference`: NaN/Inf exactly where the reference has them,
    /// zero and infinity signs when `exactSigns`, then normalised MSE over the finite
    /// elements. Differences below the smallest normal float count as zero (devices may
    /// flush denormals). Returns the NMSE and a failure naming the worst element.
    public static func check(_ actual: [Float], _ reference: [Double], exactSigns: Bool,
                             bound: Double) -> (nmse: Double, failure: String?) {
        guard actual.count == reference.count else {
            return (.nan, "\(actual.count) values for \(reference.count) expected")
        }
        var numerator = 0.0, denominator = 0.0
        var worst = (index: -1, difference: -1.0)
        let tiny = Double(Float.leastNormalMagnitude)
        for index in actual.indices {
            let a = Double(actual[index])
            // A reference beyond float32's range is what float32 arithmetic must give: an infinity.
            let b = Swift.abs(reference[index]) > Double(Float.greatestFiniteMagnitude) && reference[index].isFinite
                ? (reference[index] > 0 ? Double.infinity : -Double.infinity) : reference[index]
            if !b.isFinite || !a.isFinite {
                let same = (a.isNaN && b.isNaN) || (a == b)
                if !same {
                    return (.nan, "element \(index): got \(a), expected \(Float(b))" + (a == Double(Harness.poison) ? " (never written)" : ""))
                }
                continue
            }
            if exactSigns, a == 0, b == 0, a.sign != b.sign {
                return (.nan, "element \(index): got \(a), expected \(b) (sign of zero)")
            }
            let difference = max(0, abs(a - b) - tiny)
            numerator += difference * difference
            denominator += b * b
            if difference > worst.difference { worst = (index, difference) }
        }
        let error = denominator > 0 ? numerator / denominator : numerator
        if error <= bound || actual.isEmpty { return (error, nil) }
        let i = worst.index
        let unwritten = actual[i] == Harness.poison ? " (never written)" : ""
        return (error, "nmse \(error) over bound \(bound); worst element \(i): got \(actual[i]), expected \(reference[i])\(unwritten)")
    }
}
