import NVMePlatform
import NVMeSimulator
import NVMeSpec
import Testing

@Suite("Simulator: log pages, format, sanitize, firmware, namespace management, self-test")
struct ManagementCommandTests {
    @Test("SMART log reports the composite temperature and counts host reads/writes (Base §5.16.1.3)")
    func smartLog() throws {
        let host = try ioReady(SimulatorConfiguration(temperatureKelvin: 310))
        let buf = try host.region(4096)
        for _ in 0..<3 { _ = host.run(TestHost.rw(.write, slba: 0, blocks: 1, prp1: buf.busAddress()), qid: 1) }
        _ = host.run(TestHost.rw(.read, slba: 0, blocks: 1, prp1: buf.busAddress()), qid: 1)
        #expect(host.run(TestHost.getLogPage(lid: 2, bytes: 512, buffer: buf))?.status == .success)
        #expect(buf.load(at: 1, as: UInt16.self) == 310)
        #expect(buf.load(at: 64, as: UInt64.self) == 1, "host read commands")
        #expect(buf.load(at: 80, as: UInt64.self) == 3, "host write commands")
        host.sim.setTemperature(kelvin: 330)
        #expect(host.run(TestHost.getLogPage(lid: 2, bytes: 512, buffer: buf))?.status == .success)
        #expect(buf.load(at: 1, as: UInt16.self) == 330)
    }

    @Test("a temperature above the threshold sets the critical warning and raises a SMART event when enabled (Base §5.27.1.3)")
    func temperatureEvent() throws {
        let host = try ioReady()
        #expect(host.run(TestHost.setFeatures(fid: 0x0B, cdw11: 0x02))?.status == .success)   // AEC: temperature
        #expect(host.run(TestHost.setFeatures(fid: 0x04, cdw11: 330))?.status == .success)
        let cid = host.post(SubmissionQueueEntry(opcode: AdminOpcode.asynchronousEventRequest.rawValue))
        host.ring()
        #expect(host.reap() == nil)
        host.sim.setTemperature(kelvin: 335)
        let c = try #require(host.reap())
        #expect(c.cid == cid)
        #expect(c.dw0 & 7 == 1 && (c.dw0 >> 8) & 0xFF == 1 && (c.dw0 >> 16) & 0xFF == 2)
        host.ringCQ()
        let buf = try host.region(4096)
        #expect(host.run(TestHost.getLogPage(lid: 2, bytes: 512, buffer: buf))?.status == .success)
        #expect(buf.load(at: 0, as: UInt8.self) & 0x02 != 0)
    }

    @Test("Get Log Page honours the offset (LPOL/LPOU) and rejects unknown pages (Base §5.16)")
    func logOffsetAndUnknown() throws {
        let host = try ioReady(SimulatorConfiguration(temperatureKelvin: 301))
        let buf = try host.region(4096)
        #expect(host.run(TestHost.getLogPage(lid: 2, bytes: 8, buffer: buf, offset: 0))?.status == .success)
        let whole = buf.bytes(at: 0, count: 8)
        #expect(host.run(TestHost.getLogPage(lid: 2, bytes: 4, buffer: buf, offset: 1 * 4))?.status == .success)
        #expect(buf.bytes(at: 0, count: 4) == Array(whole[4..<8]))
        #expect(host.run(TestHost.getLogPage(lid: 0x70, bytes: 64, buffer: buf))?.status == CompletionStatus(sct: 1, sc: 0x09, dnr: true))
        #expect(host.run(TestHost.getLogPage(lid: 2, bytes: 64, buffer: buf, offset: 8192))?.status == invalidField)
    }

    @Test("Commands Supported and Effects lists what the controller implements (Base §5.16.1.6)")
    func commandEffects() throws {
        let host = try ioReady()
        let buf = try host.region(8192)
        #expect(host.run(TestHost.getLogPage(lid: 5, bytes: 4096, buffer: buf))?.status == .success)
        #expect(buf.load(at: 4 * 0x06, as: UInt32.self) & 1 == 1, "Identify")
        #expect(buf.load(at: 4 * 0x84, as: UInt32.self) & 1 == 1, "Sanitize")
        #expect(buf.load(at: 4 * 0x3F, as: UInt32.self) == 0)
        #expect(buf.load(at: 1024 + 4 * 0x01, as: UInt32.self) & 3 == 3, "Write: supported, changes LBA content")
    }

