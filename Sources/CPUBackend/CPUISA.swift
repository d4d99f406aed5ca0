import CPUKernels

/// The instruction-set path of the CPU backend's C kernels (activations, the matmul epilogue,
/// few-bit codes, the sparse gathers, attention): AVX-512, AVX2 + FMA, or the portable Swift
/// loops. The best path this CPU runs is chosen once at run time; the environment variable
/// `TENSOR_CPU_ISA=avx512|avx2|portable` forces a path (a path the CPU cannot run falls back
/// to the best one below it, and ``selection`` says so). Attention has no AVX-512 variant and
/// runs its AVX2 kernels under `avx512`.
///
/// ```swift
/// print(CPUISA.active, CPUISA.selection)   // "avx512 best on this CPU"
/// for isa in CPUISA.allCases where !isa.isSupported { print("this CPU cannot run \(isa)") }
/// ```
public enum CPUISA: Int32, CaseIterable, Comparable, Sendable, CustomStringConvertible {
    /// No C kernel: the portable Swift loops (every CPU).
    case portable = 0
    /// AVX2 + FMA, 256-bit registers.
    case avx2 = 1
    /// AVX-512 F + BW + VL + DQ (with BMI2), 512-bit registers.
    case avx512 = 2

    /// The value `TENSOR_CPU_ISA` takes for this path.
    public var description: String {
        switch self {
        case .portable: "portable"
        case .avx2: "avx2"
        case .avx512: "avx512"
        }
    }

    /// Whether this CPU (and its OS) runs this path's kernels.
    ///
    /// ```swift
    /// if CPUISA.avx512.isSupported { print("AVX-512 kernels available") }
    /// ```
    public var isSupported: Bool { te_cpu_isa_supported(rawValue) != 0 }

    /// What this CPU lacks for the path, or nil when it runs it.
    ///
    /// ```swift
    /// if let why = CPUISA.avx512.unsupportedReason { print(why) }
    /// ```
    public var unsupportedReason: String? {
        guard !isSupported else { return nil }
        switch self {
        case .portable: return nil
        case .avx2: return "this CPU has no AVX2 + FMA (or is not x86-64)"
        case .avx512: return "this CPU has no AVX-512 F + BW + VL + DQ with BMI2 (or is not x86-64)"
        }
    }

    public static func < (a: CPUISA, b: CPUISA) -> Bool { a.rawValue < b.rawValue }

    /// The most capable path this CPU runs.
    ///
    /// ```swift
    /// let widest = CPUISA.best
    /// ```
    public static var best: CPUISA { allCases.last { $0.isSupported } ?? .portable }

    /// The path the CPU backend uses: `TENSOR_CPU_ISA` when set and supported, else ``best``.
    ///
    /// ```swift
    /// let model: SparseCostModel = CPUISA.active == .portable ? .cpuPortable : .cpu
    /// ```
    public static let active: CPUISA = resolve(Environment()["TENSOR_CPU_ISA"]).isa

    /// How ``active`` was chosen, e.g. "best on this CPU" or "forced by TENSOR_CPU_ISA=avx2".
    ///
    /// ```swift
    /// print("kernels \(CPUISA.active) (\(CPUISA.selection))")
    /// ```
    public static let selection: String = resolve(Environment()["TENSOR_CPU_ISA"]).reason

    /// The path for a `TENSOR_CPU_ISA` value (nil or empty: ``best``) and why: an unknown value
    /// is ignored, a path this CPU cannot run falls back to the best supported one below it.
    static func resolve(_ requested: String?) -> (isa: CPUISA, reason: String) {
        guard let requested, !requested.isEmpty else { return (best, "best on this CPU") }
        guard let wanted = allCases.first(where: { $0.description == requested.lowercased() }) else {
            return (best, "TENSOR_CPU_ISA=\(requested) not one of avx512, avx2, portable: ignored, best on this CPU")
        }
        if wanted.isSupported { return (wanted, "forced by TENSOR_CPU_ISA=\(requested)") }
        let fallback = allCases.last { $0 < wanted && $0.isSupported } ?? .portable
        return (fallback, "TENSOR_CPU_ISA=\(requested) but \(wanted.unsupportedReason ?? "unsupported"): \(fallback)")
    }
}
