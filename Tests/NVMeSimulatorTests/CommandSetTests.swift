import NVMePlatform
import NVMeSimulator
import NVMeSpec
import Testing

let compareFailure = CompletionStatus(sct: 2, sc: 0x85)   // QEMU 7.2 sets no DNR here
let unrecoveredReadError = CompletionStatus(sct: 2, sc: 0x81)

func ioReady(_ config: SimulatorConfiguration = SimulatorConfiguration()) throws -> TestHost {
    let host = try TestHost(config)
    try host.enable()
    try host.createIOQueuePair(qid: 1, entries: 16)
    return host
}

@Suite("Simulator: NVM command set")
struct NVMCommandTests {
    @Test("Compare succeeds on equal data and fails with Compare Failure otherwise (NVM §3.2.1)")
    func compare() throws {
        let host = try ioReady()
        host.sim.writeBlocks(nsid: 1, lba: 4, data: pattern(1024, seed: 1))
        let buf = try host.region(4096)
        buf.copyBytes(from: pattern(1024, seed: 1), to: 0)
        #expect(host.run(TestHost.rw(.compare, slba: 4, blocks: 2, prp1: buf.busAddress()), qid: 1)?.status == .success)
        buf.store(UInt8(0), at: 700)
        #expect(host.run(TestHost.rw(.compare, slba: 4, blocks: 2, prp1: buf.busAddress()), qid: 1)?.status == compareFailure)
    }

    @Test("Write Zeroes zeroes the range and nothing else (NVM §3.2.8)")
    func writeZeroes() throws {
        let host = try ioReady()
        host.sim.writeBlocks(nsid: 1, lba: 0, data: pattern(4 * 512, seed: 2))
        #expect(host.run(TestHost.rw(.writeZeroes, slba: 1, blocks: 2, prp1: 0), qid: 1)?.status == .success)
        let all = try #require(host.sim.readBlocks(nsid: 1, lba: 0, count: 4))
        #expect(Array(all[0..<512]) == Array(pattern(4 * 512, seed: 2)[0..<512]))
        #expect(all[512..<1536].allSatisfy { $0 == 0 })
        #expect(Array(all[1536...]) == Array(pattern(4 * 512, seed: 2)[1536...]))
    }

    @Test("Write Uncorrectable makes Read and Verify fail with Unrecovered Read Error until rewritten (NVM §3.2.7)")
    func writeUncorrectable() throws {
        let host = try ioReady()
        let buf = try host.region(4096)
        #expect(host.run(TestHost.rw(.writeUncorrectable, slba: 10, blocks: 2, prp1: 0), qid: 1)?.status == .success)
        #expect(host.run(TestHost.rw(.read, slba: 11, blocks: 1, prp1: buf.busAddress()), qid: 1)?.status == unrecoveredReadError)
        #expect(host.run(TestHost.rw(.verify, slba: 9, blocks: 4, prp1: 0), qid: 1)?.status == unrecoveredReadError)
        #expect(host.run(TestHost.rw(.write, slba: 10, blocks: 2, prp1: buf.busAddress()), qid: 1)?.status == .success)
        #expect(host.run(TestHost.rw(.read, slba: 11, blocks: 1, prp1: buf.busAddress()), qid: 1)?.status == .success)
        #expect(host.run(TestHost.rw(.verify, slba: 9, blocks: 4, prp1: 0), qid: 1)?.status == .success)
    }

    @Test("Dataset Management deallocate makes the ranges read as zeroes (NVM §3.2.3, DLFEAT 001b)")
    func deallocate() throws {
        let host = try ioReady()
        host.sim.writeBlocks(nsid: 1, lba: 0, data: pattern(8 * 512, seed: 3))
        let ranges = try host.region(4096)
        // Range 0: LBA 2, 3 blocks. Range 1: LBA 7, 1 block.
        ranges.store(UInt32(3), at: 4); ranges.store(UInt64(2), at: 8)
        ranges.store(UInt32(1), at: 20); ranges.store(UInt64(7), at: 24)
        var dsm = SubmissionQueueEntry(opcode: IOOpcode.datasetManagement.rawValue, nsid: 1)
        dsm.prp1 = ranges.busAddress(); dsm.cdw10 = 1; dsm.cdw11 = 1 << 2
        #expect(host.run(dsm, qid: 1)?.status == .success)
        let all = try #require(host.sim.readBlocks(nsid: 1, lba: 0, count: 8))
        let zeroBlocks = (0..<8).filter { b in all[(b * 512)..<((b + 1) * 512)].allSatisfy { $0 == 0 } }
        #expect(zeroBlocks == [2, 3, 4, 7])
        ranges.store(UInt64(1 << 40), at: 8)
        #expect(host.run(dsm, qid: 1)?.status == lbaOutOfRange)
    }