    @Test("Format NVM switches the LBA format and erases the namespace (NVM §4.1.1)")
    func format() throws {
        let host = try ioReady()
        host.sim.writeBlocks(nsid: 1, lba: 0, data: pattern(512, seed: 1))
        var f = SubmissionQueueEntry(opcode: AdminOpcode.formatNVM.rawValue, nsid: 1)
        f.cdw10 = 4   // LBA format 4: 4096-byte blocks
        #expect(host.run(f)?.status == .success)
        #expect(host.sim.namespace(1)?.blockSize == 4096)
        #expect(host.sim.readBlocks(nsid: 1, lba: 0, count: 1)?.allSatisfy { $0 == 0 } == true)
        f.cdw10 = 9
        #expect(host.run(f)?.status == CompletionStatus(sct: 1, sc: 0x0A, dnr: true), "Invalid Format")
    }

    @Test("sanitize progress log: in progress, then complete with data erased (simulator-only: QEMU lacks sanitize)")
    func sanitize() throws {
        let host = try ioReady(SimulatorConfiguration(sanitizeDuration: .milliseconds(150)))
        host.sim.writeBlocks(nsid: 1, lba: 7, data: pattern(512, seed: 2))
        var s = SubmissionQueueEntry(opcode: AdminOpcode.sanitize.rawValue)
        s.cdw10 = 2   // block erase
        #expect(host.run(s)?.status == .success)
        let log = try host.region(4096), buf = try host.region(4096)
        #expect(host.run(TestHost.getLogPage(lid: 0x81, bytes: 512, buffer: log))?.status == .success)
        #expect(log.load(at: 2, as: UInt16.self) & 7 == 2, "SSTAT: in progress")
        #expect(log.load(at: 0, as: UInt16.self) < 0xFFFF)
        #expect(host.run(TestHost.rw(.read, slba: 0, blocks: 1, prp1: buf.busAddress()), qid: 1)?.status.sc == 0x1D,
                "I/O during sanitize: Sanitize In Progress")
        #expect(host.run(s)?.status.sc == 0x1D)
        let deadline = Deadline.after(.seconds(20))
        var sstat: UInt16 = 2
        while sstat & 7 == 2 && !deadline.hasPassed {
            _ = host.run(TestHost.getLogPage(lid: 0x81, bytes: 512, buffer: log))
            sstat = log.load(at: 2, as: UInt16.self)
        }
        #expect(sstat & 7 == 1, "SSTAT: completed")
        #expect(log.load(at: 0, as: UInt16.self) == 0xFFFF)
        #expect(host.sim.readBlocks(nsid: 1, lba: 7, count: 1)?.allSatisfy { $0 == 0 } == true)
        #expect(host.run(TestHost.rw(.read, slba: 0, blocks: 1, prp1: buf.busAddress()), qid: 1)?.status == .success)
    }

    func download(_ host: TestHost, _ image: [UInt8]) throws -> CompletionStatus? {
        let buf = try host.region(4096)
        buf.copyBytes(from: image, to: 0)
        var d = SubmissionQueueEntry(opcode: AdminOpcode.firmwareImageDownload.rawValue)
        d.prp1 = buf.busAddress(); d.cdw10 = UInt32(image.count / 4 - 1); d.cdw11 = 0
        return host.run(d)?.status
    }

    func commit(_ host: TestHost, slot: UInt32, action: UInt32) -> CompletionStatus? {
        var c = SubmissionQueueEntry(opcode: AdminOpcode.firmwareCommit.rawValue)
        c.cdw10 = slot | action << 3
        return host.run(c)?.status
    }

    func activeRevision(_ host: TestHost) throws -> (slot: UInt8, revision: String) {
        let log = try host.region(4096)
        _ = host.run(TestHost.getLogPage(lid: 3, bytes: 512, buffer: log))
        let afi = log.load(at: 0, as: UInt8.self)
        let slot = Int(afi & 7)
        let rev = String(decoding: log.bytes(at: 8 * slot, count: 8).filter { $0 != 0x20 && $0 != 0 }, as: UTF8.self)
        return (afi, rev)
    }

    @Test("firmware download + commit (CA 1) activates at the next controller reset (simulator-only: QEMU lacks firmware commands)")
    func firmwareActivateOnReset() throws {
        let host = try ioReady()
        #expect(try download(host, Array("FW-2.0\0\0".utf8) + [UInt8](repeating: 0x11, count: 56)) == .success)
        #expect(commit(host, slot: 2, action: 1) == .success)
        let before = try activeRevision(host)
        #expect(before.slot & 7 == 1 && before.slot >> 4 == 2, "slot 1 active, slot 2 next")
        var cc = host.bar.cc; cc.en = false; host.bar.setCC(cc)
        try host.enable()
        #expect(try activeRevision(host).revision == "FW-2.0")
        let id = try host.region(4096)
        _ = host.run(TestHost.identify(cns: 1, buffer: id))
        #expect(id.bytes(at: 64, count: 6) == Array("FW-2.0".utf8))
    }

    @Test("firmware commit errors: read-only slot 1, slot beyond NOFS, no image (simulator-only)")
    func firmwareErrors() throws {
        let host = try ioReady()
        #expect(commit(host, slot: 2, action: 0) == CompletionStatus(sct: 1, sc: 0x07, dnr: true), "no image downloaded")
        #expect(try download(host, Array("FW-3.0\0\0".utf8)) == .success)
        #expect(commit(host, slot: 1, action: 0) == CompletionStatus(sct: 1, sc: 0x06, dnr: true))
        #expect(commit(host, slot: 5, action: 0) == CompletionStatus(sct: 1, sc: 0x06, dnr: true))
        #expect(commit(host, slot: 3, action: 3) == .success)
        #expect(try activeRevision(host).revision == "FW-3.0", "CA 3 activates immediately")
    }

    func createNamespace(_ host: TestHost, blocks: UInt64, flbas: UInt8 = 0) throws -> CompletionQueueEntry? {
        let buf = try host.region(4096)
        buf.store(blocks, at: 0); buf.store(blocks, at: 8); buf.store(flbas, at: 26)
        var e = SubmissionQueueEntry(opcode: AdminOpcode.namespaceManagement.rawValue)
        e.prp1 = buf.busAddress(); e.cdw10 = 0
        return host.run(e)
    }

    func attach(_ host: TestHost, nsid: UInt32, detach: Bool = false, controllers: [UInt16] = [0]) throws -> CompletionStatus? {
        let buf = try host.region(4096)
        buf.store(UInt16(controllers.count), at: 0)
        for (i, c) in controllers.enumerated() { buf.store(c, at: 2 + 2 * i) }
        var e = SubmissionQueueEntry(opcode: AdminOpcode.namespaceAttachment.rawValue, nsid: nsid)
        e.prp1 = buf.busAddress(); e.cdw10 = detach ? 1 : 0
        return host.run(e)?.status
    }

    @Test("namespace management create/attach/detach/delete with notices (simulator-only: QEMU lacks create/delete)")
    func namespaceLifecycle() throws {
        let host = try ioReady()
        let created = try #require(try createNamespace(host, blocks: 1000))
        #expect(created.status == .success)
        let nsid = created.dw0
        #expect(nsid == 2)
        #expect(!host.sim.activeNamespaces.contains(nsid), "created namespaces start detached")
        #expect(host.run(TestHost.setFeatures(fid: 0x0B, cdw11: 1 << 8))?.status == .success)
        let aerCID = host.post(SubmissionQueueEntry(opcode: AdminOpcode.asynchronousEventRequest.rawValue))
        host.ring()
        let list = try host.region(4096)
        list.store(UInt16(1), at: 0); list.store(UInt16(0), at: 2)
        var a = SubmissionQueueEntry(opcode: AdminOpcode.namespaceAttachment.rawValue, nsid: nsid)
        a.prp1 = list.busAddress()
        let (cid, got) = host.runCollecting(a)
        #expect(got[cid]?.status == .success)
        let notice = try #require(got[aerCID])
        #expect(notice.dw0 & 7 == 2 && (notice.dw0 >> 16) & 0xFF == 4, "Notice, Changed Namespace List")
        #expect(host.sim.activeNamespaces == [1, nsid])
        let log = try host.region(4096)
        #expect(host.run(TestHost.getLogPage(lid: 4, bytes: 4096, buffer: log))?.status == .success)
        #expect(log.load(at: 0, as: UInt32.self) == nsid)
        #expect(try attach(host, nsid: nsid) == CompletionStatus(sct: 1, sc: 0x18, dnr: true))
        #expect(try attach(host, nsid: nsid, controllers: [7]) == CompletionStatus(sct: 1, sc: 0x1C, dnr: true))
        let buf = try host.region(4096)
        #expect(host.run(TestHost.rw(.write, nsid: nsid, slba: 999, blocks: 1, prp1: buf.busAddress()), qid: 1)?.status == .success)
        #expect(try attach(host, nsid: nsid, detach: true) == .success)
        #expect(try attach(host, nsid: nsid, detach: true) == CompletionStatus(sct: 1, sc: 0x1A, dnr: true))
        var del = SubmissionQueueEntry(opcode: AdminOpcode.namespaceManagement.rawValue, nsid: nsid)
        del.cdw10 = 1
        #expect(host.run(del)?.status == .success)
        #expect(host.sim.namespace(nsid) == nil)
    }

    @Test("namespace create beyond the capacity pool is Namespace Insufficient Capacity (simulator-only)")
    func namespaceCapacity() throws {
        let host = try ioReady(SimulatorConfiguration(totalCapacityBytes: 256 << 20))
        #expect(try createNamespace(host, blocks: 1 << 30)?.status == CompletionStatus(sct: 1, sc: 0x15, dnr: true))
    }

    @Test("device self-test runs in the background; a second start is Device Self-test In Progress (Base §5.9)")
    func selfTest() throws {
        let host = try ioReady(SimulatorConfiguration(selfTestDuration: .milliseconds(100)))
        var st = SubmissionQueueEntry(opcode: AdminOpcode.deviceSelfTest.rawValue, nsid: 0xFFFF_FFFF)
        st.cdw10 = 1
        #expect(host.run(st)?.status == .success)
        #expect(host.run(st)?.status == CompletionStatus(sct: 1, sc: 0x1D, dnr: true))
        let log = try host.region(4096)
        let deadline = Deadline.after(.seconds(20))
        var current: UInt8 = 1
        while current != 0 && !deadline.hasPassed {
            _ = host.run(TestHost.getLogPage(lid: 6, bytes: 564, buffer: log))
            current = log.load(at: 0, as: UInt8.self)
        }
        #expect(current == 0)
        #expect(log.load(at: 4, as: UInt8.self) == 0x10, "newest result: short test, no error")
        // Abort (STC Fh) of a running extended test records result 1.
        st.cdw10 = 2
        #expect(host.run(st)?.status == .success)
        st.cdw10 = 0xF
        #expect(host.run(st)?.status == .success)
        _ = host.run(TestHost.getLogPage(lid: 6, bytes: 564, buffer: log))
        #expect(log.load(at: 4, as: UInt8.self) == 0x21)
    }

    @Test("Interrupt Vector Configuration rejects a vector beyond the MSI-X table (Base §5.27.1.10)")
    func interruptVectorConfig() throws {
        let host = try ioReady(SimulatorConfiguration(interruptVectors: 4))
        #expect(host.run(TestHost.setFeatures(fid: 0x09, cdw11: 3 | 1 << 16))?.status == .success)
        #expect(host.run(TestHost.setFeatures(fid: 0x09, cdw11: 4))?.status == invalidField)
        var get = SubmissionQueueEntry(opcode: AdminOpcode.getFeatures.rawValue)
        get.cdw10 = 0x09; get.cdw11 = 3
        let expected: UInt32 = 0x0001_0003   // IV 3, CD set
        #expect(host.run(get)?.dw0 == expected)
    }
}
