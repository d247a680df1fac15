import NVMePlatform
import NVMeSimulator
import NVMeSpec
import Testing

let invalidQueueIdentifier = CompletionStatus(sct: 1, sc: 0x01, dnr: true)
let invalidCompletionQueue = CompletionStatus(sct: 1, sc: 0x00, dnr: true)
let invalidQueueSize = CompletionStatus(sct: 1, sc: 0x02, dnr: true)
let invalidInterruptVector = CompletionStatus(sct: 1, sc: 0x08, dnr: true)
let invalidQueueDeletion = CompletionStatus(sct: 1, sc: 0x0C)   // QEMU 7.2 sets no DNR here
let invalidField = CompletionStatus(sct: 0, sc: 0x02, dnr: true)
let invalidOpcode = CompletionStatus(sct: 0, sc: 0x01, dnr: true)
let invalidPRPOffset = CompletionStatus(sct: 0, sc: 0x13, dnr: true)
let invalidNamespace = CompletionStatus(sct: 0, sc: 0x0B, dnr: true)
let commandSequenceError = CompletionStatus(sct: 0, sc: 0x0C, dnr: true)
let lbaOutOfRange = CompletionStatus(sct: 0, sc: 0x80, dnr: true)

@Suite("Simulator: admin commands")
struct AdminCommandTests {
    @Test("Identify Controller reports QEMU's VID, the configured model/serial, MDTS, SQES/CQES and NN (Base §5.17.2.1)")
    func identifyController() throws {
        let host = try TestHost(SimulatorConfiguration(mdts: 5, serialNumber: "SERIAL42", modelNumber: "Model X"))
        try host.enable()
        let buf = try host.region(4096)
        let c = try #require(host.run(TestHost.identify(cns: 1, buffer: buf)))
        #expect(c.status == .success)
        #expect(buf.load(at: 0, as: UInt16.self) == 0x1B36)
        #expect(buf.bytes(at: 4, count: 8) == Array("SERIAL42".utf8))
        #expect(buf.bytes(at: 24, count: 7) == Array("Model X".utf8))
        #expect(buf.load(at: 77, as: UInt8.self) == 5)
        #expect(buf.load(at: 512, as: UInt8.self) == 0x66)
        #expect(buf.load(at: 513, as: UInt8.self) == 0x44)
        #expect(buf.load(at: 516, as: UInt32.self) == 256)
        #expect(buf.load(at: 80, as: UInt32.self) == 0x0001_0400)
    }

    @Test("Identify Namespace reports NSZE, FLBAS and the LBA formats (NVM Cmd Set §4.1.5.1)")
    func identifyNamespace() throws {
        let ns = NamespaceConfiguration(nsid: 1, blockCount: 5000, formatIndex: 4)
        let host = try TestHost(SimulatorConfiguration(namespaces: [ns]))
        try host.enable()
        let buf = try host.region(4096)
        #expect(host.run(TestHost.identify(cns: 0, nsid: 1, buffer: buf))?.status == .success)
        #expect(buf.load(at: 0, as: UInt64.self) == 5000)
        #expect(buf.load(at: 8, as: UInt64.self) == 5000)
        #expect(buf.load(at: 26, as: UInt8.self) & 0xF == 4)
        let lbaf4 = buf.load(at: 128 + 16, as: UInt32.self)
        #expect((lbaf4 >> 16) & 0xFF == 12, "format 4 is 4096-byte blocks (LBADS 12)")
        // NSID 0 is invalid; an unallocated one returns zeroes.
        #expect(host.run(TestHost.identify(cns: 0, nsid: 0, buffer: buf))?.status == invalidNamespace)
        buf.fill(0xAA)
        #expect(host.run(TestHost.identify(cns: 0, nsid: 7, buffer: buf))?.status == .success)
        #expect(buf.bytes(at: 0, count: 4096).allSatisfy { $0 == 0 })
    }

