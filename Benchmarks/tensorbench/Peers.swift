import Foundation
import TensorEngine

/// Runs the same workloads in numpy and PyTorch (Benchmarks/peers/*.py) for side-by-side columns.
///
/// The interpreter is `TENSORBENCH_PYTHON`, else `.venv/bin/python3` (made by
/// `scripts/install-deps --peers`), else `python3` on PATH. Each script prints one JSON
/// object per line: {"peer": "numpy", "label": ..., "min": s, "median": s, "version": ...}
/// or {"peer": "torch", "label": ..., "why": "..."} when it cannot run, optionally with
/// "extra" (name to number: final loss, accuracy) and "series" (a loss per step). The
/// matmul and activation scripts say "library", "min_s", "median_s" and may give the shape
/// or the activation instead of a label; both forms are read. The scripts share their
/// timing and output in Benchmarks/peers/common.py.
enum Peers {
    struct Line: Decodable {
        var peer: String?
        var library: String?
        var label: String?
        var min: Double?
        var median: Double?
        var min_s: Double?
        var median_s: Double?
        var version: String?
        var why: String?
        var m: Int?
        var activation: String?
        var extra: [String: Double]?
        var series: [Double]?
        var info: String?

        var name: String? { peer ?? library }
        var resolvedLabel: String? {
            if let label { return label }
            if let activation { return "\(activation) forward" }
            return m.map { "\($0)" }
        }
    }

    static var python: String {
        let environment = ProcessInfo.processInfo.environment
        if let explicit = environment["TENSORBENCH_PYTHON"], !explicit.isEmpty { return explicit }
        for candidate in [".venv/bin/python3", repositoryRoot + "/.venv/bin/python3"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        return "python3"
    }

    /// The checkout this binary was built from (peer scripts live there).
    static let repositoryRoot: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }()

    static func script(_ name: String) -> String? {
        let environment = ProcessInfo.processInfo.environment
        let roots = [environment["TENSORBENCH_PEERS"], "Benchmarks/peers", repositoryRoot + "/Benchmarks/peers"].compactMap { $0 }
        return roots.map { $0 + "/" + name }.first { FileManager.default.fileExists(atPath: $0) }
    }

