import NVMePlatform
import NVMeSimulator
import NVMeSpec
import Testing

@Suite("Simulator: I/O path, PRPs, phase tags, MSI-X")
struct IOPathTests {
    func ready(_ configuration: SimulatorConfiguration = SimulatorConfiguration(), entries: Int = 16) throws -> TestHost {
        let host = try TestHost(configuration)
        try host.enable()
        try host.createIOQueuePair(qid: 1, entries: entries)
        return host
    }

    @Test("write then read of one block through PRP1 returns the data (NVM Cmd Set §3.2.4, §3.2.6)")
    func roundTrip() throws {
        let host = try ready()
        let out = try host.region(4096), back = try host.region(4096)
        out.copyBytes(from: pattern(512, seed: 1), to: 0)
        let w = try #require(host.run(TestHost.rw(.write, slba: 10, blocks: 1, prp1: out.busAddress()), qid: 1))
        #expect(w.status == .success && w.sqid == 1)
        let r = try #require(host.run(TestHost.rw(.read, slba: 10, blocks: 1, prp1: back.busAddress()), qid: 1))
        #expect(r.status == .success)
        #expect(back.bytes(at: 0, count: 512) == pattern(512, seed: 1))
        #expect(host.sim.readBlocks(nsid: 1, lba: 10, count: 1) == pattern(512, seed: 1))
    }

    @Test("PRP1 with an offset plus PRP2 as the second page (Base §4.3.1)")
    func prp1OffsetAndPRP2() throws {
        let host = try ready()
        let buf = try host.region(3 * 4096)
        let data = pattern(4096, seed: 2)
        // 8 blocks starting 0x200 into page 0: 3584 bytes there, 512 in the next page.
        buf.copyBytes(from: data, to: 0x200)
        let w = host.run(TestHost.rw(.write, slba: 0, blocks: 8, prp1: buf.busAddress(at: 0x200),
                                     prp2: buf.busAddress(at: 4096)), qid: 1)
        #expect(w?.status == .success)
        #expect(host.sim.readBlocks(nsid: 1, lba: 0, count: 8) == data)
        let bad = host.run(TestHost.rw(.write, slba: 0, blocks: 8, prp1: buf.busAddress(at: 0x200),
                                       prp2: buf.busAddress(at: 4096 + 8)), qid: 1)
        #expect(bad?.status == invalidPRPOffset, "PRP2 pointing at data must be page aligned")
    }

    @Test("a PRP list describes the pages after the first (Base §4.3.1, Figure 108)")
    func prpList() throws {
        let host = try ready()
        let pages = 6
        let data = try host.region(pages * 4096 + 4096)
        let list = try host.region(4096)
        // Scatter: use every other page in reverse order to prove the controller follows the list.
        let order = [0, 5, 3, 1, 4, 2]
        let bytes = pattern(pages * 4096, seed: 3)
        for (i, p) in order.enumerated() {
            data.copyBytes(from: bytes[(i * 4096)..<((i + 1) * 4096)], to: p * 4096)
            if i > 0 { list.store(data.busAddress(at: p * 4096), at: (i - 1) * 8) }
        }
        let w = host.run(TestHost.rw(.write, slba: 100, blocks: pages * 8, prp1: data.busAddress(),
                                     prp2: list.busAddress()), qid: 1)
        #expect(w?.status == .success)
        #expect(host.sim.readBlocks(nsid: 1, lba: 100, count: pages * 8) == bytes)
    }

    @Test("the last entry of a PRP list page chains to the next list page (Base §4.3.1)")
    func prpListChain() throws {
        let host = try ready()
        let data = try host.region(4 * 4096)
        let lists = try host.region(2 * 4096)
        let bytes = pattern(4 * 4096, seed: 4)
        data.copyBytes(from: bytes, to: 0)
        // PRP2 points at the last two slots of list page 0: one data entry, then a chain pointer to page 1.
        let tail = 4096 - 16
        lists.store(data.busAddress(at: 4096), at: tail)
        lists.store(lists.busAddress(at: 4096), at: tail + 8)
        lists.store(data.busAddress(at: 2 * 4096), at: 4096)
        lists.store(data.busAddress(at: 3 * 4096), at: 4096 + 8)
        let w = host.run(TestHost.rw(.write, slba: 0, blocks: 32, prp1: data.busAddress(),
                                     prp2: lists.busAddress(at: tail)), qid: 1)
        #expect(w?.status == .success)
        #expect(host.sim.readBlocks(nsid: 1, lba: 0, count: 32) == bytes)
    }

