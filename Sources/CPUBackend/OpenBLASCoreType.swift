#if canImport(Glibc)
import Glibc
#endif

/// Chooses the OpenBLAS kernel family ("core type") for this CPU before the library loads.
///
/// Debian's OpenBLAS 0.3.21 does not recognise recent Xeons and then falls back to its
/// slowest kernel (Prescott). Forcing a core whose instructions the CPU lacks crashes with
/// SIGILL at the first call, so the choice follows the CPU's feature flags strictly.
enum OpenBLASCoreType {
    /// Features read from `/proc/cpuinfo` (Linux); empty where it cannot be read.
    struct CPUFeatures: Equatable {
        var vendor: String = ""
        var flags: Set<String> = []
    }

    /// The core type for `features`, or nil to let OpenBLAS decide, with a short reason.
    static func choose(for features: CPUFeatures) -> (core: String, reason: String)? {
        let f = features.flags
        let avx512 = f.isSuperset(of: ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"])
        if avx512 && f.contains("avx512_bf16") {
            return ("Cooperlake", "avx512f+bw+vl+dq+cd+bf16")
        }
        if avx512 {
            return ("SkylakeX", "avx512f+bw+vl+dq+cd")
        }
        if f.contains("avx2") && f.contains("fma") {
            // Zen 2/3 kernels are the Haswell ones with AMD-tuned blocking.
            if features.vendor == "AuthenticAMD" { return ("Zen", "AMD avx2+fma") }
            return ("Haswell", "avx2+fma")
        }
        if f.contains("avx") { return ("Sandybridge", "avx") }
        return nil
    }

    /// Parses the first processor entry of `/proc/cpuinfo` text.
    static func parse(cpuinfo text: String) -> CPUFeatures {
        var features = CPUFeatures()
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty, !features.flags.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingCharacters(in: " \t")
            let value = line[line.index(after: colon)...].trimmingCharacters(in: " \t")
            if key == "vendor_id", features.vendor.isEmpty { features.vendor = value }
            if key == "flags", features.flags.isEmpty {
                features.flags = Set(value.split(separator: " ").map(String.init))
            }
        }
        return features
    }

    /// Reads this machine's features.
    static func current() -> CPUFeatures {
        guard let text = readTextFile("/proc/cpuinfo") else { return CPUFeatures() }
        return parse(cpuinfo: text)
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var s = self[...]
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return String(s)
    }
}

/// Reads a whole (small) text file with stdio; nil where it cannot be opened.
func readTextFile(_ path: String) -> String? {
    guard let file = fopen(path, "r") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let got = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
        if got <= 0 { break }
        bytes.append(contentsOf: chunk[0..<got])
    }
    return String(decoding: bytes, as: UTF8.self)
}
