// Entry point of a CMake-built Swift Testing executable (Linux).
//
// SwiftPM generates an equivalent runner for `swift test` (`<Package>PackageTests.derived/
// runner.swift`); this is its Swift Testing half. The test sources of the target are
// compiled into the same module with -parse-as-library, so the runtime discovers their
// @Test functions and @Suite types in this executable's image. Arguments such as
// `--filter REGEX`, `--skip REGEX`, `--parallel`/`--no-parallel` and `--xunit-output PATH`
// are parsed by Swift Testing itself.
import Testing

@main
struct TensorEngineSwiftTestingRunner {
    static func main() async {
        await Testing.__swiftPMEntryPoint() as Never
    }
}
