import CPeak
import Foundation
import TensorEngine

/// This machine's measured peak: fp32 FMA throughput (all cores) and copy bandwidth.
/// Measured once (about a second) and cached in ~/.cache/tensorbench/peak.json, keyed by
/// the CPU model and core count; `--repeat-peak` or deleting the file measures again.
struct Peak: Codable {
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
           let cached = try? JSONDecoder().decode(Peak.self, from: data), cached.cpu == cpu, cached.cores == cores {
            return cached
        }
        Progress.say("measuring this machine's FMA and copy peak (cached in \(path))")
        let peak = Peak(cpu: cpu, cores: cores, fmaGFLOPS: measureFMA(cores: cores), fmaLanes: Int(te_peak_fma_lanes()),
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

    static func cpuModel() -> String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
              let colon = line.firstIndex(of: ":") else { return "unknown CPU" }
        return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }

    /// Best of 5 runs of the FMA loop on every core at once, one dedicated thread per core
    /// (libdispatch may run a concurrentPerform's iterations one after another on one thread).
    static func measureFMA(cores: Int) -> Double {
        let iterations = 4_000_000
        var best = 0.0
        for _ in 0..<5 {
            let done = DispatchSemaphore(value: 0)
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<cores {
                Thread.detachNewThread {
                    _ = te_peak_fma(iterations)
                    done.signal()
                }
            }
            for _ in 0..<cores { done.wait() }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
            best = max(best, Double(cores) * flopsPerCall(iterations) / seconds / 1e9)
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