    @Test("Flush succeeds for one namespace and for NSID FFFFFFFFh (VWC bits 2:1 = 11b)")
    func flush() throws {
        let host = try ioReady()
        #expect(host.run(SubmissionQueueEntry(opcode: IOOpcode.flush.rawValue, nsid: 1), qid: 1)?.status == .success)
        #expect(host.run(SubmissionQueueEntry(opcode: IOOpcode.flush.rawValue, nsid: 0xFFFF_FFFF), qid: 1)?.status == .success)
    }

    @Test("an unknown I/O opcode is Invalid Command Opcode; zone commands on an NVM namespace too")
    func unknownIOOpcode() throws {
        let host = try ioReady()
        #expect(host.run(SubmissionQueueEntry(opcode: 0x7F, nsid: 1), qid: 1)?.status == invalidOpcode)
        #expect(host.run(SubmissionQueueEntry(opcode: IOOpcode.zoneAppend.rawValue, nsid: 1), qid: 1)?.status == invalidOpcode)
    }

    @Test("extended-LBA metadata travels interleaved in the data buffer (NVM §5.3.1)")
    func extendedMetadata() throws {
        let ns = NamespaceConfiguration(nsid: 1, blockCount: 64, formatIndex: 1, extendedMetadata: true)   // 512+8
        let host = try ioReady(SimulatorConfiguration(namespaces: [ns]))
        let buf = try host.region(4096), back = try host.region(4096)
        let data = pattern(2 * 520, seed: 4)
        buf.copyBytes(from: data, to: 0)
        #expect(host.run(TestHost.rw(.write, slba: 3, blocks: 2, prp1: buf.busAddress()), qid: 1)?.status == .success)
        #expect(host.run(TestHost.rw(.read, slba: 3, blocks: 2, prp1: back.busAddress()), qid: 1)?.status == .success)
        #expect(back.bytes(at: 0, count: 1040) == data)
        #expect(host.sim.readBlocks(nsid: 1, lba: 3, count: 1) == Array(data[0..<512]))
    }

    @Test("separate metadata travels through MPTR (NVM §5.3.2)")
    func separateMetadata() throws {
        let ns = NamespaceConfiguration(nsid: 1, blockCount: 64, formatIndex: 2)   // 512+16, separate
        let host = try ioReady(SimulatorConfiguration(namespaces: [ns]))
        let buf = try host.region(4096), meta = try host.region(4096), back = try host.region(4096)
        buf.copyBytes(from: pattern(1024, seed: 5), to: 0)
        meta.copyBytes(from: pattern(32, seed: 6), to: 0)
        var w = TestHost.rw(.write, slba: 0, blocks: 2, prp1: buf.busAddress())
        w.mptr = meta.busAddress()
        #expect(host.run(w, qid: 1)?.status == .success)
        var r = TestHost.rw(.read, slba: 0, blocks: 2, prp1: back.busAddress())
        r.mptr = meta.busAddress(at: 1024)
        #expect(host.run(r, qid: 1)?.status == .success)
        #expect(meta.bytes(at: 1024, count: 32) == pattern(32, seed: 6))
        #expect(back.bytes(at: 0, count: 1024) == pattern(1024, seed: 5))
    }
}

@Suite("Simulator: SGL data pointers (Base §4.3.2)")
struct SGLTests {
    func sglRead(_ host: TestHost, blocks: Int, descriptor: SGLDescriptor, write: Bool = false) -> CompletionStatus? {
        var e = TestHost.rw(write ? .write : .read, slba: 0, blocks: blocks, prp1: 0)
        e.psdt = 1
        e.sgl1 = descriptor
        return host.run(e, qid: 1)?.status
    }

    @Test("a single Data Block descriptor in the SQE")
    func dataBlock() throws {
        let host = try ioReady()
        host.sim.writeBlocks(nsid: 1, lba: 0, data: pattern(1024, seed: 8))
        let buf = try host.region(4096)
        #expect(sglRead(host, blocks: 2, descriptor: .dataBlock(address: buf.busAddress(at: 100), length: 1024)) == .success)
        #expect(buf.bytes(at: 100, count: 1024) == pattern(1024, seed: 8))
    }