    @Test("Active Namespace ID list lists NSIDs above CDW1.NSID in increasing order (Base §5.17.2.2)")
    func activeNamespaceList() throws {
        let host = try TestHost(SimulatorConfiguration(namespaces: [
            NamespaceConfiguration(nsid: 3, blockCount: 100), NamespaceConfiguration(nsid: 1, blockCount: 100),
            NamespaceConfiguration(nsid: 9, blockCount: 100), NamespaceConfiguration(nsid: 5, blockCount: 100, attached: false),
        ]))
        try host.enable()
        let buf = try host.region(4096)
        #expect(host.run(TestHost.identify(cns: 2, nsid: 0, buffer: buf))?.status == .success)
        #expect((0..<4).map { buf.load(at: $0 * 4, as: UInt32.self) } == [1, 3, 9, 0])
        #expect(host.run(TestHost.identify(cns: 2, nsid: 3, buffer: buf))?.status == .success)
        #expect((0..<2).map { buf.load(at: $0 * 4, as: UInt32.self) } == [9, 0])
        #expect(host.run(TestHost.identify(cns: 2, nsid: 0xFFFF_FFFE, buffer: buf))?.status == invalidNamespace)
    }

    @Test("an unknown CNS is Invalid Field in Command; an unknown admin opcode is Invalid Command Opcode")
    func unknownCNSAndOpcode() throws {
        let host = try TestHost()
        try host.enable()
        let buf = try host.region(4096)
        #expect(host.run(TestHost.identify(cns: 0x55, buffer: buf))?.status == invalidField)
        #expect(host.run(SubmissionQueueEntry(opcode: 0x3F))?.status == invalidOpcode)
    }

    @Test("Set Features Number of Queues grants max_ioqpairs and is a sequence error once queues exist (Base §5.27.1.7)")
    func numberOfQueues() throws {
        let host = try TestHost(SimulatorConfiguration(maxIOQueuePairs: 8))
        try host.enable()
        let c = try #require(host.run(TestHost.setFeatures(fid: 7, cdw11: 0x0003_0003)))
        #expect(c.status == .success)
        #expect(c.dw0 == 0x0007_0007)
        #expect(host.run(TestHost.setFeatures(fid: 7, cdw11: 0xFFFF_0000))?.status == invalidField)
        try host.createIOQueuePair(qid: 1, entries: 8)
        #expect(host.run(TestHost.setFeatures(fid: 7, cdw11: 0))?.status == commandSequenceError)
    }

    @Test("Set Features with SV = 1 is Feature Identifier Not Saveable; Get Features returns what was set")
    func featuresRoundTrip() throws {
        let host = try TestHost()
        try host.enable()
        #expect(host.run(TestHost.setFeatures(fid: 8, cdw11: 0x0000_0A05))?.status == .success)
        var get = SubmissionQueueEntry(opcode: AdminOpcode.getFeatures.rawValue)
        get.cdw10 = 8
        #expect(host.run(get)?.dw0 == 0x0A05)
        get.cdw10 = 8 | 1 << 8   // default
        #expect(host.run(get)?.dw0 == 0)
        #expect(host.run(TestHost.setFeatures(fid: 8, cdw11: 1, save: true))?.status == CompletionStatus(sct: 1, sc: 0x0D, dnr: true))
    }

    // MARK: Queue creation errors (Base §5.4, §5.5, Figures 150/154) — statuses and check order as QEMU 7.2.

    @Test("Create I/O CQ rejects bad parameters with the spec's statuses", arguments: [
        ("qid 0", UInt16(0), 16, UInt16(0), true, true, invalidQueueIdentifier),
        ("qid above the granted count", 9, 16, 0, true, true, invalidQueueIdentifier),
        ("size 1 (QSIZE 0)", 1, 1, 0, true, true, invalidQueueSize),
        ("size above MQES+1", 1, 2049, 0, true, true, invalidQueueSize),
        ("vector beyond the MSI-X table", 1, 16, 65, true, true, invalidInterruptVector),
        ("not physically contiguous", 1, 16, 0, false, true, invalidField),
        ("misaligned base", 1, 16, 0, true, false, invalidPRPOffset),
    ])
    func createCQErrors(_ what: String, qid: UInt16, entries: Int, vector: UInt16, pc: Bool, aligned: Bool,
                        expected: CompletionStatus) throws {
        let host = try TestHost(SimulatorConfiguration(maxIOQueuePairs: 8))
        try host.enable()
        let mem = try host.region(64 * 1024)
        let base = mem.busAddress() + (aligned ? 0 : 512)
        let c = host.run(TestHost.createIOCQ(qid: qid, entries: entries, base: base, vector: vector, pc: pc))
        #expect(c?.status == expected, "\(what)")
    }

