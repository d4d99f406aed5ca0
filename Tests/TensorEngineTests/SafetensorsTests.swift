import Foundation
import TestSupport
import Testing
import TensorEngine

/// safetensors: round trips of every dtype on every device, a file assembled byte by byte in
/// the test, every kind of malformed file (each throws a message naming the fault), and a fuzz
/// loop of flipped and truncated bytes that must throw or load, never crash.
@Suite(.vulkanValidation) struct SafetensorsTests {
    /// A safetensors file from a header written out by hand and the data bytes.
    static func file(header: String, data: [UInt8]) -> Data {
        let json = Array(header.utf8)
        var bytes: [UInt8] = (0..<8).map { UInt8(truncatingIfNeeded: UInt64(json.count) >> (8 * UInt64($0))) }
        bytes += json
        bytes += data
        return Data(bytes)
    }

    static func littleEndian<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        values.flatMap { value in (0..<(T.bitWidth / 8)).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
    }

    /// IEEE half-precision bits to a double, written out from the definition.
    static func half(_ bits: UInt16) -> Double {
        let sign: Double = bits & 0x8000 != 0 ? -1 : 1
        let exponent = Int(bits >> 10 & 0x1F), mantissa = Double(bits & 0x3FF)
        if exponent == 0 { return sign * mantissa * pow(2, -24) }
        if exponent == 31 { return mantissa == 0 ? sign * .infinity : .nan }
        return sign * (1 + mantissa / 1024) * pow(2, Double(exponent - 15))
    }

    static func temporaryPath(_ name: String) -> String {
        NSTemporaryDirectory() + "te-safetensors-\(getpid())-\(name).safetensors"
    }

