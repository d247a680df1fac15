import Testing
@testable import NVMeSpec

@Suite("Command builders and validation")
struct CommandBuilderTests {
    /// Reads a named field through the independent layout table, so builders and table check each other.
    func f(_ sqe: SubmissionQueueEntry, _ name: String, _ q: CommandQueueKind = .admin) -> UInt64 {
        guard let v = sqe.field(name, queue: q) else { Issue.record("no field \(name) for opcode \(sqe.opc)"); return .max }
        return v
    }

    @Test("Create I/O SQ packs QSIZE/QID in CDW10 and CQID/QPRIO/PC in CDW11 (Base §5.5 Fig. 153-154)")
    func createIOSQ() {
        let s = SubmissionQueueEntry.createIOSubmissionQueue(qid: 1, qsize: 255, pc: true, qprio: 2, cqid: 3, nvmsetid: 9)
        #expect(s.opc == 0x01)
        #expect(s.cdw10 == 0x00FF_0001)
        #expect(s.cdw11 == 0x0003_0005)   // CQID 3 << 16 | QPRIO 2 << 1 | PC
        #expect(s.cdw12 == 9)
        #expect(f(s, "QSIZE") == 255 && f(s, "QID") == 1 && f(s, "CQID") == 3 && f(s, "QPRIO") == 2 && f(s, "PC") == 1)
        #expect(s.prp1 == 0 && s.prp2 == 0 && s.cid == 0)
    }

    @Test("Create I/O CQ packs IV/IEN/PC in CDW11 (Base §5.4 Fig. 150)")
    func createIOCQ() {
        let s = SubmissionQueueEntry.createIOCompletionQueue(qid: 4, qsize: 1023, pc: true, ien: true, iv: 7)
        #expect(s.opc == 0x05 && s.cdw10 == 0x03FF_0004 && s.cdw11 == 0x0007_0003)
        #expect(f(s, "IV") == 7 && f(s, "IEN") == 1)
        let polled = SubmissionQueueEntry.createIOCompletionQueue(qid: 4, qsize: 1, pc: false, ien: false)
        #expect(polled.cdw11 == 0)
    }

    @Test("Delete I/O queues and Abort put QID / SQID:CID in CDW10 (Base §5.6, §5.7, §5.1)")
    func deleteAndAbort() {
        #expect(SubmissionQueueEntry.deleteIOSubmissionQueue(qid: 0x1234).cdw10 == 0x1234)
        #expect(SubmissionQueueEntry.deleteIOSubmissionQueue(qid: 1).opc == 0x00)
        #expect(SubmissionQueueEntry.deleteIOCompletionQueue(qid: 2).opc == 0x04)
        let a = SubmissionQueueEntry.abort(sqid: 3, cid: 0xABCD)
        #expect(a.opc == 0x08 && a.cdw10 == 0xABCD_0003)
    }

    @Test("Identify puts CNTID:CNS in CDW10 and CSI in CDW11 bits 31:24 (Base §5.17 Fig. 271-272)")
    func identify() {
        let s = SubmissionQueueEntry.identify(cns: .ioCommandSetSpecificNamespace, nsid: 1, cntid: 0x22, csi: .zonedNamespace)
        #expect(s.opc == 0x06 && s.nsid == 1 && s.cdw10 == 0x0022_0005 && s.cdw11 == 0x0200_0000)
        let odd = SubmissionQueueEntry.identify(cns: 0x9F)   // out-of-spec CNS is accepted
        #expect(odd.cdw10 == 0x9F)
        #expect(odd.validate(queue: .admin).contains { $0.field.contains("CNS") && $0.severity == .warning })
    }

