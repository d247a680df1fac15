import ArgumentParser
import Foundation
@testable import NVMeKitCLI
import Testing

@Suite struct ConformanceCommandTests {
    func message(_ args: [String]) -> String? {
        do { _ = try ConformanceCommand.parse(args); return nil } catch { return ConformanceCommand.message(for: error) }
    }

    @Test("conformance options out of range or malformed are refused in one line naming the fix")
    func optionChecks() {
        #expect(message(["--deadline", "0"])?.hasPrefix("--deadline must be 1…600") == true)
        #expect(message(["--command-timeout", "61"])?.hasPrefix("--command-timeout must be 1…60") == true)
        #expect(message(["--deadline", "5"])?.hasPrefix("--command-timeout must be below --deadline") == true)
        #expect(message(["--filter", "("])?.hasPrefix("--filter must be a regular expression") == true)
        #expect(message(["--junit", "/nonexistent-dir/c.xml"])?.contains("does not exist") == true)
        #expect(message(["--deadline", "5", "--command-timeout", "4"]) == nil)
    }

    @Test("a simulator run writes JUnit with one testcase per selected test and JSON with the counts")
    func reports() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("conf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let junit = dir.appendingPathComponent("c.xml").path, json = dir.appendingPathComponent("c.json").path
        let cmd = try ConformanceCommand.parse(["--target", "sim", "--filter", "^queues\\.00", "--junit", junit, "--json", json])
        try cmd.run()
        let xml = try String(contentsOfFile: junit, encoding: .utf8)
        #expect(xml.components(separatedBy: "<testcase ").count - 1 == 9)
        let d = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any]
        #expect(d?["failed"] as? Int == 0)
        #expect((d?["tests"] as? [Any])?.count == 9)
    }
}