    @Test("a transfer above MDTS is Invalid Field in Command (Base §5.17.2.1 MDTS)")
    func mdts() throws {
        let host = try ready(SimulatorConfiguration(mdts: 1))   // 8 KiB
        let buf = try host.region(4 * 4096), list = try host.region(4096)
        list.store(buf.busAddress(at: 4096), at: 0); list.store(buf.busAddress(at: 8192), at: 8)
        #expect(host.run(TestHost.rw(.read, slba: 0, blocks: 16, prp1: buf.busAddress(), prp2: buf.busAddress(at: 4096)),
                         qid: 1)?.status == .success)
        #expect(host.run(TestHost.rw(.read, slba: 0, blocks: 17, prp1: buf.busAddress(), prp2: list.busAddress()),
                         qid: 1)?.status == invalidField)
    }

    @Test("LBA range beyond NSZE is LBA Out of Range; NSID 0 is Invalid Namespace; inactive NSID is Invalid Field")
    func namespaceAndRangeChecks() throws {
        let host = try ready(SimulatorConfiguration(namespaces: [
            NamespaceConfiguration(nsid: 1, blockCount: 64), NamespaceConfiguration(nsid: 2, blockCount: 64, attached: false),
        ]))
        let buf = try host.region(4096)
        #expect(host.run(TestHost.rw(.read, slba: 63, blocks: 2, prp1: buf.busAddress()), qid: 1)?.status == lbaOutOfRange)
        #expect(host.run(TestHost.rw(.read, slba: 63, blocks: 1, prp1: buf.busAddress()), qid: 1)?.status == .success)
        #expect(host.run(TestHost.rw(.read, nsid: 0, slba: 0, blocks: 1, prp1: buf.busAddress()), qid: 1)?.status == invalidNamespace)
        #expect(host.run(TestHost.rw(.read, nsid: 2, slba: 0, blocks: 1, prp1: buf.busAddress()), qid: 1)?.status == invalidField)
    }

    @Test("a DMA to an unmapped bus address completes with Data Transfer Error and counts a DMA fault")
    func dmaFault() throws {
        let host = try ready()
        let before = host.sim.statistics.dmaFaults
        let c = host.run(TestHost.rw(.read, slba: 0, blocks: 1, prp1: 0xDEAD_0000), qid: 1)
        #expect(c?.status.sc == 0x04 && c?.status.sct == 0)
        #expect(host.sim.statistics.dmaFaults == before + 1)
    }

    @Test("the phase tag flips each time the CQ wraps (Base §4.6, Phase Tag)")
    func phaseFlipOnWrap() throws {
        let host = try ready(entries: 4)
        let buf = try host.region(4096)
        var phases: [Bool] = []
        for _ in 0..<10 {
            let c = try #require(host.run(TestHost.rw(.read, slba: 0, blocks: 1, prp1: buf.busAddress()), qid: 1))
            phases.append(c.p)
        }
        // 4 entries: slots 0-3 carry phase 1, the next lap phase 0, then 1 again.
        #expect(phases == [true, true, true, true, false, false, false, false, true, true])
    }

    @Test("a full CQ stops command fetch until the host frees a slot (Base §4.1 queue full)")
    func fullCompletionQueue() throws {
        let host = try ready(entries: 4)
        let buf = try host.region(4096)
        // Post 3 commands (SQ of 4 holds 3) twice without touching the CQ head: the CQ holds only 3.
        for _ in 0..<3 { host.post(TestHost.rw(.read, slba: 0, blocks: 1, prp1: buf.busAddress()), qid: 1) }
        host.ring(1)
        var got = 0
        while host.reap(1) != nil { got += 1 }
        #expect(got == 3)
        for _ in 0..<2 { host.post(TestHost.rw(.read, slba: 0, blocks: 1, prp1: buf.busAddress()), qid: 1) }
        host.ring(1)
        #expect(host.reap(1) == nil, "no CQ slot is free until the head doorbell moves")
        host.ringCQ(1)
        #expect(host.reap(1) != nil)
        #expect(host.reap(1) != nil)
    }

    @Test("completions on a CQ with IEN signal its MSI-X vector's eventfd; IEN = 0 does not")
    func msix() throws {
        let host = try TestHost()
        try host.sim.interrupts.enable(vectors: 4)
        try host.enable()
        #expect(try host.createIOQueuePair(qid: 1, entries: 8, vector: 2).0.isSuccess)
        #expect(try host.createIOQueuePair(qid: 2, entries: 8, vector: 3, ien: false).0.isSuccess)
        let admin = host.sim.interrupts.count(vector: 0)
        #expect(admin >= 4, "admin completions go to vector 0")
        let buf = try host.region(4096)
        _ = host.run(TestHost.rw(.read, slba: 0, blocks: 1, prp1: buf.busAddress()), qid: 1)
        #expect(try host.sim.interrupts.wait(vector: 2, timeout: .seconds(5)) >= 1)
        _ = host.run(TestHost.rw(.read, slba: 0, blocks: 1, prp1: buf.busAddress()), qid: 2)
        #expect(host.sim.interrupts.count(vector: 3) == 0)
    }

    @Test("a masked MSI-X vector holds the message pending and delivers it on unmask")
    func msixMask() throws {
        let host = try TestHost()
        try host.sim.interrupts.enable(vectors: 2)
        try host.enable()
        try host.createIOQueuePair(qid: 1, entries: 8, vector: 1)
        try host.sim.interrupts.setMasked(true, vector: 1)
        let buf = try host.region(4096)
        _ = host.run(TestHost.rw(.read, slba: 0, blocks: 1, prp1: buf.busAddress()), qid: 1)
        #expect(host.sim.interrupts.count(vector: 1) == 0)
        #expect(host.sim.simulatedInterrupts.isPending(vector: 1))
        try host.sim.interrupts.setMasked(false, vector: 1)
        #expect(try host.sim.interrupts.wait(vector: 1, timeout: .seconds(5)) == 1)
    }

    @Test("step mode: a doorbell only records; step() processes one command at a time")
    func stepMode() throws {
        let host = try TestHost(SimulatorConfiguration(executionMode: .step))
        try host.enable()
        let buf = try host.region(4096)
        host.post(TestHost.identify(cns: 1, buffer: buf))
        host.post(TestHost.identify(cns: 2, buffer: buf))
        host.ring()
        #expect(host.sim.pendingCommands == 2)
        #expect(host.reap() == nil)
        #expect(host.sim.step())
        #expect(host.reap()?.status == .success)
        #expect(host.reap() == nil)
        #expect(host.sim.process(count: 10) == 1)
        #expect(host.reap() != nil)
        #expect(!host.sim.step())
    }

    @Test("background mode: a polling thread completes commands; the host waits on the MSI-X eventfd")
    func backgroundMode() throws {
        let host = try TestHost(SimulatorConfiguration(executionMode: .background))
        try host.sim.interrupts.enable(vectors: 1)
        try host.enable()
        let buf = try host.region(4096)
        host.post(TestHost.identify(cns: 1, buffer: buf))
        host.ring()
        let deadline = Deadline.after(.seconds(10))
        var c: CompletionQueueEntry?
        while c == nil && !deadline.hasPassed {
            _ = try host.sim.interrupts.wait(vector: 0, timeout: .milliseconds(100))
            c = host.reap()
        }
        #expect(c?.status == .success)
        #expect(buf.load(at: 0, as: UInt16.self) == 0x1B36)
    }

    @Test("null mode completes reads and writes without moving data")
    func nullMode() throws {
        let host = try ready(SimulatorConfiguration(nullIO: true))
        let buf = try host.region(4096)
        buf.fill(0x5A)
        #expect(host.run(TestHost.rw(.write, slba: 0, blocks: 1, prp1: buf.busAddress()), qid: 1)?.status == .success)
        #expect(host.sim.readBlocks(nsid: 1, lba: 0, count: 1) == [UInt8](repeating: 0, count: 512))
        #expect(host.run(TestHost.rw(.read, slba: 0, blocks: 1, prp1: buf.busAddress()), qid: 1)?.status == .success)
        #expect(buf.bytes(at: 0, count: 512).allSatisfy { $0 == 0x5A })
    }
}
