import Foundation
import Testing
import TensorEngine

/// Malformed .npy data throws TensorError and reads nothing out of bounds (also run under
/// AddressSanitizer: scripts/sanitizer-tests).
@Suite struct NPYTests {
    static func file(descr: String = "<f4", fortran: String = "False", shape: String = "(2, 3)",
                     payloadBytes: Int = 24, version: UInt8 = 1) -> Data {
        var text = "{'descr': '\(descr)', 'fortran_order': \(fortran), 'shape': \(shape), }"
        let prefix = version == 1 ? 10 : 12
        text += String(repeating: " ", count: (64 - (prefix + text.utf8.count + 1) % 64) % 64) + "\n"
        var data = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, version, 0])
        let n = text.utf8.count
        if version == 1 {
            data.append(contentsOf: [UInt8(n & 0xFF), UInt8(n >> 8)])
        } else {
            data.append(contentsOf: [UInt8(n & 0xFF), UInt8((n >> 8) & 0xFF), 0, 0])
        }
        data.append(contentsOf: Array(text.utf8))
        data.append(Data(count: payloadBytes))
        return data
    }

    static func mustThrow(_ data: Data, _ what: String) {
        do {
            let t = try Tensor(npy: data, on: .cpu)
            Issue.record("\(what): parsed as \(t)")
        } catch {
            // Every failure is a TensorError (typed throws); nothing else to check.
        }
    }

    @Test func validFileParses() throws {
        let t = try Tensor(npy: Self.file(), on: .cpu)
        #expect(t.shape == [2, 3])
        let v3 = try Tensor(npy: Self.file(version: 3), on: .cpu)
        #expect(v3.shape == [2, 3])
    }

    @Test func malformedFilesThrow() throws {
        let valid = Self.file()
        // Every truncation.
        for length in 0..<valid.count { Self.mustThrow(valid.prefix(length), "truncated to \(length)") }
        // Also as a slice that does not start at index 0.
        let padded = Data([1, 2, 3]) + valid
        let slice = padded[3...]
        #expect(try Tensor(npy: slice, on: .cpu).shape == [2, 3])
        Self.mustThrow(slice.dropLast(), "sliced and truncated")

        var wrongMagic = valid
        wrongMagic[1] = 0x4F
        Self.mustThrow(wrongMagic, "wrong magic")
        Self.mustThrow(Self.file(descr: ">f4"), "big-endian")
        Self.mustThrow(Self.file(descr: "<f8", payloadBytes: 48), "float64")
        Self.mustThrow(Self.file(descr: "|i1", payloadBytes: 6), "int8")
        #expect(try Tensor(npy: Self.file(descr: "|u1", payloadBytes: 6), on: .cpu).dtype == .uint8)
        Self.mustThrow(Self.file(descr: "|u1", payloadBytes: 7), "uint8 with a byte too many")
        Self.mustThrow(Self.file(descr: "<f2", payloadBytes: 11), "float16 with a byte too few")
        Self.mustThrow(Self.file(fortran: "True"), "Fortran order")
        Self.mustThrow(Self.file(fortran: "Maybe"), "bad bool")
        Self.mustThrow(Self.file(shape: "(1000, 1000)"), "header claims more data")
        Self.mustThrow(Self.file(payloadBytes: 28), "more data than the header says")
        Self.mustThrow(Self.file(shape: "(4611686018427387904, 4)", payloadBytes: 0), "overflowing shape")
        Self.mustThrow(Self.file(shape: "(99999999999999999999999,)", payloadBytes: 0), "unparseable extent")
        Self.mustThrow(Self.file(shape: "(-1, 6)"), "negative extent")
        Self.mustThrow(Self.file(shape: "[2, 3]"), "shape not a tuple")
        Self.mustThrow(Self.file(shape: "(2, 3"), "unterminated tuple")
        Self.mustThrow(Self.file(descr: "<f4\u{00e9}"), "non-ASCII descr")
        var unknownVersion = valid
        unknownVersion[6] = 9
        Self.mustThrow(unknownVersion, "version 9")

        // Header lengths past the end: 16-bit maximum, and a v2 length of 4 GiB - 1.
        var longHeader = valid
        longHeader[8] = 0xFF
        longHeader[9] = 0xFF
        Self.mustThrow(longHeader, "v1 header length 65535")
        var hugeHeader = Self.file(version: 2)
        hugeHeader.replaceSubrange(8..<12, with: [0xFF, 0xFF, 0xFF, 0xFF])
        Self.mustThrow(hugeHeader, "v2 header length 2^32 - 1")

        // Non-text headers: Latin-1 bytes are text in v1; invalid UTF-8 in v3.
        var latin = valid
        latin[12] = 0xE9
        Self.mustThrow(latin, "non-ASCII byte in the header")
        var badUTF8 = Self.file(version: 3)
        badUTF8[14] = 0xFF
        Self.mustThrow(badUTF8, "invalid UTF-8 in a v3 header")
        Self.mustThrow(Data(repeating: 0, count: 5), "tiny")
        #expect(throws: TensorError.self) { _ = try Tensor(npyFile: "/nonexistent/x.npy", on: .cpu) }
    }

    /// Random byte mutations of valid files: each parses consistently or throws.
    @Test func mutatedFiles() throws {
        var random = FuzzRandom(seed: 77)
        let bases = [Self.file(), Self.file(version: 2), Self.file(descr: "<i4", shape: "(6,)"),
                     Self.file(shape: "()", payloadBytes: 4), Self.file(shape: "(0, 5)", payloadBytes: 0)]
        var parsed = 0
        for _ in 0..<3000 {
            var data = random.pick(bases)
            for _ in 0..<random.int(in: 1...4) {
                switch random.int(3) {
                case 0: if !data.isEmpty { data[random.int(data.count)] = UInt8(random.int(256)) }
                case 1: data = data.prefix(random.int(data.count + 1))
                default: data.append(contentsOf: (0..<random.int(in: 1...8)).map { _ in UInt8(random.int(256)) })
                }
            }
            if let t = try? Tensor(npy: data, on: .cpu) {
                parsed += 1
                #expect(t.elementCount * 4 <= data.count)
                _ = try t.toArray()
            }
        }
        print("npy mutations: 3000 tried, \(parsed) parsed")
    }
}
