import Testing
@testable import NVMeSpec

/// Copy (19h) and its Source Range Entries, NVM Command Set 1.0 §3.2.2.
@Suite("Copy command (NVM Command Set 1.0 §3.2.2)")
struct CopyCommandTests {
    @Test("the builder puts SDLBA in CDW11:10, NR (0's based) in CDW12 7:0, DESFMT in 11:8, PRINFOR 15:12, PRINFOW 29:26, FUA, LR")
    func wireLayout() {
        let s = SubmissionQueueEntry.copy(nsid: 1, sdlba: 0x1_2345_6789, nr: 2, desfmt: 0, prinfor: 0xA, prinfow: 0x5,
                                          fua: true, lr: true, protection: .init(reftag: 7, apptag: 0x11, appmask: 0xFF00))
        #expect(s.opc == 0x19 && s.nsid == 1)
        #expect(s.cdw10 == 0x2345_6789 && s.cdw11 == 1)
        #expect(s.cdw12 == (2 | 0xA << 12 | 0x5 << 26 | 1 << 30 | 1 << 31))
        #expect(s.copyNR == 2 && s.copyDESFMT == 0 && s.copyPRINFOR == 0xA && s.copyPRINFOW == 5)
        #expect(s.cdw14 == 7 && s.cdw15 == 0xFF00_0011)
        var f = s; f.copyDESFMT = 0xF
        #expect(f.cdw12 & 0xF00 == 0xF00 && f.copyNR == 2)
    }

    @Test("a Format 0h entry is 32 bytes: SLBA at 15:8, NLB (0's based) at 17:16, EILBRT 27:24, ELBAT 29:28, ELBATM 31:30")
    func entryLayout() throws {
        let e = CopySourceRangeFormat0(slba: 0x0102_0304_0506_0708, nlb: 0x0A0B, eilbrt: 0xDEAD_BEEF, elbat: 0x1234, elbatm: 0xFFFF)
        let b = e.bytes
        #expect(b.count == 32)
        #expect(b[0..<8].allSatisfy { $0 == 0 } && b[18..<24].allSatisfy { $0 == 0 })
        #expect(Array(b[8..<16]) == [8, 7, 6, 5, 4, 3, 2, 1])
        #expect(Array(b[16..<18]) == [0x0B, 0x0A])
        #expect(Array(b[24..<28]) == [0xEF, 0xBE, 0xAD, 0xDE])
        #expect(Array(b[28..<32]) == [0x34, 0x12, 0xFF, 0xFF])
        #expect(CopySourceRangeFormat0(bytes: b) == e)
        #expect(CopySourceRangeFormat0(bytes: b.prefix(31)) == nil)
    }

    @Test("counts are 1's based in the labels and checked; the wire fields stay 0's based")
    func counts() throws {
        #expect(CopySourceRangeFormat0(slba: 0, blockCount: 0) == nil)
        #expect(CopySourceRangeFormat0(slba: 0, blockCount: 65_537) == nil)
        #expect(CopySourceRangeFormat0(slba: 9, blockCount: 65_536)?.nlb == 0xFFFF)
        let r = try #require(CopySourceRangeFormat0(slba: 9, blockCount: 8))
        #expect(r.nlb == 7 && r.blockCount == 8)
        #expect(SubmissionQueueEntry.copy(nsid: 1, sdlba: 0, ranges: []) == nil)
        #expect(SubmissionQueueEntry.copy(nsid: 1, sdlba: 0, ranges: Array(repeating: r, count: 257)) == nil)
        let c = try #require(SubmissionQueueEntry.copy(nsid: 1, sdlba: 100, ranges: Array(repeating: r, count: 256)))
        #expect(c.sqe.copyNR == 255 && c.data.count == 256 * 32)
    }

    @Test("QEMU 7.2's Identify: ONCS.Copy set, OCFS formats 0h and 1h, MSSRL 128, MCL 128, MSRC 127 (128 ranges)",
          .enabled(if: qemuFixturesPresent, "Fixtures/qemu not present (captured by tools/vm capture-fixtures)"))
    func qemuIdentify() throws {
        let ctrlBytes = try #require(fixture("qemu/controller-a/id-ctrl.bin"))
        let c = try #require(IdentifyController(bytes: ctrlBytes))
        #expect(c.oncsCopy && c.ocfsSupports(format: 0) && c.ocfsSupports(format: 1) && !c.ocfsSupports(format: 2))
        #expect(!c.ocfsSupports(format: -1) && !c.ocfsSupports(format: 16))
        let nsBytes = try #require(fixture("qemu/controller-a/id-ns-1.bin"))
        let n = try #require(IdentifyNamespace(bytes: nsBytes))
        #expect(n.mssrl == 128 && n.mcl == 128 && n.msrc == 127 && n.maxSourceRangeCount == 128)
    }
}
