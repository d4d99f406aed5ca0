/// Token ids of several texts, padded to the longest: what a BERT model takes as a batch.
///
/// Row i holds text i's ids, then `[PAD]` up to ``length``; its mask row holds 1 for each
/// real token and 0 for each pad.
///
/// ```swift
/// let batch = tokenizer.encodeBatch(["Hi.", "A longer one."])
/// let ids = try batch.ids(on: device)                              // int32 [2, 6]
/// let mask = try batch.attentionMask(on: device, dtype: .float32)  // 1 / 0, [2, 6]
/// ```
public struct TokenBatch: Sendable, Equatable {
    /// Row-major [count, length] ids, padded with the `[PAD]` id.
    public let ids: [Int32]
    /// Row-major [count, length]: 1 for a real token, 0 for padding.
    public let attentionMask: [Int32]
    /// The number of real ids (with `[CLS]` and `[SEP]`) of each text.
    public let lengths: [Int]
    /// The number of texts.
    public var count: Int { lengths.count }
    /// The padded length: the longest text's.
    public let length: Int

    /// A batch from already encoded sequences, padded with `paddingID`.
    ///
    /// ```swift
    /// let batch = TokenBatch(sequences: [[101, 7592, 102], [101, 102]], paddingID: 0)
    /// batch.ids   // [101, 7592, 102, 101, 102, 0]
    /// ```
    public init(sequences: [[Int32]], paddingID: Int32) {
        length = sequences.map(\.count).max() ?? 0
        lengths = sequences.map(\.count)
        var ids = [Int32](repeating: paddingID, count: sequences.count * length)
        var mask = [Int32](repeating: 0, count: sequences.count * length)
        for (row, sequence) in sequences.enumerated() {
            for (column, id) in sequence.enumerated() {
                ids[row * length + column] = id
                mask[row * length + column] = 1
            }
        }
        self.ids = ids
        attentionMask = mask
    }

    /// The ids as an int32 tensor [count, length] on `device`.
    ///
    /// ```swift
    /// let ids = try batch.ids(on: .cpu)   // feed to embedding(ids, weight: table)
    /// ```
    public func ids(on device: Device = .default) throws(TensorError) -> Tensor {
        try Tensor(rawBytes: Self.bytes(ids), shape: [count, length], dtype: .int32, on: device)
    }

    /// The attention mask as a [count, length] tensor of 1 and 0 in `dtype` (int32, or a float
    /// type for masked pooling and additive attention masks).
    ///
    /// ```swift
    /// let mask = try batch.attentionMask(on: .cpu, dtype: .float32)
    /// ```
    public func attentionMask(on device: Device = .default, dtype: DType = .int32) throws(TensorError) -> Tensor {
        let mask = try Tensor(rawBytes: Self.bytes(attentionMask), shape: [count, length], dtype: .int32, on: device)
        return dtype == .int32 ? mask : try mask.cast(to: dtype)
    }

    /// The lengths as an int32 tensor [count].
    ///
    /// ```swift
    /// let lengths = try batch.lengths(on: .cpu)
    /// ```
    public func lengths(on device: Device = .default) throws(TensorError) -> Tensor {
        try Tensor(rawBytes: Self.bytes(lengths.map { Int32($0) }), shape: [count], dtype: .int32, on: device)
    }

    private static func bytes(_ values: [Int32]) -> [UInt8] {
        values.withUnsafeBytes { Array($0) }
    }
}
