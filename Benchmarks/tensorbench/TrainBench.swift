import Foundation
import TensorEngine

/// `tensorbench train`: exact vs few-bit activation memory on real and synthetic training.
enum TrainBench {
    static let help = """
        tensorbench train [options]
          1. Digits (Benchmarks/data, 1797 x 64, 10 classes): an MLP 64-512-512-10 with GELU,
             Adam, minibatches of 128, same seeds; exact backward vs few-bit 1, 2, 3, 4 bits:
             final train loss, test accuracy (last 397 digits), bytes retained for the GELU
             layers' backward, step time (min / median).
          2. Teacher-student regression (synthetic; --quick shrinks it): an MLP
             1024-4096-4096-1024 student fits a random GELU teacher; exact vs 3-bit few-bit:
             loss, retained activation bytes, step time.
          PyTorch runs both in the same invocation (Benchmarks/peers/train.py): the digits MLP
          from our initial weights, same batches, Adam, epochs; the teacher-student model at
          the same widths, batch and steps. Its step time, loss and accuracy sit in a row of
          their own, and "vs torch" is torch's step time / ours at the min (> 1: we are faster).
        """

    struct Outcome {
        var finalLoss: Float
        var accuracy: Double?
        var activationBytes: Int
        var totalBytes: Int
        var step: Timing
        var losses: [Float]
    }

    static let memories: [ActivationMemory] = [.exact, .fewBit(bits: 1), .fewBit(bits: 2), .fewBit(bits: 3), .fewBit(bits: 4)]

    static func run(_ options: Options, report: inout Report) throws {
        let device = try options.resolveDevice()
        let peers = options.noPeers ? [:] : try TrainPeers.run(options, device: device)
        try digits(options, device: device, peers: peers, report: &report)
        print("")
        try teacherStudent(options, device: device, peers: peers, report: &report)
    }

    static func digitsEpochs(_ options: Options) -> Int { options.quick ? 4 : 15 }

    /// The digits MLP, 64-512-512-10 GELU; every memory mode starts from the same weights.
    static func digitsModel(_ memory: ActivationMemory, on device: Device) throws -> Sequential {
        Sequential([
            try Linear(64, 512, activation: .gelu, memory: memory, seed: 1, on: device),
            try Linear(512, 512, activation: .gelu, memory: memory, seed: 2, on: device),
            try Linear(512, 10, seed: 3, on: device),
        ])
    }

    /// Teacher-student widths, batch and steps.
    static func teacherStudentShape(_ options: Options) -> (widths: [Int], batch: Int, steps: Int) {
        options.quick ? ([256, 1024, 1024, 256], 64, 4) : ([1024, 4096, 4096, 1024], 256, 8)
    }

    static func activationBytes(_ retained: [String: Int]) -> Int {
        retained.filter { $0.key.contains("activation") }.values.reduce(0, +)
    }

    static func digits(_ options: Options, device: Device, peers: [String: [String: PeerFigure]], report: inout Report) throws {
        let data = Peers.repositoryRoot + "/Benchmarks/data"
        let images = try Tensor(npyFile: data + "/digits_x.npy", on: device)
        let labels = try Tensor(npyFile: data + "/digits_y.npy", on: device).toInt32Array()
        let pixels = try images.toArray()
        let trainCount = 1400, batch = 128
        let epochs = digitsEpochs(options)
        let batches = try stride(from: 0, to: trainCount - batch + 1, by: batch).map { start in
            (try Tensor(Array(pixels[(start * 64)..<((start + batch) * 64)]), shape: [batch, 64], on: device),
             try Tensor(int32: Array(labels[start..<(start + batch)]), shape: [batch], on: device))
        }
        let xTest = try Tensor(Array(pixels[(trainCount * 64)...]), shape: [1797 - trainCount, 64], on: device)
        let testLabels = Array(labels[trainCount...])
        var table = Table("memory", "final loss", "test acc %", "activation bytes", "vs exact", "step ms min", "median")
        if !options.noPeers { table.headers.append("vs torch") }
        let torch = Peers.figure(peers, peer: "torch", label: "digits exact")
        let firstRecord = report.records.count
        var exactBytes = 0
        for memory in memories {
            Progress.say("train digits \(memory) on \(device.identifier)")
            let model = try digitsModel(memory, on: device)
            let optimizer = Adam(parameters: model.parameters, learningRate: 1e-3)
            var losses: [Float] = [], seconds: [Double] = []
            var retained: [String: Int] = [:]
            for epoch in 0..<epochs {
                for (index, (x, y)) in batches.enumerated() {
                    let start = DispatchTime.now().uptimeNanoseconds
                    optimizer.zeroGrad()
                    let loss = try softmaxCrossEntropy(logits: model(x), labels: y)
                    if epoch == 0, index == 0 { retained = loss.retainedBytesByOp() }
                    try loss.backward()
                    try optimizer.step()
                    try device.synchronize()
                    seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
                    losses.append(try loss.item())
                }
            }
            let logits = try withNoGrad { () throws(TensorError) in try model(xTest) }.toArray()
            var correct = 0
            for (row, label) in testLabels.enumerated() {
                let scores = logits[(row * 10)..<((row + 1) * 10)]
                if scores.firstIndex(of: scores.max()!)! - row * 10 == Int(label) { correct += 1 }
            }
            let accuracy = Double(correct) / Double(testLabels.count)
            let bytes = activationBytes(retained)
            if memory == .exact { exactBytes = bytes }
            let finalLoss = losses.suffix(batches.count).reduce(0, +) / Float(batches.count)
            let timing = Timing(Array(seconds.dropFirst(batches.count)))
            table.add(["\(memory)", format(Double(finalLoss), digits: 4), format(accuracy * 100, digits: 1), "\(bytes)",
                       format(Double(exactBytes) / Double(max(bytes, 1)), digits: 1) + "x",
                       format(timing.min * 1e3, digits: 2), format(timing.median * 1e3, digits: 2)]
                      + (options.noPeers ? [] : [TrainPeers.ratio(torch, ours: timing)]))
            var record = Record(benchmark: "train-digits", device: device.identifier, label: "\(memory)", shape: [64, 512, 512, 10],
                                metric: "steps/s", unit: "steps", ours: timing, work: 1e9)
            record.extra = ["final_loss": Double(finalLoss), "test_accuracy": accuracy, "activation_bytes": Double(bytes),
                            "total_retained_bytes": Double(retained.values.reduce(0, +))]
            record.series = losses.map(Double.init)
            if !options.noPeers { record.peers["torch"] = TrainPeers.attached(torch, to: memory) }
            report.records.append(record)
        }
        Progress.done()
        if !options.noPeers {
            table.add(TrainPeers.row(torch, cells: {
                [format($0["final_loss", default: .nan], digits: 4), format(100 * $0["test_accuracy", default: .nan])]
            }))
        }
        print("train: digits MLP 64-512-512-10 GELU, Adam 1e-3, batch 128, \(epochs) epochs, on \(device)")
        print(table.render())
        Peers.printReasons(report.records[firstRecord...])
        print("activation bytes: what the two GELU layers keep for backward in one step (pre-activations or packed codes)")
    }

