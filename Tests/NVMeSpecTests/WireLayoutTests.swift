import Testing
@testable import NVMeSpec

@Suite("Wire layouts")
struct WireLayoutTests {
    @Test("SQE is 64 bytes and every named field lands on its spec offset (Base §4.2 Fig. 88)")
    func sqeLayout() {
        var sqe = SubmissionQueueEntry()
        sqe.opc = 0x06; sqe.fuse = 1; sqe.psdt = 2; sqe.cid = 0xBEEF; sqe.nsid = 0x11223344
        sqe.cdw2 = 0xA2; sqe.cdw3 = 0xA3; sqe.mptr = 0x0102_0304_0506_0708
        sqe.prp1 = 0x1111_2222_3333_4444; sqe.prp2 = 0x5555_6666_7777_8888
        sqe.cdw10 = 10; sqe.cdw11 = 11; sqe.cdw12 = 12; sqe.cdw13 = 13; sqe.cdw14 = 14; sqe.cdw15 = 15
        let b = sqe.bytes
        #expect(b.count == SubmissionQueueEntry.size && b.count == 64)
        #expect(b[0] == 0x06 && b[1] == 0x81 && b[2] == 0xEF && b[3] == 0xBE)
        #expect(Array(b[4..<8]) == [0x44, 0x33, 0x22, 0x11])
        #expect(b[8] == 0xA2 && b[12] == 0xA3)
        #expect(Array(b[16..<24]) == [8, 7, 6, 5, 4, 3, 2, 1])
        #expect(b[24] == 0x44 && b[31] == 0x11 && b[32] == 0x88 && b[39] == 0x55)
        #expect(b[40] == 10 && b[44] == 11 && b[48] == 12 && b[52] == 13 && b[56] == 14 && b[60] == 15)
        #expect(SubmissionQueueEntry(bytes: b) == sqe)
        #expect(MemoryLayout<SubmissionQueueEntry>.size == 64)
    }

    @Test("CQE is 16 bytes: SQHD/SQID in DW2, CID/P/SF in DW3 (Base §4.6 Fig. 89)")
    func cqeLayout() {
        let st = CompletionStatus(sct: 1, sc: 0x0C, crd: 2, m: true, dnr: true)
        let cqe = CompletionQueueEntry(dw0: 0xDEAD_BEEF, dw1: 7, sqhd: 0x1234, sqid: 0x5678, cid: 0x9ABC, phase: true,
                                       status: st)
        let b = cqe.bytes
        #expect(b.count == 16)
        #expect(Array(b[8..<12]) == [0x34, 0x12, 0x78, 0x56])
        #expect(b[12] == 0xBC && b[13] == 0x9A)
        #expect(b[14] & 1 == 1)
        let sf = (UInt16(b[15]) << 8 | UInt16(b[14])) >> 1
        #expect(sf == st.rawValue)
        #expect(CompletionQueueEntry(bytes: b) == cqe)
        #expect(cqe.status.sct == 1 && cqe.status.sc == 0x0C && cqe.status.crd == 2 && cqe.status.m && cqe.status.dnr)
    }
}

@Suite("Wire layouts of the remaining structures")
struct MoreWireLayoutTests {
    @Test("every fixed-size structure has its spec size, and encodes to exactly that many bytes")
    func sizes() {
        #expect(IdentifyController().bytes.count == 4096 && IdentifyController.size == 4096)     // Base Fig. 275
        #expect(IdentifyNamespace().bytes.count == 4096)                                          // NVM Fig. 97
        #expect(ZonedIdentifyNamespace().bytes.count == 4096 && ZonedIdentifyController().bytes.count == 4096)
        #expect(NamespaceList().bytes.count == 4096 && NamespaceList.capacity == 1024)            // Base Fig. 277
        #expect(PowerStateDescriptor().bytes.count == 32)                                         // Base Fig. 276
        #expect(ErrorInformationEntry().bytes.count == 64)                                        // Base Fig. 205
        #expect(SMARTHealthLog().bytes.count == 512 && FirmwareSlotLog().bytes.count == 512)      // Figs. 207, 209
        #expect(CommandsSupportedAndEffectsLog().bytes.count == 4096)                             // Base Fig. 212
        #expect(SGLDescriptor().bytes.count == 16 && DatasetManagementRange(slba: 0, length: 0).bytes.count == 16)
    }

    @Test("SGL descriptor: address bytes 7:0, length 11:8, identifier byte 15 (Base Fig. 114-116)")
    func sglLayout() {
        var d = SGLDescriptor.dataBlock(address: 0x0102_0304_0506_0708, length: 0x1122_3344)
        d.subtype = 0x1
        let b = d.bytes
        #expect(Array(b[0..<8]) == [8, 7, 6, 5, 4, 3, 2, 1] && Array(b[8..<12]) == [0x44, 0x33, 0x22, 0x11])
        #expect(b[15] == 0x01 && b[12] == 0 && b[13] == 0 && b[14] == 0)
        #expect(SGLDescriptor.lastSegment(address: 0, length: 16).bytes[15] == 0x30)
        #expect(SGLDescriptor.segment(address: 0, length: 16).bytes[15] == 0x20)
        #expect(SGLDescriptor.bitBucket(length: 512).bytes[15] == 0x10)
        #expect(SGLDescriptor(bytes: b) == d)
    }

    @Test("PRP list page bytes are little-endian 8-byte entries in order")
    func prpListBytes() {
        let page = PRPLayout.ListPage(busAddress: 0, entries: [0x1122_3344_5566_7788, 1])
        #expect(page.bytes == [0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 1, 0, 0, 0, 0, 0, 0, 0])
    }
}
