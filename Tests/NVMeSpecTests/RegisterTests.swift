import Testing
@testable import NVMeSpec

@Suite("Controller registers")
struct RegisterTests {
    @Test("CAP as QEMU 7.2 reports it decodes to MQES 2047, TO 15, DSTRD 0, NSSRS 0 (Base §3.1.4.1)")
    func capFromQEMU() {
        let cap = ControllerCapabilities(rawValue: 0x0040_1820_0F01_07FF)
        #expect(cap.mqes == 2047)
        #expect(cap.cqr)
        #expect(cap.to == 15)
        #expect(cap.timeout == .milliseconds(7500))
        #expect(cap.dstrd == 0 && cap.doorbellStride == 4)
        #expect(!cap.nssrs)
        #expect(cap.css == 0xC1)
        #expect(cap.mpsmin == 0 && cap.mpsmax == 4)
        #expect(cap.cmbs == false && cap.pmrs == false)
    }

    @Test("doorbell offset is 0x1000 + (2*qid + isCQ) * (4 << DSTRD) (Base §3.1.4.23)", arguments: [0, 1, 3])
    func doorbellOffsets(dstrd: UInt8) {
        for qid: UInt16 in [0, 1, 7, 65535] {
            let stride = 4 << Int(dstrd)
            #expect(Doorbell.sqTailOffset(qid: qid, dstrd: dstrd) == 0x1000 + 2 * Int(qid) * stride)
            #expect(Doorbell.cqHeadOffset(qid: qid, dstrd: dstrd) == 0x1000 + (2 * Int(qid) + 1) * stride)
        }
    }

    @Test("CC fields round-trip without disturbing their neighbours (Base §3.1.4.5)")
    func ccRoundTrip() {
        var cc = ControllerConfiguration(rawValue: 0)
        cc.en = true; cc.css = 6; cc.mps = 1; cc.ams = 1; cc.shn = 2; cc.iosqes = 6; cc.iocqes = 4; cc.crime = true
        #expect(cc.rawValue == 0x0146_88E1)
        cc.mps = 0xF   // out-of-spec values are accepted: setters never validate
        #expect(cc.mps == 0xF && cc.ams == 1 && cc.css == 6)
        #expect(cc.pageSize == 1 << 27)
    }
}
