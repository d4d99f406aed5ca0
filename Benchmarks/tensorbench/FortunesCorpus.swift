import Foundation

/// Debian's `fortunes` (installed by scripts/install-deps): each topic file's entries, which
/// are separated by lines holding `%`. Real English text for the transformer benchmarks.
struct FortunesCorpus {
    static let directory = "/usr/share/games/fortunes"

    /// Topic name to its texts (trimmed, non-empty), topics in name order.
    let topics: [(name: String, texts: [String])]

    init(directory: String = FortunesCorpus.directory) throws {
        let manager = FileManager.default
        guard let names = try? manager.contentsOfDirectory(atPath: directory) else {
            throw UsageError("no fortunes at \(directory): run scripts/install-deps (it installs Debian's fortunes)")
        }
        var topics: [(String, [String])] = []
        for name in names.sorted() where !name.contains(".") {
            let path = directory + "/" + name
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                  let data = manager.contents(atPath: path) else { continue }
            let text = String(decoding: data, as: UTF8.self)
            var entries: [String] = [], current: [Substring] = []
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                if line == "%" {
                    entries.append(current.joined(separator: "\n"))
                    current = []
                } else {
                    current.append(line)
                }
            }
            entries.append(current.joined(separator: "\n"))
            let texts = entries.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
            if !texts.isEmpty { topics.append((name, texts)) }
        }
        guard !topics.isEmpty else { throw UsageError("no fortune files in \(directory)") }
        self.topics = topics
    }

    /// Every text of every topic, in topic then file order.
    var allTexts: [String] { topics.flatMap(\.texts) }
}

/// Printable ASCII as character ids: bytes 32...126 are 1...95, a newline 96, anything else 0.
enum CharacterVocabulary {
    static let size = 97

    static func ids(_ text: String) -> [Int32] {
        text.utf8.map { byte in
            switch byte {
            case 32...126: return Int32(byte) - 31
            case 10: return 96
            default: return 0
            }
        }
    }
}

/// A deterministic stream of indices (SplitMix64), the same on every run.
struct IndexStream {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next(below bound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Int(z % UInt64(max(bound, 1)))
    }
}
