import Foundation
import TensorEngine

/// `tensorbench embed`: all-MiniLM-L6-v2 sentence embeddings of fortunes texts, ours against
/// transformers' BertModel (PyTorch) on the same texts and threads, plus the cosine of every
/// embedding to PyTorch's.
enum EmbedBench {
    static let help = """
        tensorbench embed [texts=N] [batches=1,32] [--sparsity 0.4,0.5,0.6] [options]
          SentenceEmbedder (all-MiniLM-L6-v2, scripts/install-deps --models) on N fortunes texts
          (default 256, --quick 64; every k-th text of the corpus), in batches of each size
          sorted by length, on every available device (or --device): texts/s (min and median over
          --repeat runs, default 3). PyTorch (Benchmarks/peers/embed.py: transformers' BertModel,
          mean pooling, same texts, batches and threads) in the same run; "vs torch" is our
          texts/s / torch's at the min (> 1: we are faster). "lowest cosine": of our embeddings to
          PyTorch's, over all N texts (goal >= 0.99999).
          --sparsity S,... (or sparsity=S,...): TEAL on every linear layer's input (thresholds calibrated on 64 other
          fortunes texts so a fraction S of the inputs is skipped, run through sparseMatmul's
          dispatcher), per S and batch size: the lowest and mean cosine to our dense
          embeddings, texts/s, and the speed-up over dense of the whole embedding and of the
          FFN layers alone (their products timed inside the run).
        """

    static func run(_ options: Options, report: inout Report) throws {
        var count = options.quick ? 64 : 256
        var batches = [1, 32]
        var sparsities: [Double] = []
        for token in options.rest {
            if token.hasPrefix("texts="), let n = Int(token.dropFirst(6)), n > 0 { count = n }
            else if token.hasPrefix("sparsity=") {
                sparsities = token.dropFirst(9).split(separator: ",").compactMap { Double($0) }.filter { $0 > 0 && $0 < 1 }
            }
            else if token.hasPrefix("batches=") {
                batches = token.dropFirst(8).split(separator: ",").compactMap { Int($0) }.filter { $0 > 0 }
            } else { throw UsageError("cannot read '\(token)' (texts=N, batches=A,B, sparsity=S,T)") }
        }
        let directory = Peers.repositoryRoot + "/.cache/models/all-MiniLM-L6-v2"
        let corpus = try FortunesCorpus().allTexts
        let step = max(1, corpus.count / count)
        let texts = Array(stride(from: 0, to: corpus.count, by: step).prefix(count).map { corpus[$0] })
        let repeats = options.repeats ?? (options.quick ? 2 : 3)
        let (torch, reference) = options.noPeers ? ([:], nil) : peer(texts, batches: batches, repeats: repeats, options: options)
        let devices = options.device == nil ? Device.available : [try options.resolveDevice()]
        var table = Table("device", "batch", "texts/s min", "median", "lowest cosine")
        if !options.noPeers { table.headers.append("vs torch") }
        for device in devices {
            Progress.say("embed: loading all-MiniLM-L6-v2 on \(device.identifier)")
            let model = try SentenceEmbedder(directory: directory, on: device)
            for batch in batches {
                Progress.say("embed: \(texts.count) texts in batches of \(batch) on \(device.identifier)")
                var vectors: [Float] = []
                // --repeat 1: one untimed-warm-up-free pass (a cosine check of many texts on a slow device).
                let timing = try Timing.measure(repeats: repeats, warmup: repeats == 1 ? 0 : 1, on: device) {
                    vectors = try model.embed(texts, batchSize: batch).toArray()
                }
                let lowest = reference.map { lowestCosine(vectors, $0) }
                let figure = Peers.figure(torch, peer: "torch", label: "batch \(batch)")
                let rate = { (seconds: Double) in Double(texts.count) / seconds }
                table.add([device.identifier, "\(batch)", format(rate(timing.min), digits: 1), format(rate(timing.median), digits: 1),
                           lowest.map { String(format: "%.9f", $0) } ?? "n/a"]
                          + (options.noPeers ? [] : [figure.min.map { format($0 / timing.min, digits: 2) + "x" } ?? "n/a"]))
                var record = Record(benchmark: "embed", device: device.identifier, label: "batch \(batch)",
                                    shape: [texts.count, batch], metric: "texts/s", unit: "texts", ours: timing,
                                    work: Double(texts.count) * 1e9)
                if let lowest { record.extra["lowest_cosine"] = lowest }
                if !options.noPeers { record.peers["torch"] = figure }
                report.records.append(record)
            }
        }
        Progress.done()
        if !sparsities.isEmpty {
            let calibration = Array(stride(from: step / 2, to: corpus.count, by: step).prefix(64).map { corpus[$0] })
            try sparse(texts, calibration: calibration, sparsities: sparsities, batches: batches, devices: devices,
                       repeats: repeats, directory: directory, report: &report)
        }
        for batch in batches {
            let figure = Peers.figure(torch, peer: "torch", label: "batch \(batch)")
            if let min = figure.min, let median = figure.median {
                table.add(["torch \(figure.version ?? "?")", "\(batch)", format(Double(texts.count) / min, digits: 1),
                           format(Double(texts.count) / median, digits: 1), "-", "-"])
            }
        }
        print("embed: all-MiniLM-L6-v2, \(texts.count) fortunes texts, \(repeats) runs per figure")
        print(table.render())
        Peers.printReasons(report.records)
    }

