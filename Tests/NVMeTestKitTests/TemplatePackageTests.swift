import Foundation
import Testing

/// Builds the user package that docs/testkit.md shows — in a directory outside this repository, depending on it by
/// path — and runs its test against the simulator with `swift test`, so the template in the doc stays correct.
///
/// It compiles NVMeKit's libraries a second time (a few minutes on two cores), so it runs only when asked:
/// `NVMEKIT_TEMPLATE_TEST=1 swift test --skip-build --filter TemplatePackageTests` (tools/test does). The scratch
/// directory persists under $TMPDIR, so later runs are incremental.
@Suite("The docs/testkit.md template package builds and passes on the simulator")
struct TemplatePackageTests {
    static let enabled = ProcessInfo.processInfo.environment["NVMEKIT_TEMPLATE_TEST"] == "1"

    /// The repository root (this file is Tests/NVMeTestKitTests/TemplatePackageTests.swift).
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The fenced code block after each `<!-- template: PATH -->` marker.
    static func templates(in markdown: String) -> [(path: String, text: String)] {
        var out: [(String, String)] = []
        let lines = markdown.components(separatedBy: "\n")
        var i = 0
        while i < lines.count {
            let line = lines[i]
            if line.hasPrefix("<!-- template: "), line.hasSuffix(" -->") {
                let path = String(line.dropFirst("<!-- template: ".count).dropLast(" -->".count))
                var j = i + 1
                while j < lines.count, !lines[j].hasPrefix("```") { j += 1 }
                var body: [String] = []
                j += 1
                while j < lines.count, lines[j] != "```" { body.append(lines[j]); j += 1 }
                out.append((path, body.joined(separator: "\n") + "\n"))
                i = j
            }
            i += 1
        }
        return out
    }

    static let docPath = repoRoot.appendingPathComponent("docs/testkit.md").path
    static let docPresent = FileManager.default.fileExists(atPath: docPath)

    @Test("the doc holds a Package.swift and one test file",
          .enabled(if: docPresent, "docs/testkit.md is not at \(docPath) (a test binary copied without its sources, e.g. into the tools/vm guest)"))
    func docHasTemplates() throws {
        let doc = try String(contentsOf: Self.repoRoot.appendingPathComponent("docs/testkit.md"), encoding: .utf8)
        let t = Self.templates(in: doc)
        #expect(t.map(\.path) == ["Package.swift", "Tests/MyControllerTests/MyControllerTests.swift"])
        #expect(t.first?.text.contains(".package(path: \"../NVMeKit\")") == true)
        #expect(t.first?.text.contains("package: \"NVMeKit\"") == true)
    }

    @Test("swift test in the template package passes its test on the simulator",
          .enabled(if: enabled, "builds NVMeKit a second time (minutes): set NVMEKIT_TEMPLATE_TEST=1 to run it"),
          .timeLimit(.minutes(20)))
    func templateBuildsAndPasses() throws {
        let fm = FileManager.default
        let doc = try String(contentsOf: Self.repoRoot.appendingPathComponent("docs/testkit.md"), encoding: .utf8)
        let root = Self.repoRoot.standardizedFileURL.path
        let identity = Self.repoRoot.standardizedFileURL.lastPathComponent
        let tmp = URL(fileURLWithPath: NSTemporaryDirectory())
        let key = String(UInt64(bitPattern: Int64(root.hashValue)), radix: 16)
        let package = tmp.appendingPathComponent("nvmekit-template-\(key)")
        let scratch = tmp.appendingPathComponent("nvmekit-template-\(key)-build")
        try? fm.removeItem(at: package)
        for (path, text) in Self.templates(in: doc) {
            let body = text.replacingOccurrences(of: ".package(path: \"../NVMeKit\")", with: ".package(path: \"\(root)\")")
                .replacingOccurrences(of: "package: \"NVMeKit\"", with: "package: \"\(identity)\"")
            let url = package.appendingPathComponent(path)
            try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try body.write(to: url, atomically: true, encoding: .utf8)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["swift", "test", "--package-path", package.path, "--scratch-path", scratch.path]
        var env = ProcessInfo.processInfo.environment
        for k in ["NVMEKIT_TARGET", "NVMEKIT_BACKEND", "NVMEKIT_GUEST", "NVMEKIT_DEVICES", "NVMEKIT_TEMPLATE_TEST"] {
            env[k] = nil
        }
        process.environment = env
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let output = String(decoding: data, as: UTF8.self)
        let tail = output.split(separator: "\n").suffix(40).joined(separator: "\n")
        #expect(process.terminationStatus == 0, "swift test in \(package.path) failed:\n\(tail)")
        #expect(output.contains("readPastTheEndIsLBAOutOfRange() passed"), "\(tail)")
    }
}
