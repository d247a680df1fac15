import NVMePlatform
import NVMeSpec
import Testing
@testable import NVMeDriver

/// A bad argument to the driver's public API throws `InvalidArgument`; before, each of these trapped the test binary.
@Suite("Driver API: bad arguments throw InvalidArgument, raw wire values are sent as given")
struct DriverArgumentErrorTests {
    let alloc = HeapDMAAllocator()

    @Test("read/write(blocks:) is a count: 0, negative and more than 65536 throw naming blocks and 1...65536",
          arguments: [0, -1, 65537, Int.max, Int.min])
    func readWriteBlockCountOutOfRange(blocks: Int) {
        let expected = InvalidArgument(name: "blocks", value: blocks, valid: "1...65536")
        #expect(throws: expected) { try DriverCommand.read(nsid: 1, slba: 0, blocks: blocks) }
        #expect(throws: expected) { try DriverCommand.write(nsid: 1, slba: 0, blocks: blocks) }
        #expect(expected.description == "blocks = \(blocks) is out of range: valid is 1...65536")
    }

    @Test("read/write(blocks:) encodes NLB = blocks - 1 at both ends of the range")
    func readWriteBlockCountEncodes() throws {
        #expect(try DriverCommand.read(nsid: 1, slba: 0, blocks: 1).nlb == 0)
        #expect(try DriverCommand.write(nsid: 1, slba: 0, blocks: 65536).nlb == 0xFFFF)
        #expect(try DriverCommand.read(nsid: 1, slba: 0, blocks: 8).cdw12 == 7)
    }

    @Test("read/write(nlb:) is the raw 0's based field: CDW12 15:0 carries exactly the value", arguments: [UInt16(0), 1, 0x7FFF, 0xFFFF])
    func rawNLB(nlb: UInt16) {
        let r = DriverCommand.read(nsid: 3, slba: 0x1_0000_0002, nlb: nlb)
        #expect(r.opc == IOOpcode.read.rawValue && r.nsid == 3)
        #expect(r.cdw10 == 2 && r.cdw11 == 1 && r.cdw12 == UInt32(nlb))
        let w = DriverCommand.write(nsid: 3, slba: 5, nlb: nlb)
        #expect(w.opc == IOOpcode.write.rawValue && w.cdw10 == 5 && w.cdw12 == UInt32(nlb))
    }

    @Test("create I/O CQ/SQ (depth:) is a count: 0, negative and more than 65536 throw naming depth",
          arguments: [0, -5, 65537, Int.max])
    func createQueueDepthOutOfRange(depth: Int) {
        let expected = InvalidArgument(name: "depth", value: depth, valid: "1...65536")
        #expect(throws: expected) { try DriverCommand.createIOCompletionQueue(qid: 1, depth: depth, prp1: 0, vector: nil) }
        #expect(throws: expected) { try DriverCommand.createIOSubmissionQueue(qid: 1, depth: depth, prp1: 0, cqid: 1) }
    }

    @Test("create I/O CQ/SQ (qsize:) sends the raw QSIZE in CDW10 31:16, QSIZE 0 and FFFFh included",
          arguments: [UInt16(0), 1, 0xFFFF])
    func rawQSIZE(qsize: UInt16) {
        let cq = DriverCommand.createIOCompletionQueue(qid: 7, qsize: qsize, prp1: 0x1000, vector: 3)
        #expect(cq.cdw10 == UInt32(qsize) << 16 | 7)
        #expect(cq.cdw11 == 3 << 16 | 2 | 1 && cq.prp1 == 0x1000)
        let sq = DriverCommand.createIOSubmissionQueue(qid: 7, qsize: qsize, prp1: 0x2000, cqid: 9, priority: 2,
                                                       physicallyContiguous: false)
        #expect(sq.cdw10 == UInt32(qsize) << 16 | 7)
        #expect(sq.cdw11 == 9 << 16 | 2 << 1 && sq.prp1 == 0x2000)
    }