    static func teacherStudent(_ options: Options, device: Device, peers: [String: [String: PeerFigure]],
                               report: inout Report) throws {
        let (widths, batch, steps) = teacherStudentShape(options)
        let teacherW = try Tensor.randn([widths[0], widths[3]], std: 1 / Float(widths[0]).squareRoot(), seed: 99, on: device)
        var table = Table("memory", "loss first", "loss last", "activation bytes", "vs exact", "step ms min", "median")
        if !options.noPeers { table.headers.append("vs torch") }
        let torch = Peers.figure(peers, peer: "torch", label: "teacher-student exact")
        let firstRecord = report.records.count
        var exactBytes = 0
        for memory in [ActivationMemory.exact, .fewBit(bits: 3)] {
            Progress.say("train teacher-student \(memory) on \(device.identifier)")
            var rng = SeededRandom(seed: 7)   // the same inputs for every memory mode
            let model = Sequential([
                try Linear(widths[0], widths[1], activation: .gelu, memory: memory, seed: 11, on: device),
                try Linear(widths[1], widths[2], activation: .gelu, memory: memory, seed: 12, on: device),
                try Linear(widths[2], widths[3], seed: 13, on: device),
            ])
            let optimizer = SGD(parameters: model.parameters, learningRate: 0.05, momentum: 0.9)
            var losses: [Float] = [], seconds: [Double] = []
            var bytes = 0
            for step in 0..<steps {
                let x = try Tensor(rng.normalFloats(batch * widths[0]), shape: [batch, widths[0]], on: device)
                let target = try withNoGrad { () throws(TensorError) in try gelu(matmul(x, teacherW)) }
                let start = DispatchTime.now().uptimeNanoseconds
                optimizer.zeroGrad()
                let loss = try mseLoss(model(x), target)
                if step == 0 { bytes = activationBytes(loss.retainedBytesByOp()) }
                try loss.backward()
                try optimizer.step()
                try device.synchronize()
                seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
                losses.append(try loss.item())
            }
            if memory == .exact { exactBytes = bytes }
            let timing = Timing(Array(seconds.dropFirst()))
            table.add(["\(memory)", format(Double(losses.first!), digits: 4), format(Double(losses.last!), digits: 4), "\(bytes)",
                       format(Double(exactBytes) / Double(max(bytes, 1)), digits: 1) + "x",
                       format(timing.min * 1e3, digits: 1), format(timing.median * 1e3, digits: 1)]
                      + (options.noPeers ? [] : [TrainPeers.ratio(torch, ours: timing)]))
            var record = Record(benchmark: "train-teacher-student", device: device.identifier, label: "\(memory)", shape: widths,
                                metric: "steps/s", unit: "steps", ours: timing, work: 1e9)
            record.extra = ["first_loss": Double(losses.first!), "final_loss": Double(losses.last!), "activation_bytes": Double(bytes)]
            record.series = losses.map(Double.init)
            if !options.noPeers { record.peers["torch"] = TrainPeers.attached(torch, to: memory) }
            report.records.append(record)
        }
        Progress.done()
        if !options.noPeers {
            table.add(TrainPeers.row(torch, digits: 1, cells: {
                [format($0["first_loss", default: .nan], digits: 4), format($0["final_loss", default: .nan], digits: 4)]
            }))
        }
        print("train: teacher-student \(widths.map(String.init).joined(separator: "-")) GELU, batch \(batch), \(steps) SGD steps, on \(device)")
        print(table.render())
        Peers.printReasons(report.records[firstRecord...])
    }
}
