import Testing
import Synchronization
@testable import NVMePlatform

@Suite("EventInterruptSource: eventfd per vector, counters, masking, async events")
struct EventInterruptSourceTests {
    @Test func triggeredVectorWakesWaiterWithItsSignalCount() throws {
        let irq = EventInterruptSource(kind: .msix, supportedVectors: 4)
        try irq.enable(vectors: 3)
        irq.trigger(vector: 2)
        irq.trigger(vector: 2)
        #expect(try irq.wait(vector: 2, timeout: .seconds(5)) == 2)
        #expect(irq.count(vector: 2) == 2)
        #expect(irq.count(vector: 1) == 0)
    }

    @Test func waitReturnsZeroWhenDeadlineAlreadyPassed() throws {
        let irq = EventInterruptSource(kind: .msix, supportedVectors: 1)
        try irq.enable(vectors: 1)
        #expect(try irq.wait(vector: 0, until: Deadline(nanoseconds: 0)) == 0)
    }

    @Test func signalWrittenToTheEventFDDirectlyIsSeenAsTheKernelWouldDeliverIt() throws {
        // VFIO_DEVICE_SET_IRQS hands these fds to the kernel, which writes them; emulate that write.
        let irq = EventInterruptSource(kind: .msix, supportedVectors: 2)
        try irq.enable(vectors: 2)
        let fds = irq.fileDescriptors
        #expect(fds.count == 2 && fds[0] != fds[1])
        try writeEventFD(fds[1], value: 5)
        #expect(try irq.wait(vector: 1, timeout: .seconds(5)) == 5)
    }

    @Test func countReadsPendingSignalsWithoutLosingThemForTheNextWait() throws {
        let irq = EventInterruptSource(kind: .msix, supportedVectors: 1)
        try irq.enable(vectors: 1)
        irq.trigger(vector: 0)
        #expect(irq.count(vector: 0) == 1)
        #expect(try irq.wait(vector: 0, timeout: .seconds(5)) == 1)
        #expect(irq.count(vector: 0) == 1)
    }

    @Test func armHookReceivesOneEventFDPerVectorAndRearmingClearsCounters() throws {
        let armed = Mutex<[[Int32]]>([])
        let disarmed = Mutex(0)
        let irq = EventInterruptSource(kind: .msix, supportedVectors: 8, hooks: .init(
            arm: { fds in armed.withLock { $0.append(fds) } },
            disarm: { disarmed.withLock { $0 += 1 } }))
        try irq.enable(vectors: 5)
        irq.trigger(vector: 4)
        _ = irq.count(vector: 4)
        try irq.disable()
        #expect(irq.enabledVectors == 0)
        try irq.enable(vectors: 5)
        #expect(armed.withLock { $0.map(\.count) } == [5, 5])
        #expect(disarmed.withLock { $0 } == 1)
        #expect(irq.count(vector: 4) == 0)
    }

    @Test func failingArmHookLeavesVectorsDisarmed() throws {
        let irq = EventInterruptSource(kind: .msix, supportedVectors: 2, hooks: .init(arm: { _ in
            throw PlatformError.unsupported("no")
        }))
        #expect(throws: PlatformError.unsupported("no")) { try irq.enable(vectors: 2) }
        #expect(irq.enabledVectors == 0)
    }

    @Test func unarmedVectorIsRefusedWithAMessageNamingTheFix() throws {
        let irq = EventInterruptSource(kind: .msix, supportedVectors: 4)
        try irq.enable(vectors: 1)
        let error = #expect(throws: PlatformError.self) { try irq.wait(vector: 3, timeout: .zero) }
        #expect(error == .vectorNotArmed(vector: 3, armed: 1))
        #expect(error?.description.contains("enable(vectors: 4)") == true)
        #expect(irq.trigger(vector: 3) == false)
    }

    @Test func enablingMoreVectorsThanTheTableHoldsIsRefused() {
        let irq = EventInterruptSource(kind: .msix, supportedVectors: 4)
        #expect(throws: PlatformError.vectorOutOfRange(vector: 4, supported: 4)) { try irq.enable(vectors: 5) }
    }

    @Test func maskedVectorHoldsTriggerAsPendingAndUnmaskDeliversOne() throws {
        // MSI-X PBA semantics (PCIe 6.0 §6.1.4.5): a masked vector latches one pending message.
        let masks = Mutex<[String]>([])
        let irq = EventInterruptSource(kind: .msix, supportedVectors: 2, hooks: .init(mask: { v, m in
            masks.withLock { $0.append("\(v):\(m)") }
        }))
        try irq.enable(vectors: 2)
        try irq.setMasked(true, vector: 1)
        #expect(irq.isMasked(vector: 1))
        irq.trigger(vector: 1)
        irq.trigger(vector: 1)
        #expect(irq.isPending(vector: 1))
        #expect(try irq.wait(vector: 1, until: Deadline(nanoseconds: 0)) == 0)
        try irq.setMasked(false, vector: 1)
        #expect(!irq.isPending(vector: 1))
        #expect(try irq.wait(vector: 1, timeout: .seconds(5)) == 1)
        #expect(masks.withLock { $0 } == ["1:true", "1:false"])
    }

    @Test func asyncEventsDeliverEachTriggerAndEndOnDisable() async throws {
        let irq = EventInterruptSource(kind: .msix, supportedVectors: 2)
        try irq.enable(vectors: 2)
        let stream = try irq.events(vector: 1)
        let reader = Task { () -> UInt64 in
            var seen: UInt64 = 0
            for await e in stream {
                #expect(e.vector == 1)
                seen += e.count
                if seen >= 3 { break }
            }
            return seen
        }
        for _ in 0..<3 { irq.trigger(vector: 1) }
        #expect(await reader.value == 3)
        #expect(irq.count(vector: 1) == 3)

        let second = try irq.events(vector: 0)
        let ended = Task { () -> Int in var n = 0; for await _ in second { n += 1 }; return n }
        try irq.disable()
        #expect(await ended.value == 0)
    }
}

private func writeEventFD(_ fd: Int32, value: UInt64) throws {
    for _ in 0..<value {
        let rc = nvmekitTestSignal(fd)
        if rc != 0 { throw PlatformError.unsupported("eventfd write failed: \(rc)") }
    }
}
