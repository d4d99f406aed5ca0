import CPeak
import Foundation
import TensorEngine

/// This machine's measured peak: fp32 FMA throughput (all cores) and copy bandwidth.
/// Measured once (about a second) and cached in ~/.cache/tensorbench/peak.json, keyed by
/// the CPU (model name, family and model: hosts that say only "AMD EPYC" differ in the
/// rest), the core count and the measurement's version; deleting the file measures again.
struct Peak: Codable {
    /// Bumped when the measurement changes, so older caches are measured again (version 2:
    /// threads start together and time themselves; version 1 timed the thread launches too
    /// and reported half the FMA peak of a 2-core Zen 5).
    static let version = 2
    var version: Int
    var cpu: String
    var cores: Int
    var fmaGFLOPS: Double
    var fmaLanes: Int
    var copyGBps: Double

    static func load() -> Peak {
        let cpu = cpuModel()
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let path = cachePath()
        if let data = try? Data(contentsOf: URL(fileURLWithPath: path)),
           let cached = try? JSONDecoder().decode(Peak.self, from: data), cached.version == version, cached.cpu == cpu,
           cached.cores == cores {
            return cached
        }
        Progress.say("measuring this machine's FMA and copy peak (cached in \(path))")
        let peak = Peak(version: version, cpu: cpu, cores: cores, fmaGFLOPS: measureFMA(cores: cores), fmaLanes: Int(te_peak_fma_lanes()),
                        copyGBps: measureCopy())
        try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try? JSONEncoder().encode(peak).write(to: URL(fileURLWithPath: path))
        Progress.done()
        return peak
    }

    static func cachePath() -> String {
        let home = ProcessInfo.processInfo.environment["HOME"] ?? "/tmp"
        return home + "/.cache/tensorbench/peak.json"
    }

    /// "AMD EPYC (family 26, model 2)": /proc/cpuinfo's model name, family and model.
    static func cpuModel() -> String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown CPU" }
        // "key<tabs>: value" lines; the first of each key (the first core's).
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces)
            if fields[key] == nil { fields[key] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces) }
        }
        let name = fields["model name"] ?? "unknown CPU"
        guard let family = fields["cpu family"], let model = fields["model"] else { return name }
        return "\(name) (family \(family), model \(model))"
    }

    /// Best of 3 runs of the FMA loop on every core at once, one dedicated thread per core
    /// (libdispatch may run a concurrentPerform's iterations one after another on one thread):
    /// the threads meet at a barrier, each times its own ~50 ms loop, and the rates add up.
    static func measureFMA(cores: Int) -> Double {
        let iterations = 30_000_000
        var best = 0.0
        for _ in 0..<3 {
            let rates = PeakRates(count: cores)
            let done = DispatchSemaphore(value: 0)
            for core in 0..<cores {
                Thread.detachNewThread {
                    rates.arrive()
                    let start = DispatchTime.now().uptimeNanoseconds
                    _ = te_peak_fma(iterations)
                    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
                    rates.record(core, flopsPerCall(iterations) / seconds / 1e9)
                    done.signal()
                }
            }
            for _ in 0..<cores { done.wait() }
            best = max(best, rates.total)
        }
        return best
    }

    static func flopsPerCall(_ iterations: Int) -> Double {
        2.0 * Double(te_peak_fma_lanes()) * 12 * Double(iterations)
    }

    /// Best of 5 copies of a 256 MiB buffer (bytes read + bytes written per second).
    static func measureCopy() -> Double {
        let bytes = 256 << 20
        let source = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        let destination = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        defer {
            source.deallocate()
            destination.deallocate()
        }
        memset(source, 1, bytes)
        memset(destination, 0, bytes)
        var best = 0.0
        for _ in 0..<5 {
            let start = DispatchTime.now().uptimeNanoseconds
            destination.copyMemory(from: source, byteCount: bytes)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
            best = max(best, 2 * Double(bytes) / seconds / 1e9)
        }
        return best
    }

    var description: String {
        String(format: "machine peak: %.0f GFLOP/s fp32 FMA (%d lanes x %d cores), %.1f GB/s copy (%@)", fmaGFLOPS, fmaLanes, cores,
               copyGBps, cpu)
    }
}

/// The per-thread GFLOP/s of one FMA measurement, and the barrier its threads start from.
///
/// `@unchecked Sendable`: every field is read and written under `condition`'s lock.
private final class PeakRates: @unchecked Sendable {
    private let condition = NSCondition()
    private var waiting: Int
    private var rates: [Double]

    init(count: Int) {
        waiting = count
        rates = Array(repeating: 0, count: count)
    }

    /// Returns once every thread of the measurement has arrived.
    func arrive() {
        condition.lock()
        defer { condition.unlock() }
        waiting -= 1
        if waiting == 0 { condition.broadcast() }
        while waiting > 0 { condition.wait() }
    }

    func record(_ index: Int, _ rate: Double) {
        condition.lock()
        rates[index] = rate
        condition.unlock()
    }

    var total: Double {
        condition.lock()
        defer { condition.unlock() }
        return rates.reduce(0, +)
    }
}
