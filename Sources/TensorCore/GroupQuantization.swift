/// The layout of Mesa-style 8-bit storage of a float32 matrix [rows, columns]: each row is cut
/// into groups of `groupSize` consecutive columns (the last group of a row may be shorter),
/// and each group keeps one float32 scale and one int8 code per element.
///
/// The definition every backend implements (``BackendOp/groupQuantize(_:input:codes:scales:)``):
/// - `scale = max|x| * scaleFactor` over the group, with ``scaleFactor`` the float32 nearest
///   1/127 (a multiplication, correctly rounded on every backend, where a division need not be);
/// - `code = roundEven(x / scale)` clamped to [-127, 127], and 0 where the scale is 0 (an
///   all-zero group);
/// - the dequantised value is `Float(code) * scale`, within `scale / 2` of x (up to the
///   division's rounding, which can move a code by one only where `x / scale` is within a
///   few float32 ulps of a half-integer).
///
/// Codes are stored as bytes, element i at byte i (four to a little-endian 32-bit word),
/// in ``codeWordCount`` words; scales as ``scaleCount`` float32, group (r, j) at `r *
/// groupsPerRow + j`. Inputs are expected finite: a group holding a NaN or an infinity
/// dequantises to non-finite or undefined values (never a trap).
///
/// ```swift
/// let layout = GroupQuantization(rows: 4, columns: 100, groupSize: 64)
/// print(layout.groupsPerRow, layout.scaleCount, layout.codeWordCount)   // 2 8 100
/// ```
public struct GroupQuantization: Sendable, Hashable {
    public let rows: Int
    public let columns: Int
    public let groupSize: Int

    /// The float32 nearest 1/127: `scale = max|x| * scaleFactor`.
    public static let scaleFactor: Float = 1 / 127
    /// The largest code magnitude.
    public static let maxCode = 127

    public init(rows: Int, columns: Int, groupSize: Int) {
        self.rows = rows
        self.columns = columns
        self.groupSize = groupSize
    }

    /// Groups in each row: `ceil(columns / groupSize)`.
    public var groupsPerRow: Int { groupSize > 0 ? (columns + groupSize - 1) / groupSize : 0 }
    /// Elements quantised: rows x columns.
    public var count: Int { rows * columns }
    /// float32 scales kept: one per group.
    public var scaleCount: Int { rows * groupsPerRow }
    /// 32-bit words holding the int8 codes (four per word, the last one padded with zeros).
    public var codeWordCount: Int { (count + 3) / 4 }
    /// Bytes retained for backward: the code words and the scales.
    public var byteCount: Int { codeWordCount * 4 + scaleCount * 4 }

    /// Throws unless the extents are non-negative, the group size positive and the element
    /// count representable.
    public func validate(op: String) throws(TensorError) {
        guard rows >= 0, columns >= 0 else {
            throw .invalidArgument(op: op, reason: "negative extent in [\(rows), \(columns)]")
        }
        guard groupSize >= 1 else {
            throw .invalidArgument(op: op, reason: "group size must be at least 1, got \(groupSize)")
        }
        let (_, overflow) = rows.multipliedReportingOverflow(by: columns)
        guard !overflow else { throw .invalidArgument(op: op, reason: "[\(rows), \(columns)] overflows") }
    }
}