    /// The environment of a peer process: ours, with the thread variables set to `threads` and
    /// the OpenBLAS variables exactly as the engine runs under (OPENBLAS_CORETYPE as the user set
    /// it or as the engine chose it before loading OpenBLAS, OPENBLAS_L2_SIZE as set or unset),
    /// so numpy's OpenBLAS gets the same core selection as ours; ``OpenBLASEnvironment`` says which.
    static func environment(threads: Int) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        for key in ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"] { environment[key] = "\(threads)" }
        for key in OpenBLASEnvironment.keys {
            environment[key] = OpenBLASEnvironment.current(key)
        }
        return environment
    }

    /// Runs `script` with `arguments` and returns its output lines (nil and a reason when it
    /// cannot start or prints nothing).
    static func lines(_ scriptName: String, _ arguments: [String], threads: Int) -> (lines: [Line], why: String?) {
        guard let path = script(scriptName) else { return ([], "peer script \(scriptName) not found") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, path] + arguments
        process.environment = environment(threads: threads)
        let output = Pipe()
        process.standardOutput = output
        do {
            try process.run()
        } catch {
            return ([], "cannot start \(python): \(error)")
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let parsed = String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap {
            try? JSONDecoder().decode(Line.self, from: Data($0.utf8))
        }
        if parsed.isEmpty { return ([], "\(python) \(scriptName) exited \(process.terminationStatus) with no output") }
        return (parsed, nil)
    }

    /// Runs `script` with `arguments`; figures keyed by peer name then label. A peer that
    /// cannot run appears with `why` set.
    static func run(_ scriptName: String, _ arguments: [String], threads: Int) -> [String: [String: PeerFigure]] {
        let (parsed, why) = lines(scriptName, arguments, threads: threads)
        if let why { return ["numpy": ["*": PeerFigure(why: why)]] }
        var figures: [String: [String: PeerFigure]] = [:]
        for line in parsed {
            guard let name = line.name else { continue }
            figures[name, default: [:]][line.resolvedLabel ?? "*"] =
                PeerFigure(min: line.min ?? line.min_s, median: line.median ?? line.median_s,
                           version: line.version, why: line.why, extra: line.extra, series: line.series)
        }
        if figures.isEmpty {
            figures["numpy"] = ["*": PeerFigure(why: "\(python) \(scriptName) printed no figures")]
        }
        return figures
    }

    /// The peers' BLAS as they load it under the same environment (Benchmarks/peers/blas_info.py:
    /// threadpoolctl's run-time core where installed, else the build records), one line.
    static func blasReport(threads: Int) -> String {
        let (parsed, why) = lines("blas_info.py", [], threads: threads)
        if let why { return "peers' BLAS: unknown (\(why))" }
        let parts = parsed.compactMap { line in line.info.map { "\(line.library ?? "?"): \($0)" } }
        return "peers' BLAS: " + parts.joined(separator: "; ")
    }

    /// Writes `tensors` as DIR/NAME.npy in a fresh temporary directory, so a peer script
    /// (its `--data` or `--init` option) times exactly the data we time.
    static func shareData(_ tensors: [String: Tensor]) throws -> URL {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("tensorbench-peers-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        do {
            for (name, tensor) in tensors { try tensor.saveNPY(to: directory.appendingPathComponent(name + ".npy").path) }
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
        return directory
    }

    /// ``run(_:_:threads:)`` with `tensors` shared through a temporary directory passed as
    /// `flag DIR` (removed afterwards). If they cannot be written, every peer says so.
    static func run(_ scriptName: String, _ arguments: [String], threads: Int, sharing tensors: [String: Tensor],
                    as flag: String = "--data") -> [String: [String: PeerFigure]] {
        let directory: URL
        do {
            directory = try shareData(tensors)
        } catch {
            let why = PeerFigure(why: "could not write the data for \(scriptName): \(error)")
            return ["numpy": ["*": why], "torch": ["*": why]]
        }
        defer { try? FileManager.default.removeItem(at: directory) }
        return run(scriptName, arguments + [flag, directory.path], threads: threads)
    }

    /// Prints, under a table, why each "n/a" peer cell has no figure (once per reason).
    static func printReasons(_ records: some Sequence<Record>) {
        var seen: Set<String> = []
        for record in records {
            for (peer, figure) in record.peers.sorted(by: { $0.key < $1.key }) where figure.min == nil {
                let line = "n/a \(peer): \(figure.why ?? "no figure")"
                if seen.insert(line).inserted { print(line) }
            }
        }
    }

    /// The figure for `label`, or the peer's blanket reason.
    static func figure(_ figures: [String: [String: PeerFigure]], peer: String, label: String) -> PeerFigure {
        if let figure = figures[peer]?[label] { return figure }
        if let blanket = figures[peer]?["*"] { return blanket }
        if let any = figures.values.first?["*"], figures[peer] == nil { return any }
        return PeerFigure(why: "\(peer) did not report \(label)")
    }
}

/// The peer's rate and our ratio to it, or "n/a" when it is missing.
func peerCells(_ figure: PeerFigure, work: Double, ours: Timing) -> [String] {
    // The reason a peer is missing goes to the JSON/CSV and under the table (Peers.printReasons).
    guard let min = figure.min else { return ["n/a", "-"] }
    return [format(work / min / 1e9), format(min / ours.min, digits: 2) + "x"]
}

/// The peer's time in ms at the min and our ratio to it (peer / ours: > 1, we are faster).
func peerTimeCells(_ figure: PeerFigure, ours: Timing, digits: Int = 2) -> [String] {
    guard let min = figure.min else { return ["n/a", "-"] }
    return [format(min * 1e3, digits: digits), format(min / ours.min, digits: 2) + "x"]
}
