import Foundation
import TensorEngine

/// `tensorbench finetune`: the training memory of a whole pretrained transformer under each
/// memory mode, fine-tuning all-MiniLM-L6-v2 on fortunes topics, against transformers'
/// BertModel on the same weights, batches and optimiser.
enum FinetuneBench {
    static var help: String {
        """
        tensorbench finetune [--modes A,B,...] [--steps N] [--quick] [options]
          Fine-tunes all-MiniLM-L6-v2 (scripts/install-deps --models) plus a linear head on
          masked mean pooling, on topic classification of Debian's fortunes: the 8 largest
          topics, texts in one of them only, split train/test by a hash of the text. AdamW
          (lr 1e-4, weight decay 0.01, betas 0.9/0.999), linear warm-up over 10% of the steps
          then linear decay to 0, gradient clipping at norm 1, no dropout, fixed seeds.
          Full: 200 steps of 16 texts cut to 128 tokens, every test text; --quick: 40 steps of
          16 texts cut to 48 tokens, 320 test texts.
          One row per memory mode, each trained in a fresh process (this binary re-invoked) so
          that its peak resident memory (VmHWM) is its own: final loss (mean of the last 10
          steps), test accuracy, bytes retained for backward (the engine's accounting of the
          first step, whole model; by op below the table), peak resident memory, step time.
          PyTorch (Benchmarks/peers/finetune.py: transformers' BertModel from the same
          checkpoint, our head's initial weights, the same batches and optimiser) trains in
          the same run: "loss vs torch" is the largest relative difference of the loss curve
          from torch's, "vs torch" torch's step time / ours at the min (> 1: we are faster).
          Modes (--modes, default \(FinetuneModes.fullDefault); --quick: \(FinetuneModes.quickDefault);
          join with + to combine):
        \(FinetuneModes.usage)
        """
    }

    /// The run's sizes and optimiser, the same in every worker and in the peer.
    struct Setup {
        var steps: Int
        var batch: Int
        var maxLength: Int
        var testLimit: Int?
        var topics = 8
        var learningRate: Float = 1e-4
        var weightDecay: Float = 0.01
        var clip: Float = 1
        var seed: UInt64 = 1
        var warmup: Int { max(1, steps / 10) }

        init(_ options: Options) {
            (steps, batch, maxLength, testLimit) = options.quick ? (40, 16, 48, 320) : (200, 16, 128, nil)
            if let explicit = options.steps { steps = explicit }
        }
    }

    /// What one mode's worker measured.
    struct Outcome: Codable {
        var mode: String
        var losses: [Double]
        var stepSeconds: [Double]
        var retained: [String: Int]
        var testAccuracy: Double
        var peakRSS: Int?
        var baselineRSS: Int?
        var loadSeconds: Double
        /// The device's live bytes between steps (weights, optimiser state, data) and their peak
        /// during a step, from the second step on (the optimiser state exists by then).
        var restingLiveBytes: Int?
        var stepPeakLiveBytes: Int?

        var totalRetained: Int { retained.values.reduce(0, +) }
        /// Without the linear layers' weights: parameters, kept whatever the mode.
        var retainedBesideWeights: Int { totalRetained - (retained["linear weight"] ?? 0) }
        var finalLoss: Double { FinetuneBench.tailMean(losses) }
        /// What a step needs above what lives between steps: activations kept for backward,
        /// gradients, transients.
        var stepLiveBytes: Int? { stepPeakLiveBytes.flatMap { peak in restingLiveBytes.map { peak - $0 } } }
    }

    /// The CPU (with --threads applied) unless --device names another.
    static func device(_ options: Options) throws -> Device {
        guard options.device != nil else {
            if let threads = options.threads { CPUThreads.set(threads) }
            return .cpu
        }
        return try options.resolveDevice()
    }

    static var modelDirectory: String {
        let local = ".cache/models/all-MiniLM-L6-v2"
        return FileManager.default.fileExists(atPath: local) ? local : Peers.repositoryRoot + "/" + local
    }