    @Test(arguments: TestDevices.all)
    func everyDTypeRoundTrips(device: Device) throws {
        let f32: [Float] = [1.5, -0.0, .infinity, -3.25e-30, 7, .greatestFiniteMagnitude]
        let tensors: [String: Tensor] = [
            "f32": try Tensor(f32, shape: [2, 3], on: device),
            "f16": try Tensor(rawBytes: Self.littleEndian([UInt16](arrayLiteral: 0x3C00, 0xC000, 0x7BFF, 0x0001)),
                              shape: [4], dtype: .float16, on: device),
            "bf16": try Tensor(rawBytes: Self.littleEndian([UInt16](arrayLiteral: 0x3F80, 0xC040, 0x4049)),
                               shape: [3, 1], dtype: .bfloat16, on: device),
            "i32": try Tensor(rawBytes: Self.littleEndian([Int32](arrayLiteral: -2_147_483_648, 0, 7, 2_147_483_647, -1)),
                              shape: [5], dtype: .int32, on: device),
            "u8": try Tensor(rawBytes: [0, 1, 254, 255, 9], shape: [1, 5], dtype: .uint8, on: device),
            "scalar": try Tensor(scalar: 42, on: device),
            "weird \"name\"\n\\ é": try Tensor([3], shape: [1], on: device),
        ]
        let path = Self.temporaryPath("roundtrip-\(device.identifier)")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try saveSafetensors(tensors, path: path, metadata: ["format": "pt", "quote\"": "line\nbreak"])
        let fromFile = try loadSafetensors(path: path, on: device)
        let fromData = try loadSafetensors(data: try safetensorsData(tensors, metadata: ["format": "pt"]), on: device)
        for loaded in [fromFile, fromData] {
            #expect(Set(loaded.keys) == Set(tensors.keys))
            for (name, original) in tensors {
                let back = try #require(loaded[name])
                #expect(back.shape == original.shape && back.dtype == original.dtype, "\(name)")
                #expect(try back.rawBytes() == original.rawBytes(), "\(name) on \(device.identifier)")
                #expect(back.device == device)
            }
        }
        let header = try readSafetensorsHeader(path: path)
        #expect(header.metadata == ["format": "pt", "quote\"": "line\nbreak"])
        #expect(header.dataStart % 8 == 0)
        // Largest elements first, so each tensor's data is aligned to its element size.
        for entry in header.entries { #expect(entry.byteRange.lowerBound % (entry.dtype.byteSize) == 0, "\(entry.name)") }
        #expect(header.entries.map(\.name) == ["f32", "i32", "scalar", "weird \"name\"\n\\ é", "bf16", "f16", "u8"])
    }

    /// The writer's bytes for a one-tensor file, spelled out.
    @Test func writerBytesAreTheFormat() throws {
        let data = try safetensorsData(["a": Tensor([1, -2], shape: [2], on: .cpu)])
        let json = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#  // 54 bytes, padded to 56
        let expected = Self.file(header: json + "  ", data: Self.littleEndian([Float(1).bitPattern, Float(-2).bitPattern]))
        #expect(data == expected)
        #expect(Array(data.prefix(8)) == [56, 0, 0, 0, 0, 0, 0, 0])
    }

    /// A file assembled here, with every dtype the reader takes (including the converted F64,
    /// I64 and BOOL), entries out of data order and metadata first, loads to the right values.
    @Test(arguments: TestDevices.all)
    func handAssembledFileLoads(device: Device) throws {
        var data: [UInt8] = []
        data += Self.littleEndian([Float(0.1).bitPattern, Float(-8).bitPattern])                  // F32  0..<8
        data += Self.littleEndian([Double(2.5).bitPattern, Double(-1e300).bitPattern, Double(1e-3).bitPattern]) // F64 8..<32
        data += Self.littleEndian([Int64](arrayLiteral: 0, -5, 2_147_483_647))                   // I64  32..<56
        data += Self.littleEndian([Int32](arrayLiteral: 12, -12))                                 // I32  56..<64
        data += Self.littleEndian([UInt16](arrayLiteral: 0x3C00, 0xC000, 0x3555))                 // F16  64..<70
        data += Self.littleEndian([UInt16](arrayLiteral: 0x3F80, 0xC040))                         // BF16 70..<74
        data += [1, 0, 1]                                                                          // BOOL 74..<77
        data += [200]                                                                              // U8   77..<78
        data += []                                                                                 // empty 78..<78
        let header = """
        {"__metadata__": {"format": "pt"},
         "u8": {"dtype": "U8", "shape": [], "data_offsets": [77, 78]},
         "half": {"shape": [1, 3], "dtype": "F16", "data_offsets": [64, 70]},
         "f32": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
         "doubles": {"dtype": "F64", "shape": [3], "data_offsets": [8, 32]},
         "positions": {"dtype": "I64", "shape": [3, 1], "data_offsets": [32, 56]},
         "ints": {"dtype": "I32", "shape": [2], "data_offsets": [56, 64]},
         "brain": {"dtype": "BF16", "shape": [2], "data_offsets": [70, 74]},
         "flags": {"dtype": "BOOL", "shape": [3], "data_offsets": [74, 77]},
         "none": {"dtype": "F32", "shape": [0, 4], "data_offsets": [78, 78]}}
        """
        let loaded = try loadSafetensors(data: Self.file(header: header, data: data), on: device)
        #expect(loaded.count == 9)
        func check(_ name: String, _ dtype: DType, _ shape: [Int], _ values: [Double]) throws {
            let tensor = try #require(loaded[name])
            #expect(tensor.dtype == dtype && tensor.shape == shape, "\(name): \(tensor.dtype) \(tensor.shape)")
            #expect(try tensor.toArray().map(Double.init) == values, "\(name) on \(device.identifier)")
        }
        try check("f32", .float32, [2], [Double(Float(0.1)), -8])
        try check("doubles", .float32, [3], [2.5, -Double(Float.infinity), Double(Float(1e-3))])
        #expect(loaded["positions"]?.dtype == .int32 && loaded["positions"]?.shape == [3, 1])
        #expect(try loaded["positions"]?.toInt32Array() == [0, -5, 2_147_483_647])
        try check("ints", .int32, [2], [12, -12])
        try check("half", .float16, [1, 3], [Self.half(0x3C00), Self.half(0xC000), Self.half(0x3555)])
        try check("brain", .bfloat16, [2], [1, -3])
        try check("flags", .uint8, [3], [1, 0, 1])
        try check("u8", .uint8, [], [200])
        try check("none", .float32, [0, 4], [])
    }

    /// Each malformed file, and the words its error must contain.
    static let malformed: [(String, Data, String)] = {
        let f32 = littleEndian([Float(1).bitPattern, Float(2).bitPattern])
        let ok = #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}"#
        func entry(_ body: String) -> String { #"{"a": {"# + body + "}}" }
        var cases: [(String, Data, String)] = [
            ("empty file", Data(), "too short"),
            ("truncated length", Data([8, 0, 0]), "too short"),
            ("header length past the end", { var d = [UInt8](file(header: ok, data: f32)); d[0] = 200; return Data(d) }(), "runs past the end"),
            ("absurd header length", Data([255, 255, 255, 255, 255, 255, 255, 127] + [UInt8](repeating: 0x20, count: 16)), "limit"),
            ("header length of 2^64 - 1", Data([UInt8](repeating: 255, count: 8) + [0x7B, 0x7D]), "limit"),
            ("not JSON", file(header: "{not json}", data: []), "not valid JSON"),
            ("not an object", file(header: "[1, 2]", data: []), "does not start with '{'"),
            ("trailing garbage", file(header: ok + "x", data: f32), "not valid JSON"),
            ("truncated data", file(header: ok, data: Array(f32.prefix(5))), "past its end"),
            ("trailing data", file(header: ok, data: f32 + [0]), "cover 8 bytes"),
            ("entry not an object", file(header: #"{"a": 3}"#, data: []), "not an object"),
            ("missing dtype", file(header: entry(#""shape": [2], "data_offsets": [0, 8]"#), data: f32), "no \"dtype\""),
            ("missing shape", file(header: entry(#""dtype": "F32", "data_offsets": [0, 8]"#), data: f32), "no \"shape\""),
            ("missing offsets", file(header: entry(#""dtype": "F32", "shape": [2]"#), data: f32), "no \"data_offsets\""),
            ("unknown dtype", file(header: entry(#""dtype": "F33", "shape": [2], "data_offsets": [0, 8]"#), data: f32), "unknown dtype \"F33\""),
            ("unsupported dtype", file(header: entry(#""dtype": "I16", "shape": [4], "data_offsets": [0, 8]"#), data: f32), "does not read"),
            ("dtype not a string", file(header: entry(#""dtype": 4, "shape": [2], "data_offsets": [0, 8]"#), data: f32), "not a string"),
            ("negative extent", file(header: entry(#""dtype": "F32", "shape": [-2], "data_offsets": [0, 8]"#), data: f32), "non-negative integers"),
            ("fractional extent", file(header: entry(#""dtype": "F32", "shape": [2.0], "data_offsets": [0, 8]"#), data: f32), "non-negative integers"),
            ("shape overflow", file(header: entry(#""dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 8]"#), data: f32), "too many elements"),
            ("extent beyond Int", file(header: entry(#""dtype": "F32", "shape": [99999999999999999999], "data_offsets": [0, 8]"#), data: f32), "non-negative integers"),
            ("size disagrees with shape", file(header: entry(#""dtype": "F32", "shape": [3], "data_offsets": [0, 8]"#), data: f32), "needs 12"),
            ("begin after end", file(header: entry(#""dtype": "F32", "shape": [0], "data_offsets": [8, 0]"#), data: f32), "after end"),
            ("one offset", file(header: entry(#""dtype": "F32", "shape": [2], "data_offsets": [8]"#), data: f32), "two non-negative integers"),
            ("negative offset", file(header: entry(#""dtype": "F32", "shape": [2], "data_offsets": [-8, 0]"#), data: f32), "two non-negative integers"),
            ("offsets past the end", file(header: entry(#""dtype": "F32", "shape": [2], "data_offsets": [8, 16]"#), data: f32), "belong to no tensor"),
            ("offsets far past the end", file(header: #"{"a": {"dtype": "U8", "shape": [1], "data_offsets": [9223372036854775806, 9223372036854775807]}}"#, data: f32), "belong to no tensor"),
            ("overlapping offsets", file(header: #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#, data: f32), "overlaps"),
            ("duplicate name", file(header: #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#, data: f32), "duplicate key"),
            ("metadata not strings", file(header: #"{"__metadata__": {"n": 1}}"#, data: []), "not a string"),
            ("I64 out of int32 range", file(header: #"{"p": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}}"#, data: littleEndian([Int64(1) << 40])), "outside the int32 range"),
            ("control character in a name", file(header: "{\"\u{1}\": 1}", data: []), "not valid JSON"),
            ("deep nesting", file(header: "{\"a\":" + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "}", data: []), "nesting"),
        ]
        var badUTF8 = [UInt8](file(header: #"{"a": {"dtype": "U8", "shape": [0], "data_offsets": [0, 0]}}"#, data: []))
        badUTF8[10] = 0xFF  // inside the name "a"
        cases.append(("invalid UTF-8 in a name", Data(badUTF8), "invalid UTF-8"))
        return cases
    }()

    @Test func malformedFilesThrowSayingWhy() throws {
        for (what, data, words) in Self.malformed {
            do {
                _ = try loadSafetensors(data: data, on: .cpu)
                Issue.record("\(what): loaded without an error")
            } catch {
                guard case let .io(_, reason) = error else { Issue.record("\(what): \(error)"); continue }
                #expect(reason.contains(words), "\(what): \(reason)")
            }
        }
    }

    @Test func missingFileAndSaverErrorsThrow() throws {
        #expect(throws: TensorError.self) { try loadSafetensors(path: "/nonexistent/x.safetensors", on: .cpu) }
        #expect(throws: TensorError.self) { try loadSafetensors(path: "/", on: .cpu) }
        let x = try Tensor([1], shape: [1], on: .cpu)
        #expect(throws: TensorError.self) { try saveSafetensors(["__metadata__": x], path: Self.temporaryPath("bad")) }
        #expect(throws: TensorError.self) { try saveSafetensors(["x": x], path: "/nonexistent/dir/x.safetensors") }
    }

    /// Random byte flips, splices and truncations of a valid file: each must throw a TensorError
    /// or load tensors whose byte sizes fit their shapes; none may crash or read out of bounds.
    @Test func fuzzedFilesThrowOrLoad() throws {
        let valid = [UInt8](try safetensorsData([
            "w": Tensor((0..<6).map(Float.init), shape: [2, 3], on: .cpu),
            "h": Tensor([1, 2], shape: [2], on: .cpu).cast(to: .float16),
            "i": Tensor(rawBytes: Self.littleEndian([Int32](arrayLiteral: 4, 5)), shape: [2], dtype: .int32, on: .cpu),
        ], metadata: ["format": "pt"]))
        var state: UInt64 = 0x5EED
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        var loadedCount = 0
        for iteration in 0..<200 {
            var bytes = valid
            switch iteration % 4 {
            case 0: bytes = Array(bytes.prefix(next(bytes.count)))
            case 1: for _ in 0...next(4) { bytes[next(bytes.count)] ^= UInt8(1 << next(8)) }
            case 2:  // a digit or structural character of the header replaced
                let alphabet = Array("0123456789[]{},:\" -.eE".utf8)
                for _ in 0...next(3) { bytes[8 + next(max(1, Int(bytes[0])))] = alphabet[next(alphabet.count)] }
            default: for _ in 0...next(3) { bytes[next(8)] = UInt8(next(256)) }
            }
            do {
                let tensors = try loadSafetensors(data: Data(bytes), on: .cpu)
                loadedCount += 1
                for tensor in tensors.values { _ = try tensor.rawBytes() }
            } catch {
                // Any TensorError is fine; a crash is not.
            }
        }
        #expect(loadedCount < 200)
    }
}

/// Files written by others: the `safetensors` package's own writer (a committed file made by
/// Benchmarks/peers/safetensors_reference.py) and the real all-MiniLM-L6-v2 checkpoint.
@Suite(.vulkanValidation) struct SafetensorsReferenceFileTests {
    @Test(arguments: TestDevices.all)
    func referenceWriterFileLoads(device: Device) throws {
        let path = ModelFiles.resource("reference.safetensors")
        let tensors = try loadSafetensors(path: path, on: device)
        #expect(tensors.count == 10)
        let value = { (k: Int) in (Double(k) - 11.5) / 4 }
        func check(_ name: String, _ dtype: DType, _ shape: [Int], _ expected: [Double]) throws {
            let t = try #require(tensors[name], "\(name)")
            #expect(t.dtype == dtype && t.shape == shape, "\(name): \(t.dtype) \(t.shape)")
            #expect(try t.toArray().map(Double.init) == expected, "\(name) on \(device.identifier)")
        }
        try check("float32", .float32, [2, 3, 4], (0..<24).map(value))
        try check("float16", .float16, [10], (0..<10).map(value))
        try check("bfloat16", .bfloat16, [3, 2], (0..<6).map(value))
        try check("float64", .float32, [5], (0..<5).map(value))
        try check("uint8", .uint8, [3, 3], (0..<9).map { Double($0 * 31 % 256) })
        try check("bool", .uint8, [4], [1, 0, 0, 1])
        try check("scalar", .float32, [], [2.5])
        try check("empty", .float32, [0, 3], [])
        #expect(try tensors["int32"]?.toInt32Array() == (0..<7).map { Int32($0 * 1_000_003 - 3_000_000) })
        #expect(tensors["int64"]?.dtype == .int32 && tensors["int64"]?.shape == [1, 512])
        #expect(try tensors["int64"]?.toInt32Array() == (0..<512).map(Int32.init))
        #expect(try readSafetensorsHeader(path: path).metadata == ["format": "pt", "made_by": "safetensors_reference.py"])
    }

    /// The real checkpoint (from `scripts/install-deps --models`): 103 float32 weights plus BERT's
    /// int64 position_ids, loaded on the CPU.
    @Test func allMiniLMCheckpointLoads() throws {
        let path = try ModelFiles.require("model.safetensors")
        let header = try readSafetensorsHeader(path: path)
        #expect(header.entries.count == 104 && header.metadata == ["format": "pt"])
        let weights = try loadSafetensors(path: path, on: .cpu)
        #expect(weights["embeddings.word_embeddings.weight"]?.shape == [30522, 384])
        #expect(weights["encoder.layer.5.output.dense.weight"]?.shape == [384, 1536])
        #expect(try weights["embeddings.position_ids"]?.toInt32Array() == (0..<512).map(Int32.init))
        let parameters = weights.filter { $0.value.dtype == .float32 }.values.reduce(0) { $0 + $1.elementCount }
        #expect(parameters == 22_713_216)
    }
}
