import TensorCore

/// What a safetensors file holds, read from its header alone: each tensor's name, stored
/// type, shape and byte range, and the file's free-form `__metadata__`.
///
/// The format: an 8-byte little-endian header length N, N bytes of JSON
/// (`{"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}, ...,
/// "__metadata__": {"key": "value"}}`), then the data, which the tensors' byte ranges
/// (relative to the data's start) must cover exactly: no gaps, no overlaps, nothing after.
///
/// ```swift
/// let header = try readSafetensorsHeader(path: "model.safetensors")
/// for entry in header.entries { print(entry.name, entry.storedType, entry.shape) }
/// ```
public struct SafetensorsHeader: Sendable, Equatable {
    /// One tensor of the file.
    public struct Entry: Sendable, Equatable {
        /// The tensor's name (its key in the header).
        public var name: String
        /// The type as the file spells it: `F32`, `F16`, `BF16`, `I32`, `U8`, `F64`, `I64` or `BOOL`.
        public var storedType: String
        /// The type it loads as: the same where the engine has it; `F64` loads as float32
        /// (rounded to nearest, beyond float32's range to infinity), `I64` as int32 (values
        /// outside Int32's range are an error) and `BOOL` as uint8.
        public var dtype: DType
        /// The shape; `[]` is a scalar.
        public var shape: [Int]
        /// The bytes of the tensor, relative to the start of the data section.
        public var byteRange: Range<Int>
    }

    /// The tensors, in the order of their data.
    public var entries: [Entry]
    /// The `__metadata__` object (string to string), empty when absent.
    public var metadata: [String: String]
    /// Where the data section starts in the file: 8 + the header length.
    public var dataStart: Int

    /// The safetensors largest header, as the reference implementation limits it (100 MB).
    static let maximumHeaderBytes = 100_000_000

    /// Bytes per element of every stored type the engine reads, and the type it becomes.
    static let storedTypes: [String: (bytes: Int, dtype: DType)] = [
        "F32": (4, .float32), "F16": (2, .float16), "BF16": (2, .bfloat16), "I32": (4, .int32),
        "U8": (1, .uint8), "F64": (8, .float32), "I64": (8, .int32), "BOOL": (1, .uint8),
    ]
    /// Types of the format the engine does not read.
    static let unsupportedTypes: Set<String> = [
        "I8", "I16", "U16", "U32", "U64", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "C64",
    ]

    /// Parses and validates the header at the front of `file` (the whole file's bytes).
    /// `path` names the file in error messages.
    init(parsing file: UnsafeRawBufferPointer, path: String) throws(TensorError) {
        func fail(_ reason: String) -> TensorError { .io(path: path, reason: "invalid safetensors file: \(reason)") }
        guard file.count >= 8 else {
            throw fail("\(file.count) bytes is too short for the 8-byte header length")
        }
        var length: UInt64 = 0
        for i in 0..<8 { length |= UInt64(file[i]) << (8 * UInt64(i)) }
        guard length <= UInt64(Self.maximumHeaderBytes) else {
            throw fail("header length \(length) is larger than the \(Self.maximumHeaderBytes)-byte limit")
        }
        guard length <= UInt64(file.count - 8) else {
            throw fail("header length \(length) runs past the end of the file (\(file.count) bytes)")
        }
        let headerLength = Int(length)
        guard headerLength >= 2, file[8] == UInt8(ascii: "{") else {
            throw fail("the header does not start with '{'")
        }
        let json: JSONValue
        do {
            json = try StrictJSON.parse(Array(file[8..<(8 + headerLength)]))
        } catch {
            throw fail("the header is not valid JSON: \(error.message)")
        }
        guard let members = json.object else { throw fail("the header is not a JSON object") }

        var entries: [Entry] = []
        var metadata: [String: String] = [:]
        for (name, value) in members {
            if name == "__metadata__" {
                guard let pairs = value.object else { throw fail("__metadata__ is \(value.kindName), not an object") }
                for (key, text) in pairs {
                    guard let text = text.string else {
                        throw fail("__metadata__ value of \"\(key)\" is \(text.kindName), not a string")
                    }
                    metadata[key] = text
                }
                continue
            }
            entries.append(try Self.entry(name: name, value, fail: fail))
        }

        // The data ranges must tile the data section: sorted, each starting where the last ended.
        entries.sort { ($0.byteRange.lowerBound, $0.byteRange.upperBound, $0.name) < ($1.byteRange.lowerBound, $1.byteRange.upperBound, $1.name) }
        let dataBytes = file.count - 8 - headerLength
        var end = 0
        var previous: String?
        for entry in entries {
            if entry.byteRange.lowerBound < end {
                throw fail("tensor \"\(entry.name)\" (bytes \(entry.byteRange.lowerBound)..<\(entry.byteRange.upperBound)) "
                           + "overlaps \"\(previous ?? "")\" (which ends at \(end))")
            }
            if entry.byteRange.lowerBound > end {
                throw fail("bytes \(end)..<\(entry.byteRange.lowerBound) of the data belong to no tensor "
                           + "(gap before \"\(entry.name)\")")
            }
            if entry.byteRange.upperBound > dataBytes {
                throw fail("tensor \"\(entry.name)\" ends at byte \(entry.byteRange.upperBound) of the data, "
                           + "past its end (\(dataBytes) bytes)")
            }
            end = entry.byteRange.upperBound
            previous = entry.name
        }
        guard end == dataBytes else {
            throw fail("the tensors cover \(end) bytes of data but the file has \(dataBytes) after the header")
        }
        self.entries = entries
        self.metadata = metadata
        self.dataStart = 8 + headerLength
    }

