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

        .target(name: "TensorCore", swiftSettings: strict),
        .target(name: "CPUBackend", dependencies: ["TensorCore", "COpenBLAS"], swiftSettings: strict),
        .target(
            name: "VulkanBackend",
            dependencies: ["TensorCore", "CVulkan"],
            swiftSettings: strict
        ),
        .target(
            name: "TensorEngine",
            dependencies: ["TensorCore", "CPUBackend", "VulkanBackend"],
            swiftSettings: strict
        ),

        .executableTarget(
            name: "tensorbench",
            dependencies: ["TensorEngine"],
            path: "Benchmarks/tensorbench",
            swiftSettings: strict
        ),

        .testTarget(name: "TensorEngineTests", dependencies: ["TensorEngine"], swiftSettings: strict),
        .testTarget(name: "ConformanceTests", dependencies: ["TensorEngine"], swiftSettings: strict),
        .testTarget(
            name: "TensorCoreTests", dependencies: ["TensorCore"], exclude: ["Resources"], swiftSettings: strict
        ),
    ]
)
