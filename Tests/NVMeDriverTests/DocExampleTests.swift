import Foundation
import NVMePlatform
import NVMeSimulator
import NVMeSpec
import Testing
@testable import NVMeDriver

/// The Swift examples of docs/*.md feature pages, run here. Each example sits between `// docs/NAME.md begin` and
/// `// docs/NAME.md end` in this file, and a test checks that the page's first Swift block is those lines, so the
/// page cannot drift from code that runs.
enum DocExample {
    static let thisFile = #filePath
    static var repo: String { URL(fileURLWithPath: thisFile).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path }

    static func trimmed(_ lines: [Substring]) -> [String] {
        lines.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// The first ```swift block of `docs/<page>`, trimmed lines.
    static func block(_ page: String) throws -> [String] {
        let text = try String(contentsOfFile: repo + "/docs/" + page, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(where: { $0.hasPrefix("```swift") }),
              let end = lines[(start + 1)...].firstIndex(where: { $0.hasPrefix("```") }) else { return [] }
        return trimmed(Array(lines[(start + 1)..<end]))
    }

    /// The lines between the markers in this file.
    static func marked(_ page: String) throws -> [String] {
        let lines = try String(contentsOfFile: thisFile, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(where: { $0.contains("// docs/\(page) begin") }),
              let end = lines.firstIndex(where: { $0.contains("// docs/\(page) end") }), start < end else { return [] }
        return trimmed(Array(lines[(start + 1)..<end]))
    }
}

@Suite("Examples of the docs feature pages run on the simulator")
struct DocExampleTests {
    @Test("docs feature pages: the first Swift block is the code this file runs",
          arguments: ["pci-power-management.md", "pci-config.md", "copy.md", "smart-critical-warning.md"])
    func pageShowsTheCodeThatRuns(page: String) throws {
        let block = try DocExample.block(page)
        #expect(!block.isEmpty, "no ```swift block in docs/\(page)")
        #expect(block == (try DocExample.marked(page)))
    }

    @Test("docs/pci-power-management.md example: D0 -> D3hot -> D0, both NoSoftReset settings", arguments: [true, false])
    func pciPowerManagementExample(noSoftReset: Bool) throws {
        var config = SimulatorConfiguration()
        config.pciNoSoftReset = noSoftReset
        let device: any NVMeDevice = try SimulatedController(configuration: config)
        // docs/pci-power-management.md begin
        let c = try Controller.open(device)             // vfio, uio or the simulator
        defer { c.close() }
        let report = try c.cyclePowerState()            // D0 -> D3hot -> D0 through PMCSR
        print(report.before.summary)                    // PMC 0x0003 (v3 = PM 1.2 ...) PMCSR 0x0008 (D0, NoSoftReset+ ...)
        if report.reinitialized {                       // NoSoftReset = 0: the controller came back reset
            print("restored \(report.restored.joined(separator: ", ")); \(report.commandsAborted) commands aborted")
        }
        let id = IdentifyController(bytes: try c.identify(cns: 1))   // the controller answers again either way
        print("model \(id?.mn ?? "?")")
        // docs/pci-power-management.md end
        #expect(report.reinitialized == !noSoftReset)
        #expect(report.after.state == .d0 && c.registers.csts.rdy)
    }

    @Test("docs/pci-config.md example: the capability report of the simulated function")
    func pciConfigExample() throws {
        let device: any NVMeDevice = try SimulatedController()
        defer { device.close() }
        // docs/pci-config.md begin
        if let config = device.config {                            // vfio, uio and the simulator have one
            let report = PCIConfigReport(config: try config.readAll())
            print(report.lines.joined(separator: "\n"))
            let link = try config.capabilities().pciExpress          // the same fields as numbers
            print("link \(PCIExpressCapability.speedName(link?.currentLinkSpeed ?? 0)) x\(link?.currentLinkWidth ?? 0)")
        }
        // docs/pci-config.md end
        let report = PCIConfigReport(config: try #require(device.config).readAll())
        #expect(report.sections.count == 3 && report.problems.isEmpty)
        #expect(report.lines.contains { $0.contains("Device/Port Type=PCI Express Endpoint") })
    }

    @Test("docs/copy.md example: two ranges copied on the simulator and read back")
    func copyExample() throws {
        let sim = try SimulatedController()
        let source = (0..<(32 * 512)).map { UInt8(truncatingIfNeeded: $0 * 7 + $0 / 512) }
        sim.writeBlocks(nsid: 1, lba: 0, data: source)
        let device: any NVMeDevice = sim
        // docs/copy.md begin
        let c = try Controller.open(device)
        defer { c.close() }
        let ns = IdentifyNamespace(bytes: try c.identify(cns: 0, nsid: 1))          // MSSRL, MCL, MSRC (0's based)
        print("MSSRL \(ns?.mssrl ?? 0) MCL \(ns?.mcl ?? 0) ranges \(ns?.maxSourceRangeCount ?? 0)")
        let ranges = [CopySourceRangeFormat0(slba: 0, nlb: 3), CopySourceRangeFormat0(slba: 20, nlb: 7)]   // 4 + 8 blocks
        if let (command, list) = SQE.copy(nsid: 1, sdlba: 1000, ranges: ranges) {     // NR = 1 (0's based)
            let buffer = try Buffer(count: 4096, from: c.allocator)
            buffer.region.copyBytes(from: list, to: buffer.offset)                  // 32-byte Format 0h entries
            var sqe = command
            let keep = try DataPointer.attach(buffer, to: &sqe, pageSize: c.pageSize, allocator: c.allocator)
            let done = c.ioQueues[0].execute(sqe, data: keep)
            print(done.status)                  // success, or 01h/83h Command Size Limit Exceeded past the limits
        }
        // docs/copy.md end
        let expected = Array(source[0..<(4 * 512)]) + Array(source[(20 * 512)..<(28 * 512)])
        #expect(sim.readBlocks(nsid: 1, lba: 1000, count: 12) == expected)
    }

    @Test("docs/smart-critical-warning.md example: the injected warning arrives as an event and in the log")
    func criticalWarningExample() throws {
        let sim = try SimulatedController()
        var seen: [AsyncEvent] = []
        var warning: UInt8 = 0
        // docs/smart-critical-warning.md begin
        let c = try Controller.open(sim)
        defer { c.close() }
        try c.enableSMARTCriticalWarningEvents()             // Feature 0Bh bits 7:0: every Critical Warning bit
        try sim.setCriticalWarning(0x04)                     // on QEMU: qom-set smart_critical_warning 4 over QMP
        for event in c.waitForAsyncEvents(until: .after(.seconds(10))) {
            print(event)                                     // smart / NVM subsystem reliability (log page 02h)
            seen.append(event)
        }
        let log = try c.smartHealthLog()                     // RAE = 0: SMART events are reported again
        print("critical warning 0x\(String(log.criticalWarning, radix: 16)), reliability degraded: \(log.reliabilityDegraded)")
        warning = log.criticalWarning
        // docs/smart-critical-warning.md end
        #expect(seen.map(\.dw0) == [0x0002_0001])
        #expect(warning == 0x04)
    }
}