    static func run(_ options: Options, report: inout Report) throws {
        if let worker = options.worker {
            try runWorker(FinetuneModes.mode(worker), options: options)
            return
        }
        let modes = try FinetuneModes.parse(options.modes ?? (options.quick ? FinetuneModes.quickDefault : FinetuneModes.fullDefault))
        let setup = Setup(options)
        let device = try Self.device(options)
        let tokenizer = try WordPieceTokenizer(vocabularyFile: modelDirectory + "/vocab.txt", maxLength: setup.maxLength)
        let data = try FinetuneData(corpus: FortunesCorpus(), tokenizer: tokenizer, topicCount: setup.topics,
                                    steps: setup.steps, batch: setup.batch, testLimit: setup.testLimit, seed: setup.seed)
        let torch = options.noPeers ? PeerFigure(why: "--no-peers") : try peer(setup, data: data, tokenizer: tokenizer, options: options)
        var outcomes: [Outcome] = []
        for mode in modes {
            Progress.say("finetune \(mode.name) on \(device.identifier) (a fresh process)")
            outcomes.append(try spawnWorker(mode, options: options))
        }
        Progress.done()
        print("finetune: all-MiniLM-L6-v2 + linear head, \(data.topics.count) fortune topics (\(data.topics.joined(separator: ", "))), "
              + "\(data.trainCount) train / \(data.testCount) test texts; \(setup.steps) AdamW steps of \(setup.batch) texts "
              + "<= \(setup.maxLength) tokens, on \(device)")
        print(table(outcomes, modes: modes, torch: torch, options: options).render())
        if torch.min == nil { print("n/a torch: \(torch.why ?? "no figure")") }
        print("")
        print("bytes retained for backward by op (MB, first step, whole model):")
        print(byOpTable(outcomes, modes: modes).render())
        print("retained: what the first step's graph keeps for backward (the engine's accounting); w/o weights: less the "
              + "linear weights (parameters, kept anyway); vs exact: exact's w/o weights / this mode's")
        print("step MB: the most bytes of device buffers alive during a training step (steps 2 on) less those alive "
              + "between steps (weights, gradients' storage, AdamW moments, data): activations kept for backward, "
              + "activation gradients, transients (Device.memoryStatistics)")
        print("peak RSS: the process's VmHWM (model, optimiser state, data, activations); train RSS: VmHWM - VmRSS before step 1")
        print("step times are noisy when other processes share the cores")
        for (mode, outcome) in zip(modes, outcomes) {
            report.records.append(record(outcome, mode: mode, setup: setup, torch: torch, device: device))
        }
    }

    // MARK: The table

    static func table(_ outcomes: [Outcome], modes: [FinetuneMode], torch: PeerFigure, options: Options) -> Table {
        var table = Table("mode", "final loss", "test acc %", "retained MB", "w/o weights", "vs exact", "step MB",
                          "vs exact", "peak RSS MB", "train RSS MB", "step ms min", "median")
        if !options.noPeers { table.headers += ["loss vs torch", "vs torch"] }
        let exactBytes = outcomes.first { $0.mode == "exact" }?.retainedBesideWeights
        let exactStep = outcomes.first { $0.mode == "exact" }?.stepLiveBytes
        for (mode, outcome) in zip(modes, outcomes) {
            let timing = Timing(Array(outcome.stepSeconds.dropFirst()))
            var row = [mode.name, format(outcome.finalLoss, digits: 4), format(outcome.testAccuracy * 100, digits: 1),
                       megabytes(outcome.totalRetained), megabytes(outcome.retainedBesideWeights),
                       exactBytes.map { format(Double($0) / Double(max(outcome.retainedBesideWeights, 1)), digits: 2) + "x" } ?? "-",
                       outcome.stepLiveBytes.map(megabytes) ?? "n/a",
                       exactStep.flatMap { exact in outcome.stepLiveBytes.map { format(Double(exact) / Double(max($0, 1)), digits: 2) + "x" } } ?? "-",
                       outcome.peakRSS.map(megabytes) ?? "n/a", trainRSS(outcome).map(megabytes) ?? "n/a",
                       format(timing.min * 1e3, digits: 0), format(timing.median * 1e3, digits: 0)]
            if !options.noPeers {
                row += [lossDifference(outcome.losses, torch.series).map { String(format: "%.1e", $0) } ?? "n/a",
                        TrainPeers.ratio(torch, ours: timing)]
            }
            table.add(row)
        }
        if let min = torch.min, let median = torch.median {
            let extra = torch.extra ?? [:]
            table.add(["torch exact (\(torch.version ?? "?"))", format(tailMean(torch.series ?? []), digits: 4),
                       format(100 * extra["test_accuracy", default: .nan], digits: 1), "-", "-", "-", "-", "-",
                       extra["peak_rss_bytes"].map { megabytes(Int($0)) } ?? "n/a",
                       extra["peak_rss_bytes"].flatMap { peak in extra["baseline_rss_bytes"].map { megabytes(Int(peak - $0)) } } ?? "n/a",
                       format(min * 1e3, digits: 0), format(median * 1e3, digits: 0), "-", "-"])
        }
        return table
    }