    @Test("Create I/O CQ twice with one ID is Invalid Queue Identifier")
    func createCQTwice() throws {
        let host = try TestHost()
        try host.enable()
        let mem = try host.region(4096)
        #expect(host.run(TestHost.createIOCQ(qid: 2, entries: 16, base: mem.busAddress()))?.status == .success)
        #expect(host.run(TestHost.createIOCQ(qid: 2, entries: 16, base: mem.busAddress()))?.status == invalidQueueIdentifier)
    }

    @Test("Create I/O SQ rejects a missing CQ, bad IDs and sizes (Base §5.5)")
    func createSQErrors() throws {
        let host = try TestHost(SimulatorConfiguration(maxIOQueuePairs: 4))
        try host.enable()
        let mem = try host.region(64 * 1024)
        let base = mem.busAddress()
        #expect(host.run(TestHost.createIOSQ(qid: 1, entries: 16, base: base, cqid: 1))?.status == invalidCompletionQueue)
        #expect(host.run(TestHost.createIOSQ(qid: 1, entries: 16, base: base, cqid: 0))?.status == invalidCompletionQueue)
        #expect(host.run(TestHost.createIOCQ(qid: 1, entries: 16, base: base))?.status == .success)
        #expect(host.run(TestHost.createIOSQ(qid: 0, entries: 16, base: base, cqid: 1))?.status == invalidQueueIdentifier)
        #expect(host.run(TestHost.createIOSQ(qid: 5, entries: 16, base: base, cqid: 1))?.status == invalidQueueIdentifier)
        #expect(host.run(TestHost.createIOSQ(qid: 1, entries: 1, base: base, cqid: 1))?.status == invalidQueueSize)
        #expect(host.run(TestHost.createIOSQ(qid: 1, entries: 16, base: base + 8, cqid: 1))?.status == invalidPRPOffset)
        #expect(host.run(TestHost.createIOSQ(qid: 1, entries: 16, base: base, cqid: 1, pc: false))?.status == invalidField)
        #expect(host.run(TestHost.createIOSQ(qid: 1, entries: 16, base: base + 4096, cqid: 1))?.status == .success)
        #expect(host.run(TestHost.createIOSQ(qid: 1, entries: 16, base: base + 4096, cqid: 1))?.status == invalidQueueIdentifier)
    }

    @Test("Delete I/O CQ with an SQ still bound is Invalid Queue Deletion; deleting unknown queues fails (Base §5.6, §5.7)")
    func deleteQueues() throws {
        let host = try TestHost()
        try host.enable()
        try host.createIOQueuePair(qid: 1, entries: 16)
        var delCQ = SubmissionQueueEntry(opcode: AdminOpcode.deleteIOCompletionQueue.rawValue); delCQ.cdw10 = 1
        var delSQ = SubmissionQueueEntry(opcode: AdminOpcode.deleteIOSubmissionQueue.rawValue); delSQ.cdw10 = 1
        #expect(host.run(delCQ)?.status == invalidQueueDeletion)
        #expect(host.run(delSQ)?.status == .success)
        #expect(host.run(delSQ)?.status == invalidQueueIdentifier)
        #expect(host.run(delCQ)?.status == .success)
        #expect(host.run(delCQ)?.status == invalidQueueIdentifier, "Base §5.6: deleting a CQ that does not exist")
        delCQ.cdw10 = 0
        #expect(host.run(delCQ)?.status == invalidQueueIdentifier, "the admin CQ cannot be deleted")
        delSQ.cdw10 = 0
        #expect(host.run(delSQ)?.status == invalidQueueIdentifier, "the admin SQ cannot be deleted")
    }

    @Test("the CQE reports SQ head and SQ identifier of the command (Base §4.6, Figure 90)")
    func sqHeadAndID() throws {
        let host = try TestHost()
        try host.enable()
        let buf = try host.region(4096)
        for i in 1...3 {
            let c = try #require(host.run(TestHost.identify(cns: 1, buffer: buf)))
            #expect(c.sqhd == UInt16(i))
            #expect(c.sqid == 0)
        }
    }
}
