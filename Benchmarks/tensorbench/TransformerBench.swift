import Foundation
import TensorEngine

/// `tensorbench transformer`: a small GPT and a small BERT classifier trained on Debian's
/// fortunes, on every device, against PyTorch from the same weights and batches.
enum TransformerBench {
    static let help = """
        tensorbench transformer [options]
          Trains two small transformers for 50 steps (--quick: 20) on Debian's fortunes
          (scripts/install-deps installs them), on every available device (or --device):
          1. gpt: a character-level GPT (pre-LN, causal, 2 layers, 64 features, 4 heads, FFN
             256, exact GELU), batches of 8 windows of 64 characters, next-character loss;
          2. bert: a character-level BERT classifier (post-LN, padding mask, mean pooling) of
             the 4 largest fortune topics, batches of 16 texts cut to 64 characters.
          AdamW (lr 1e-3, weight decay 0.01), 5 warm-up steps then linear decay, gradient
          clipping at norm 1, no dropout. PyTorch (Benchmarks/peers/transformer_train.py) runs
          the same models from our initial weights on the same batches in the same run:
          "max rel diff" is the largest |ours - torch| / |torch| over the loss curve, and
          "vs torch" torch's step time / ours at the min (> 1: we are faster).
        """

    struct Run {
        let name: String
        let configuration: TransformerConfiguration
        let classes: Int
        let batches: [(tokens: [Int32], targets: [Int32], mask: [Float])]
        let batch: Int
        let length: Int
    }

    static let learningRate: Float = 1e-3, warmup = 5, weightDecay: Float = 0.01, clip: Float = 1

    static func run(_ options: Options, report: inout Report) throws {
        let corpus = try FortunesCorpus()
        let steps = options.quick ? 20 : 50
        let devices = options.device == nil ? Device.available : [try options.resolveDevice()]
        for run in [try gptRun(corpus, steps: steps), try bertRun(corpus, steps: steps)] {
            try train(run, steps: steps, devices: devices, options: options, report: &report)
            print("")
        }
    }

    static func gptRun(_ corpus: FortunesCorpus, steps: Int) throws -> Run {
        let text = CharacterVocabulary.ids(corpus.allTexts.joined(separator: "\n"))
        let (batch, length) = (8, 64)
        var stream = IndexStream(seed: 17)
        let batches = (0..<steps).map { _ in
            var tokens: [Int32] = [], targets: [Int32] = []
            for _ in 0..<batch {
                let start = stream.next(below: text.count - length - 1)
                tokens += text[start..<(start + length)]
                targets += text[(start + 1)...(start + length)]
            }
            return (tokens, targets, [Float]())
        }
        let configuration = TransformerConfiguration(vocabulary: CharacterVocabulary.size, features: 64, heads: 4, layers: 2,
                                                     feedForward: 256, maxLength: length, normPlacement: .pre,
                                                     epsilon: 1e-5, dropout: 0)
        return Run(name: "gpt", configuration: configuration, classes: 0, batches: batches, batch: batch, length: length)
    }

    static func bertRun(_ corpus: FortunesCorpus, steps: Int) throws -> Run {
        let topics = corpus.topics.sorted { $0.texts.count > $1.texts.count }.prefix(4).map(\.texts)
        let (batch, length) = (16, 64)
        var stream = IndexStream(seed: 29)
        let batches = (0..<steps).map { step in
            var tokens: [Int32] = [], labels: [Int32] = [], mask: [Float] = []
            for row in 0..<batch {
                let topic = (step * batch + row) % topics.count
                let ids = CharacterVocabulary.ids(topics[topic][stream.next(below: topics[topic].count)]).prefix(length)
                tokens += ids + [Int32](repeating: 0, count: length - ids.count)
                mask += [Float](repeating: 1, count: ids.count) + [Float](repeating: 0, count: length - ids.count)
                labels.append(Int32(topic))
            }
            return (tokens, labels, mask)
        }
        let configuration = TransformerConfiguration(vocabulary: CharacterVocabulary.size, features: 64, heads: 4, layers: 2,
                                                     feedForward: 256, maxLength: length, normPlacement: .post,
                                                     epsilon: 1e-12, dropout: 0)
        return Run(name: "bert", configuration: configuration, classes: topics.count, batches: batches, batch: batch,
                   length: length)
    }

    /// The model of `run` with its loss on batch `step`.
    struct Model {
        let module: any Module
        let loss: (Int) throws -> Tensor
    }

    static func model(_ run: Run, on device: Device) throws -> Model {
        let (batch, length) = (run.batch, run.length)
        let tokens = try run.batches.map { try Tensor(int32: $0.tokens, shape: [batch, length], on: device) }
        if run.classes == 0 {
            let model = try CausalLanguageModel(run.configuration, seed: 1, on: device)
            let targets = try run.batches.map { try Tensor(int32: $0.targets, shape: [batch, length], on: device) }
            return Model(module: model) { step in try model.loss(tokens[step], targets: targets[step]) }
        }
        let model = try SequenceClassifier(run.configuration, classes: run.classes, seed: 1, on: device)
        let labels = try run.batches.map { try Tensor(int32: $0.targets, shape: [batch], on: device) }
        let masks = try run.batches.map { try Tensor($0.mask, shape: [batch, length], on: device) }
        return Model(module: model) { step in
            try model.loss(tokens[step], attentionMask: masks[step], labels: labels[step])
        }
    }

