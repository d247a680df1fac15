import Foundation
import NVMePlatform
import NVMeSimulator
import NVMeSpec
import Testing
@testable import NVMeDriver

@Suite("What a test writer needs from the driver: statuses, completions of conveniences, waits, AERs")
struct FrictionTests {
    @Test("identify returns its completion: an invalid CNS is Invalid Field in Command (DNR set by the controller)")
    func identifyWithCompletion() throws {
        let (_, c) = try simController()
        defer { c.close() }
        let bad = try c.identifyWithCompletion(cns: 0xFE)
        #expect(bad.completion.is(.invalidFieldInCommand))
        #expect(bad.status.dnr, "the simulator sets DNR like QEMU")
        #expect(bad.status != GenericStatus.invalidFieldInCommand.status, "== is exact: DNR differs")
        #expect(bad.data.count == 4096)
        let good = try c.identifyWithCompletion(cns: 1)
        #expect(good.isSuccess && good.data == c.identifyData)
        #expect(throws: CommandError.self) { try c.identifyWithCompletion(cns: 0xFE, policy: .throwing) }
    }

    @Test("getLogPage returns its completion: an unsupported LID is Invalid Log Page")
    func getLogPageWithCompletion() throws {
        let (_, c) = try simController()
        defer { c.close() }
        let bad = try c.getLogPageWithCompletion(lid: 0x7E, length: 512)
        #expect(bad.completion.is(.invalidLogPage))
        let smart = try c.getLogPageWithCompletion(lid: 0x02, length: 512)
        #expect(smart.isSuccess && smart.data.count == 512)
        #expect(throws: InvalidArgument.self) { try c.getLogPageWithCompletion(lid: 2, length: -1) }   // as getLogPage(length:)
    }

    @Test("a Completion prints opcode, CID and the status by name")
    func completionDescription() throws {
        let (_, c) = try simController()
        defer { c.close() }
        let r = try c.identifyWithCompletion(cns: 0xFE)
        let text = r.completion.description
        #expect(text.hasPrefix("Completion(opc: 06h, cid: \(r.completion.cid), sqid: 0, status: SCT 0h SC 02h Invalid Field in Command, dnr: 1"))
        #expect(r.completion.debugDescription.contains("sqe: SQE(opc: 06h"))
    }

    @Test("isPending is reachable through `any InterruptSource`")
    func isPendingOnProtocol() throws {
        let (sim, c) = try simController()
        defer { c.close() }
        let irq: any InterruptSource = c.interrupts
        try irq.setMasked(true, vector: 1)
        #expect(irq.isMasked(vector: 1))
        sim.simulatedInterrupts.trigger(vector: 1)
        #expect(irq.isPending(vector: 1))
        try irq.setMasked(false, vector: 1)
        #expect(!irq.isPending(vector: 1))
    }

    @Test("an AER posted by hand counts in asyncEvents.outstanding and its event is decoded")
    func handPostedAER() throws {
        let (sim, c) = try simController { _ in } options: { $0.asyncEventRequests = 0 }
        defer { c.close() }
        c.asyncEvents.autoRearm = false
        #expect(c.asyncEvents.outstanding == 0)
        let admin = try #require(c.adminQueue)
        let got = CompletionBox()
        try c.withAdmin { _ in
            try admin.submit(DriverCommand.asynchronousEventRequest(), timeout: .none) { got.value = $0 }
        }
        #expect(c.asyncEvents.outstanding == 1)
        let got2 = CompletionBox()
        try c.postAsyncEventRequest { got2.value = $0 }
        #expect(c.asyncEvents.outstanding == 2)
        sim.raiseAsyncEvent(type: 1, info: 1, logPage: 2)
        let e = try #require(c.waitForAsyncEvents(until: .after(.seconds(5))).first)
        #expect(e.infoName == "temperature threshold")
        #expect(c.asyncEvents.outstanding == 1)
        // The controller completes either AER (the spec does not order them); its submitter's callback gets it.
        #expect([got.value, got2.value].compactMap { $0 }.count == 1)
        #expect([got.value, got2.value].compactMap { $0 }.first?.isSuccess == true)
    }

    @Test("waiting for the entry in a slot with a phase, for N entries, and for an interrupt")
    func cqWaits() throws {
        let (_, c) = try simController()
        defer { c.close() }
        // Vector 1 is armed (one per queue the init created) and shared with qid 1, which stays idle here.
        let qp = try c.createIOQueuePair(qid: 2, depth: 8, vector: 1)
        // Post two Flushes by hand: the inline simulator completes them when the doorbell is written.
        for cid in [UInt16(0), 1] {
            var s = DriverCommand.flush(nsid: 1); s.cid = cid
            qp.sq.post(s)
        }
        qp.sq.ring()
        let e = try #require(try qp.cq.waitForEntry(at: 1, phase: true, until: .after(.seconds(5)), interrupts: c.interrupts))
        #expect(e.cid == 1 && e.sqid == 2 && e.status.isSuccess)
        #expect(try qp.cq.waitForEntries(2, until: .after(.seconds(5)), interrupts: c.interrupts) == 2)
        #expect(try qp.waitForInterrupt(until: .after(.seconds(5))) >= 1)
        // Slot 2 was not written on this pass: the wait ends at its deadline with nothing.
        #expect(try qp.cq.waitForEntry(at: 2, phase: true, until: .after(.milliseconds(20)), interrupts: c.interrupts) == nil)
        #expect(throws: WaitError.slotOutOfRange(qid: 2, slot: 8, depth: 8)) {
            try qp.cq.waitForEntry(at: 8, phase: true, until: .after(.seconds(1)), interrupts: nil)
        }
        #expect(throws: WaitError.countOutOfRange(qid: 2, count: 8, depth: 8)) {
            try qp.cq.waitForEntries(8, until: .after(.seconds(1)), interrupts: nil)
        }
    }

    @Test("a polled CQ has no interrupt to wait for; waitForCompletions collects N completions")
    func polledWaits() throws {
        let (_, c) = try simController()
        defer { c.close() }
        let qp = try c.createIOQueuePair(qid: 2, depth: 8, vector: nil)
        #expect(throws: WaitError.noInterruptVector(qid: 2)) { try qp.waitForInterrupt(until: .after(.seconds(1))) }
        try qp.submit(DriverCommand.flush(nsid: 1))
        try qp.submit(DriverCommand.flush(nsid: 1))
        let done = qp.waitForCompletions(2, until: .after(.seconds(5)))
        #expect(done.count == 2 && done.allSatisfy { $0.isSuccess })
        #expect(!(try qp.cq.waitForEntry(until: .after(.milliseconds(20)), interrupts: nil)))
    }
}
