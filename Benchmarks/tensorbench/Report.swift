import Foundation
import TensorEngine

/// One measured figure: what ran, on what shape, how fast, and the peers' figures.
struct Record: Codable {
    var benchmark: String
    var device: String
    var label: String
    var shape: [Int]
    var metric: String
    var unit: String
    var ours: Timing
    /// Work per run in the metric's unit (FLOP for GFLOP/s, elements for Gelem/s, bytes for GB/s).
    var work: Double
    var peers: [String: PeerFigure] = [:]
    var extra: [String: Double] = [:]
    /// A per-step series (training losses), for plots.
    var series: [Double]?

    /// Throughput at the best (min) and the median time, in units of 1e9 per second.
    var bestRate: Double { work / ours.min / 1e9 }
    var medianRate: Double { work / ours.median / 1e9 }
}

/// A peer's timing of the same workload, or why it is missing.
struct PeerFigure: Codable {
    var min: Double?
    var median: Double?
    var version: String?
    var why: String?
    /// Other figures of the peer's run (training: final loss, test accuracy).
    var extra: [String: Double]?
    /// The peer's per-step series (training losses), for plots.
    var series: [Double]?
}

/// Everything one tensorbench invocation measured, with the context to reproduce it.
struct Report: Codable {
    var command: String
    var date: String
    var host: String
    var devices: [String]
    var records: [Record] = []
    var notes: [String: String] = [:]
    /// This machine's measured FMA and copy peak (CPU runs), for "fraction of peak" columns.
    var peak: Peak?

    init(command: [String], device: Device) {
        self.command = (["tensorbench"] + command).joined(separator: " ")
        let formatter = ISO8601DateFormatter()
        date = formatter.string(from: Date())
        host = ProcessInfo.processInfo.hostName + " (\(ProcessInfo.processInfo.activeProcessorCount) cores)"
        devices = [device.description]
    }

    func write(options: Options) throws {
        if let path = options.jsonPath {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(self).write(to: URL(fileURLWithPath: path))
            FileHandle.standardError.write(Data("wrote \(path)\n".utf8))
        }
        if let path = options.csvPath {
            var lines = ["benchmark,device,label,shape,metric,unit,min_s,median_s,best_rate,median_rate,peer,peer_min_s,peer_median_s,ratio_min"]
            for r in records {
                let base = [r.benchmark, r.device, r.label, r.shape.map(String.init).joined(separator: "x"), r.metric, r.unit,
                            "\(r.ours.min)", "\(r.ours.median)", "\(r.bestRate)", "\(r.medianRate)"]
                if r.peers.isEmpty {
                    lines.append((base + ["", "", "", ""]).map(csvEscape).joined(separator: ","))
                }
                for (name, peer) in r.peers.sorted(by: { $0.key < $1.key }) {
                    let ratio = peer.min.map { $0 / r.ours.min }.map { "\($0)" } ?? ""
                    lines.append((base + [name, peer.min.map { "\($0)" } ?? "", peer.median.map { "\($0)" } ?? "", ratio])
                        .map(csvEscape).joined(separator: ","))
                }
            }
            try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            FileHandle.standardError.write(Data("wrote \(path)\n".utf8))
        }
    }
}

private func csvEscape(_ field: String) -> String {
    field.contains(",") || field.contains("\"") ? "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : field
}
