import Foundation
import Testing
import TensorEngine
import VulkanBackend
#if canImport(Glibc)
import Glibc
#endif

/// A small deterministic generator (SplitMix64) for the fuzzer.
struct FuzzRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0..<n (n > 0).
    mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func int(in range: ClosedRange<Int>) -> Int { range.lowerBound + int(range.count) }
    mutating func chance(_ p: Double) -> Bool { unit() < p }
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
    mutating func pick<T>(_ items: [T]) -> T { items[int(items.count)] }
}

/// Environment values (read only; tests never set the environment).
enum TestEnvironment {
    static func int(_ name: String) -> Int? {
        ProcessInfo.processInfo.environment[name].flatMap { Int($0) }
    }
    static func uint64(_ name: String) -> UInt64? {
        ProcessInfo.processInfo.environment[name].flatMap { UInt64($0) }
    }
}

/// Resident set size of this process in bytes, from /proc/self/statm.
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// Physical memory of this machine in bytes.
func physicalMemoryBytes() -> Int {
    Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// Runs this test binary again with extra environment and arguments; returns (status, output).
/// A child still running after `timeLimit` seconds is killed (status 9, from the signal) and
/// its output so far says where it hung, so a hang fails the test instead of the whole run.
func runChildProcess(environment extra: [String: String], arguments: [String],
                     timeLimit: Double = 600) throws -> (Int32, String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    process.arguments = arguments
    var environment = ProcessInfo.processInfo.environment
    for (key, value) in extra { environment[key] = value }
    process.environment = environment
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let pid = process.processIdentifier
    let killer = DispatchWorkItem { kill(pid, SIGKILL) }
    DispatchQueue.global().asyncAfter(deadline: .now() + timeLimit, execute: killer)
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    killer.cancel()
    var output = String(decoding: data, as: UTF8.self)
    if process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL {
        output += "\n[child killed after \(Int(timeLimit)) s: it hung or ran far too long]"
    }
    return (process.terminationStatus, output)
}