    private static func entry(name: String, _ value: JSONValue,
                              fail: (String) -> TensorError) throws(TensorError) -> Entry {
        // Fields other than these three are ignored, as the reference reader does.
        guard value.object != nil else { throw fail("tensor \"\(name)\" is \(value.kindName), not an object") }
        guard let typeValue = value["dtype"] else { throw fail("tensor \"\(name)\" has no \"dtype\"") }
        guard let storedType = typeValue.string else { throw fail("tensor \"\(name)\": dtype is \(typeValue.kindName), not a string") }
        guard let type = storedTypes[storedType] else {
            if unsupportedTypes.contains(storedType) {
                throw fail("tensor \"\(name)\" has dtype \(storedType), which the engine does not read "
                           + "(it reads F32, F16, BF16, I32, U8, and F64, I64, BOOL converted)")
            }
            throw fail("tensor \"\(name)\" has an unknown dtype \"\(storedType)\"")
        }
        guard let shapeValue = value["shape"] else { throw fail("tensor \"\(name)\" has no \"shape\"") }
        guard let extents = shapeValue.array else { throw fail("tensor \"\(name)\": shape is \(shapeValue.kindName), not an array") }
        var shape: [Int] = []
        var count = 1
        for extent in extents {
            guard let n = extent.integer, n >= 0 else {
                throw fail("tensor \"\(name)\": shape \(extentsText(extents)) holds something other than non-negative integers")
            }
            shape.append(n)
            let (product, overflow) = count.multipliedReportingOverflow(by: n)
            guard !overflow, product <= Int(Int32.max) * 4 else {
                throw fail("tensor \"\(name)\": shape \(extentsText(extents)) has too many elements")
            }
            count = product
        }
        guard let offsetsValue = value["data_offsets"] else { throw fail("tensor \"\(name)\" has no \"data_offsets\"") }
        guard let offsets = offsetsValue.array, offsets.count == 2,
              let begin = offsets[0].integer, let end = offsets[1].integer, begin >= 0, end >= 0 else {
            throw fail("tensor \"\(name)\": data_offsets must be two non-negative integers [begin, end]")
        }
        guard begin <= end else { throw fail("tensor \"\(name)\": data_offsets begin \(begin) is after end \(end)") }
        let expected = count * type.bytes  // count <= 2^33, so no overflow
        guard end - begin == expected else {
            throw fail("tensor \"\(name)\": data_offsets [\(begin), \(end)] hold \(end - begin) bytes, but shape \(shape) "
                       + "of \(storedType) needs \(expected)")
        }
        return Entry(name: name, storedType: storedType, dtype: type.dtype, shape: shape, byteRange: begin..<end)
    }

    private static func extentsText(_ extents: [JSONValue]) -> String {
        "[" + extents.map { if case let .number(text) = $0 { return text } else { return $0.kindName } }.joined(separator: ", ") + "]"
    }
}
