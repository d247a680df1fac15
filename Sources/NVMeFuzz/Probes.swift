#if canImport(Glibc)
import Glibc
#endif
import Foundation
import NVMeDriver
import NVMePlatform
import NVMeSpec

/// Commands of the fuzzer's own: probes posted on the fuzzer's queues, and the periodic oracles (Identify, canary
/// LBAs) that need them.
extension FuzzRunner {
    /// Posts `sqe` on `qid` and polls for its completion; nil on timeout or a missing queue.
    func probe(_ sqe: SubmissionQueueEntry, qid: UInt16, timeout: Duration = .seconds(1)) -> CQE? {
        guard let q = queue(qid), q.sq.freeSlots > 0 else { return nil }
        var e = sqe
        let cid = cidForNext()
        e.cid = cid
        q.sq.post(e)
        q.sq.ring()
        let d = Deadline.after(timeout)
        var spins = 0
        while true {
            var found: CQE?
            var reaped = 0
            while reaped < q.cq.depth, let cqe = q.cq.reap() {
                reaped += 1
                if Int(cqe.sqhd) < q.sq.depth { q.sq.noteHead(cqe.sqhd) }
                if cqe.cid == cid { found = cqe } else { lingering[qid]?.remove(cqe.cid) }
            }
            if reaped > 0 { q.cq.ringHead() }
            if let found { return found }
            spins += 1
            if spins & 15 == 0 {
                if d.hasPassed { return nil }
                if target.device.bar0.csts.isAllOnes { return nil }
                sched_yield()
            }
        }
    }

    /// Identify Controller into the fuzzer's private page; nil when it does not complete successfully.
    func identifyController() -> [UInt8]? {
        var sqe = SubmissionQueueEntry(opcode: AdminOpcode.identify.rawValue)
        sqe.cdw10 = 1
        arena.fill(0, offset: identifyOffset, count: pageSize)
        sqe.prp1 = arena.busAddress(at: identifyOffset)
        guard let cqe = probe(sqe, qid: 0), cqe.status.isSuccess else { return nil }
        return arena.bytes(at: identifyOffset, count: 4096)
    }

    var lbaCanaryBytes: Int { environment.canaryBlocks * environment.blockSize }

    func lbaCommand(_ opc: IOOpcode) -> SubmissionQueueEntry {
        var sqe = SubmissionQueueEntry(opcode: opc.rawValue, nsid: 1)
        let slba = environment.firstCanaryBlock
        sqe.cdw10 = UInt32(truncatingIfNeeded: slba); sqe.cdw11 = UInt32(truncatingIfNeeded: slba >> 32)
        sqe.cdw12 = UInt32(environment.canaryBlocks - 1)
        sqe.prp1 = arena.busAddress(at: lbaOffset)
        let bytes = lbaCanaryBytes
        if bytes > pageSize {
            if bytes <= 2 * pageSize {
                sqe.prp2 = arena.busAddress(at: lbaOffset + pageSize)
            } else {
                // The PRP list for the canary buffer lives in the identify page's upper half (never fuzzed).
                let pages = (bytes + pageSize - 1) / pageSize
                for i in 1..<pages { arena.store(arena.busAddress(at: lbaOffset + i * pageSize), at: identifyOffset + 2048 + 8 * (i - 1)) }
                sqe.prp2 = arena.busAddress(at: identifyOffset + 2048)
            }
        }
        return sqe
    }

    @discardableResult
    func writeLBACanary() -> Bool {
        guard environment.activeNamespaces.contains(1), environment.blockCount > UInt64(environment.canaryBlocks),
              lbaCanaryBytes <= 8 * pageSize, io != nil else { return false }
        arena.withUnsafeMutableBytes { raw in for i in 0..<lbaCanaryBytes { raw[lbaOffset + i] = LBACanaryOracle.pattern(i) } }
        guard let cqe = probe(lbaCommand(.write), qid: environment.ioQueueID), cqe.status.isSuccess else { return false }
        lbaCanaryStale = false
        return true
    }

    /// Identify and canary LBA checks, every N cases (or now when `force`).
    func periodicChecks(caseIndex: UInt64, force: Bool) -> [Finding] {
        var out: [Finding] = []
        let n = summary.cases
        if options.oracles.contains(.identify), force || (options.identifyEvery > 0 && n % options.identifyEvery == 0) {
            if let f = checkIdentify(caseIndex: caseIndex) { out.append(f) }
        }
        if options.oracles.contains(.lbaCanary), force || (options.lbaCanaryEvery > 0 && n % options.lbaCanaryEvery == 0) {
            if lbaCanaryStale {
                writeLBACanary()
            } else if environment.activeNamespaces.contains(1), lbaCanaryBytes <= 8 * pageSize, io != nil {
                arena.fill(0, offset: lbaOffset, count: lbaCanaryBytes)
                if let cqe = probe(lbaCommand(.read), qid: environment.ioQueueID), cqe.status.isSuccess {
                    let got = arena.bytes(at: lbaOffset, count: lbaCanaryBytes)
                    if let f = LBACanaryOracle.judge(readBack: got, environment: environment, caseIndex: caseIndex) {
                        out.append(f)
                        writeLBACanary()
                    }
                }
            }
        }
        return out
    }

    func checkIdentify(caseIndex: UInt64) -> Finding? {
        guard let f = IdentifyOracle.judge(baseline: identifyBaseline, now: identifyController(), caseIndex: caseIndex) else {
            return nil
        }
        if !recover(caseIndex: caseIndex) {
            return Finding(oracle: .identify, caseIndex: caseIndex, expected: f.expected, got: f.got + "; no reset restored it")
        }
        return f
    }
}
