import Foundation
import TensorCore

/// Reading and writing NumPy `.npy` files (format versions 1-3; float32, float16, int32 and
/// uint8; little-endian; C order; bfloat16, which NumPy lacks, is written as float32). Anything else is rejected with ``TensorError/invalidNPY(reason:)``.
///
/// ```swift
/// let x = try Tensor(npy: Data(contentsOf: URL(fileURLWithPath: "digits_x.npy")), on: .cpu)
/// try x.npyData().write(to: URL(fileURLWithPath: "copy.npy"))
/// ```
extension Tensor {
    /// A tensor from the bytes of a `.npy` file.
    public convenience init(npy data: Data, on device: Device = .default) throws(TensorError) {
        let parsed = try NPYFormat.parse(data)
        let bytes = try parsed.dtype.byteCount(parsed.count)
        try self.init(rawBytes: [UInt8](data[(data.startIndex + parsed.dataOffset)...].prefix(bytes)),
                      shape: parsed.shape, dtype: parsed.dtype, on: device)
    }

    /// A tensor from a `.npy` file on disk.
    public convenience init(npyFile path: String, on device: Device = .default) throws(TensorError) {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .io(path: path, reason: error.localizedDescription)
        }
        try self.init(npy: data, on: device)
    }

    /// The tensor as `.npy` bytes (version 1.0, C order, `<f4`, `<f2`, `<i4` or `|u1`;
    /// bfloat16 as `<f4`, exactly).
    public func npyData() throws(TensorError) -> Data {
        if dtype == .bfloat16 { return try cast(to: .float32).npyData() }
        var data = NPYFormat.header(shape: shape, dtype: dtype)
        data.append(contentsOf: try rawBytes())
        return data
    }

    /// Writes the tensor to a `.npy` file.
    public func saveNPY(to path: String) throws(TensorError) {
        let data = try npyData()
        do {
            try data.write(to: URL(fileURLWithPath: path))
        } catch {
            throw .io(path: path, reason: error.localizedDescription)
        }
    }
}

enum NPYFormat {
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY

    struct Parsed {
        var dtype: DType
        var shape: [Int]
        var count: Int
        var dataOffset: Int
    }

    static func parse(_ data: Data) throws(TensorError) -> Parsed {
        let bytes = [UInt8](data.prefix(12))
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            throw .invalidNPY(reason: "missing the \\x93NUMPY magic")
        }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw .invalidNPY(reason: "truncated header length") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw .invalidNPY(reason: "unsupported format version \(major)")
        }
        guard headerLength <= data.count - headerStart else {
            throw .invalidNPY(reason: "header length \(headerLength) runs past the end of the data (\(data.count) bytes)")
        }
        let headerBytes = data.subdata(in: data.startIndex + headerStart ..< data.startIndex + headerStart + headerLength)
        guard let header = String(data: headerBytes, encoding: major == 3 ? .utf8 : .isoLatin1) else {
            throw .invalidNPY(reason: "header is not text")
        }
        let descr = try stringField("descr", in: header)
        let dtype: DType
        switch descr {
        case "<f4", "=f4": dtype = .float32
        case "<f2", "=f2": dtype = .float16
        case "<i4", "=i4": dtype = .int32
        case "|u1", "<u1", "=u1": dtype = .uint8
        default:
            throw .invalidNPY(reason: "dtype '\(descr)' is not supported (only little-endian float32 '<f4', "
                              + "float16 '<f2', int32 '<i4' and uint8 '|u1')")
        }
        guard try boolField("fortran_order", in: header) == false else {
            throw .invalidNPY(reason: "Fortran-order arrays are not supported; save with C order")
        }
        let shape = try shapeField(in: header)
        var count = 1
        for extent in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: extent)
            guard !overflow, product <= Int(Int32.max) * 4 else { throw .invalidNPY(reason: "shape \(shape) is too large") }
            count = product
        }
        let dataOffset = headerStart + headerLength
        let available = data.count - dataOffset
        guard available == count * dtype.byteSize else {
            throw .invalidNPY(reason: "shape \(shape) needs \(count * dtype.byteSize) data bytes, the file has \(available)")
        }
        return Parsed(dtype: dtype, shape: shape, count: count, dataOffset: dataOffset)
    }

    static func header(shape: [Int], dtype: DType) -> Data {
        let descr: String
        switch dtype {
        case .float32, .bfloat16: descr = "<f4"
        case .float16: descr = "<f2"
        case .int32: descr = "<i4"
        case .uint8: descr = "|u1"
        }
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var text = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        let unpadded = 10 + text.utf8.count + 1
        text += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data(magic)
        data.append(contentsOf: [1, 0, UInt8(text.utf8.count & 0xFF), UInt8(text.utf8.count >> 8)])
        data.append(contentsOf: Array(text.utf8))
        return data
    }

    private static func value(of key: String, in header: String) throws(TensorError) -> Substring {
        guard let keyRange = header.range(of: "'\(key)'") ?? header.range(of: "\"\(key)\""),
              let colon = header[keyRange.upperBound...].firstIndex(of: ":") else {
            throw .invalidNPY(reason: "header has no '\(key)' field")
        }
        return header[header.index(after: colon)...].drop(while: { $0 == " " })
    }

    private static func stringField(_ key: String, in header: String) throws(TensorError) -> String {
        let rest = try value(of: key, in: header)
        guard let quote = rest.first, quote == "'" || quote == "\"",
              let end = rest.dropFirst().firstIndex(of: quote) else {
            throw .invalidNPY(reason: "'\(key)' is not a string")
        }
        return String(rest[rest.index(after: rest.startIndex)..<end])
    }

    private static func boolField(_ key: String, in header: String) throws(TensorError) -> Bool {
        let rest = try value(of: key, in: header)
        if rest.hasPrefix("True") { return true }
        if rest.hasPrefix("False") { return false }
        throw .invalidNPY(reason: "'\(key)' is not True or False")
    }

    private static func shapeField(in header: String) throws(TensorError) -> [Int] {
        let rest = try value(of: "shape", in: header)
        guard rest.first == "(", let close = rest.firstIndex(of: ")") else {
            throw .invalidNPY(reason: "'shape' is not a tuple")
        }
        let inside = rest[rest.index(after: rest.startIndex)..<close]
        var shape: [Int] = []
        for part in inside.split(separator: ",") {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let extent = Int(trimmed), extent >= 0 else {
                throw .invalidNPY(reason: "shape entry '\(trimmed)' is not a non-negative integer")
            }
            shape.append(extent)
        }
        return shape
    }
}
