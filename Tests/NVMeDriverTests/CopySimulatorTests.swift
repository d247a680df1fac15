import Foundation
import NVMePlatform
import NVMeSimulator
import NVMeSpec
import Testing
@testable import NVMeDriver

/// Sends a Copy of `ranges` (Descriptor Format `desfmt`) to `sdlba` on `qp` and waits.
func runCopy(_ c: Controller, _ qp: QueuePair, nsid: UInt32 = 1, sdlba: UInt64, ranges: [CopySourceRangeFormat0],
             desfmt: UInt8 = 0) throws -> Completion {
    let data = CopySourceRangeFormat0.buffer(ranges)
    let buf = try Buffer(count: max(4096, (data.count + 4095) / 4096 * 4096), from: c.allocator)
    buf.region.copyBytes(from: data, to: buf.offset)
    var sqe = SQE.copy(nsid: nsid, sdlba: sdlba, nr: UInt8(ranges.count - 1), desfmt: desfmt)
    let keep = try DataPointer.attach(buf, to: &sqe, pageSize: c.pageSize, allocator: c.allocator)
    return qp.execute(sqe, data: keep)
}

/// Copy on the simulator with small limits (MSSRL 8, MCL 16, MSRC 2 = three ranges) so that every limit is cheap to hit.
@Suite("Copy (19h) on the simulator: ranges copied, MSSRL/MCL/MSRC enforced (NVM Command Set 1.0 §3.2.2)")
struct CopySimulatorTests {
    func controller() throws -> (SimulatedController, Controller) {
        try simController { cfg in
            var ns = NamespaceConfiguration(nsid: 1, blockCount: 4096)
            ns.mssrl = 8; ns.mcl = 16; ns.msrc = 2
            cfg.namespaces = [ns]
        }
    }

    func r(_ slba: UInt64, _ blocks: Int) -> CopySourceRangeFormat0 { CopySourceRangeFormat0(slba: slba, blockCount: blocks)! }

    @Test("Identify reports ONCS.Copy, OCFS format 0h and the configured MSSRL/MCL/MSRC")
    func identify() throws {
        let (_, c) = try controller()
        defer { c.close() }
        let id = try #require(IdentifyController(bytes: try c.identify(cns: 1)))
        #expect(id.oncsCopy && id.ocfsSupports(format: 0) && !id.ocfsSupports(format: 1))
        let ns = try #require(IdentifyNamespace(bytes: try c.identify(cns: 0, nsid: 1)))
        #expect(ns.mssrl == 8 && ns.mcl == 16 && ns.msrc == 2 && ns.maxSourceRangeCount == 3)
    }

    @Test("three ranges land back to back at SDLBA and read back as the sources")
    func copiesRanges() throws {
        let (sim, c) = try controller()
        defer { c.close() }
        let qp = c.ioQueues[0]
        let src = try Buffer(count: 64 * 512, from: c.allocator)
        let pattern = (0..<(64 * 512)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 / 512) }   // each block differs
        src.region.copyBytes(from: pattern, to: src.offset)
        #expect(try write(c, qp, src, slba: 0).isSuccess)
        let ranges = [r(0, 4), r(20, 8), r(40, 4)]
        let done = try runCopy(c, qp, sdlba: 1000, ranges: ranges)
        #expect(done.isSuccess, "\(done.status)")
        let expected = ranges.flatMap { pattern[(Int($0.slba) * 512)..<((Int($0.slba) + $0.blockCount) * 512)] }
        let back = try Buffer(count: 16 * 512, from: c.allocator)
        #expect(try read(c, qp, back, slba: 1000).isSuccess)
        #expect(back.compare(to: expected) == nil)
        #expect(sim.readBlocks(nsid: 1, lba: 1016, count: 1) == [UInt8](repeating: 0, count: 512), "nothing past the copy")
    }

    @Test("each limit gives the spec's status and leaves the destination untouched",
          arguments: [
            ("NR above MSRC: four ranges", [(0, 1), (1, 1), (2, 1), (3, 1)], UInt8(0), UInt64(2000), 1, 0x83),
            ("a range longer than MSSRL (9 > 8)", [(0, 9)], 0, 2000, 1, 0x83),
            ("ranges longer than MCL in total (8+8+1 > 16)", [(0, 8), (10, 8), (20, 1)], 0, 2000, 1, 0x83),
            ("Descriptor Format 1h, not in OCFS", [(0, 1)], 1, 2000, 0, 0x02),
            ("a source range past the namespace", [(4094, 4)], 0, 2000, 0, 0x80),
            ("the destination past the namespace", [(0, 4)], 0, 4094, 0, 0x80),
          ] as [(String, [(Int, Int)], UInt8, UInt64, Int, Int)])
    func limits(_ why: String, ranges: [(Int, Int)], desfmt: UInt8, sdlba: UInt64, sct: Int, sc: Int) throws {
        let (sim, c) = try controller()
        defer { c.close() }
        let qp = c.ioQueues[0]
        let src = try Buffer(count: 32 * 512, from: c.allocator)
        src.region.copyBytes(from: (0..<(32 * 512)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }, to: src.offset)
        #expect(try write(c, qp, src, slba: 0).isSuccess)
        let done = try runCopy(c, qp, sdlba: sdlba, ranges: ranges.map { r(UInt64($0.0), $0.1) }, desfmt: desfmt)
        #expect(Int(done.status.sct) == sct && Int(done.status.sc) == sc && done.status.dnr, "\(why): \(done.status)")
        if sdlba + 4 <= 4096 {
            #expect(sim.readBlocks(nsid: 1, lba: sdlba, count: 1) == [UInt8](repeating: 0, count: 512), "\(why): destination written")
        }
    }
}
