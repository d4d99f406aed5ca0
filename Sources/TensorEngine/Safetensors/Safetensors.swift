import Foundation
import TensorCore

/// Loads every tensor of a safetensors file (Hugging Face's checkpoint format) onto `device`.
///
/// Reads F32, F16, BF16, I32 and U8 as they are, and converts F64 to float32, I64 to int32
/// (a value outside Int32's range is an error) and BOOL to uint8. The file is memory-mapped,
/// so each tensor goes from the page cache to its device buffer without another copy.
/// A malformed file (truncated, a header length or offsets past the end, a header that is
/// not a JSON object, a tensor entry missing a field, an unknown dtype, a byte range that
/// disagrees with shape x dtype, ranges that overlap or leave gaps) throws
/// ``TensorError/io(path:reason:)`` saying what is wrong; nothing is read out of bounds.
/// (A file truncated by another process while it is being read can still fault, as with
/// any mapped file.)
///
/// ```swift
/// let weights = try loadSafetensors(path: "model.safetensors", on: .cpu)
/// let table = weights["embeddings.word_embeddings.weight"]!   // [30522, 384] float32
/// ```
public func loadSafetensors(path: String, on device: Device = .default) throws(TensorError) -> [String: Tensor] {
    let file = try MappedFile(path: path)
    return try SafetensorsReader.tensors(in: file.bytes, path: path, on: device)
}

/// Loads every tensor of safetensors bytes held in memory; see ``loadSafetensors(path:on:)``.
///
/// ```swift
/// let data = try safetensorsData(["w": Tensor([1, 2], shape: [2], on: .cpu)])
/// let back = try loadSafetensors(data: data, on: .cpu)   // ["w": [1, 2]]
/// ```
public func loadSafetensors(data: Data, on device: Device = .default) throws(TensorError) -> [String: Tensor] {
    let result: Result<[String: Tensor], TensorError> = data.withUnsafeBytes { bytes in
        do throws(TensorError) {
            return .success(try SafetensorsReader.tensors(in: bytes, path: "<safetensors data>", on: device))
        } catch {
            return .failure(error)
        }
    }
    return try result.get()
}

/// Reads only the header of a safetensors file: names, types, shapes, byte ranges and
/// `__metadata__`, validated as ``loadSafetensors(path:on:)`` validates them.
///
/// ```swift
/// let header = try readSafetensorsHeader(path: "model.safetensors")
/// print(header.metadata["format"] ?? "-", header.entries.count)
/// ```
public func readSafetensorsHeader(path: String) throws(TensorError) -> SafetensorsHeader {
    let file = try MappedFile(path: path)
    return try SafetensorsHeader(parsing: file.bytes, path: path)
}

/// Writes `tensors` as a safetensors file (atomically: a temporary file renamed into place).
///
/// Each tensor keeps its dtype (F32, F16, BF16, I32 or U8); views are written row-major.
/// Tensors are laid out largest element first, then by name, so every tensor's data is
/// aligned to its element size; the header is padded with spaces to a multiple of 8 bytes, as
/// the reference writer does. `metadata` becomes the `__metadata__` object. A tensor named
/// `__metadata__` is rejected.
///
/// ```swift
/// try saveSafetensors(["w": w, "b": b], path: "small.safetensors", metadata: ["format": "pt"])
/// ```
public func saveSafetensors(_ tensors: [String: Tensor], path: String,
                            metadata: [String: String] = [:]) throws(TensorError) {
    let layout = try SafetensorsWriter.layout(tensors, metadata: metadata)
    let output = try OutputFile(replacing: path)
    try output.write(layout.header)
    for name in layout.order {
        try output.write(try tensors[name]!.rawBytes())
    }
    try output.commit()
}

/// The bytes of a safetensors file holding `tensors`; see ``saveSafetensors(_:path:metadata:)``.
///
/// ```swift
/// let data = try safetensorsData(["w": w], metadata: ["note": "tiny"])
/// ```
public func safetensorsData(_ tensors: [String: Tensor], metadata: [String: String] = [:]) throws(TensorError) -> Data {
    let layout = try SafetensorsWriter.layout(tensors, metadata: metadata)
    var data = Data(layout.header)
    for name in layout.order { data.append(contentsOf: try tensors[name]!.rawBytes()) }
    return data
}