    static func byOpTable(_ outcomes: [Outcome], modes: [FinetuneMode]) -> Table {
        var table = Table(headers: ["op"] + modes.map(\.name))
        // Largest first in the first mode (exact, usually), then by name.
        let first = outcomes.first?.retained ?? [:]
        let ops = Set(outcomes.flatMap(\.retained.keys)).sorted { (first[$0] ?? 0, $1) > (first[$1] ?? 0, $0) }
        for op in ops {
            table.add([op] + outcomes.map { $0.retained[op].map(megabytes) ?? "-" })
        }
        table.add(["total"] + outcomes.map { megabytes($0.totalRetained) })
        return table
    }

    static func megabytes(_ bytes: Int) -> String { format(Double(bytes) / 1e6, digits: 1) }

    static func trainRSS(_ outcome: Outcome) -> Int? {
        guard let peak = outcome.peakRSS, let base = outcome.baselineRSS else { return nil }
        return peak - base
    }

    /// The mean of the last 10 losses (one batch's loss is noisy).
    static func tailMean(_ losses: [Double]) -> Double {
        let tail = losses.suffix(10)
        return tail.isEmpty ? .nan : tail.reduce(0, +) / Double(tail.count)
    }

    /// The largest |ours - torch| / |torch| over the loss curve.
    static func lossDifference(_ ours: [Double], _ torch: [Double]?) -> Double? {
        guard let torch, !torch.isEmpty else { return nil }
        return zip(ours, torch).map { abs($0 - $1) / max(abs($1), 1e-30) }.max()
    }

    static func record(_ outcome: Outcome, mode: FinetuneMode, setup: Setup, torch: PeerFigure, device: Device) -> Record {
        var record = Record(benchmark: "finetune-minilm", device: device.identifier, label: mode.name,
                            shape: [setup.steps, setup.batch, setup.maxLength], metric: "steps/s", unit: "steps",
                            ours: Timing(Array(outcome.stepSeconds.dropFirst())), work: 1e9)
        record.extra = ["final_loss": outcome.finalLoss, "first_loss": outcome.losses.first ?? .nan,
                        "test_accuracy": outcome.testAccuracy, "total_retained_bytes": Double(outcome.totalRetained),
                        "retained_bytes_without_weights": Double(outcome.retainedBesideWeights),
                        "load_seconds": outcome.loadSeconds]
        for (op, bytes) in outcome.retained { record.extra["retained_bytes." + op] = Double(bytes) }
        if let peak = outcome.peakRSS { record.extra["peak_rss_bytes"] = Double(peak) }
        if let base = outcome.baselineRSS { record.extra["baseline_rss_bytes"] = Double(base) }
        if let step = outcome.stepLiveBytes { record.extra["step_live_bytes"] = Double(step) }
        if let resting = outcome.restingLiveBytes { record.extra["resting_live_bytes"] = Double(resting) }
        if let difference = lossDifference(outcome.losses, torch.series) { record.extra["max_relative_difference"] = difference }
        record.series = outcome.losses
        var figure = torch
        if mode.name != "exact" { figure.series = nil }   // the peer's curve is stored once, on the exact row
        record.peers["torch"] = figure
        return record
    }

    // MARK: Workers

    /// Runs `mode` in a fresh process of this binary and reads its outcome.
    static func spawnWorker(_ mode: FinetuneMode, options: Options) throws -> Outcome {
        var arguments = ["finetune", "--worker", mode.name]
        if options.quick { arguments.append("--quick") }
        if let threads = options.threads { arguments += ["--threads", "\(threads)"] }
        if let device = options.device { arguments += ["--device", device] }
        if let steps = options.steps { arguments += ["--steps", "\(steps)"] }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last(where: { $0.hasPrefix("{") })
        else {
            throw UsageError("finetune worker for \(mode.name) exited with status \(process.terminationStatus)")
        }
        return try JSONDecoder().decode(Outcome.self, from: Data(line.utf8))
    }

