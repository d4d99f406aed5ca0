import Foundation
import TensorEngine

/// tensorbench: how fast, against what, on which device.
let commands: [(name: String, help: String)] = [
    ("tour", TourCommand.help),
    ("devices", DevicesCommand.help),
    ("matmul", MatmulBench.help),
    ("activations", ActivationsBench.help),
    ("conformance", ConformanceCommand.help),
    ("linear", LinearBench.help),
    ("fewbit", FewBitBench.help),
    ("train", TrainBench.help),
    ("sparse", SparseBench.help),
    ("delta", DeltaBench.help),
    ("layernorm", NormBench.help),
    ("tokenizer", TokenizerCommand.help),
    ("attention", AttentionBench.help),
    ("transformer", TransformerBench.help),
    ("embed", EmbedBench.help),
    ("embedding", EmbeddingBench.help),
    ("finetune", FinetuneBench.help),
]

func printUsage() {
    print("""
        usage: tensorbench [SUBCOMMAND] [options]

        With no subcommand: a short tour of the headline numbers on the default device.
        Subcommands: \(commands.map(\.name).joined(separator: ", "))

        \(Options.usage)
        """)
}

func runMain() -> Int32 {
    OpenBLASEnvironment.captureUser()   // before the CPU device sets OPENBLAS_CORETYPE
    var arguments = Array(CommandLine.arguments.dropFirst())
    let subcommand = arguments.first.flatMap { $0.hasPrefix("-") ? nil : $0 } ?? "tour"
    if subcommand != "tour" { arguments.removeFirst() }
    do {
        let options = try Options(arguments)
        if options.help {
            if subcommand != "tour", let entry = commands.first(where: { $0.name == subcommand }) {
                print(entry.help)
                print(Options.usage)
            } else {
                printUsage()
            }
            return 0
        }
        // finetune runs on the CPU unless --device says otherwise, and its workers must not
        // bring up another device (its memory would count in their peak RSS).
        let device = subcommand == "finetune" && options.device == nil ? Device.cpu : try options.resolveDevice()
        var report = Report(command: CommandLine.arguments.dropFirst().map { $0 }, device: device)
        switch subcommand {
        case "devices": try DevicesCommand.run(options)
        case "matmul": try MatmulBench.run(options, report: &report)
        case "activations": try ActivationsBench.run(options, report: &report)
        case "linear": try LinearBench.run(options, report: &report)
        case "fewbit": try FewBitBench.run(options, report: &report)
        case "train": try TrainBench.run(options, report: &report)
        case "sparse": try SparseBench.run(options, report: &report)
        case "delta": try DeltaBench.run(options, report: &report)
        case "layernorm": try NormBench.run(options, report: &report)
        case "attention": try AttentionBench.run(options, report: &report)
        case "transformer": try TransformerBench.run(options, report: &report)
        case "embed": try EmbedBench.run(options, report: &report)
        case "embedding": try EmbeddingBench.run(options, report: &report)
        case "finetune": try FinetuneBench.run(options, report: &report)
        case "conformance":
            let passed = try ConformanceCommand.run(options, report: &report)
            try report.write(options: options)
            return passed ? 0 : 1
        case "tour": try TourCommand.run(options, report: &report)
        case "tokenizer":
            let matched = try TokenizerCommand.run(options, report: &report)
            try report.write(options: options)
            return matched ? 0 : 1
        default:
            FileHandle.standardError.write(Data("tensorbench: unknown subcommand '\(subcommand)'\n".utf8))
            printUsage()
            return 2
        }
        try report.write(options: options)
        return 0
    } catch {
        FileHandle.standardError.write(Data("tensorbench: \(error)\n".utf8))
        return 1
    }
}

exit(runMain())