    @Test("create I/O queue (depth:) encodes QSIZE = depth - 1, as the raw form with that value does")
    func depthMatchesRaw() throws {
        #expect(try DriverCommand.createIOCompletionQueue(qid: 1, depth: 64, prp1: 8, vector: nil)
                == DriverCommand.createIOCompletionQueue(qid: 1, qsize: 63, prp1: 8, vector: nil))
        #expect(try DriverCommand.createIOSubmissionQueue(qid: 1, depth: 65536, prp1: 8, cqid: 1)
                == DriverCommand.createIOSubmissionQueue(qid: 1, qsize: 0xFFFF, prp1: 8, cqid: 1))
    }

    @Test("Set Features Number of Queues: counts throw at 0, raw NSQR/NCQR go to CDW11 as given")
    func numberOfQueues() throws {
        #expect(throws: InvalidArgument(name: "submissionQueues", value: 0, valid: "1...65536")) {
            try DriverCommand.setNumberOfQueues(submissionQueues: 0, completionQueues: 1)
        }
        #expect(throws: InvalidArgument(name: "completionQueues", value: 70000, valid: "1...65536")) {
            try DriverCommand.setNumberOfQueues(submissionQueues: 1, completionQueues: 70000)
        }
        #expect(try DriverCommand.setNumberOfQueues(submissionQueues: 4, completionQueues: 2).cdw11 == 1 << 16 | 3)
        #expect(DriverCommand.setNumberOfQueues(nsqr: 0xFFFF, ncqr: 0).cdw11 == 0xFFFF)
        #expect(DriverCommand.setNumberOfQueues(nsqr: 0xFFFF, ncqr: 0).cdw10 == 0x07)
    }

    @Test("Get Log Page (bytes:) throws when NUMD cannot say it; the raw numd: form sends any NUMD")
    func getLogPageBytes() throws {
        #expect(throws: InvalidArgument.self) { try DriverCommand.getLogPage(lid: 2, bytes: 0) }
        #expect(throws: InvalidArgument.self) { try DriverCommand.getLogPage(lid: 2, bytes: Int.max) }
        let s = try DriverCommand.getLogPage(lid: 2, bytes: 512)
        #expect(s.cdw10 == 127 << 16 | 2 && s.cdw11 == 0)
        let raw = DriverCommand.getLogPage(lid: 2, numd: 0xFFFF_FFFF)
        #expect(raw.cdw10 >> 16 == 0xFFFF && raw.cdw11 == 0xFFFF)
    }

    @Test("SubmissionQueue.post(at:) and entry(at:) throw for a slot outside 0..<depth", arguments: [-1, 4, 1000])
    func postOutsideTheRing(slot: Int) throws {
        let sq = try SubmissionQueue(qid: 1, depth: 4, memory: try alloc.allocate(length: 4096, alignment: 4096),
                                     cqid: 1, registers: RecordingRegisters(), dstrd: 0)
        let expected = InvalidArgument(name: "slot", value: slot, valid: "0..<4")
        #expect(throws: expected) { try sq.post(SQE(opcode: 1), at: slot) }
        #expect(throws: expected) { try sq.entry(at: slot) }
        let cq = try CompletionQueue(qid: 1, depth: 4, memory: try alloc.allocate(length: 4096, alignment: 4096),
                                     vector: nil, registers: RecordingRegisters(), dstrd: 0)
        #expect(throws: expected) { try cq.entry(at: slot) }
    }

    @Test("SubmissionQueue/CompletionQueue init throw for a depth below 2 or larger than the memory holds")
    func queueInitDepth() throws {
        let mem = try alloc.allocate(length: 4096, alignment: 4096)
        #expect(throws: InvalidArgument(name: "depth", value: 0, valid: "2...64")) {
            try SubmissionQueue(qid: 1, depth: 0, memory: mem, cqid: 1, registers: RecordingRegisters(), dstrd: 0)
        }
        #expect(throws: InvalidArgument(name: "depth", value: 65, valid: "2...64")) {
            try SubmissionQueue(qid: 1, depth: 65, memory: mem, cqid: 1, registers: RecordingRegisters(), dstrd: 0)
        }
        #expect(throws: InvalidArgument(name: "depth", value: 1, valid: "2...256")) {
            try CompletionQueue(qid: 1, depth: 1, memory: mem, vector: nil, registers: RecordingRegisters(), dstrd: 0)
        }
    }

    @Test("InitSequence edits naming a step that does not exist throw, naming the steps there are, and change nothing")
    func unknownInitStep() throws {
        var seq = InitSequence.standard
        let valid = InitSequence.standardStepNames.joined(separator: ", ")
        let expected = InvalidArgument(name: "step name", value: "'nosuch'", valid: valid)
        #expect(throws: expected) { try seq.remove("nosuch") }
        #expect(throws: expected) { try seq.replace("nosuch") { _ in } }
        #expect(throws: expected) { try seq.insert(InitStep("x") { _ in }, before: "nosuch") }
        #expect(throws: expected) { try seq.insert(InitStep("x") { _ in }, after: "nosuch") }
        #expect(throws: expected) { try seq.move("nosuch", before: "enable") }
        #expect(throws: expected) { try seq.move("enable", after: "nosuch") }
        #expect(seq.names == InitSequence.standardStepNames)
        #expect(expected.description.contains("identifyController"))
    }

    @Test("makeQueuePair/createIOQueuePair throw for a depth of 0 or past 65536 instead of trapping in the ring")
    func queuePairDepth() throws {
        let (_, c) = try simController(options: { $0.ioQueueCount = 0 })
        defer { c.close() }
        #expect(throws: InvalidArgument(name: "depth", value: 0, valid: "2...65536")) {
            try c.createIOQueuePair(qid: 1, depth: 0, vector: nil)
        }
        #expect(throws: InvalidArgument(name: "cqDepth", value: 1 << 20, valid: "2...65536")) {
            try c.makeQueuePair(qid: 1, depth: 8, cqDepth: 1 << 20, vector: nil)
        }
        // A PRP-list ring must fit one list page: 512 pages of 4 KiB hold 32768 SQ entries.
        #expect(throws: InvalidArgument(name: "depth", value: 65536, valid: "2...32768")) {
            try c.makeQueuePair(qid: 1, depth: 65536, vector: nil, contiguous: false)
        }
        #expect(throws: InvalidArgument.self) { try c.getLogPage(lid: 2, length: Int.max) }
    }

    @Test("headDoorbellBatch: setHeadDoorbellBatch throws outside 1..<cq.depth; assigning clamps instead of trapping")
    func headDoorbellBatch() throws {
        let (_, c) = try simController(options: { $0.interrupts = .polling; $0.ioQueueCount = 0 })
        defer { c.close() }
        let qp = try c.createIOQueuePair(qid: 1, depth: 8, cqDepth: 16, vector: nil)
        #expect(throws: InvalidArgument(name: "headDoorbellBatch", value: 16, valid: "1..<16")) {
            try qp.setHeadDoorbellBatch(16)
        }
        #expect(throws: InvalidArgument(name: "headDoorbellBatch", value: 0, valid: "1..<16")) {
            try qp.setHeadDoorbellBatch(0)
        }
        try qp.setHeadDoorbellBatch(9)
        #expect(qp.headDoorbellBatch == 9)
        qp.headDoorbellBatch = 1000
        #expect(qp.headDoorbellBatch == 15)
        qp.headDoorbellBatch = -3
        #expect(qp.headDoorbellBatch == 1)
    }

    @Test("a shadow doorbell slot past the Doorbell Buffer Config page throws instead of writing outside it")
    func shadowSlotOutsideThePage() throws {
        let db = try DoorbellBuffer(allocator: alloc, dstrd: 0)
        // 4096-byte page, 8 bytes per queue at DSTRD 0: qids 0...511.
        #expect(try db.slot(qid: 511, isCQ: true).offset == 4092)
        #expect(throws: InvalidArgument.self) { try db.slot(qid: 512, isCQ: false) }
        let wide = try DoorbellBuffer(allocator: alloc, dstrd: 4)
        #expect(throws: InvalidArgument.self) { try wide.slot(qid: 32, isCQ: false) }
        let (_, c) = try simController(options: { $0.shadowDoorbells = true; $0.ioQueueCount = 0 })
        defer { c.close() }
        #expect(throws: InvalidArgument.self) { try c.createIOQueuePair(qid: 600, depth: 8, vector: nil) }
    }

    @Test("DataPointer.prp throws for a page size that is not a power of two of at least 4 KiB", arguments: [0, -4096, 8, 5000])
    func prpPageSize(pageSize: Int) throws {
        #expect(throws: PRPError.invalidPageSize(pageSize)) {
            try DataPointer.prp(runs: [(address: 0x10000, length: 3 * 4096)], pageSize: pageSize, allocator: alloc)
        }
    }
}