enum SafetensorsReader {
    static func tensors(in file: UnsafeRawBufferPointer, path: String,
                        on device: Device) throws(TensorError) -> [String: Tensor] {
        let header = try SafetensorsHeader(parsing: file, path: path)
        var tensors: [String: Tensor] = [:]
        for entry in header.entries {
            let bytes = UnsafeRawBufferPointer(rebasing: file[(header.dataStart + entry.byteRange.lowerBound)
                                                              ..< (header.dataStart + entry.byteRange.upperBound)])
            tensors[entry.name] = try tensor(entry, bytes: bytes, path: path, on: device)
        }
        return tensors
    }

    /// The tensor of `entry` from its bytes (already checked to be shape x stored size long).
    static func tensor(_ entry: SafetensorsHeader.Entry, bytes: UnsafeRawBufferPointer, path: String,
                       on device: Device) throws(TensorError) -> Tensor {
        let count = ShapeMath.elementCount(entry.shape)
        let buffer = try device.backend.makeBuffer(count: count, dtype: entry.dtype)
        let tensor = Tensor(storage: buffer, shape: entry.shape, dtype: entry.dtype, device: device)
        guard count > 0 else { return tensor }
        switch entry.storedType {
        case "F64":
            let values = (0..<count).map { Float(bytes.loadUnaligned(fromByteOffset: 8 * $0, as: Double.self)) }
            try OpSupport.upload(values, to: buffer, on: device)
        case "I64":
            var values = [Int32](repeating: 0, count: count)
            for i in 0..<count {
                let value = Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))
                guard let narrow = Int32(exactly: value) else {
                    throw .io(path: path, reason: "tensor \"\(entry.name)\" (I64) holds \(value) at element \(i), "
                              + "outside the int32 range it loads as")
                }
                values[i] = narrow
            }
            try OpSupport.upload(values, to: buffer, on: device)
        default:  // stored exactly as the engine holds it (little-endian)
            try device.backend.write(bytes, to: buffer)
        }
        return tensor
    }
}

enum SafetensorsWriter {
    struct Layout {
        var header: [UInt8]
        var order: [String]
    }

    static func storedType(_ dtype: DType) -> String {
        switch dtype {
        case .float32: return "F32"
        case .float16: return "F16"
        case .bfloat16: return "BF16"
        case .int32: return "I32"
        case .uint8: return "U8"
        }
    }

    static func layout(_ tensors: [String: Tensor], metadata: [String: String]) throws(TensorError) -> Layout {
        guard tensors["__metadata__"] == nil else {
            throw .invalidArgument(op: "saveSafetensors", reason: "a tensor cannot be named \"__metadata__\"")
        }
        let order = tensors.keys.sorted { a, b in
            let (x, y) = (tensors[a]!.dtype.byteSize, tensors[b]!.dtype.byteSize)
            return x != y ? x > y : Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8))
        }
        var json = "{"
        var members: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { "\(quoted($0)):\(quoted(metadata[$0]!))" }
            members.append("\"__metadata__\":{" + pairs.joined(separator: ",") + "}")
        }
        var offset = 0
        for name in order {
            let tensor = tensors[name]!
            let bytes = try tensor.dtype.byteCount(tensor.elementCount)
            members.append("\(quoted(name)):{\"dtype\":\"\(storedType(tensor.dtype))\",\"shape\":[\(tensor.shape.map(String.init).joined(separator: ","))],"
                           + "\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        json += members.joined(separator: ",") + "}"
        var header = Array(json.utf8)
        header += [UInt8](repeating: 0x20, count: (8 - header.count % 8) % 8)
        var bytes: [UInt8] = (0..<8).map { UInt8(truncatingIfNeeded: UInt64(header.count) >> (8 * UInt64($0))) }
        bytes += header
        return Layout(header: bytes, order: order)
    }

    /// `text` as a JSON string literal.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
