import Foundation
import NVMeDriver
import NVMePlatform
import NVMeSpec
import Testing

/// Copy (19h) with Source Range Entries in Descriptor Format 0h on QEMU 7.2 (NVM Command Set 1.0 §3.2.2;
/// docs/copy.md). The limits are read from Identify Namespace, not assumed.
@Suite("Copy (19h) on QEMU (vfio, noiommu, uio)", .serialized, .enabled(if: driverBackends, driverNotHere))
struct CopyDeviceTests {
    struct Limits { var mssrl: Int; var mcl: Int; var msrc: Int; var nsze: UInt64; var blockSize: Int }

    func limits(_ c: Controller) throws -> Limits {
        let ns = try #require(IdentifyNamespace(bytes: try c.identify(cns: 0, nsid: 1)))
        return Limits(mssrl: Int(ns.mssrl), mcl: Int(ns.mcl), msrc: Int(ns.msrc), nsze: ns.nsze, blockSize: c.namespaces[0].blockSize)
    }

    func copy(_ c: Controller, _ qp: QueuePair, sdlba: UInt64, ranges: [CopySourceRangeFormat0], desfmt: UInt8 = 0) throws -> Completion {
        let data = CopySourceRangeFormat0.buffer(ranges)
        let buf = try Buffer(count: max(4096, (data.count + 4095) / 4096 * 4096), from: c.allocator)
        buf.region.copyBytes(from: data, to: buf.offset)
        var sqe = SQE.copy(nsid: 1, sdlba: sdlba, nr: UInt8(ranges.count - 1), desfmt: desfmt)
        let keep = try DataPointer.attach(buf, to: &sqe, pageSize: c.pageSize, allocator: c.allocator)
        return qp.execute(sqe, data: keep)
    }

    func io(_ c: Controller, _ qp: QueuePair, _ buf: Buffer, slba: UInt64, write: Bool) throws -> Completion {
        let blocks = buf.count / c.namespaces[0].blockSize
        var sqe = write ? SQE.write(nsid: 1, slba: slba, nlb: UInt16(blocks - 1)) : SQE.read(nsid: 1, slba: slba, nlb: UInt16(blocks - 1))
        let keep = try DataPointer.attach(buf, to: &sqe, pageSize: c.pageSize, allocator: c.allocator)
        return qp.execute(sqe, data: keep)
    }

    func r(_ slba: UInt64, _ blocks: Int) -> CopySourceRangeFormat0 { CopySourceRangeFormat0(slba: slba, blockCount: blocks)! }

    @Test("Identify: ONCS.Copy and OCFS format 0h; MSSRL/MCL/MSRC printed as read")
    func identify() throws {
        let c = try openGuestController { $0.ioQueueCount = 1 }
        defer { c.close() }
        let id = try #require(IdentifyController(bytes: try c.identify(cns: 1)))
        #expect(id.oncsCopy, "ONCS 0x\(String(id.oncs, radix: 16)) without Copy")
        #expect(id.ocfsSupports(format: 0), "OCFS 0x\(String(id.ocfs, radix: 16))")
        let l = try limits(c)
        print("Copy limits: MSSRL \(l.mssrl) MCL \(l.mcl) MSRC \(l.msrc) (\(l.msrc + 1) ranges), OCFS 0x\(String(id.ocfs, radix: 16))")
        #expect(l.mssrl >= 1 && l.mcl >= l.mssrl)
    }

