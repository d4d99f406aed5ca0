import TensorEngine

/// `tensorbench` with no subcommand: the headline numbers on the default device, quick
/// sizes, in under two minutes on a 2-core machine.
enum TourCommand {
    static let help = """
        tensorbench [options]   (no subcommand)
          A tour of the headline numbers on the default device at --quick sizes: devices,
          matmul, activations (forward and backward), fused linear, few-bit tables and the
          few-bit linear step, a short digits training run (exact vs few-bit), sparse
          inference and delta inference, each beside numpy's and PyTorch's figures for the
          same work (--no-peers skips them). Each section is also its own subcommand at full size.
          Matmul and activations alternate with their peers twice (--rounds N to change).
        """

    /// The sections, each a subcommand run with --quick.
    static var sections: [(String, (Options, inout Report) throws -> Void)] {
        [
            ("matmul", MatmulBench.run),
            ("activations", ActivationsBench.run),
            ("linear", LinearBench.run),
            ("fewbit", FewBitBench.run),
            ("train", TrainBench.run),
            ("sparse", SparseBench.run),
            ("delta", DeltaBench.run),
        ]
    }

    static func run(_ options: Options, report: inout Report) throws {
        var quick = options
        quick.quick = true
        // Matmul and activations, the sections with peer ratios near 1, take two turns each
        // with their peers (a shared host's slow minute then falls on both sides).
        quick.rounds = options.rounds ?? 2
        try DevicesCommand.run(quick)
        for (name, section) in sections {
            print("\n== \(name) ==")
            try section(quick, &report)
        }
    }
}
