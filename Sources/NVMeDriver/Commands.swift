import NVMeSpec

/// Submission queue entries the driver itself issues (NVMe Base 2.0c §5, NVM Command Set §3), as conveniences over
/// NVMeSpec's `SQE` builders. Data pointers are left zero: the caller attaches PRPs or SGLs.
///
/// Counting: labels `blocks:`, `depth:`, `bytes:`, `submissionQueues:`/`completionQueues:` are counts (1's based) and
/// throw `InvalidArgument` when the count cannot be encoded; labels `nlb:`, `qsize:`, `numd:`, `nsqr:`/`ncqr:` are
/// the 0's based wire values and take any raw value, valid or not.
public enum DriverCommand {
    /// Identify (06h): CDW10 CNS 7:0, CNTID 31:16; CDW11 CSI 31:24.
    public static func identify(cns: UInt8, nsid: UInt32 = 0, cntid: UInt16 = 0, csi: UInt8 = 0) -> SQE {
        .identify(cns: IdentifyCNS(rawValue: cns), nsid: nsid, cntid: cntid, csi: CommandSetIdentifier(rawValue: csi))
    }
    /// Get Log Page (02h) for `bytes` bytes (a count, rounded down to whole dwords): NUMD = bytes / 4 - 1, 0's based,
    /// split in NUMDL (CDW10 31:16) and NUMDU (CDW11 15:0); LSP, RAE (bit 15), LPOL/LPOU (CDW12/13).
    /// Throws `InvalidArgument` unless `bytes` is in 4...2^34 (what NUMD can say). Any raw NUMD: `getLogPage(lid:numd:)`.
    public static func getLogPage(lid: UInt8, nsid: UInt32 = 0xFFFF_FFFF, bytes: Int, offset: UInt64 = 0,
                                  rae: Bool = false, lsp: UInt8 = 0) throws -> SQE {
        try InvalidArgument.check("bytes", bytes, in: 4...(1 << 34))
        return getLogPage(lid: lid, nsid: nsid, numd: UInt32(bytes / 4 - 1), offset: offset, rae: rae, lsp: lsp)
    }
    /// Get Log Page (02h) with a raw `numd` (0's based dword count, as on the wire; any value). LSP is 7 bits wide:
    /// only `lsp` bits 6:0 are sent (`Controller.getLogPage` throws for a wider value).
    public static func getLogPage(lid: UInt8, nsid: UInt32 = 0xFFFF_FFFF, numd: UInt32, offset: UInt64 = 0,
                                  rae: Bool = false, lsp: UInt8 = 0) -> SQE {
        .getLogPage(lid: LogPageIdentifier(rawValue: lid), numd: numd, nsid: nsid, lsp: lsp & 0x7F, rae: rae, lpo: offset)
    }
    /// Get Features (0Ah): CDW10 FID 7:0, SEL 10:8. SEL is 3 bits wide: only `sel` bits 2:0 are sent (4...7 are
    /// reserved values, sent as given; `Controller.getFeatures` throws for `sel` > 7).
    public static func getFeatures(fid: UInt8, sel: UInt8 = 0, cdw11: UInt32 = 0, nsid: UInt32 = 0) -> SQE {
        .getFeatures(fid: FeatureIdentifier(rawValue: fid), sel: FeatureSelect(rawValue: sel & 7), cdw11: cdw11, nsid: nsid)
    }
    /// Set Features (09h): CDW10 FID 7:0, SV bit 31.
    public static func setFeatures(fid: UInt8, cdw11: UInt32, cdw12: UInt32 = 0, save: Bool = false, nsid: UInt32 = 0) -> SQE {
        .setFeatures(fid: FeatureIdentifier(rawValue: fid), cdw11: cdw11, cdw12: cdw12, sv: save, nsid: nsid)
    }
    /// Set Features Number of Queues (FID 07h) asking for `submissionQueues` I/O SQs and `completionQueues` I/O CQs
    /// (counts): NSQR = submissionQueues - 1 (CDW11 15:0), NCQR = completionQueues - 1 (31:16), both 0's based on the
    /// wire. Throws `InvalidArgument` unless each count is in 1...65536. Raw values: `setNumberOfQueues(nsqr:ncqr:)`.
    public static func setNumberOfQueues(submissionQueues: Int, completionQueues: Int) throws -> SQE {
        try InvalidArgument.check("submissionQueues", submissionQueues, in: 1...SQE.maximumCount16)
        try InvalidArgument.check("completionQueues", completionQueues, in: 1...SQE.maximumCount16)
        return setNumberOfQueues(nsqr: UInt16(submissionQueues - 1), ncqr: UInt16(completionQueues - 1))
    }
    /// Set Features Number of Queues (FID 07h) with raw 0's based NSQR and NCQR (any value, FFFFh included).
    public static func setNumberOfQueues(nsqr: UInt16, ncqr: UInt16) -> SQE {
        setFeatures(fid: 0x07, cdw11: UInt32(nsqr) | UInt32(ncqr) << 16)
    }
    @available(*, deprecated, renamed: "setNumberOfQueues(submissionQueues:completionQueues:)",
               message: "the labels are counts (1...65536); the raw 0's based form is setNumberOfQueues(nsqr:ncqr:)")
    public static func setNumberOfQueues(submission: Int, completion: Int) throws -> SQE {
        try setNumberOfQueues(submissionQueues: submission, completionQueues: completion)
    }
    /// Create I/O Completion Queue (05h) for a queue of `depth` entries (a count): QSIZE = depth - 1 (CDW10 31:16,
    /// 0's based) QID 15:0; CDW11 IV 31:16, IEN bit 1 (set when `vector` is not nil), PC bit 0.
    /// Throws `InvalidArgument` unless `depth` is in 1...65536. Any raw QSIZE: `createIOCompletionQueue(qid:qsize:…)`.
    public static func createIOCompletionQueue(qid: UInt16, depth: Int, prp1: UInt64, vector: UInt16?,
                                               physicallyContiguous: Bool = true) throws -> SQE {
        createIOCompletionQueue(qid: qid, qsize: try SQE.qsize(depth: depth), prp1: prp1, vector: vector,
                                physicallyContiguous: physicallyContiguous)
    }
    /// Create I/O Completion Queue (05h) with a raw 0's based `qsize` (any value, 0 included).
    public static func createIOCompletionQueue(qid: UInt16, qsize: UInt16, prp1: UInt64, vector: UInt16?,
                                               physicallyContiguous: Bool = true) -> SQE {
        var s = SQE.createIOCompletionQueue(qid: qid, qsize: qsize, pc: physicallyContiguous, ien: vector != nil,
                                            iv: vector ?? 0)
        s.prp1 = prp1
        return s
    }
    /// Create I/O Submission Queue (01h) for a queue of `depth` entries (a count): CDW10 QSIZE = depth - 1 (0's
    /// based) and QID; CDW11 CQID 31:16, QPRIO 2:1, PC bit 0. Throws `InvalidArgument` unless `depth` is in
    /// 1...65536. Any raw QSIZE: `createIOSubmissionQueue(qid:qsize:…)`.
    public static func createIOSubmissionQueue(qid: UInt16, depth: Int, prp1: UInt64, cqid: UInt16,
                                               priority: UInt8 = 0, physicallyContiguous: Bool = true) throws -> SQE {
        createIOSubmissionQueue(qid: qid, qsize: try SQE.qsize(depth: depth), prp1: prp1, cqid: cqid,
                                priority: priority, physicallyContiguous: physicallyContiguous)
    }
    /// Create I/O Submission Queue (01h) with a raw 0's based `qsize` (any value, 0 included).
    public static func createIOSubmissionQueue(qid: UInt16, qsize: UInt16, prp1: UInt64, cqid: UInt16,
                                               priority: UInt8 = 0, physicallyContiguous: Bool = true) -> SQE {
        var s = SQE.createIOSubmissionQueue(qid: qid, qsize: qsize, pc: physicallyContiguous, qprio: priority & 3,
                                            cqid: cqid)
        s.prp1 = prp1
        return s
    }
    /// Delete I/O Submission Queue (00h) / Completion Queue (04h): CDW10 QID 15:0.
    public static func deleteIOSubmissionQueue(qid: UInt16) -> SQE {
        .deleteIOSubmissionQueue(qid: qid)
    }
    public static func deleteIOCompletionQueue(qid: UInt16) -> SQE {
        .deleteIOCompletionQueue(qid: qid)
    }
    /// Asynchronous Event Request (0Ch).
    public static func asynchronousEventRequest() -> SQE { .asynchronousEventRequest() }
    /// Abort (08h): CDW10 SQID 15:0, CID 31:16.
    public static func abort(sqid: UInt16, cid: UInt16) -> SQE {
        .abort(sqid: sqid, cid: cid)
    }
    /// Doorbell Buffer Config (7Ch): PRP1 shadow doorbell page, PRP2 EventIdx page.
    public static func doorbellBufferConfig(shadow: UInt64, eventIdx: UInt64) -> SQE {
        .doorbellBufferConfig(shadowDoorbellBuffer: shadow, eventIdxBuffer: eventIdx)
    }
    /// Read (02h) / Write (01h) of `blocks` logical blocks (a count): SLBA in CDW11:10, NLB = blocks - 1 (0's based)
    /// in CDW12 15:0. Throws `InvalidArgument` unless `blocks` is in 1...65536. Any raw NLB: `read(nsid:slba:nlb:)`.
    public static func read(nsid: UInt32, slba: UInt64, blocks: Int) throws -> SQE {
        .read(nsid: nsid, slba: slba, nlb: try SQE.nlb(blocks: blocks))
    }
    public static func write(nsid: UInt32, slba: UInt64, blocks: Int) throws -> SQE {
        .write(nsid: nsid, slba: slba, nlb: try SQE.nlb(blocks: blocks))
    }
    /// Read (02h) / Write (01h) with a raw 0's based `nlb`, exactly as on the wire (any value, FFFFh included).
    public static func read(nsid: UInt32, slba: UInt64, nlb: UInt16) -> SQE { .read(nsid: nsid, slba: slba, nlb: nlb) }
    public static func write(nsid: UInt32, slba: UInt64, nlb: UInt16) -> SQE { .write(nsid: nsid, slba: slba, nlb: nlb) }
    /// Flush (00h).
    public static func flush(nsid: UInt32) -> SQE { .flush(nsid: nsid) }
}