    /// One mode in this process: load, train, test; prints the outcome as one JSON line.
    static func runWorker(_ mode: FinetuneMode, options: Options) throws {
        let setup = Setup(options)
        let device = try Self.device(options)
        let start = DispatchTime.now().uptimeNanoseconds
        let (model, data) = try classifier(setup, configure: mode.configure, on: device)
        let loadSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
        let inputs = try data.steps.map { batch in
            (try batch.tokens.ids(on: device), try batch.tokens.attentionMask(on: device, dtype: .float32),
             try Tensor(int32: batch.labels, shape: [batch.labels.count], on: device))
        }
        let optimizer = AdamW(parameters: model.parameters, learningRate: setup.learningRate, weightDecay: setup.weightDecay)
        let schedule = try LearningRateSchedule(peak: setup.learningRate, warmupSteps: setup.warmup, totalSteps: setup.steps,
                                                decay: .linear)
        let baseline = ResidentMemory.current
        var losses: [Double] = [], seconds: [Double] = [], retained: [String: Int] = [:]
        var resting: Int?, stepPeak: Int?
        for (step, (ids, mask, labels)) in inputs.enumerated() {
            Progress.say("finetune \(mode.name): step \(step + 1)/\(setup.steps)")
            if step >= 1, let memory = device.memoryStatistics {
                resting = max(resting ?? 0, memory.liveBytes)
                device.resetPeakMemoryStatistics()
            }
            let begin = DispatchTime.now().uptimeNanoseconds
            optimizer.learningRate = schedule.rate(atStep: step)
            optimizer.zeroGrad()
            let loss = try model.loss(ids, attentionMask: mask, labels: labels)
            if step == 0 { retained = loss.retainedBytesByOp() }
            try loss.backward()
            try clipGradientNorm(optimizer.parameters, maxNorm: setup.clip)
            try optimizer.step()
            try device.synchronize()
            seconds.append(Double(DispatchTime.now().uptimeNanoseconds - begin) * 1e-9)
            losses.append(Double(try loss.item()))
            if step >= 1, let memory = device.memoryStatistics { stepPeak = max(stepPeak ?? 0, memory.peakLiveBytes) }
        }
        Progress.say("finetune \(mode.name): test")
        var correct = 0, total = 0
        try withNoGrad { () throws(TensorError) in
            for batch in data.test {
                let logits = try model.logits(try batch.tokens.ids(on: device),
                                              attentionMask: try batch.tokens.attentionMask(on: device, dtype: .float32))
                let predicted = try logits.argmax(axis: 1).toInt32Array()
                correct += zip(predicted, batch.labels).filter { $0 == $1 }.count
                total += batch.labels.count
            }
        }
        Progress.done()
        let outcome = Outcome(mode: mode.name, losses: losses, stepSeconds: seconds, retained: retained,
                              testAccuracy: Double(correct) / Double(max(total, 1)), peakRSS: ResidentMemory.peak,
                              baselineRSS: baseline, loadSeconds: loadSeconds, restingLiveBytes: resting,
                              stepPeakLiveBytes: stepPeak)
        print(String(decoding: try JSONEncoder().encode(outcome), as: UTF8.self))
    }

    /// The pretrained encoder (configured by the mode) with a fresh head of seed `setup.seed`,
    /// and the task's data.
    static func classifier(_ setup: Setup, configure: (inout TransformerConfiguration) -> Void,
                           on device: Device) throws -> (SequenceClassifier, FinetuneData) {
        let pretrained = try SentenceEmbedder(directory: modelDirectory, on: device, configure: configure)
        let model = try SequenceClassifier(body: pretrained.encoder, classes: setup.topics, seed: setup.seed)
        model.setTraining(true)
        let tokenizer = try WordPieceTokenizer(vocabularyFile: modelDirectory + "/vocab.txt", maxLength: setup.maxLength)
        let data = try FinetuneData(corpus: FortunesCorpus(), tokenizer: tokenizer, topicCount: setup.topics,
                                    steps: setup.steps, batch: setup.batch, testLimit: setup.testLimit, seed: setup.seed)
        return (model, data)
    }

    // MARK: The peer

    /// transformers' BertModel on the same checkpoint, with our head's initial weights and our
    /// batches (Benchmarks/peers/finetune.py).
    static func peer(_ setup: Setup, data: FinetuneData, tokenizer: WordPieceTokenizer, options: Options) throws -> PeerFigure {
        Progress.say("finetune: PyTorch peer (transformers' BertModel)")
        let threads = options.threads ?? CPUThreads.current
        let (model, _) = try classifier(setup, configure: { _ in }, on: .cpu)
        var shared = try FinetuneData.padded(data.steps, prefix: "", paddingID: tokenizer.paddingID)
        shared.merge(try FinetuneData.padded(data.test, prefix: "test_", paddingID: tokenizer.paddingID)) { first, _ in first }
        shared["head.weight"] = model.head.weight
        if let bias = model.head.bias { shared["head.bias"] = bias }
        let config: [String: Any] = ["learningRate": Double(setup.learningRate), "warmup": setup.warmup, "steps": setup.steps,
                                     "weightDecay": Double(setup.weightDecay), "clip": Double(setup.clip)]
        let json = String(decoding: try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys]), as: UTF8.self)
        let figures = Peers.run("finetune.py", ["--config", json, "--threads", "\(threads)",
                                                "--model", URL(fileURLWithPath: modelDirectory).standardized.path],
                                threads: threads, sharing: shared)
        return Peers.figure(figures, peer: "torch", label: "exact")
    }
}
