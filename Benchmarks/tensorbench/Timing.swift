import Foundation
import TensorEngine

/// Min and median of repeated, device-synchronised timings.
struct Timing: Codable {
    var min: Double
    var median: Double
    var samples: Int

    /// Runs `body` untimed `warmup` times and on until 200 ms have passed (at most 2000 calls),
    /// then `repeats` times timed, each followed by a device synchronisation so queued GPU
    /// work is inside the measurement. The time-based warm-up matters for short bodies: a
    /// worker thread (OpenBLAS's) woken after a long sleep can run on the caller's core for the
    /// first milliseconds, halving a 2-thread product until the scheduler moves it (20 ms and
    /// 100 calls were too few: a 256^3 product after a peer's run stayed at one core's rate in
    /// every repeat of some runs). The peer scripts warm up the same way
    /// (Benchmarks/peers/common.py `timed`).
    static func measure(repeats: Int, warmup: Int = 1, on device: Device, _ body: () throws -> Void) throws -> Timing {
        let start = DispatchTime.now().uptimeNanoseconds
        var calls = 0
        while calls < warmup || (warmup > 0 && calls < 2000 && DispatchTime.now().uptimeNanoseconds - start < 200_000_000) {
            try body()
            try device.synchronize()
            calls += 1
        }
        var seconds: [Double] = []
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            try device.synchronize()
            seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
        }
        return Timing(seconds)
    }

    /// Times each body `repeats` times, in turns (body 0, 1, 2, 0, 1, 2, ...), after one
    /// untimed run of each, so all of them see the same machine load; `before` runs untimed
    /// before every timed run (the sparse benchmark evicts the caches there). Returns the
    /// seconds of each body, in order, so back-to-back ratios can be taken.
    static func measureInterleaved(repeats: Int, on device: Device, before: () -> Void = {},
                                   _ bodies: [() throws -> Void]) throws -> [[Double]] {
        for body in bodies {
            try body()
            try device.synchronize()
        }
        var seconds = [[Double]](repeating: [], count: bodies.count)
        for _ in 0..<repeats {
            for (index, body) in bodies.enumerated() {
                before()
                let start = DispatchTime.now().uptimeNanoseconds
                try body()
                try device.synchronize()
                seconds[index].append(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
            }
        }
        return seconds
    }

    init(_ seconds: [Double]) {
        let sorted = seconds.sorted()
        min = sorted.first ?? .nan
        median = sorted.isEmpty ? .nan : (sorted[(sorted.count - 1) / 2] + sorted[sorted.count / 2]) / 2
        samples = sorted.count
    }
}

/// Writes progress for long runs to stderr: a live line on a terminal, plain lines otherwise.
enum Progress {
    static let isTerminal = isatty(STDERR_FILENO) != 0

    static func say(_ text: String) {
        if isTerminal {
            FileHandle.standardError.write(Data("\r\u{1B}[K\(text)".utf8))
        } else {
            FileHandle.standardError.write(Data("\(text)\n".utf8))
        }
    }

    static func done() {
        if isTerminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
