import Foundation

/// The embedded SPIR-V modules: one static `[UInt32]` per `Shaders/*.comp`, generated at
/// build time by `spirv-embed` (ShaderPlugin) as extensions of this namespace.
enum SPIRV {
    /// Decodes a base64-embedded module (what `spirv-embed --base64` emits).
    static func decode(_ base64: String) -> [UInt32] {
        guard let data = Data(base64Encoded: base64), data.count % 4 == 0 else { return [] }
        return data.withUnsafeBytes { raw in
            (0..<data.count / 4).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self) }
        }
    }
}
