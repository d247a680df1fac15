// Admin command builders — NVMe Base 2.0c §5. Builders fill the command's own fields only: the data pointer
// (PRP1/PRP2 or SGL1), MPTR and CID are the driver's to fill from its buffers and its CID allocator. Builders are
// permissive: every field accepts any raw value; `validate()` reports what is out of spec.

extension SubmissionQueueEntry {
    /// Delete I/O Submission Queue (00h) — §5.7. CDW10[15:0] QID.
    public static func deleteIOSubmissionQueue(qid: UInt16) -> Self {
        var s = Self(opcode: AdminOpcode.deleteIOSubmissionQueue.rawValue)
        s.cdw10 = UInt32(qid)
        return s
    }

    /// Create I/O Submission Queue (01h) — §5.5. `qsize` is 0's based (entries - 1), as on the wire.
    /// PRP1 (the queue's base address) is left to the driver.
    public static func createIOSubmissionQueue(qid: UInt16, qsize: UInt16, pc: Bool = true, qprio: UInt8 = 0,
                                               cqid: UInt16, nvmsetid: UInt16 = 0) -> Self {
        var s = Self(opcode: AdminOpcode.createIOSubmissionQueue.rawValue)
        s.cdw10 = UInt32(qsize) << 16 | UInt32(qid)
        s.cdw11 = UInt32(cqid) << 16
        s.cdw11.setBits(2, 1, UInt32(qprio))
        s.cdw11.setBit(0, pc)
        s.cdw12 = UInt32(nvmsetid)
        return s
    }

    /// Get Log Page (02h) — §5.16. `numd` is the 0's based number of dwords (split into NUMDL/NUMDU); `lpo` is
    /// the byte offset (or index when `ot`), `rae` Retain Asynchronous Event.
    public static func getLogPage(lid: LogPageIdentifier, numd: UInt32, nsid: UInt32 = 0xFFFF_FFFF, lsp: UInt8 = 0,
                                  rae: Bool = false, lpo: UInt64 = 0, lsi: UInt16 = 0,
                                  csi: CommandSetIdentifier = .nvm, ot: Bool = false, uuidIndex: UInt8 = 0) -> Self {
        var s = Self(opcode: AdminOpcode.getLogPage.rawValue, nsid: nsid)
        s.cdw10.setBits(31, 16, numd & 0xFFFF)
        s.cdw10.setBit(15, rae)
        s.cdw10.setBits(14, 8, UInt32(lsp))
        s.cdw10.setBits(7, 0, UInt32(lid.rawValue))
        s.cdw11 = UInt32(lsi) << 16 | numd >> 16
        s.cdw12 = UInt32(truncatingIfNeeded: lpo)
        s.cdw13 = UInt32(truncatingIfNeeded: lpo >> 32)
        s.cdw14.setBits(31, 24, UInt32(csi.rawValue))
        s.cdw14.setBit(23, ot)
        s.cdw14.setBits(6, 0, UInt32(uuidIndex))
        return s
    }

    /// Get Log Page for `length` bytes (rounded up to whole dwords).
    public static func getLogPage(lid: LogPageIdentifier, length: Int, nsid: UInt32 = 0xFFFF_FFFF,
                                  lsp: UInt8 = 0, rae: Bool = false, lpo: UInt64 = 0) -> Self {
        getLogPage(lid: lid, numd: numd(forByteCount: length), nsid: nsid, lsp: lsp, rae: rae, lpo: lpo)
    }

    /// The 0's based dword count covering `byteCount` bytes (0 for an empty transfer, which the field can't say).
    public static func numd(forByteCount byteCount: Int) -> UInt32 {
        byteCount <= 0 ? 0 : UInt32(truncatingIfNeeded: (byteCount - 1) / 4)
    }

    /// Delete I/O Completion Queue (04h) — §5.6. CDW10[15:0] QID.
    public static func deleteIOCompletionQueue(qid: UInt16) -> Self {
        var s = Self(opcode: AdminOpcode.deleteIOCompletionQueue.rawValue)
        s.cdw10 = UInt32(qid)
        return s
    }

