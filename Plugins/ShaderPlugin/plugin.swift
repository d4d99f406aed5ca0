import Foundation
import PackagePlugin

/// Compiles every `Shaders/*.comp` of the package into a Swift file embedding its SPIR-V.
///
/// One build command per shader. Plugin commands have no depfiles, so each command
/// lists every `Shaders/common/*.glsl` and `*.h` header as an input: editing a header rebuilds
/// every shader, which is cheap.
@main
struct ShaderPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let fileManager = FileManager.default
        let shaders = context.package.directoryURL.appending(path: "Shaders")
        let common = shaders.appending(path: "common")
        let comps = try fileManager.contentsOfDirectory(at: shaders, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "comp" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        let headers = ((try? fileManager.contentsOfDirectory(at: common, includingPropertiesForKeys: nil)) ?? [])
            .filter { $0.pathExtension == "glsl" || $0.pathExtension == "h" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        let tool = try context.tool(named: "spirv-embed")

        // spirv-embed looks for glslangValidator on PATH itself (SwiftPM's tool lookup
        // does not see system tools on Linux); pass the relevant environment through.
        var environment: [String: String] = [:]
        let inherited = ProcessInfo.processInfo.environment
        for key in ["PATH", "GLSLANG_VALIDATOR"] {
            if let value = inherited[key] { environment[key] = value }
        }

        return comps.map { comp in
            let name = comp.deletingPathExtension().lastPathComponent
            let output = context.pluginWorkDirectoryURL.appending(path: "SPIRV_\(name).swift")
            return .buildCommand(
                displayName: "Compiling shader \(comp.lastPathComponent)",
                executable: tool.url,
                arguments: [comp.path, output.path, "-I", common.path],
                environment: environment,
                inputFiles: [comp] + headers,
                outputFiles: [output]
            )
        }
    }
}