    @Test("a Last Segment of data blocks and a bit bucket scatters reads and discards the bucket's part")
    func segmentWithBitBucket() throws {
        let host = try ioReady()
        let data = pattern(1536, seed: 9)
        host.sim.writeBlocks(nsid: 1, lba: 0, data: data)
        let a = try host.region(4096), b = try host.region(4096), seg = try host.region(4096)
        let descriptors: [SGLDescriptor] = [.dataBlock(address: a.busAddress(), length: 512), .bitBucket(length: 512),
                                            .dataBlock(address: b.busAddress(), length: 512)]
        for (i, d) in descriptors.enumerated() { seg.copyBytes(from: d.bytes, to: i * 16) }
        #expect(sglRead(host, blocks: 3, descriptor: .lastSegment(address: seg.busAddress(), length: 48)) == .success)
        #expect(a.bytes(at: 0, count: 512) == Array(data[0..<512]))
        #expect(b.bytes(at: 0, count: 512) == Array(data[1024..<1536]))
    }

    @Test("a Segment descriptor chains to the next segment")
    func chainedSegments() throws {
        let host = try ioReady()
        let data = pattern(1024, seed: 10)
        let a = try host.region(4096), segs = try host.region(8192)
        a.copyBytes(from: data, to: 0)
        segs.copyBytes(from: SGLDescriptor.dataBlock(address: a.busAddress(), length: 512).bytes, to: 0)
        segs.copyBytes(from: SGLDescriptor.lastSegment(address: segs.busAddress(at: 4096), length: 16).bytes, to: 16)
        segs.copyBytes(from: SGLDescriptor.dataBlock(address: a.busAddress(at: 512), length: 512).bytes, to: 4096)
        #expect(sglRead(host, blocks: 2, descriptor: .segment(address: segs.busAddress(), length: 32), write: true) == .success)
        #expect(host.sim.readBlocks(nsid: 1, lba: 0, count: 2) == data)
    }

    @Test("SGL errors: too short, bit bucket on a write, reserved type, segment length not a multiple of 16")
    func errors() throws {
        let host = try ioReady()
        let buf = try host.region(4096)
        #expect(sglRead(host, blocks: 2, descriptor: .dataBlock(address: buf.busAddress(), length: 512))
                == CompletionStatus(sct: 0, sc: 0x0F, dnr: true))
        #expect(sglRead(host, blocks: 1, descriptor: .bitBucket(length: 512), write: true)
                == CompletionStatus(sct: 0, sc: 0x11, dnr: true))
        var reserved = SGLDescriptor.dataBlock(address: buf.busAddress(), length: 512); reserved.typeRaw = 0x6
        #expect(sglRead(host, blocks: 1, descriptor: reserved) == CompletionStatus(sct: 0, sc: 0x11, dnr: true))
        #expect(sglRead(host, blocks: 1, descriptor: .lastSegment(address: buf.busAddress(), length: 20))
                == CompletionStatus(sct: 0, sc: 0x0D, dnr: true))
    }

    @Test("admin commands reject SGLs with Invalid Field in Command")
    func adminRejectsSGL() throws {
        let host = try ioReady()
        let buf = try host.region(4096)
        var e = TestHost.identify(cns: 1, buffer: buf)
        e.psdt = 1
        #expect(host.run(e)?.status == invalidField)
    }
}

@Suite("Simulator: zoned namespace (ZNS 1.1)")
struct ZonedNamespaceTests {
    func zoned() throws -> TestHost {
        let ns = NamespaceConfiguration(nsid: 1, blockCount: 64, zoned: .init(zoneSize: 16, maxOpen: 2))
        return try ioReady(SimulatorConfiguration(namespaces: [ns]))
    }

    func zoneSend(_ slba: UInt64, action: UInt8, all: Bool = false) -> SubmissionQueueEntry {
        var e = SubmissionQueueEntry(opcode: IOOpcode.zoneManagementSend.rawValue, nsid: 1)
        e.cdw10 = UInt32(slba); e.cdw13 = UInt32(action) | (all ? 1 << 8 : 0)
        return e
    }

    func report(_ host: TestHost, _ buf: DMARegion) -> [(state: UInt8, wp: UInt64)] {
        var e = SubmissionQueueEntry(opcode: IOOpcode.zoneManagementReceive.rawValue, nsid: 1)
        e.prp1 = buf.busAddress(); e.cdw12 = 4096 / 4 - 1
        guard host.run(e, qid: 1)?.status == .success else { return [] }
        let n = Int(buf.load(at: 0, as: UInt64.self))
        return (0..<n).map { (buf.load(at: 64 + 64 * $0 + 1, as: UInt8.self) >> 4, buf.load(at: 64 + 64 * $0 + 24, as: UInt64.self)) }
    }

