import Foundation
import NVMePlatform
import NVMeSimulator
import NVMeSpec
import Testing
@testable import NVMeDriver

/// D0 → D3hot → D0 through PMCSR on the simulator, both NoSoftReset settings (QEMU 7.2 only has NoSoftReset = 1, so
/// the NoSoftReset = 0 path is tested here only).
@Suite("PCI power management on the simulator (PCI PM 1.2)")
struct PowerManagementSimulatorTests {
    @Test("NoSoftReset = 1: the function keeps its context, the controller stays enabled, IO works without re-init")
    func noSoftResetKeepsState() throws {
        let (_, c) = try simController()
        defer { c.close() }
        let r = try c.cyclePowerState()
        #expect(r.before.noSoftReset && r.before.state == .d0)
        #expect(r.inD3hot.state == .d3hot && r.after.state == .d0)
        #expect(r.restored.isEmpty && r.contextAfterD0 == r.contextBefore)
        #expect(r.ccAfterD0.en && r.cstsAfterD0.rdy && !r.reinitialized)
        #expect(try readBack(c))
    }

    @Test("NoSoftReset = 0: D0uninitialized, COMMAND/BAR0 restored, controller reset and re-initialised, IO works")
    func softResetReinitialises() throws {
        let (_, c) = try simController { $0.pciNoSoftReset = false }
        defer { c.close() }
        let r = try c.cyclePowerState()
        #expect(!r.before.noSoftReset)
        #expect(!r.ccAfterD0.en && !r.cstsAfterD0.rdy, "the controller came back reset (CC.EN = 0)")
        #expect(r.restored.contains("COMMAND"), "COMMAND went back to its reset value and was written back")
        #expect(r.contextAfterD0.command == 0)
        #expect(r.reinitialized && r.expectedSoftReset)
        let config = try #require(c.device.config)
        #expect(try config.captureContext() == r.contextBefore)
        #expect(c.registers.cc.en && c.registers.csts.rdy)
        #expect(try readBack(c))
    }

    @Test("in D3hot the simulated function decodes no memory (BAR0 reads all ones) and fetches no command")
    func d3hotDecodesNoMemory() throws {
        let (sim, c) = try simController()
        defer { c.close() }
        let config = try #require(sim.config)
        try config.setPowerState(.d3hot)
        #expect(sim.bar0.csts.isAllOnes)
        try config.setPowerState(.d0)
        #expect(!sim.bar0.csts.isAllOnes && sim.bar0.csts.rdy)
    }

    @Test("reads outstanding when the controller comes back reset complete locally as aborted by the reset")
    func outstandingCommandsAborted() throws {
        let (sim, c) = try simController { $0.pciNoSoftReset = false }
        defer { c.close() }
        sim.inject(.io(.read, times: 3, .dropCompletion))   // fetched, never completed: the reads stay outstanding
        final class Box: @unchecked Sendable { var items: [Completion] = [] }
        let got = Box()
        var bufs: [Buffer] = []
        for i in 0..<3 {
            let b = try Buffer(count: 512, from: c.allocator)
            var sqe = SQE.read(nsid: 1, slba: UInt64(i), nlb: 0)
            let keep = try DataPointer.attach(b, to: &sqe, pageSize: c.pageSize, allocator: c.allocator)
            try qp(c).submit(sqe, data: keep) { got.items.append($0) }
            bufs.append(b)
        }
        #expect(qp(c).outstanding == 3)
        let r = try c.cyclePowerState()
        #expect(r.reinitialized && r.commandsAborted >= 3)
        #expect(got.items.count == 3 && got.items.allSatisfy { $0.origin == .abortedByReset })
        #expect(try readBack(c))
    }

    func qp(_ c: Controller) -> QueuePair { c.ioQueues[0] }

    func readBack(_ c: Controller) throws -> Bool {
        let out = try Buffer(count: 4096, from: c.allocator)
        out.region.copyBytes(from: (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 12) }, to: out.offset)
        #expect(try write(c, c.ioQueues[0], out, slba: 8).isSuccess)
        let back = try Buffer(count: 4096, from: c.allocator)
        #expect(try read(c, c.ioQueues[0], back, slba: 8).isSuccess)
        return back.compare(to: out) == nil
    }
}
