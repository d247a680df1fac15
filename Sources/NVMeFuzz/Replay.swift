#if canImport(Glibc)
import Glibc
#endif
import Foundation
import NVMeDriver
import NVMePlatform
import NVMeSpec

/// What replaying a repro showed.
public struct ReplayResult: Sendable {
    public var reproduced: Bool
    public var findings: [Finding]
}

/// Replay: runs a repro's cases again (the file format is in Repro.swift).
extension FuzzRunner {
    /// Re-initialises the controller, brings the queues to the repro's positions, runs its cases, and reports
    /// whether the same oracle trips on the failing case.
    public func replay(_ r: Repro) -> ReplayResult {
        replay(cases: r.cases, queueState: r.queueState, oracle: r.oracle)
    }

    public func replay(cases: [FuzzCase], queueState: [QueueState], oracle: OracleKind) -> ReplayResult {
        guard !cases.isEmpty else { return ReplayResult(reproduced: false, findings: []) }
        let savedOutput = options.outputDirectory
        options.outputDirectory = nil
        defer { options.outputDirectory = savedOutput }
        if !reinitialize() && !recover(caseIndex: cases.last!.index) { return ReplayResult(reproduced: false, findings: []) }
        align(to: queueState)
        var last: [Finding] = []
        for (i, c) in cases.enumerated() {
            let f = runCase(c)
            if i == cases.count - 1 { last = f }
        }
        if oracle == .lbaCanary || oracle == .identify {
            last += periodicChecks(caseIndex: cases.last!.index, force: true)
        }
        return ReplayResult(reproduced: last.contains { $0.oracle == oracle }, findings: last)
    }

    /// Advances each queue with harmless commands until its tail matches `state`.
    func align(to state: [QueueState]) {
        for s in state {
            guard let q = queue(s.qid), q.sq.depth == s.depth else { continue }
            var guardCount = 0
            while q.sq.tail != s.sqTail && guardCount < 2 * s.depth {
                guardCount += 1
                let sqe: SubmissionQueueEntry
                if s.qid == 0 {
                    var e = SubmissionQueueEntry(opcode: AdminOpcode.getFeatures.rawValue); e.cdw10 = 1; sqe = e
                } else {
                    sqe = SubmissionQueueEntry(opcode: IOOpcode.flush.rawValue, nsid: 1)
                }
                if probe(sqe, qid: s.qid) == nil { break }
            }
        }
    }
}
