import NVMeSpec

/// Submission queue entries the driver itself issues, built field by field (NVMe Base 2.0c §5, NVM Command Set
/// §3). Data pointers are left zero: the caller attaches PRPs or SGLs. NVMeSpec's builders serve users; these are
/// the driver's own, kept in a namespace so the two never collide.
public enum DriverCommand {
    /// Identify (06h): CDW10 CNS 7:0, CNTID 31:16; CDW11 CSI 31:24.
    public static func identify(cns: UInt8, nsid: UInt32 = 0, cntid: UInt16 = 0, csi: UInt8 = 0) -> SQE {
        var s = SQE(opcode: AdminOpcode.identify.rawValue, nsid: nsid)
        s.cdw10 = UInt32(cns) | UInt32(cntid) << 16
        s.cdw11 = UInt32(csi) << 24
        return s
    }
    /// Get Log Page (02h): NUMD 0's based dwords split in NUMDL (CDW10 31:16) and NUMDU (CDW11 15:0), LSP, RAE (bit 15),
    /// LPOL/LPOU (CDW12/13).
    public static func getLogPage(lid: UInt8, nsid: UInt32 = 0xFFFF_FFFF, bytes: Int, offset: UInt64 = 0,
                                  rae: Bool = false, lsp: UInt8 = 0) -> SQE {
        var s = SQE(opcode: AdminOpcode.getLogPage.rawValue, nsid: nsid)
        let numd = UInt32(max(1, bytes / 4) - 1)
        s.cdw10 = UInt32(lid) | UInt32(lsp & 0x7F) << 8 | (rae ? 1 << 15 : 0) | (numd & 0xFFFF) << 16
        s.cdw11 = numd >> 16
        s.cdw12 = UInt32(truncatingIfNeeded: offset)
        s.cdw13 = UInt32(truncatingIfNeeded: offset >> 32)
        return s
    }
    /// Get Features (0Ah): CDW10 FID 7:0, SEL 10:8.
    public static func getFeatures(fid: UInt8, sel: UInt8 = 0, cdw11: UInt32 = 0, nsid: UInt32 = 0) -> SQE {
        var s = SQE(opcode: AdminOpcode.getFeatures.rawValue, nsid: nsid)
        s.cdw10 = UInt32(fid) | UInt32(sel & 7) << 8
        s.cdw11 = cdw11
        return s
    }
    /// Set Features (09h): CDW10 FID 7:0, SV bit 31.
    public static func setFeatures(fid: UInt8, cdw11: UInt32, cdw12: UInt32 = 0, save: Bool = false, nsid: UInt32 = 0) -> SQE {
        var s = SQE(opcode: AdminOpcode.setFeatures.rawValue, nsid: nsid)
        s.cdw10 = UInt32(fid) | (save ? 1 << 31 : 0)
        s.cdw11 = cdw11
        s.cdw12 = cdw12
        return s
    }
    /// Set Features Number of Queues (FID 07h): NSQR 15:0, NCQR 31:16, both 0's based.
    public static func setNumberOfQueues(submission: Int, completion: Int) -> SQE {
        setFeatures(fid: 0x07, cdw11: UInt32(submission - 1) & 0xFFFF | (UInt32(completion - 1) & 0xFFFF) << 16)
    }
    /// Create I/O Completion Queue (05h): CDW10 QSIZE 31:16 (0's based) QID 15:0; CDW11 IV 31:16, IEN bit 1, PC bit 0.
    public static func createIOCompletionQueue(qid: UInt16, depth: Int, prp1: UInt64, vector: UInt16?,
                                               physicallyContiguous: Bool = true) -> SQE {
        var s = SQE(opcode: AdminOpcode.createIOCompletionQueue.rawValue)
        s.prp1 = prp1
        s.cdw10 = UInt32(qid) | (UInt32(depth - 1) & 0xFFFF) << 16
        s.cdw11 = (physicallyContiguous ? 1 : 0) | (vector != nil ? 2 : 0) | UInt32(vector ?? 0) << 16
        return s
    }
    /// Create I/O Submission Queue (01h): CDW10 QSIZE/QID; CDW11 CQID 31:16, QPRIO 2:1, PC bit 0; CDW12 NVMSETID.
    public static func createIOSubmissionQueue(qid: UInt16, depth: Int, prp1: UInt64, cqid: UInt16,
                                               priority: UInt8 = 0, physicallyContiguous: Bool = true) -> SQE {
        var s = SQE(opcode: AdminOpcode.createIOSubmissionQueue.rawValue)
        s.prp1 = prp1
        s.cdw10 = UInt32(qid) | (UInt32(depth - 1) & 0xFFFF) << 16
        s.cdw11 = (physicallyContiguous ? 1 : 0) | UInt32(priority & 3) << 1 | UInt32(cqid) << 16
        return s
    }
    /// Delete I/O Submission Queue (00h) / Completion Queue (04h): CDW10 QID 15:0.
    public static func deleteIOSubmissionQueue(qid: UInt16) -> SQE {
        var s = SQE(opcode: AdminOpcode.deleteIOSubmissionQueue.rawValue); s.cdw10 = UInt32(qid); return s
    }
    public static func deleteIOCompletionQueue(qid: UInt16) -> SQE {
        var s = SQE(opcode: AdminOpcode.deleteIOCompletionQueue.rawValue); s.cdw10 = UInt32(qid); return s
    }
    /// Asynchronous Event Request (0Ch).
    public static func asynchronousEventRequest() -> SQE { SQE(opcode: AdminOpcode.asynchronousEventRequest.rawValue) }
    /// Abort (08h): CDW10 SQID 15:0, CID 31:16.
    public static func abort(sqid: UInt16, cid: UInt16) -> SQE {
        var s = SQE(opcode: AdminOpcode.abort.rawValue); s.cdw10 = UInt32(sqid) | UInt32(cid) << 16; return s
    }
    /// Doorbell Buffer Config (7Ch): PRP1 shadow doorbell page, PRP2 EventIdx page.
    public static func doorbellBufferConfig(shadow: UInt64, eventIdx: UInt64) -> SQE {
        var s = SQE(opcode: AdminOpcode.doorbellBufferConfig.rawValue); s.prp1 = shadow; s.prp2 = eventIdx; return s
    }
    /// Read (02h) / Write (01h): SLBA in CDW11:10, NLB 0's based in CDW12 15:0.
    public static func read(nsid: UInt32, slba: UInt64, blocks: Int) -> SQE { rw(.read, nsid, slba, blocks) }
    public static func write(nsid: UInt32, slba: UInt64, blocks: Int) -> SQE { rw(.write, nsid, slba, blocks) }
    static func rw(_ op: IOOpcode, _ nsid: UInt32, _ slba: UInt64, _ blocks: Int) -> SQE {
        var s = SQE(opcode: op.rawValue, nsid: nsid)
        s.cdw10 = UInt32(truncatingIfNeeded: slba)
        s.cdw11 = UInt32(truncatingIfNeeded: slba >> 32)
        s.cdw12 = UInt32(blocks - 1) & 0xFFFF
        return s
    }
    /// Flush (00h).
    public static func flush(nsid: UInt32) -> SQE { SQE(opcode: IOOpcode.flush.rawValue, nsid: nsid) }
}