    @Test("three ranges copied to SDLBA read back as the sources, back to back")
    func copiesRanges() throws {
        let c = try openGuestController { $0.ioQueueCount = 1 }
        defer { c.close() }
        let qp = c.ioQueues[0]
        let bs = c.namespaces[0].blockSize
        let src = try Buffer(count: 64 * bs, from: c.allocator)
        let pattern = (0..<(64 * bs)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 / bs) }   // each block differs
        src.region.copyBytes(from: pattern, to: src.offset)
        #expect(try io(c, qp, src, slba: 0, write: true).isSuccess)
        let ranges = [r(0, 4), r(20, 8), r(40, 4)]
        let done = try copy(c, qp, sdlba: 5000, ranges: ranges)
        #expect(done.isSuccess, "\(done.status)")
        let back = try Buffer(count: 16 * bs, from: c.allocator)
        #expect(try io(c, qp, back, slba: 5000, write: false).isSuccess)
        let expected = ranges.flatMap { pattern[(Int($0.slba) * bs)..<((Int($0.slba) + $0.blockCount) * bs)] }
        #expect(back.compare(to: expected) == nil)
    }

    @Test("NR above MSRC, a range above MSSRL: Command Size Limit Exceeded (1h/83h) with DNR (MSSRL: known QEMU 7.2 deviation)")
    func sizeLimits() throws {
        let c = try openGuestController { $0.ioQueueCount = 1 }
        defer { c.close() }
        let qp = c.ioQueues[0]
        let l = try limits(c)
        // NVM Command Set 1.0 §3.2.2: more Source Range entries than MSRC allows, or a Source Range entry longer
        // than MSSRL, aborts the command with Command Size Limit Exceeded.
        try #require(l.msrc + 2 <= 256, "MSRC \(l.msrc): NR cannot exceed it (8-bit field)")
        let tooMany = (0..<(l.msrc + 2)).map { r(UInt64($0), 1) }
        let a = try copy(c, qp, sdlba: 6000, ranges: tooMany)
        #expect(a.status.sct == 1 && a.status.sc == 0x83 && a.status.dnr, "NR = MSRC + 1: \(a.status)")
        try #require(l.mssrl < 65_536, "MSSRL \(l.mssrl): no longer range fits NLB")
        let b = try copy(c, qp, sdlba: 6000, ranges: [r(0, l.mssrl + 1)])
        // QEMU 7.2 answers Internal Error (00h/06h): its per-range checks set the status, then the failed AIO path
        // overwrites it (docs/copy.md).
        withKnownIssue("QEMU 7.2: a range above MSSRL completes with Internal Error (00h/06h)") {
            #expect(b.status.sct == 1 && b.status.sc == 0x83 && b.status.dnr, "NLB + 1 = MSSRL + 1: \(b.status)")
        }
        #expect(!b.status.isSuccess, "a range above MSSRL must not be copied")
    }

    @Test("ranges each within MSSRL but longer than MCL in total: Command Size Limit Exceeded (1h/83h) (known QEMU 7.2 deviation: not enforced)")
    func copyLengthLimit() throws {
        let c = try openGuestController { $0.ioQueueCount = 1 }
        defer { c.close() }
        let qp = c.ioQueues[0]
        let l = try limits(c)
        let n = (l.mcl + 1 + l.mssrl - 1) / l.mssrl
        try #require(n <= l.msrc + 1, "MCL \(l.mcl) + 1 needs \(n) ranges of MSSRL \(l.mssrl), more than MSRC allows")
        var left = l.mcl + 1
        var ranges: [CopySourceRangeFormat0] = []
        while left > 0 { let k = min(left, l.mssrl); ranges.append(r(UInt64(ranges.count * l.mssrl), k)); left -= k }
        let done = try copy(c, qp, sdlba: 8000, ranges: ranges)
        // NVM Command Set 1.0 §3.2.2: the sum of the ranges' lengths above MCL aborts with Command Size Limit Exceeded.
        // QEMU 7.2 does not check MCL: the copy succeeds (docs/copy.md).
        withKnownIssue("QEMU 7.2 does not enforce MCL: the copy completes successfully") {
            #expect(done.status.sct == 1 && done.status.sc == 0x83 && done.status.dnr, "\(ranges.count) ranges, \(l.mcl + 1) blocks: \(done.status)")
        }
    }

    @Test("a Descriptor Format not in OCFS is Invalid Field; a source or destination past NSZE is LBA Out of Range (known QEMU 7.2 deviation: Internal Error)")
    func fieldAndRangeErrors() throws {
        let c = try openGuestController { $0.ioQueueCount = 1 }
        defer { c.close() }
        let qp = c.ioQueues[0]
        let l = try limits(c)
        let f = try copy(c, qp, sdlba: 6000, ranges: [r(0, 1)], desfmt: 0xF)
        #expect(f.status.sct == 0 && f.status.sc == 0x02 && f.status.dnr, "DESFMT Fh: \(f.status)")
        let s = try copy(c, qp, sdlba: 6000, ranges: [r(l.nsze - 2, 4)])
        let d = try copy(c, qp, sdlba: l.nsze - 2, ranges: [r(0, 4)])
        #expect(!s.status.isSuccess && !d.status.isSuccess)
        // QEMU 7.2's bounds checks run per range in the AIO path and end as Internal Error (00h/06h) (docs/copy.md).
        withKnownIssue("QEMU 7.2: LBA ranges past NSZE complete with Internal Error (00h/06h)") {
            #expect(s.status.sct == 0 && s.status.sc == 0x80, "source past NSZE: \(s.status)")
            #expect(d.status.sct == 0 && d.status.sc == 0x80, "destination past NSZE: \(d.status)")
        }
    }
}
