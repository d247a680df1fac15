import Foundation
import NVMeDriver
import NVMePlatform
import NVMeSpec

/// Little-endian reads from a data structure; bytes past the end read as zero.
func le<T: FixedWidthInteger>(_ b: [UInt8], _ offset: Int, _: T.Type = T.self) -> T {
    var v: T = 0
    for i in 0..<(T.bitWidth / 8) where offset + i >= 0 && offset + i < b.count {
        v |= T(truncatingIfNeeded: b[offset + i]) << (8 * i)
    }
    return v
}

func hex<T: FixedWidthInteger>(_ v: T) -> String { String(v, radix: 16, uppercase: true) + "h" }

/// Requirements shared by the areas, each naming the field that decides.
enum Requires {
    static func oncs(_ bit: Int, _ name: String) -> ConformanceRequirement {
        ConformanceRequirement(name) { c in
            let oncs = IdentifyController(bytes: c.identifyData)?.oncs ?? 0
            return (oncs >> UInt16(bit)) & 1 == 1 ? nil : "Identify Controller ONCS bit \(bit) = 0"
        }
    }
    static let compare = oncs(0, "Compare")
    static let writeZeroes = oncs(3, "Write Zeroes")
    static let saveSelect = oncs(4, "Save/Select in Set/Get Features")
    static let verify = oncs(7, "Verify")

    static func lpa(_ bit: Int, _ name: String) -> ConformanceRequirement {
        ConformanceRequirement(name) { c in
            let lpa = IdentifyController(bytes: c.identifyData)?.lpa ?? 0
            return (lpa >> UInt8(bit)) & 1 == 1 ? nil : "Identify Controller LPA bit \(bit) = 0"
        }
    }
    static let commandsSupportedLog = lpa(1, "Commands Supported and Effects log page")
    static let extendedLogData = lpa(2, "extended data for Get Log Page (LPOL/LPOU)")

    static let namespace = ConformanceRequirement("an active namespace") { c in
        c.namespaces.isEmpty ? "the active namespace list (Identify CNS 02h) is empty" : nil
    }
    static let cqr = ConformanceRequirement("contiguous queues required") { c in
        c.registers.cap.cqr ? nil : "CAP.CQR = 0"
    }
    static let mqesBelowMaximum = ConformanceRequirement("a queue size above CAP.MQES") { c in
        c.registers.cap.mqes == 0xFFFF ? "CAP.MQES = FFFFh (every QSIZE is within it)" : nil
    }
    static let msix = ConformanceRequirement("MSI-X") { c in
        c.interrupts.kind == .msix ? nil : "the function signals with \(c.interrupts.kind), not MSI-X"
    }
    static let mdts = ConformanceRequirement("a maximum data transfer size") { c in
        (IdentifyController(bytes: c.identifyData)?.mdts ?? 0) == 0 ? "Identify Controller MDTS = 0 (no limit)" : nil
    }
    static func all(_ rs: ConformanceRequirement...) -> ConformanceRequirement {
        ConformanceRequirement(rs.map(\.name).joined(separator: ", ")) { c in
            for r in rs { if let why = r.missing(c) { return why } }
            return nil
        }
    }
}

extension ConformanceContext {
    /// Allocates rings for an IO queue pair `qid` without creating it on the controller.
    func rings(qid: UInt16, depth: Int = 16) throws -> QueuePair {
        try controller.makeQueuePair(qid: qid, depth: depth, vector: nil)
    }

    /// Creates IO CQ `qid` (polled, `depth` entries) and returns its rings.
    func createCQ(_ qid: UInt16, depth: Int = 16) throws -> (Completion, QueuePair) {
        let qp = try rings(qid: qid, depth: depth)
        let c = controller.adminCommand(DriverCommand.createIOCompletionQueue(qid: qid, qsize: UInt16(depth - 1),
                                                                            prp1: qp.cq.busAddress, vector: nil),
                                        data: [qp.cq.memory])
        return (c, qp)
    }

    /// Creates IO SQ `qid` on CQ `cqid` with the rings of `qp`.
    func createSQ(_ qid: UInt16, cqid: UInt16, qp: QueuePair, qsize: UInt16? = nil) -> Completion {
        controller.adminCommand(DriverCommand.createIOSubmissionQueue(qid: qid, qsize: qsize ?? UInt16(qp.sq.depth - 1),
                                                                      prp1: qp.sq.busAddress, cqid: cqid),
                                data: [qp.sq.memory])
    }

    /// Requires a successful setup step; a failure here is a failure of the test's precondition, reported as such.
    func setupStep(_ c: Completion, _ what: String) throws {
        guard c.isSuccess else { throw ConformanceError("\(what) failed: \(ConformanceContext.observed(c))") }
    }

    /// Number of IO completion / submission queues the controller allocated (1-based counts).
    var grantedCQs: Int { controller.grantedQueues.completion }
    var grantedSQs: Int { controller.grantedQueues.submission }

    /// An NSID above Identify Controller NN that is not the broadcast value, or nil when none exists.
    var nsidAboveNN: UInt32? {
        let nn = identify.nn
        return nn < 0xFFFF_FFFE ? nn + 1 : nil
    }

    func requireNamespace() throws -> Namespace {
        guard let ns = namespace else { throw ConformanceError("no active namespace") }
        return ns
    }
}