    @Test("Get Log Page splits NUMD into NUMDL/NUMDU and LPO into CDW12/13 (Base §5.16 Fig. 197-201)")
    func getLogPage() {
        let s = SubmissionQueueEntry.getLogPage(lid: .smartHealthInformation, numd: 0x0012_3456, nsid: 1, lsp: 0x7F,
                                                rae: true, lpo: 0x1_0000_0008, lsi: 0xBEEF, csi: .zonedNamespace,
                                                ot: false, uuidIndex: 0x7F)
        #expect(s.opc == 0x02)
        #expect(s.cdw10 == 0x3456_0000 | 0x8000 | 0x7F00 | 0x02)
        #expect(s.cdw11 == 0xBEEF_0012)
        #expect(s.cdw12 == 8 && s.cdw13 == 1)
        #expect(s.cdw14 == 0x0200_007F)
        #expect(f(s, "LPO") == 0x1_0000_0008 && f(s, "LID") == 2 && f(s, "RAE") == 1 && f(s, "LSP") == 0x7F)
        #expect(SubmissionQueueEntry.numd(forByteCount: 512) == 127)
        #expect(SubmissionQueueEntry.numd(forByteCount: 513) == 128)
        #expect(SubmissionQueueEntry.getLogPage(lid: .errorInformation, length: 4096).cdw10 >> 16 == 1023)
    }

    @Test("Get/Set Features put SEL/SV and FID in CDW10 (Base §5.15 Fig. 314, §5.27 Fig. 316)")
    func features() {
        let g = SubmissionQueueEntry.getFeatures(fid: .numberOfQueues, sel: .supportedCapabilities)
        #expect(g.opc == 0x0A && g.cdw10 == 0x0307)
        let s = SubmissionQueueEntry.setFeatures(fid: .numberOfQueues, cdw11: 0x0003_0003, sv: true)
        #expect(s.opc == 0x09 && s.cdw10 == 0x8000_0007 && s.cdw11 == 0x0003_0003)
        #expect(s.validate(queue: .admin).isEmpty)
        #expect(SubmissionQueueEntry.getFeatures(fid: 0).validate(queue: .admin).contains { $0.severity == .error })
    }

    @Test("Format, sanitize, firmware, self-test, namespace commands place every field (Base §5.9-5.24)")
    func otherAdmin() {
        let fmt = SubmissionQueueEntry.formatNVM(nsid: 1, lbaf: 0x23, ses: .cryptographicErase, pi: 1, pil: true, mset: true)
        #expect(fmt.opc == 0x80 && fmt.cdw10 == (2 << 12 | 2 << 9 | 1 << 8 | 1 << 5 | 1 << 4 | 3))
        let san = SubmissionQueueEntry.sanitize(sanact: .overwrite, ause: true, owpass: 5, oipbp: true, ndas: true,
                                                ovrpat: 0xA5A5_A5A5)
        #expect(san.opc == 0x84 && san.cdw10 == (1 << 9 | 1 << 8 | 5 << 4 | 1 << 3 | 3) && san.cdw11 == 0xA5A5_A5A5)
        let fc = SubmissionQueueEntry.firmwareCommit(fs: 2, ca: .replaceAndActivate, bpid: true)
        #expect(fc.opc == 0x10 && fc.cdw10 == 0x8000_0000 | 1 << 3 | 2)
        let fd = SubmissionQueueEntry.firmwareImageDownload(numd: 1023, ofst: 2048)
        #expect(fd.opc == 0x11 && fd.cdw10 == 1023 && fd.cdw11 == 2048)
        let st = SubmissionQueueEntry.deviceSelfTest(stc: .extendedDeviceSelfTest, nsid: 0xFFFF_FFFF)
        #expect(st.opc == 0x14 && st.cdw10 == 2 && st.nsid == 0xFFFF_FFFF)
        let nm = SubmissionQueueEntry.namespaceManagement(sel: .delete, nsid: 3, csi: .zonedNamespace)
        #expect(nm.opc == 0x0D && nm.cdw10 == 1 && nm.cdw11 == 0x0200_0000)
        let na = SubmissionQueueEntry.namespaceAttachment(sel: .detach, nsid: 3)
        #expect(na.opc == 0x15 && na.cdw10 == 1)
        #expect(SubmissionQueueEntry.keepAlive().opc == 0x18)
        #expect(SubmissionQueueEntry.asynchronousEventRequest().opc == 0x0C)
        let dbc = SubmissionQueueEntry.doorbellBufferConfig(shadowDoorbellBuffer: 0x1000, eventIdxBuffer: 0x2000)
        #expect(dbc.opc == 0x7C && dbc.prp1 == 0x1000 && dbc.prp2 == 0x2000)
        for cmd in [fmt, san, fc, fd, st, nm, na, dbc] {
            #expect(cmd.validate(queue: .admin).isEmpty, "\(cmd.opc): \(cmd.validate(queue: .admin))")
        }
    }