    /// The TEAL table: per device, sparsity and batch size, cosine to dense and speed-ups.
    static func sparse(_ texts: [String], calibration: [String], sparsities: [Double], batches: [Int], devices: [Device],
                       repeats: Int, directory: String, report: inout Report) throws {
        var table = Table("device", "sparsity", "batch", "lowest cos", "mean cos", "texts/s", "whole x", "FFN x")
        for device in devices {
            let model = try SentenceEmbedder(directory: directory, on: device)
            let ffn = model.linearLayers.filter { $0.name.contains("feedForward") }.map(\.layer)
            func run(_ batch: Int) throws -> (vectors: [Float], timing: Timing, ffnSeconds: Double) {
                var vectors: [Float] = []
                let timing = try Timing.measure(repeats: repeats, on: device) {
                    vectors = try model.embed(texts, batchSize: batch).toArray()
                }
                for layer in ffn { layer.inputSparsity.setTiming(true) }
                _ = try model.embed(texts, batchSize: batch)
                let ffnSeconds = ffn.reduce(0) { $0 + $1.inputSparsity.measuredSeconds }
                for layer in ffn { layer.inputSparsity.setTiming(false) }
                return (vectors, timing, ffnSeconds)
            }
            for batch in batches {
                Progress.say("embed: dense reference, batch \(batch), on \(device.identifier)")
                model.clearSparsity()
                let dense = try run(batch)
                for sparsity in sparsities {
                    Progress.say("embed: TEAL \(sparsity), batch \(batch), on \(device.identifier)")
                    try model.calibrateSparsity(sparsity, texts: calibration)
                    let result = try run(batch)
                    let width = result.vectors.count / max(texts.count, 1)
                    let cosines = (0..<texts.count).map { row in
                        (0..<width).reduce(0.0) { $0 + Double(result.vectors[row * width + $1]) * Double(dense.vectors[row * width + $1]) }
                    }
                    let whole = dense.timing.min / result.timing.min, ffnSpeedup = dense.ffnSeconds / result.ffnSeconds
                    table.add([device.identifier, format(sparsity, digits: 2), "\(batch)", String(format: "%.5f", cosines.min() ?? .nan),
                               String(format: "%.5f", cosines.reduce(0, +) / Double(max(cosines.count, 1))),
                               format(Double(texts.count) / result.timing.min, digits: 1), format(whole, digits: 2) + "x",
                               format(ffnSpeedup, digits: 2) + "x"])
                    var record = Record(benchmark: "embed-teal", device: device.identifier, label: "sparsity \(sparsity) batch \(batch)",
                                        shape: [texts.count, batch], metric: "texts/s", unit: "texts", ours: result.timing,
                                        work: Double(texts.count) * 1e9)
                    record.extra = ["sparsity": sparsity, "lowest_cosine": cosines.min() ?? .nan, "whole_speedup": whole,
                                    "ffn_speedup": ffnSpeedup]
                    report.records.append(record)
                }
            }
            model.clearSparsity()
        }
        Progress.done()
        print("embed TEAL: thresholds calibrated on \(calibration.count) other fortunes texts; cosine to our dense embeddings;")
        print("whole x / FFN x: dense time / sparse time (min) of the whole embedding / of the 12 FFN products")
        print(table.render())
        print("")
    }

    /// PyTorch's figures and its embeddings of `texts` (nil when it cannot run).
    static func peer(_ texts: [String], batches: [Int], repeats: Int,
                     options: Options) -> ([String: [String: PeerFigure]], [[Double]]?) {
        Progress.say("embed: PyTorch peer")
        let threads = options.threads ?? CPUThreads.current
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tensorbench-embed-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try JSONSerialization.data(withJSONObject: texts).write(to: directory.appendingPathComponent("texts.json"))
        } catch {
            return (["torch": ["*": PeerFigure(why: "could not write the texts: \(error)")]], nil)
        }
        let out = directory.appendingPathComponent("embeddings.json")
        let figures = Peers.run("embed.py", ["--data", directory.path, "--batches", batches.map(String.init).joined(separator: ","),
                                             "--repeat", "\(repeats)", "--threads", "\(threads)", "--out", out.path],
                                threads: threads)
        let vectors = (try? Data(contentsOf: out)).flatMap { try? JSONDecoder().decode([[Double]].self, from: $0) }
        return (figures, vectors)
    }

    /// The lowest cosine between each row of `ours` (rows of `reference[i].count`) and its reference.
    static func lowestCosine(_ ours: [Float], _ reference: [[Double]]) -> Double {
        var lowest = Double.infinity
        for (row, theirs) in reference.enumerated() {
            let width = theirs.count
            guard (row + 1) * width <= ours.count else { return .nan }
            let mine = ours[(row * width)..<((row + 1) * width)].map(Double.init)
            let dot = zip(mine, theirs).reduce(0) { $0 + $1.0 * $1.1 }
            let norms = (mine.reduce(0) { $0 + $1 * $1 } * theirs.reduce(0) { $0 + $1 * $1 }).squareRoot()
            lowest = min(lowest, norms > 0 ? dot / norms : (mine == theirs ? 1 : 0))
        }
        return lowest
    }
}