    @Test("Identify CNS 05h CSI 02h reports the zone size; the namespace has NSZE/ZSZE zones")
    func identify() throws {
        let host = try zoned()
        let buf = try host.region(4096)
        #expect(host.run(TestHost.identify(cns: 5, nsid: 1, buffer: buf, csi: 2))?.status == .success)
        #expect(buf.load(at: 2816, as: UInt64.self) == 16)
        #expect(report(host, buf).count == 4)
    }

    @Test("writes must land on the write pointer; the zone opens implicitly and fills (ZNS §2.1)")
    func sequentialWrites() throws {
        let host = try zoned()
        let buf = try host.region(16 * 512)
        #expect(host.run(TestHost.rw(.write, slba: 1, blocks: 1, prp1: buf.busAddress()), qid: 1)?.status
                == CompletionStatus(sct: 1, sc: 0xBC, dnr: true))
        #expect(host.run(TestHost.rw(.write, slba: 0, blocks: 4, prp1: buf.busAddress(), prp2: 0), qid: 1)?.status == .success)
        var zones = report(host, buf)
        #expect(zones[0].state == 0x2 && zones[0].wp == 4)
        #expect(host.run(TestHost.rw(.write, slba: 4, blocks: 13, prp1: buf.busAddress()), qid: 1)?.status
                == CompletionStatus(sct: 1, sc: 0xB8, dnr: true), "crosses the zone end")
        #expect(host.run(TestHost.rw(.write, slba: 4, blocks: 12, prp1: buf.busAddress(), prp2: buf.busAddress(at: 4096)), qid: 1)?.status == .success)
        zones = report(host, buf)
        #expect(zones[0].state == 0xE, "full")
        #expect(host.run(TestHost.rw(.write, slba: 16, blocks: 1, prp1: buf.busAddress()), qid: 1)?.status == .success)
    }

    @Test("Zone Append writes at the write pointer and returns the LBA in DW0/DW1 (ZNS §4.5)")
    func zoneAppend() throws {
        let host = try zoned()
        let buf = try host.region(4096)
        var lbas: [UInt64] = []
        for _ in 0..<3 {
            var e = TestHost.rw(.write, slba: 32, blocks: 2, prp1: buf.busAddress())
            e.opc = IOOpcode.zoneAppend.rawValue
            let c = try #require(host.run(e, qid: 1))
            #expect(c.status == .success)
            lbas.append(UInt64(c.dw0) | UInt64(c.dw1) << 32)
        }
        #expect(lbas == [32, 34, 36])
        var bad = TestHost.rw(.write, slba: 33, blocks: 1, prp1: buf.busAddress())
        bad.opc = IOOpcode.zoneAppend.rawValue
        #expect(host.run(bad, qid: 1)?.status == invalidField, "ZSLBA must be a zone start")
    }

    @Test("Zone Management Send: open, close, finish, reset and the open-zone limit (ZNS §4.3)")
    func zoneStateMachine() throws {
        let host = try zoned()
        let buf = try host.region(4096)
        #expect(host.run(zoneSend(0, action: 3), qid: 1)?.status == .success)
        #expect(host.run(zoneSend(16, action: 3), qid: 1)?.status == .success)
        #expect(host.run(zoneSend(32, action: 3), qid: 1)?.status == CompletionStatus(sct: 1, sc: 0xBE, dnr: true))
        #expect(report(host, buf).map(\.state) == [0x3, 0x3, 0x1, 0x1])
        #expect(host.run(zoneSend(0, action: 1), qid: 1)?.status == .success)
        #expect(report(host, buf)[0].state == 0x1, "closing an opened zone with WP at its start makes it empty")
        #expect(host.run(zoneSend(16, action: 2), qid: 1)?.status == .success)
        #expect(report(host, buf)[1].state == 0xE)
        #expect(host.run(zoneSend(0, action: 4, all: true), qid: 1)?.status == .success)
        #expect(report(host, buf).map(\.state) == [0x1, 0x1, 0x1, 0x1])
        #expect(host.run(zoneSend(0, action: 5), qid: 1)?.status == CompletionStatus(sct: 1, sc: 0xBF, dnr: true))
    }
}