    @Test("Read/Write pack SLBA, NLB, LR, FUA, PRINFO, DTYPE, DSPEC and tags (NVM §3.2.4, §3.2.6)")
    func readWrite() {
        let w = SubmissionQueueEntry.write(nsid: 1, slba: 0x1_2345_6789, nlb: 7, fua: true, lr: true, prinfo: 0b1101,
                                           dtype: .streams, dspec: 0x42, dsm: 0x11,
                                           protection: ProtectionTags(reftag: 0xCAFE, apptag: 0x1234, appmask: 0xFFFF))
        #expect(w.opc == 0x01 && w.nsid == 1)
        #expect(w.cdw10 == 0x2345_6789 && w.cdw11 == 1)
        #expect(w.cdw12 == (1 << 31 | 1 << 30 | 0b1101 << 26 | 1 << 20 | 7))
        #expect(w.cdw13 == 0x0042_0011 && w.cdw14 == 0xCAFE && w.cdw15 == 0xFFFF_1234)
        #expect(f(w, "SLBA", .io) == 0x1_2345_6789 && f(w, "DTYPE", .io) == 1 && f(w, "DSPEC", .io) == 0x42)
        #expect(w.validate(queue: .io).isEmpty)
        let r = SubmissionQueueEntry.read(nsid: 2, slba: 5, nlb: 0)
        #expect(r.opc == 0x02 && r.slba == 5 && r.nlb == 0 && r.cdw12 == 0)
        #expect(r.validate(queue: .io).isEmpty)
    }

