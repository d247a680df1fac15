import Testing
@testable import NVMeSpec

@Suite("Completion status names")
struct StatusTests {
    @Test("statuses print as `Name (SCT/SC)` with CRD/M/DNR appended (Base §4.6.1)")
    func formatting() {
        #expect(CompletionStatus(sct: 0, sc: 2).description == "Invalid Field in Command (00/02)")
        #expect(CompletionStatus(sct: 0, sc: 0).description == "Successful Completion (00/00)")
        #expect(CompletionStatus(sct: 1, sc: 0xB9, dnr: true).description == "Zone Is Full (01/B9) DNR")
        #expect(CompletionStatus(sct: 2, sc: 0x81, crd: 1, m: true).description == "Unrecovered Read Error (02/81) CRD=1 M")
        #expect(CompletionStatus(sct: 3, sc: 0x71).description == "Command Aborted By Host (03/71)")
        #expect(GenericStatus.invalidFieldInCommand.description == "Invalid Field in Command (00/02)")
    }

    @Test("names from the spec tables, one per SCT, spot-checked against Figures 94, 95, 101, 103 and ZNS Figure 31")
    func specNames() {
        let expected: [(UInt8, UInt8, String)] = [
            (0, 0x01, "Invalid Command Opcode"), (0, 0x0B, "Invalid Namespace or Format"),
            (0, 0x13, "PRP Offset Invalid"), (0, 0x1D, "Sanitize In Progress"), (0, 0x24, "Admin Command Media Not Ready"),
            (0, 0x80, "LBA Out of Range"), (0, 0x84, "Format In Progress"),
            (1, 0x00, "Completion Queue Invalid"), (1, 0x01, "Invalid Queue Identifier"), (1, 0x02, "Invalid Queue Size"),
            (1, 0x08, "Invalid Interrupt Vector"), (1, 0x0C, "Invalid Queue Deletion"),
            (1, 0x2D, "Identifier Unavailable"), (1, 0x80, "Conflicting Attributes"),
            (1, 0x81, "Invalid Protection Information"), (1, 0xB8, "Zone Boundary Error"),
            (1, 0xBF, "Invalid Zone State Transition"),
            (2, 0x80, "Write Fault"), (2, 0x85, "Compare Failure"), (2, 0x87, "Deallocated or Unwritten Logical Block"),
            (3, 0x00, "Internal Path Error"), (3, 0x03, "Asymmetric Access Transition"), (3, 0x70, "Host Pathing Error"),
        ]
        for (sct, sc, name) in expected { #expect(StatusNames.name(sct: sct, sc: sc) == name, "\(sct)/\(sc)") }
    }

    @Test("undefined codes say which range they fall in")
    func reservedRanges() {
        #expect(StatusNames.name(sct: 0, sc: 0x17) == "Reserved")
        #expect(StatusNames.name(sct: 0, sc: 0x90) == "Reserved (I/O Command Set Specific)")
        #expect(StatusNames.name(sct: 1, sc: 0xC5) == "Vendor Specific")
        #expect(StatusNames.name(sct: 7, sc: 0x01) == "Vendor Specific")
        #expect(StatusNames.name(sct: 5, sc: 0x01) == "Reserved Status Code Type")
    }

    @Test("every named status round-trips through the 15-bit status field and keeps its name")
    func everyStatusRoundTrips() {
        var all: [(CompletionStatus, String)] = []
        all += GenericStatus.allCases.map { ($0.status, $0.name) }
        all += CommandSpecificStatus.allCases.map { ($0.status, $0.name) }
        all += MediaAndDataIntegrityStatus.allCases.map { ($0.status, $0.name) }
        all += PathStatus.allCases.map { ($0.status, $0.name) }
        #expect(all.count == GenericStatus.allCases.count + CommandSpecificStatus.allCases.count
                + MediaAndDataIntegrityStatus.allCases.count + PathStatus.allCases.count)
        #expect(Set(all.map { $0.0.code }).count == all.count)   // no two cases share SCT/SC
        for (s, name) in all {
            let cqe = CompletionQueueEntry(sqhd: 0, sqid: 0, cid: 0, phase: true, status: s)
            let back = CompletionQueueEntry(bytes: cqe.bytes)!.status
            #expect(back.name == name)
            #expect(back.description.hasPrefix(name + " ("))
        }
    }

    @Test("typed statuses match regardless of DNR/M/CRD and switch through the typed accessors")
    func matching() {
        let st = CompletionStatus(sct: 1, sc: 0x02, crd: 3, m: true, dnr: true)
        #expect(st.matches(CommandSpecificStatus.invalidQueueSize))
        #expect(!st.matches(GenericStatus.invalidFieldInCommand))
        #expect(st.commandSpecific == .invalidQueueSize && st.generic == nil)
        switch st.commandSpecific {
        case .invalidQueueSize?: break
        default: Issue.record("no match")
        }
        #expect(CompletionStatus(PathStatus.hostPathingError, dnr: true).dnr)
    }
}
