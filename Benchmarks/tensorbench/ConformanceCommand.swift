import Foundation
import TensorConformance
import TensorEngine
import VulkanBackend

/// `tensorbench conformance`: the conformance table on any device, as a table; exit 1 on any failure.
enum ConformanceCommand {
    static let help = """
        tensorbench conformance [--device D] [--filter TEXT] [--seed N]
          Runs the backend conformance table (every operation x shape class x value class
          against a float64 reference, with guard and poison checks) on the device and
          prints op, shape class, worst NMSE, bound and pass/fail. Exits 1 on any failure.
        """

    /// Returns false when any case failed.
    static func run(_ options: Options, report: inout Report) throws -> Bool {
        let device = try options.resolveDevice()
        let filter = options.filter
        let seed = options.seed ?? 20_261_124
        let start = Date()
        let results = ConformanceRunner.run(on: device.backend, device: device.identifier, seed: seed, filter: filter) { index, total, testCase in
            Progress.say("conformance \(index + 1)/\(total) \(testCase.op) \(testCase.shapeClass)")
        }
        Progress.done()
        // One row per (op, shape class): the worst NMSE over its value classes.
        var groups: [String: (op: String, shapeClass: String, worst: Double, bound: Double, failures: [ConformanceResult])] = [:]
        var order: [String] = []
        for result in results {
            let key = result.testCase.op + "|" + result.testCase.shapeClass
            if groups[key] == nil {
                order.append(key)
                groups[key] = (result.testCase.op, result.testCase.shapeClass, 0, result.testCase.bound, [])
            }
            let worst = result.nmse.isNaN ? Double.infinity : result.nmse
            groups[key]!.worst = max(groups[key]!.worst, worst)
            if !result.passed { groups[key]!.failures.append(result) }
        }
        var table = Table("op", "shape class", "worst nmse", "bound", "result")
        for key in order {
            let group = groups[key]!
            table.add([group.op, group.shapeClass, String(format: "%.2e", group.worst), String(format: "%.0e", group.bound),
                       group.failures.isEmpty ? "pass" : "FAIL"])
        }
        let failures = results.filter { !$0.passed }
        print("conformance on \(device)")
        print(table.render())
        for failure in failures { print(failure) }
        // With TENSOR_VULKAN_VALIDATION=1 the Khronos layer (with synchronization validation)
        // watched every dispatch; any message fails the run.
        var validation: [VulkanValidationMessage] = []
        if let vulkan = device.backend as? VulkanDevice {
            validation = vulkan.drainValidationMessages()
            let runtime = try? VulkanRuntime.sharedRuntime()
            print(runtime?.validationEnabled == true ? "validation layer on: \(validation.count) messages"
                  : "validation layer off (set TENSOR_VULKAN_VALIDATION=1 to check every dispatch)")
            for message in validation.prefix(20) { print("validation: \(message)") }
        }
        print("\(results.count - failures.count) passed, \(failures.count) failed")
        print(String(format: "(%d cases in %.1f s)", results.count, Date().timeIntervalSince(start)))
        report.notes["conformance"] = "\(results.count - failures.count) passed, \(failures.count) failed"
        return failures.isEmpty && validation.isEmpty
    }
}
