import CPUBackend
import Testing
import TensorEngine

/// The autograd graph keeps alive exactly what `retainedBytesByOp()` reports: after a forward,
/// a device's live buffers have grown by the reported bytes that are new (all but the layer's
/// weights, and the input where a mode keeps it as it is) plus the output, and by nothing else.
/// Before the fix this guards, a backward closure that named an operand (an addition's, a
/// linear layer's float32 input kept in 8 bits) kept it alive unreported: 8-bit modes then held
/// about as much memory as exact.
///
/// Each case runs on a CPU device of its own, so that other tests running at the same time do
/// not move its live-byte count; every tensor is a power of two of at least 512 bytes, so a
/// buffer's size class is its size.
@Suite struct GraphMemoryTests {
    /// The modes, and the placements where the layer's input is kept as it is (so it is
    /// reported but not new): post-LN, as the query/key/value projections' float32 input;
    /// pre-LN, as the first norm's input, which memory-sharing replaces by the norm's output.
    /// Likewise the output: post-LN with memory-sharing norms, the last norm keeps its output.
    static let modes: [(String, SavedActivations, inputKeptAsIs: Set<NormPlacement>, outputKeptAsIs: Set<NormPlacement>)] = [
        ("exact", .exact, [.post, .pre], []),
        ("memory-sharing", .memorySharing, [.post], [.post]),
        ("mesa", .mesa(groupSize: 64), [], []),
        ("memory-sharing mesa", .memorySharingMesa(groupSize: 64), [], []),
    ]

    @Test(arguments: [NormPlacement.post, .pre])
    func forwardGrowsByTheReportedBytes(placement: NormPlacement) throws {
        for (name, saved, inputKeptAsIs, outputKeptAsIs) in Self.modes {
            let device = Device(backend: CPUDevice(threads: 1), identifier: "cpu-graph-memory")
            let layer = try TransformerEncoderLayer(features: 64, heads: 4, feedForward: 128, normPlacement: placement, dropout: 0,
                                                    saved: saved, seed: 3, on: device)
            let x = try Tensor.randn([4, 32, 64], seed: 4, on: device).requiringGrad() * 1
            let before = try #require(device.memoryStatistics).liveBytes
            let y = try layer(x)
            let after = try #require(device.memoryStatistics).liveBytes
            let retained = y.retainedBytesByOp()
            let new = retained.filter { $0.key != "linear weight" }.values.reduce(0, +)
                - (inputKeptAsIs.contains(placement) ? x.elementCount * 4 : 0)
            let output = outputKeptAsIs.contains(placement) ? 0 : y.elementCount * 4
            #expect(after - before == new + output,
                    "\(name) \(placement): live bytes grew by \(after - before), the graph reports \(new) new + the output; \(retained)")
        }
    }

    /// Peak and reset: a transient raises the peak, not the live count; a reset brings the peak
    /// down to what is live.
    @Test func peakFollowsTransientsAndResets() throws {
        let device = Device(backend: CPUDevice(threads: 1), identifier: "cpu-graph-memory")
        let live = try #require(device.memoryStatistics).liveBytes
        do {
            let transient = try Tensor.zeros([1024], on: device)
            #expect(transient.elementCount == 1024)
        }
        let statistics = try #require(device.memoryStatistics)
        #expect(statistics.liveBytes == live)
        #expect(statistics.peakLiveBytes >= live + 4096)
        device.resetPeakMemoryStatistics()
        #expect(device.memoryStatistics?.peakLiveBytes == live)
    }
}