    static func train(_ run: Run, steps: Int, devices: [Device], options: Options, report: inout Report) throws {
        let torch = options.noPeers ? PeerFigure(why: "--no-peers") : try peer(run, steps: steps, options: options)
        var table = Table("device", "loss first", "loss last", "max rel diff", "step ms min", "median")
        if !options.noPeers { table.headers.append("vs torch") }
        for device in devices {
            Progress.say("transformer \(run.name) on \(device.identifier)")
            let model = try model(run, on: device)
            let optimizer = AdamW(parameters: model.module.parameters, learningRate: learningRate, weightDecay: weightDecay)
            let schedule = try LearningRateSchedule(peak: learningRate, warmupSteps: warmup, totalSteps: steps, decay: .linear)
            var losses: [Double] = [], seconds: [Double] = []
            for step in 0..<steps {
                let start = DispatchTime.now().uptimeNanoseconds
                optimizer.learningRate = schedule.rate(atStep: step)
                optimizer.zeroGrad()
                let loss = try model.loss(step)
                try loss.backward()
                try clipGradientNorm(optimizer.parameters, maxNorm: clip)
                try optimizer.step()
                try device.synchronize()
                seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
                losses.append(Double(try loss.item()))
            }
            let timing = Timing(Array(seconds.dropFirst()))
            let difference = torch.series.map { reference in
                zip(losses, reference).map { abs($0 - $1) / max(abs($1), 1e-30) }.max() ?? .nan
            }
            table.add([device.identifier, format(losses.first ?? .nan, digits: 5), format(losses.last ?? .nan, digits: 5),
                       difference.map { String(format: "%.2e", $0) } ?? "n/a",
                       format(timing.min * 1e3, digits: 2), format(timing.median * 1e3, digits: 2)]
                      + (options.noPeers ? [] : [TrainPeers.ratio(torch, ours: timing)]))
            var record = Record(benchmark: "transformer-\(run.name)", device: device.identifier, label: run.name,
                                shape: [run.batch, run.length, run.configuration.features], metric: "steps/s",
                                unit: "steps", ours: timing, work: 1e9)
            record.extra = ["final_loss": losses.last ?? .nan]
            if let difference { record.extra["max_relative_difference"] = difference }
            record.series = losses
            record.peers["torch"] = torch
            report.records.append(record)
        }
        Progress.done()
        if let min = torch.min, let median = torch.median, let series = torch.series {
            table.add(["torch \(torch.version ?? "?")", format(series.first ?? .nan, digits: 5),
                       format(series.last ?? .nan, digits: 5), "-", format(min * 1e3, digits: 2),
                       format(median * 1e3, digits: 2), "-"])
        }
        let c = run.configuration
        print("transformer \(run.name): \(c.layers) layers, \(c.features) features, \(c.heads) heads, FFN \(c.feedForward), "
              + "batch \(run.batch) x \(run.length), \(steps) AdamW steps")
        print(table.render())
        if torch.min == nil { print("n/a torch: \(torch.why ?? "no figure")") }
    }

    /// PyTorch's run from our initial weights (the CPU model's; every device starts from the same).
    static func peer(_ run: Run, steps: Int, options: Options) throws -> PeerFigure {
        Progress.say("transformer \(run.name): PyTorch peer")
        let threads = options.threads ?? CPUThreads.current
        var shared = try model(run, on: .cpu).module.parameterDictionary
        let (batch, length) = (run.batch, run.length)
        shared["tokens"] = try Tensor(int32: run.batches.flatMap(\.tokens), shape: [steps, batch, length], on: .cpu)
        shared["targets"] = try Tensor(int32: run.batches.flatMap(\.targets),
                                       shape: run.classes == 0 ? [steps, batch, length] : [steps, batch], on: .cpu)
        if run.classes > 0 {
            shared["mask"] = try Tensor(run.batches.flatMap(\.mask), shape: [steps, batch, length], on: .cpu)
        }
        let config: [String: Any] = ["model": run.name, "heads": run.configuration.heads, "layers": run.configuration.layers,
                                     "epsilon": Double(run.configuration.epsilon), "learningRate": Double(learningRate),
                                     "warmup": warmup, "steps": steps, "weightDecay": Double(weightDecay), "clip": Double(clip)]
        let json = String(decoding: try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys]), as: UTF8.self)
        let figures = Peers.run("transformer_train.py", ["--config", json, "--threads", "\(threads)"], threads: threads,
                                sharing: shared)
        return Peers.figure(figures, peer: "torch", label: run.name)
    }
}
