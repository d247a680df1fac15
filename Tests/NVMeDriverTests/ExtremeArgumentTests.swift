import NVMePlatform
import NVMeSimulator
import NVMeSpec
import Testing
@testable import NVMeDriver

/// Values a user's test may pass that trapped the process or were silently changed before.
@Suite("Driver API at extreme values")
struct DriverExtremeArgumentTests {
    @Test("CommandLog.render(limit:) with a negative limit renders no entries instead of trapping", arguments: [-1, Int.min])
    func renderNegativeLimit(_ limit: Int) {
        var log = CommandLog(capacity: 4)
        log.record(.init(qid: 1, sqe: SQE(opcode: 0), cqe: CQE(), origin: .device, submitTicks: 1, completeTicks: 2))
        let text = log.render(limit: limit)
        #expect(text.split(separator: "\n").count == 1)   // the header only
        #expect(log.render().split(separator: "\n").count == 2)
    }

    @Test("a command log capacity too large to preallocate keeps maximumCapacity entries instead of aborting",
          arguments: [Int.max, CommandLog.maximumCapacity + 1])
    func hugeCapacity(_ capacity: Int) {
        #expect(CommandLog(capacity: capacity).capacity == CommandLog.maximumCapacity)
        #expect(CommandLog(capacity: Int.min).capacity == 0)
    }

    @Test("ControllerOptions.commandLogCapacity = Int.max opens a controller")
    func controllerWithHugeLog() throws {
        let (_, c) = try simController(options: { $0.commandLogCapacity = .max; $0.ioQueueCount = 1 })
        defer { c.close() }
        #expect(c.adminQueue?.log.capacity == CommandLog.maximumCapacity)
    }

    @Test("getLogPage and getLogPageWithCompletion reject the same lengths with the same InvalidArgument",
          arguments: [-1, Int.min, Int.max, (1 << 30) + 1])
    func logPageLengths(_ length: Int) throws {
        let (_, c) = try simController()
        defer { c.close() }
        let expected = InvalidArgument(name: "length", value: length, valid: "\(Controller.logPageLengths)")
        #expect(throws: expected) { try c.getLogPage(lid: 2, length: length) }
        #expect(throws: expected) { try c.getLogPageWithCompletion(lid: 2, length: length) }
    }

    @Test("an LSP wider than its 7 bits throws instead of being cut to its low bits")
    func logPageLSP() throws {
        let (_, c) = try simController()
        defer { c.close() }
        let expected = InvalidArgument(name: "lsp", value: UInt8(0x80), valid: "0...127")
        #expect(throws: expected) { try c.getLogPage(lid: 2, length: 512, lsp: 0x80) }
        #expect(throws: expected) { try c.getLogPageWithCompletion(lid: 2, length: 512, lsp: 0x80) }
        #expect(DriverCommand.getLogPage(lid: 2, numd: 0, lsp: 0x7F).cdw10 >> 8 & 0x7F == 0x7F)
    }

    @Test("getFeatures(sel: 8) throws instead of sending SEL 0 (current) and succeeding", arguments: [UInt8(8), 0x10, 0xFF])
    func featureSelect(_ sel: UInt8) throws {
        let (_, c) = try simController()
        defer { c.close() }
        #expect(throws: InvalidArgument(name: "sel", value: sel, valid: "0...7")) {
            try c.getFeatures(fid: 0x07, sel: sel, policy: .silent)
        }
        // 4...7 are reserved but encodable: they go out as given and the controller answers.
        let reserved = try c.getFeatures(fid: 0x07, sel: 4, policy: .silent)
        #expect(reserved.sqe.cdw10 >> 8 & 7 == 4)
        #expect(reserved.is(.invalidFieldInCommand))
    }

    @Test("a queue priority wider than QPRIO's 2 bits throws instead of being masked", arguments: [UInt8(4), 0xFF])
    func queuePriority(_ priority: UInt8) throws {
        let (_, c) = try simController()
        defer { c.close() }
        #expect(throws: InvalidArgument(name: "priority", value: priority, valid: "0...3")) {
            try c.createIOQueuePair(qid: 5, depth: 4, vector: nil, priority: priority)
        }
        #expect(c.ioQueues.allSatisfy { $0.qid != 5 })
    }
}

@Suite("Controller options and simulator configurations at extreme values")
struct ExtremeConfigurationTests {
    @Test("options.mps wider than CC.MPS's 4 bits throws InvalidArgument instead of dividing by a zero page size",
          arguments: [UInt8(16), 52, 200, 0xFF])
    func memoryPageSize(_ mps: UInt8) throws {
        let sim = try SimulatedController()
        var o = ControllerOptions()
        o.mps = mps
        // The init step that first needs the page size fails, naming the option and its range.
        let expected = InvalidArgument(name: "options.mps", value: mps, valid: "0...15").description
        #expect { _ = try Controller.open(sim, options: o) } throws: { "\($0)".contains(expected) }
        sim.close()
    }

    @Test("a simulated namespace the simulator cannot address throws InvalidArgument instead of trapping on I/O",
          arguments: [UInt64.max, 1 << 60])
    func hugeNamespace(_ blocks: UInt64) throws {
        var config = SimulatorConfiguration()
        config.namespaces = [.init(nsid: 1, blockCount: blocks)]
        #expect(throws: InvalidArgument(name: "namespaces[0].blockCount", value: blocks, valid: "0...\(UInt64.max / 512)")) {
            _ = try SimulatedController(configuration: config)
        }
    }

    @Test("the largest addressable simulated namespace identifies with NVMCAP = blocks × block size")
    func largestNamespace() throws {
        let blocks = UInt64.max / 512
        let (_, c) = try simController({ $0.namespaces = [.init(nsid: 1, blockCount: blocks)] })
        defer { c.close() }
        #expect(c.namespaces.first?.blockCount == blocks)
        let id = try c.identify(cns: 0, nsid: 1)
        let nvmcap = (48..<56).reduce(UInt64(0)) { $0 | UInt64(id[$1]) << (8 * UInt64($1 - 48)) }
        #expect(nvmcap == blocks * 512)
    }

    @Test("a bad simulated LBA format index or list throws instead of trapping on its first Identify")
    func badFormats() {
        var config = SimulatorConfiguration()
        config.namespaces = [.init(nsid: 1, formatIndex: 99)]
        #expect(throws: InvalidArgument.self) { _ = try SimulatedController(configuration: config) }
        config.namespaces = [.init(nsid: 1, formatIndex: 0, lbaFormats: [])]
        #expect(throws: InvalidArgument.self) { _ = try SimulatedController(configuration: config) }
        config.namespaces = [.init(nsid: 1, lbaFormats: [.init(dataSize: 0)])]
        #expect(throws: InvalidArgument.self) { _ = try SimulatedController(configuration: config) }
    }
}
