import Foundation
import Testing
@testable import TensorCore

/// The published tables of the fewbit project (skolai/fewbit, fewbit/data/builtin.npz), copied
/// into Resources/ with their attribution in the file's "source" field.
struct PublishedTables {
    let source: String
    /// name -> bits -> (inner borders, levels); the outer ends -100 and 100 are dropped.
    let tables: [String: [Int: (borders: [Double], levels: [Double])]]

    static func load() throws -> PublishedTables {
        let url = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()
            .appendingPathComponent("Resources/fewbit_published_tables.json")
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url))
        guard let root = object as? [String: Any], let source = root["source"] as? String,
              let raw = root["tables"] as? [String: [String: [String: [Double]]]]
        else { throw TensorError.io(path: url.path, reason: "unexpected layout") }
        var tables: [String: [Int: (borders: [Double], levels: [Double])]] = [:]
        for (name, byBits) in raw {
            for (bits, table) in byBits {
                guard let b = Int(bits), let borders = table["borders"], let levels = table["levels"],
                      borders.count == levels.count + 1, borders.first == -100, borders.last == 100
                else { throw TensorError.io(path: url.path, reason: "bad table \(name) \(bits)") }
                tables[name, default: [:]][b] = (Array(borders.dropFirst().dropLast()), levels)
            }
        }
        return PublishedTables(source: source, tables: tables)
    }
}

@Suite struct FewBitPublishedTests {
    static let compared: [(String, Activation)] = [("gelu", .gelu), ("silu", .silu), ("tanh", .tanh), ("sigmoid", .sigmoid)]

    /// Ours is never worse than the published table, each error computed with the same
    /// integral (the published one both in float64 as published and rounded to float32 as a
    /// FewBitTable). Prints the comparison as a markdown table:
    /// `swift test --filter FewBitPublishedTests 2>&1 | grep '^|'`.
    @Test func oursNeverWorseThanPublished() throws {
        let published = try PublishedTables.load()
        #expect(published.source.contains("skolai/fewbit"))
        var lines = [
            "| activation | bits | ours L2 error | published L2 error | ours / published |",
            "|---|---:|---:|---:|---:|",
        ]
        for (name, activation) in Self.compared {
            let derivative: @Sendable (Double) -> Double = { activation.derivative($0) }
            let solver = FewBitSolver(derivative: derivative, weight: .uniform(-100, 100))
            for bits in 1...4 {
                let theirs = try #require(published.tables[name]?[bits])
                let theirsDouble = solver.error(borders: theirs.borders, levels: theirs.levels)
                let theirsFloat = try FewBitTable(borders: theirs.borders.map { Float($0) },
                                                  levels: theirs.levels.map { Float($0) },
                                                  derivative: derivative).l2Error
                let ours = try FewBitTable.optimal(for: activation, bits: bits).l2Error
                let reference = min(theirsDouble, theirsFloat)
                #expect(ours <= reference * (1 + 1e-9), "\(name) \(bits) bits: ours \(ours), published \(reference)")
                lines.append("| \(name) | \(bits) | \(String(format: "%.10e", ours)) | \(String(format: "%.10e", theirsDouble)) | \(String(format: "%.9f", ours / theirsDouble)) |")
            }
        }
        print(lines.joined(separator: "\n"))
    }
}
