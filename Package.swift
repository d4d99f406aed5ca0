// swift-tools-version: 6.0
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "TensorEngine",
    products: [
        .library(name: "TensorEngine", targets: ["TensorEngine"]),
        .executable(name: "tensorbench", targets: ["tensorbench"]),
    ],
    targets: [
        // Type-only shims: both native libraries are loaded with dlopen at run time.
        .systemLibrary(name: "CVulkan", path: "Sources/CVulkan"),
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS"),

        // The op and activation codes shared by Swift, C and GLSL (Shaders/common/tensor_codes.h).
        .target(name: "TensorCodes"),
        .target(name: "TensorCore", dependencies: ["TensorCodes"], swiftSettings: strict),
        // AVX2 + FMA activation loops in C (per-function target attributes), chosen at run time.
        .target(name: "CPUKernels"),
        .target(name: "CPUBackend", dependencies: ["TensorCore", "COpenBLAS", "CPUKernels"], swiftSettings: strict),
        .target(
            name: "VulkanBackend",
            dependencies: ["TensorCore", "CVulkan"],
            swiftSettings: strict,
            plugins: ["ShaderPlugin"]
        ),
        // Build tool: GLSL compute shader -> SPIR-V -> Swift source embedding the words.
        .executableTarget(name: "spirv-embed", path: "Sources/spirv-embed", swiftSettings: strict),
        // Runs spirv-embed on every Shaders/*.comp for the VulkanBackend target.
        .plugin(name: "ShaderPlugin", capability: .buildTool(), dependencies: ["spirv-embed"]),
        .target(
            name: "TensorEngine",
            dependencies: ["TensorCore", "CPUBackend", "VulkanBackend"],
            swiftSettings: strict
        ),

        // FMA and copy micro-benchmarks for tensorbench's "fraction of peak" (C, per-function ISA targets).
        .target(name: "CPeak", path: "Benchmarks/CPeak"),
        .executableTarget(
            name: "tensorbench",
            dependencies: ["TensorEngine", "TensorConformance", "VulkanBackend", "CPeak"],
            path: "Benchmarks/tensorbench",
            swiftSettings: strict
        ),

        // The conformance table and runner: used by ConformanceTests and `tensorbench conformance`.
        .target(name: "TensorConformance", dependencies: ["TensorCore"], swiftSettings: strict),

        // What several test targets share: the validated device list and the validation trait.
        .target(name: "TestSupport", dependencies: ["TensorEngine", "VulkanBackend"], path: "Tests/TestSupport",
                swiftSettings: strict),
        .testTarget(name: "TensorEngineTests", dependencies: ["TensorEngine", "CPUBackend", "VulkanBackend", "TestSupport"],
                    exclude: ["Resources"], swiftSettings: strict),
        .testTarget(name: "ConformanceTests", dependencies: ["TensorEngine", "TensorConformance", "VulkanBackend", "TestSupport"],
                    swiftSettings: strict),
        .testTarget(name: "CPUBackendTests", dependencies: ["CPUBackend", "TensorCore"], swiftSettings: strict),
        .testTarget(
            name: "VulkanBackendTests",
            dependencies: ["VulkanBackend", "TensorCore"],
            swiftSettings: strict
        ),
        // Fuzzing, fault injection, concurrency and resource-hygiene tests (issue 9).
        .testTarget(
            name: "ReliabilityTests",
            dependencies: ["TensorEngine", "VulkanBackend", "CPUBackend", "TensorCore", "TestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "TensorCoreTests", dependencies: ["TensorCore"], exclude: ["Resources"], swiftSettings: strict
        ),
    ]
)
