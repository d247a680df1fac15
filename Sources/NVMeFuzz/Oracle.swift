/// The judges. Every finding is named by the oracle that tripped.
public enum OracleKind: String, Hashable, Sendable, Codable, CaseIterable, Comparable {
    /// A command that must complete did not complete within the deadline (a hang).
    case deadline
    /// The status is not valid for the command (e.g. success for a reserved opcode, an out-of-range LBA).
    case status
    /// CQE.CID matches no outstanding command, CQE.SQID is not the queue's, or CQE.SQHD is outside the queue.
    case completionEntry
    /// The controller wrote a completion entry whose phase tag is not the one the host expects.
    case phase
    /// CSTS.CFS went to 1 (controller fatal status).
    case controllerFatal
    /// The controller no longer answers Identify Controller, or answers with different identity bytes; or it
    /// could not be brought back by any reset.
    case identify
    /// Host memory around the DMA buffers (canary pages) changed.
    case hostMemoryCanary
    /// Canary LBAs no command was allowed to touch changed.
    case lbaCanary
    /// IOMMU (DMAR) faults or simulator bus faults: faults that well-formed pointers should never cause, or a
    /// command completed with success although its DMA faulted.
    case dmaFault
    /// The device disappeared: registers read all ones.
    case deviceAlive

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// One finding, before it becomes a repro file.
public struct Finding: Hashable, Sendable, Codable {
    public var oracle: OracleKind
    public var caseIndex: UInt64
    /// Queue and opcode of the command it is attributed to (nil: the case as a whole).
    public var qid: UInt16?
    public var opcode: UInt8?
    public var expected: String
    public var got: String

    public init(oracle: OracleKind, caseIndex: UInt64, qid: UInt16? = nil, opcode: UInt8? = nil, expected: String, got: String) {
        self.oracle = oracle; self.caseIndex = caseIndex; self.qid = qid; self.opcode = opcode
        self.expected = expected; self.got = got
    }

    /// What makes two findings "the same bug" for deduplication of repro files.
    public var signature: String {
        let q = qid.map { $0 == 0 ? "admin" : "io" } ?? "-"
        let o = opcode.map { hex($0) } ?? "-"
        return "\(oracle.rawValue)/\(q)/\(o)/\(expected.prefix(40))"
    }
}

/// What an oracle needs besides the outcome.
struct OracleContext {
    /// How long a command that must complete may take (`FuzzOptions.deadline`).
    var deadline: Duration
}

/// The oracles that judge a case from its outcome alone, in the order their findings are reported. Each lives in
/// `Sources/NVMeFuzz/Oracles/` as a pure function of the outcome: a new oracle gets a case in `OracleKind`, a file
/// there, and a line here. The runner filters the findings (`FuzzOptions.oracles`, `FuzzCase.exempt`) and decides
/// on recovery; oracles never touch the device.
enum Oracles {
    static func judge(_ o: CaseOutcome, _ context: OracleContext) -> [Finding] {
        var found: [Finding] = []
        for c in o.completions {
            found += CompletionEntryOracle.judge(c, caseIndex: o.caseIndex)
            found += StatusOracle.judge(c, caseIndex: o.caseIndex)
        }
        for u in o.unanswered {
            found += PhaseOracle.judge(u, caseIndex: o.caseIndex)
            found += DeadlineOracle.judge(u, caseIndex: o.caseIndex, context)
        }
        found += ControllerStateOracle.judge(o)
        found += HostMemoryCanaryOracle.judge(o)
        found += DMAFaultOracle.judge(o)
        return found
    }
}