    @Test("Other NVM and ZNS commands place their fields (NVM §3.2, ZNS §3.4)")
    func otherIO() {
        let wz = SubmissionQueueEntry.writeZeroes(nsid: 1, slba: 8, nlb: 15, deac: true)
        #expect(wz.opc == 0x08 && wz.cdw12 == (1 << 25 | 15))
        #expect(SubmissionQueueEntry.writeUncorrectable(nsid: 1, slba: 3, nlb: 1).cdw12 == 1)
        #expect(SubmissionQueueEntry.compare(nsid: 1, slba: 3, nlb: 1).opc == 0x05)
        #expect(SubmissionQueueEntry.verify(nsid: 1, slba: 3, nlb: 1).opc == 0x0C)
        #expect(SubmissionQueueEntry.flush(nsid: 0xFFFF_FFFF).validate(queue: .io).isEmpty)
        let dsm = SubmissionQueueEntry.datasetManagement(nsid: 1, nr: 3, attributes: [.ad, .idw])
        #expect(dsm.opc == 0x09 && dsm.cdw10 == 3 && dsm.cdw11 == 6)
        let zms = SubmissionQueueEntry.zoneManagementSend(nsid: 1, slba: 0x8000, zsa: .resetZone, selectAll: true)
        #expect(zms.opc == 0x79 && zms.slba == 0x8000 && zms.cdw13 == 0x104)
        let zmr = SubmissionQueueEntry.zoneManagementReceive(nsid: 1, slba: 0, numd: 1023, zra: .reportZones,
                                                             zrasf: .full, partial: true)
        #expect(zmr.opc == 0x7A && zmr.cdw12 == 1023 && zmr.cdw13 == (1 << 16 | 5 << 8))
        let za = SubmissionQueueEntry.zoneAppend(nsid: 1, zslba: 0x10000, nlb: 3, piremap: true)
        #expect(za.opc == 0x7D && za.slba == 0x10000 && za.cdw12 == (1 << 25 | 3))
        for c in [wz, dsm, zms, zmr, za] { #expect(c.validate(queue: .io).isEmpty, "\(c.opc): \(c.validate(queue: .io))") }
        let range = DatasetManagementRange(slba: 0x0102_0304_0506_0708, length: 0x10, contextAttributes: 0xAABB_CCDD)
        #expect(range.bytes == [0xDD, 0xCC, 0xBB, 0xAA, 0x10, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1])
        #expect(DatasetManagementRange(bytes: range.bytes) == range)
    }

    @Test("validate reports reserved bits, bad NSIDs, QID 0 and NLB beyond MDTS; builders stay permissive (Base §4.2)")
    func validation() {
        var s = SubmissionQueueEntry.deleteIOSubmissionQueue(qid: 1)
        s.cdw10 |= 0x0001_0000   // bit 16 of CDW10 is reserved for Delete I/O SQ
        s.cdw0Reserved = 1
        let findings = s.validate(queue: .admin)
        #expect(findings.contains { $0.field == "CDW10" && $0.severity == .error })
        #expect(findings.contains { $0.field == "CDW0[13:10]" })

        #expect(SubmissionQueueEntry.read(nsid: 0, slba: 0, nlb: 0).validate(queue: .io).contains { $0.field == "NSID" })
        #expect(SubmissionQueueEntry.read(nsid: 0xFFFF_FFFF, slba: 0, nlb: 0).validate(queue: .io).contains { $0.field == "NSID" })
        #expect(SubmissionQueueEntry.identify(cns: .controller, nsid: 1).validate(queue: .admin).contains { $0.field == "NSID" })
        #expect(SubmissionQueueEntry.identify(cns: .namespace, nsid: 1).validate(queue: .admin).isEmpty)

        let q0 = SubmissionQueueEntry.createIOCompletionQueue(qid: 0, qsize: 0)
        let qf = q0.validate(ValidationContext(queue: .admin, mqes: 2047))
        #expect(qf.contains { $0.field.hasSuffix("QID") } && qf.contains { $0.field.hasSuffix("QSIZE") })
        let big = SubmissionQueueEntry.createIOSubmissionQueue(qid: 1, qsize: 4096, cqid: 1)
        #expect(big.validate(ValidationContext(queue: .admin, mqes: 2047)).contains { $0.message.contains("MQES") })

        // MDTS 5 with 4 KiB pages = 128 KiB; 257 blocks of 512 B = 131584 B is over, 256 blocks is not.
        let mdts = ValidationContext.maxTransferBytes(mdts: 5, mpsminBytes: 4096)
        let ctx = ValidationContext(queue: .io, maxTransferBytes: mdts, lbaDataSize: 512)
        #expect(SubmissionQueueEntry.read(nsid: 1, slba: 0, nlb: 256).validate(ctx).contains { $0.field.hasSuffix("NLB") })
        #expect(SubmissionQueueEntry.read(nsid: 1, slba: 0, nlb: 255).validate(ctx).isEmpty)
        #expect(ValidationContext.maxTransferBytes(mdts: 0, mpsminBytes: 4096) == nil)

        var fused = SubmissionQueueEntry.read(nsid: 1, slba: 0, nlb: 0)
        fused.fuse = 1
        #expect(fused.validate(queue: .io).contains { $0.field.contains("FUSE") })
        #expect(SubmissionQueueEntry(opcode: 0xC1).validate(queue: .admin).allSatisfy { $0.severity == .note })
    }

    @Test("spec values print their name and raw value, and accept any raw value")
    func specValues() {
        #expect(IdentifyCNS.controller.description == "Identify Controller (01h)")
        #expect(IdentifyCNS(rawValue: 0x9F).description == "Reserved (9Fh)")
        #expect(FeatureIdentifier.numberOfQueues.rawValue == 0x07)
        #expect(LogPageIdentifier.smartHealthInformation.name == "SMART / Health Information")
        #expect(LogPageIdentifier.allDefined.first == .supportedLogPages)
    }
}
