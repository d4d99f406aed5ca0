import Foundation
import TensorEngine

/// One memory mode of `tensorbench finetune`: its name (a row of the table) and what it
/// changes in the model's configuration before the pretrained weights load.
struct FinetuneMode: Sendable {
    let name: String
    let summary: String
    let configure: @Sendable (inout TransformerConfiguration) -> Void
}

/// The `--modes` list: comma-separated modes, each one name or several joined by `+`
/// (applied left to right, e.g. `fewbit3+int8`), so modes that attack different saved
/// tensors combine into one row.
///
/// A new kind of mode is one more entry in ``families``: its names for the usage text and a
/// parser that returns the mode for a name it knows (nil otherwise).
enum FinetuneModes {
    struct Family: Sendable {
        let usage: String
        let parse: @Sendable (String) -> FinetuneMode?
    }

    static let families: [Family] = [
        Family(usage: "exact          float32 saved tensors, exact backward") { name in
            name == "exact" ? FinetuneMode(name: name, summary: "exact") { _ in } : nil
        },
        Family(usage: "fewbitB        GELU backward from B-bit codes, optimal table (B = 1...8)") { name in
            guard name.hasPrefix("fewbit"), let bits = Int(name.dropFirst("fewbit".count)), (1...8).contains(bits) else { return nil }
            return FinetuneMode(name: name, summary: "\(bits)-bit GELU") { $0.memory = .fewBit(bits: bits) }
        },
        Family(usage: "regelu2        GELU backward from Approx-BP's ReGELU2 2-bit step derivative") { name in
            name == "regelu2" ? FinetuneMode(name: name, summary: "ReGELU2 GELU") { $0.memory = .reGELU2 } : nil
        },
        Family(usage: "int8           Mesa: linear inputs, norm-kept tensors and attention q, k, v in 8 bits (groups of 64)") { name in
            guard name == "int8" else { return nil }
            return FinetuneMode(name: name, summary: "8-bit saved") { configuration in
                configuration.saved.linearInputs = .mesa
                configuration.saved.normalizationStorage = .mesa
                configuration.saved.attention = .mesa
            }
        },
        Family(usage: "msnorm         memory-sharing LayerNorm: backward from its output, shared with the next linear input") { name in
            name == "msnorm" ? FinetuneMode(name: name, summary: "MS norms") { $0.saved.normalization = .output } : nil
        },
    ]

    static let quickDefault = "exact,fewbit3,regelu2,int8,msnorm,fewbit3+int8+msnorm"
    static let fullDefault = "exact,fewbit1,fewbit2,fewbit3,fewbit4,regelu2,int8,msnorm,fewbit3+msnorm,fewbit3+int8+msnorm,regelu2+int8+msnorm"

    static var usage: String { families.map { "      " + $0.usage }.joined(separator: "\n") }

    /// The modes of a `--modes` list, in order; an unknown name or a repeated mode throws.
    static func parse(_ list: String) throws -> [FinetuneMode] {
        var modes: [FinetuneMode] = []
        for item in list.split(separator: ",", omittingEmptySubsequences: false).map({ $0.trimmingCharacters(in: .whitespaces) }) {
            modes.append(try mode(item))
        }
        let names = modes.map(\.name)
        guard Set(names).count == names.count else { throw UsageError("--modes lists a mode twice: \(list)") }
        return modes
    }

    /// One item: a name, or names joined by `+`.
    static func mode(_ item: String) throws -> FinetuneMode {
        let parts = item.split(separator: "+", omittingEmptySubsequences: false).map(String.init)
        var found: [FinetuneMode] = []
        for part in parts {
            guard let mode = families.lazy.compactMap({ $0.parse(part) }).first else {
                throw UsageError("unknown finetune mode '\(part)'; modes:\n\(usage)")
            }
            found.append(mode)
        }
        if found.count == 1 { return found[0] }
        let combined = found
        return FinetuneMode(name: item, summary: combined.map(\.summary).joined(separator: " + ")) { configuration in
            for mode in combined { mode.configure(&configuration) }
        }
    }
}