    /// Create I/O Completion Queue (05h) — §5.4. `qsize` is 0's based. PRP1 is left to the driver.
    public static func createIOCompletionQueue(qid: UInt16, qsize: UInt16, pc: Bool = true, ien: Bool = true,
                                               iv: UInt16 = 0) -> Self {
        var s = Self(opcode: AdminOpcode.createIOCompletionQueue.rawValue)
        s.cdw10 = UInt32(qsize) << 16 | UInt32(qid)
        s.cdw11 = UInt32(iv) << 16
        s.cdw11.setBit(1, ien)
        s.cdw11.setBit(0, pc)
        return s
    }

    /// Identify (06h) — §5.17. CDW10: CNTID[31:16], CNS[7:0]; CDW11: CSI[31:24], CNSSID[15:0]; CDW14 UUID index.
    public static func identify(cns: IdentifyCNS, nsid: UInt32 = 0, cntid: UInt16 = 0,
                                csi: CommandSetIdentifier = .nvm, cnssid: UInt16 = 0, uuidIndex: UInt8 = 0) -> Self {
        var s = Self(opcode: AdminOpcode.identify.rawValue, nsid: nsid)
        s.cdw10 = UInt32(cntid) << 16 | UInt32(cns.rawValue)
        s.cdw11 = UInt32(csi.rawValue) << 24 | UInt32(cnssid)
        s.cdw14.setBits(6, 0, UInt32(uuidIndex))
        return s
    }

    /// Abort (08h) — §5.1. CDW10: CID[31:16], SQID[15:0].
    public static func abort(sqid: UInt16, cid: UInt16) -> Self {
        var s = Self(opcode: AdminOpcode.abort.rawValue)
        s.cdw10 = UInt32(cid) << 16 | UInt32(sqid)
        return s
    }

    /// Set Features (09h) — §5.27. CDW10: SV[31], FID[7:0]; CDW11-13 and CDW15 feature specific.
    public static func setFeatures(fid: FeatureIdentifier, cdw11: UInt32 = 0, cdw12: UInt32 = 0, cdw13: UInt32 = 0,
                                   cdw15: UInt32 = 0, sv: Bool = false, nsid: UInt32 = 0,
                                   uuidIndex: UInt8 = 0) -> Self {
        var s = Self(opcode: AdminOpcode.setFeatures.rawValue, nsid: nsid)
        s.cdw10 = UInt32(fid.rawValue)
        s.cdw10.setBit(31, sv)
        s.cdw11 = cdw11; s.cdw12 = cdw12; s.cdw13 = cdw13; s.cdw15 = cdw15
        s.cdw14.setBits(6, 0, UInt32(uuidIndex))
        return s
    }

    /// Get Features (0Ah) — §5.15. CDW10: SEL[10:8], FID[7:0]; CDW11 feature specific.
    public static func getFeatures(fid: FeatureIdentifier, sel: FeatureSelect = .current, cdw11: UInt32 = 0,
                                   nsid: UInt32 = 0, uuidIndex: UInt8 = 0) -> Self {
        var s = Self(opcode: AdminOpcode.getFeatures.rawValue, nsid: nsid)
        s.cdw10.setBits(10, 8, UInt32(sel.rawValue))
        s.cdw10.setBits(7, 0, UInt32(fid.rawValue))
        s.cdw11 = cdw11
        s.cdw14.setBits(6, 0, UInt32(uuidIndex))
        return s
    }

    /// Asynchronous Event Request (0Ch) — §5.2. No fields; completes only when an event happens.
    public static func asynchronousEventRequest() -> Self {
        Self(opcode: AdminOpcode.asynchronousEventRequest.rawValue)
    }

    /// Namespace Management (0Dh) — §5.20. CDW10 SEL[3:0]; CDW11 CSI[31:24]. Create: NSID 0 and a data
    /// structure; delete: the NSID (or FFFFFFFFh).
    public static func namespaceManagement(sel: NamespaceManagementSelect, nsid: UInt32 = 0,
                                           csi: CommandSetIdentifier = .nvm) -> Self {
        var s = Self(opcode: AdminOpcode.namespaceManagement.rawValue, nsid: nsid)
        s.cdw10.setBits(3, 0, UInt32(sel.rawValue))
        s.cdw11.setBits(31, 24, UInt32(csi.rawValue))
        return s
    }

