import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The OpenBLAS variables both sides of a comparison run under, and whether the user's
/// environment forced them. The CPU backend sets OPENBLAS_CORETYPE from the CPU's flags when
/// it is unset (before loading OpenBLAS); the peers get the same value (``Peers/environment(threads:)``),
/// so numpy's OpenBLAS is offered the same core. ``captureUser()`` must run before the CPU device
/// exists, to tell the user's setting from the engine's.
enum OpenBLASEnvironment {
    static let keys = ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"]

    /// The variables as the user started tensorbench (before the engine set any).
    static let user: [String: String] = Dictionary(uniqueKeysWithValues: keys.compactMap { key in
        current(key).map { (key, $0) }
    })

    /// Records the user's settings; call first thing in main.
    static func captureUser() { _ = user }

    /// The variable's value in this process now (nil: unset or empty).
    static func current(_ key: String) -> String? {
        guard let value = getenv(key).map({ String(cString: $0) }), !value.isEmpty else { return nil }
        return value
    }

    /// One line for the report, e.g. "OpenBLAS environment (the same for us and the peers):
    /// OPENBLAS_CORETYPE=Cooperlake, unset by the user: the engine's choice from the CPU flags; OPENBLAS_L2_SIZE unset".
    static var description: String {
        let parts = keys.map { key -> String in
            if let forced = user[key] {
                return "\(key)=\(forced) SET IN THE ENVIRONMENT: it forces both sides"
            }
            if let chosen = current(key) {
                return "\(key)=\(chosen), unset by the user: the engine's choice from the CPU flags, given to the peers too"
            }
            return "\(key) unset"
        }
        return "OpenBLAS environment (the same for us and the peers): " + parts.joined(separator: "; ")
    }
}
