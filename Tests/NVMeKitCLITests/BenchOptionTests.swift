import ArgumentParser
import Testing
@testable import NVMeKitCLI

/// Option errors of the benchmark-facing commands name the fix before anything is opened.
@Suite("nvmekit io --cq-depth and queue-bench --only")
struct BenchOptionTests {
    func message(_ args: [String], _ type: any ParsableCommand.Type) -> String? {
        do { _ = try type.parseAsRoot(args); return nil } catch { return type.message(for: error) }
    }

    @Test("--cq-depth below --qd + 1 is refused with the allowed range")
    func cqDepthBelowQueueDepthIsRefused() throws {
        let m = try #require(message(["--target", "sim", "--qd", "32", "--cq-depth", "16"], IOCommand.self))
        #expect(m.contains("--cq-depth must be 33…65536"), "\(m)")
        #expect(message(["--target", "sim", "--qd", "32", "--cq-depth", "33"], IOCommand.self) == nil)
    }

    @Test("queue-bench --only with an unknown measurement lists the ones that exist")
    func unknownOnlyListsTheChoices() throws {
        var cmd = try QueueBenchCommand.parseAsRoot(["--only", "raw/inline/7", "--ios", "10"]) as! QueueBenchCommand
        #expect {
            try cmd.run()
        } throws: { error in
            let m = QueueBenchCommand.message(for: error)
            return m.contains("raw/inline/7 matches no measurement") && m.contains("raw/inline/32")
        }
        cmd.only = "raw/inline/32"
        try cmd.run()   // the measurement exists and runs (10 IOs after a 10,000-IO warm-up)
    }
}
