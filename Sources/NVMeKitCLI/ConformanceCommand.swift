import ArgumentParser
import Foundation
import NVMeConformance
import NVMeDriver
import NVMeSpec

/// `nvmekit conformance`: the spec conformance suite, each test on a freshly opened controller (docs/conformance.md).
struct ConformanceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conformance",
        abstract: "Run the spec conformance suite (NVMe Base 2.0c, NVM Command Set 1.0c) against a controller.",
        discussion: """
            Each test opens and initialises the controller afresh, runs one check and reports PASS, FAIL (expected and \
            observed values) or N/A (the capability field that rules it out). Exits 1 when any test fails.
            """)

    @OptionGroup var target: TargetOptions
    @Option(help: "Run only tests whose id, title or area matches this regular expression.") var filter: String?
    @Option(help: "Write JUnit XML (one testcase per test, last commands in system-out) to this file.") var junit: String?
    @Option(help: "Write the results as JSON to this file.") var json: String?
    @Flag(help: "List the tests (id, spec citation, title) without running them.") var list = false
    @Option(help: "Seconds one test may take before it fails as hung (1-600).") var deadline: Int = 60
    @Option(help: "Seconds one command may take before it completes locally as timed out (1-60).") var commandTimeout: Int = 10

    func validate() throws {
        try target.validate()
        if let filter {
            guard (try? NSRegularExpression(pattern: filter)) != nil else {
                throw Check.invalid("--filter", filter, mustBe: "a regular expression such as 'queues\\.0' or 'identify|logs'")
            }
        }
        if let junit { try Check.writablePath("--junit", junit) }
        if let json { try Check.writablePath("--json", json) }
        try Check.range("--deadline", deadline, 1...600, "seconds")
        try Check.range("--command-timeout", commandTimeout, 1...60, "seconds")
        if commandTimeout >= deadline {
            throw OptionError("--command-timeout must be below --deadline (\(deadline) s) so a hung command fails its test; got \(commandTimeout)")
        }
    }

    func run() throws {
        let tests = try ConformanceSuite.select(filter)
        if tests.isEmpty {
            printError("--filter '\(filter ?? "")' matches none of the \(ConformanceSuite.all.count) tests: see nvmekit conformance --list")
            throw ExitCode(1)
        }
        if list {
            print(ConformanceReport.list(tests))
            return
        }
        let targetOptions = target
        var options = ControllerOptions()
        options.defaultTimeout = .seconds(commandTimeout)
        let controllerOptions = options
        let runner = ConformanceRunner(deadline: .seconds(deadline)) { setup in
            try targetOptions.openController(options: controllerOptions, sequence: setup == .standard ? .standard : .adminOnly)
        }
        let results = runner.run(tests) { r in
            FileHandle.standardOutput.write(Data((ConformanceReport.line(r) + "\n").utf8))   // unbuffered: a hang shows where
        }
        print(ConformanceReport.summary(results))
        let name = target.resolvedTarget
        if let junit { try ConformanceReport.junit(results, target: name).write(toFile: junit, atomically: true, encoding: .utf8) }
        if let json { try ConformanceReport.json(results, target: name).write(toFile: json, atomically: true, encoding: .utf8) }
        if ConformanceReport.counts(results).failed > 0 { throw ExitCode(1) }
    }
}
