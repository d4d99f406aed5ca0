import Foundation
import TensorEngine

/// Command-line options shared by every subcommand.
struct Options {
    var device: String?
    var threads: Int?
    var repeats: Int?
    var rounds: Int?
    var quick = false
    var help = false
    var jsonPath: String?
    var csvPath: String?
    var sizes: [Int]?
    var shapes: [(Int, Int, Int)]?
    var noPeers = false
    var filter: String?
    var seed: UInt64?
    var modes: String?
    var steps: Int?
    var worker: String?
    var dtype: DType?
    var rest: [String] = []

    static let usage = """
        common options:
          --device cpu|vulkan|vulkan:N   device to run on (default: TENSOR_DEVICE or the best available)
          --threads N                    CPU backend threads (default: all cores)
          --repeat N                     timed repeats per figure (min and median are reported)
          --rounds N                     matmul, activations: ours and the peers take N turns each
                                         (the min over all, the median of the rounds' medians)
          --sizes A,B,C                  problem sizes instead of the defaults
          --shapes MxKxN,...             linear: the m x k x n products instead of the defaults
          --quick                        smaller sizes and fewer repeats
          --no-peers                     skip the numpy / PyTorch columns
          --json FILE, --csv FILE        also write every figure to FILE
          --filter TEXT, --seed N        conformance: only ops containing TEXT (fewbit certify=: activations); base seed
          --sparsity A,B                 embed: TEAL sparsities (as sparsity=A,B)
          --modes A,B                    finetune: memory modes (exact,fewbit3,regelu2,...; see finetune --help)
          --steps N                      finetune: training steps instead of the default
          --dtype float32|float16|bfloat16 matmul: operand element type (default float32)
          --help                         this text
        """

    init(_ arguments: [String]) throws {
        var iterator = arguments.makeIterator()
        func value(_ flag: String) throws -> String {
            guard let next = iterator.next() else { throw UsageError("\(flag) needs a value") }
            return next
        }
        while let argument = iterator.next() {
            switch argument {
            case "--device": device = try value(argument)
            case "--threads":
                guard let n = Int(try value(argument)), n > 0 else { throw UsageError("--threads needs a positive integer") }
                threads = n
            case "--repeat":
                guard let n = Int(try value(argument)), n > 0 else { throw UsageError("--repeat needs a positive integer") }
                repeats = n
            case "--rounds":
                guard let n = Int(try value(argument)), n > 0 else { throw UsageError("--rounds needs a positive integer") }
                rounds = n
            case "--sizes":
                let parts = try value(argument).split(separator: ",").map { Int($0) }
                guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? 0) > 0 }) else { throw UsageError("--sizes needs positive integers, e.g. 256,512") }
                sizes = parts.map { $0! }
            case "--shapes":
                let text = try value(argument)
                let parsed = text.split(separator: ",").map { $0.split(separator: "x").compactMap { Int($0) } }
                guard !parsed.isEmpty, parsed.allSatisfy({ $0.count == 3 && $0.allSatisfy { $0 > 0 } }) else {
                    throw UsageError("--shapes needs positive m x k x n triples, e.g. 64x1024x4096,1x4096x4096; got \(text)")
                }
                shapes = parsed.map { ($0[0], $0[1], $0[2]) }
            case "--filter": filter = try value(argument)
            case "--sparsity": rest.append("sparsity=" + (try value(argument)))   // embed: TEAL sparsities
            case "--seed":
                guard let n = UInt64(try value(argument)) else { throw UsageError("--seed needs a non-negative integer") }
                seed = n
            case "--modes": modes = try value(argument)
            case "--steps":
                guard let n = Int(try value(argument)), n > 0 else { throw UsageError("--steps needs a positive integer") }
                steps = n
            case "--dtype":
                let name = try value(argument)
                guard let parsed = DType(rawValue: name), [.float32, .float16, .bfloat16].contains(parsed) else {
                    throw UsageError("--dtype takes float32, float16 or bfloat16, got \(name)")
                }
                dtype = parsed
            case "--worker": worker = try value(argument)   // finetune: one mode in this process (internal)
            case "--quick": quick = true
            case "--no-peers": noPeers = true
            case "--json": jsonPath = try value(argument)
            case "--csv": csvPath = try value(argument)
            case "--help", "-h": help = true
            default:
                if argument.hasPrefix("--") { throw UsageError("unknown option \(argument)") }
                rest.append(argument)
            }
        }
    }

    /// The device the options name, with the thread count applied to the CPU backend.
    func resolveDevice() throws -> Device {
        let device = try device.map { try Device.select($0) } ?? Device.default
        if let threads { CPUThreads.set(threads) }
        return device
    }
}

struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