    /// Firmware Commit (10h) — §5.12. CDW10: BPID[31], CA[5:3], FS[2:0].
    public static func firmwareCommit(fs: UInt8, ca: FirmwareCommitAction, bpid: Bool = false) -> Self {
        var s = Self(opcode: AdminOpcode.firmwareCommit.rawValue)
        s.cdw10.setBit(31, bpid)
        s.cdw10.setBits(5, 3, UInt32(ca.rawValue))
        s.cdw10.setBits(2, 0, UInt32(fs))
        return s
    }

    /// Firmware Image Download (11h) — §5.13. CDW10 NUMD (0's based dwords), CDW11 OFST (in dwords).
    public static func firmwareImageDownload(numd: UInt32, ofst: UInt32) -> Self {
        var s = Self(opcode: AdminOpcode.firmwareImageDownload.rawValue)
        s.cdw10 = numd; s.cdw11 = ofst
        return s
    }

    /// Device Self-test (14h) — §5.9. CDW10 STC[3:0]; NSID 0 (controller only), an NSID, or FFFFFFFFh.
    public static func deviceSelfTest(stc: SelfTestCode, nsid: UInt32 = 0) -> Self {
        var s = Self(opcode: AdminOpcode.deviceSelfTest.rawValue, nsid: nsid)
        s.cdw10.setBits(3, 0, UInt32(stc.rawValue))
        return s
    }

    /// Namespace Attachment (15h) — §5.19. CDW10 SEL[3:0]; the data is a Controller List.
    public static func namespaceAttachment(sel: NamespaceAttachmentSelect, nsid: UInt32) -> Self {
        var s = Self(opcode: AdminOpcode.namespaceAttachment.rawValue, nsid: nsid)
        s.cdw10.setBits(3, 0, UInt32(sel.rawValue))
        return s
    }

    /// Keep Alive (18h) — §5.18.
    public static func keepAlive() -> Self { Self(opcode: AdminOpcode.keepAlive.rawValue) }

    /// Doorbell Buffer Config (7Ch) — §5.8. PRP1 is the Shadow Doorbell buffer, PRP2 the EventIdx buffer (both
    /// page aligned, one memory page each). These are the command's parameters, so the builder sets them.
    public static func doorbellBufferConfig(shadowDoorbellBuffer: UInt64 = 0, eventIdxBuffer: UInt64 = 0) -> Self {
        var s = Self(opcode: AdminOpcode.doorbellBufferConfig.rawValue)
        s.prp1 = shadowDoorbellBuffer
        s.prp2 = eventIdxBuffer
        return s
    }

    /// Format NVM (80h) — §5.14 / NVM Command Set §4.1. `lbaf` is the format index: bits 3:0 go to LBAFL,
    /// bits 5:4 to LBAFU. `pi` is the protection information type (0 none, 1-3 Type 1-3).
    public static func formatNVM(nsid: UInt32, lbaf: UInt8, ses: SecureEraseSetting = .none, pi: UInt8 = 0,
                                 pil: Bool = false, mset: Bool = false) -> Self {
        var s = Self(opcode: AdminOpcode.formatNVM.rawValue, nsid: nsid)
        s.cdw10.setBits(13, 12, UInt32(lbaf >> 4))
        s.cdw10.setBits(11, 9, UInt32(ses.rawValue))
        s.cdw10.setBit(8, pil)
        s.cdw10.setBits(7, 5, UInt32(pi))
        s.cdw10.setBit(4, mset)
        s.cdw10.setBits(3, 0, UInt32(lbaf & 0xF))
        return s
    }

    /// Sanitize (84h) — §5.24. CDW10: NDAS[9], OIPBP[8], OWPASS[7:4], AUSE[3], SANACT[2:0]; CDW11 OVRPAT.
    public static func sanitize(sanact: SanitizeAction, ause: Bool = false, owpass: UInt8 = 0, oipbp: Bool = false,
                                ndas: Bool = false, ovrpat: UInt32 = 0) -> Self {
        var s = Self(opcode: AdminOpcode.sanitize.rawValue)
        s.cdw10.setBit(9, ndas)
        s.cdw10.setBit(8, oipbp)
        s.cdw10.setBits(7, 4, UInt32(owpass))
        s.cdw10.setBit(3, ause)
        s.cdw10.setBits(2, 0, UInt32(sanact.rawValue))
        s.cdw11 = ovrpat
        return s
    }
}
