import Testing
import NVMeSpec

@Suite("Comparing statuses on SCT/SC only (Base §4.6.1, Figure 92)")
struct StatusMatchingTests {
    /// QEMU and the simulator set DNR on Invalid Field in Command: `==` sees a different Status Field.
    static let qemuInvalidField = CompletionStatus(sct: 0, sc: 0x02, dnr: true)

    @Test("`is` ignores DNR, More and CRD; `==` stays exact")
    func isIgnoresModifiers() {
        let s = Self.qemuInvalidField
        #expect(s != GenericStatus.invalidFieldInCommand.status)
        #expect(s.is(.invalidFieldInCommand))
        #expect(!s.is(.invalidCommandOpcode))
        let withAll = CompletionStatus(sct: 1, sc: 0x01, crd: 2, m: true, dnr: true)
        #expect(withAll.is(.invalidQueueIdentifier))
        #expect(withAll.matches(CommandSpecificStatus.invalidQueueIdentifier.status))
        #expect(!withAll.is(.invalidFieldInCommand), "same SC in another SCT is another status")
        #expect(CompletionStatus(sct: 2, sc: 0x81, dnr: true).is(.unrecoveredReadError))
        #expect(CompletionStatus(sct: 3, sc: 0x71).is(.commandAbortedByHost))
    }

    @Test("`is(any:)` and a `switch` on `generic` match on SCT/SC")
    func anyAndSwitch() {
        let s = Self.qemuInvalidField
        #expect(s.is(any: [CommandSpecificStatus.invalidQueueSize, GenericStatus.invalidFieldInCommand]))
        #expect(!s.is(any: [CommandSpecificStatus.invalidQueueSize, GenericStatus.lbaOutOfRange]))
        let matched: String
        switch s.generic {
        case .invalidCommandOpcode?: matched = "opcode"
        case .invalidFieldInCommand?: matched = "field"
        default: matched = "none"
        }
        #expect(matched == "field")
        #expect(s.commandSpecific == nil && CompletionStatus(sct: 1, sc: 9, dnr: true).commandSpecific == .invalidLogPage)
    }

    @Test("debugDescription and codeDescription name every field")
    func descriptions() {
        #expect(Self.qemuInvalidField.codeDescription == "SCT 0h SC 02h Invalid Field in Command")
        #expect(Self.qemuInvalidField.debugDescription
                == "CompletionStatus(sct: 0h, sc: 02h Invalid Field in Command, crd: 0, m: 0, dnr: 1)")
    }
}

@Suite("SQE, CQE and register types print field by field with spec names")
struct FieldDescriptionTests {
    @Test("a CQE prints its fields, the status by name and DNR")
    func cqe() {
        let e = CompletionQueueEntry(dw0: 0, sqhd: 3, sqid: 1, cid: 7, phase: true,
                                     status: CompletionStatus(sct: 0, sc: 2, dnr: true))
        #expect(e.description == "CQE(dw0: 0x0, sqhd: 3, sqid: 1, cid: 7, p: 1, status: SCT 0h SC 02h Invalid Field in Command, dnr: 1)")
        #expect(String(describing: e) == e.description)
        #expect(e.debugDescription.contains("dw1: 0x0") && e.debugDescription.contains("m: 0"))
    }

    @Test("an SQE prints opcode, CID, NSID and the non-zero dwords")
    func sqe() {
        var s = SubmissionQueueEntry(opcode: 0x06, nsid: 0)
        s.cid = 7; s.prp1 = 0x10000; s.cdw10 = 1
        #expect(s.description == "SQE(opc: 06h, cid: 7, nsid: 0x0, prp1: 0x10000, cdw10: 0x1)")
        #expect(s.debugDescription.contains("cdw15: 0x0"))
    }

    @Test("CAP, CC, CSTS and AQA print every field")
    func registers() {
        let cap = ControllerCapabilities(rawValue: 0x0040_1820_0F01_07FF)
        #expect(cap.description.hasPrefix("CAP(mqes: 2047, cqr: 1, ams: 0, to: 15, dstrd: 0, nssrs: 0"))
        #expect(cap.description.contains("cmbs: 0"))
        var cc = ControllerConfiguration(rawValue: 0); cc.en = true; cc.iosqes = 6; cc.iocqes = 4
        #expect(cc.description == "CC(en: 1, css: 0, mps: 0, ams: 0, shn: 0, iosqes: 6, iocqes: 4, crime: 0)")
        #expect(ControllerStatus(rawValue: 1).description == "CSTS(rdy: 1, cfs: 0, shst: 0, nssro: 0, pp: 0, st: 0)")
        #expect(ControllerStatus(rawValue: 0xFFFF_FFFF).description == "CSTS(FFFFFFFFh: device gone)")
        #expect(AdminQueueAttributes(asqs: 31, acqs: 15).description == "AQA(asqs: 31, acqs: 15)")
    }
}
