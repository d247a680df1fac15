// The PCI Express, MSI-X, Power Management and AER capabilities field by field with the names PCIe Base 6.0 gives them
// (§7.5.3 PCI Express Capability, §7.7.2 MSI-X, §7.5.2 Power Management, §7.8.4 AER), for `nvmekit regs --pci`.

/// One register of a capability: offset in config space, spec name, raw value, decoded fields.
public struct PCIRegisterReport: Sendable, Hashable {
    public var offset: Int
    public var name: String
    public var width: Int
    public var value: UInt32
    /// `(spec name, value as printed)`.
    public var fields: [(String, String)]

    public static func == (a: Self, b: Self) -> Bool {
        a.offset == b.offset && a.name == b.name && a.value == b.value && a.fields.map(\.0) == b.fields.map(\.0)
            && a.fields.map(\.1) == b.fields.map(\.1)
    }
    public func hash(into h: inout Hasher) { h.combine(offset); h.combine(name); h.combine(value) }

    /// `0x084 Device Capabilities 0x10008000  Max_Payload_Size Supported=128 B …`.
    public var line: String {
        let raw = "0x" + hex(value, width: width * 2)
        let name = self.name + String(repeating: " ", count: max(0, 32 - self.name.count))
        return "0x\(hex(offset, width: 3)) \(name) \(raw)  " + fields.map { "\($0.0)=\($0.1)" }.joined(separator: ", ")
    }
}

/// The capabilities of one function decoded register by register.
public struct PCIConfigReport: Sendable {
    public var sections: [(title: String, registers: [PCIRegisterReport])] = []
    public var problems: [String]

    public init(config b: [UInt8]) {
        let caps = PCICapabilityList(config: b)
        problems = caps.problems
        func r16(_ o: Int) -> UInt32? { o + 2 <= b.count ? UInt32(le16(b, o)) : nil }
        func r32(_ o: Int) -> UInt32? { o + 4 <= b.count ? le32(b, o) : nil }
        func bits(_ v: UInt32, _ hi: Int, _ lo: Int) -> UInt32 { (v >> UInt32(lo)) & ((1 << UInt32(hi - lo + 1)) - 1) }
        func flag(_ v: UInt32, _ bit: Int) -> String { v & (1 << UInt32(bit)) != 0 ? "1" : "0" }
        func reg(_ o: Int, _ name: String, _ width: Int, _ fields: (UInt32) -> [(String, String)]) -> PCIRegisterReport? {
            guard let v = width == 2 ? r16(o) : r32(o) else { return nil }
            return PCIRegisterReport(offset: o, name: name, width: width, value: v, fields: fields(v))
        }
        func bytesName(_ code: UInt32) -> String { code <= 5 ? "\(128 << Int(code)) B" : "reserved (\(code))" }
        func speed(_ code: UInt32) -> String { code >= 1 && code <= 6 ? PCIExpressCapability.speedName(Int(code)) : "reserved (\(code))" }
        func named(_ v: UInt32, _ names: [Int: String]) -> String {
            let set = names.keys.sorted().filter { v & (1 << UInt32($0)) != 0 }.compactMap { names[$0] }
            return set.isEmpty ? "none" : set.joined(separator: " | ")
        }

        if let e = caps.first(PCICapability.pciExpress) {
            let o = e.offset
            let regs: [PCIRegisterReport?] = [
                reg(o + 2, "PCI Express Capabilities", 2) { v in [
                    ("Capability Version", "\(bits(v, 3, 0))"),
                    ("Device/Port Type", Self.portTypeName(Int(bits(v, 7, 4)))),
                    ("Slot Implemented", flag(v, 8)), ("Interrupt Message Number", "\(bits(v, 13, 9))")] },
                reg(o + 4, "Device Capabilities", 4) { v in [
                    ("Max_Payload_Size Supported", bytesName(bits(v, 2, 0))),
                    ("Phantom Functions Supported", "\(bits(v, 4, 3))"), ("Extended Tag Field Supported", flag(v, 5)),
                    ("Endpoint L0s Acceptable Latency", "\(bits(v, 8, 6))"), ("Endpoint L1 Acceptable Latency", "\(bits(v, 11, 9))"),
                    ("Role-Based Error Reporting", flag(v, 15)), ("ERR_COR Subclass Capable", flag(v, 16)),
                    ("Captured Slot Power Limit Value", "\(bits(v, 25, 18))"), ("Captured Slot Power Limit Scale", "\(bits(v, 27, 26))"),
                    ("Function Level Reset Capability", flag(v, 28))] },
                reg(o + 8, "Device Control", 2) { v in [
                    ("Correctable Error Reporting Enable", flag(v, 0)), ("Non-Fatal Error Reporting Enable", flag(v, 1)),
                    ("Fatal Error Reporting Enable", flag(v, 2)), ("Unsupported Request Reporting Enable", flag(v, 3)),
                    ("Enable Relaxed Ordering", flag(v, 4)), ("Max_Payload_Size", bytesName(bits(v, 7, 5))),
                    ("Extended Tag Field Enable", flag(v, 8)), ("Phantom Functions Enable", flag(v, 9)),
                    ("Aux Power PM Enable", flag(v, 10)), ("Enable No Snoop", flag(v, 11)),
                    ("Max_Read_Request_Size", bytesName(bits(v, 14, 12))), ("Initiate Function Level Reset", flag(v, 15))] },
                reg(o + 0xA, "Device Status", 2) { v in [
                    ("Correctable Error Detected", flag(v, 0)), ("Non-Fatal Error Detected", flag(v, 1)),
                    ("Fatal Error Detected", flag(v, 2)), ("Unsupported Request Detected", flag(v, 3)),
                    ("AUX Power Detected", flag(v, 4)), ("Transactions Pending", flag(v, 5)),
                    ("Emergency Power Reduction Detected", flag(v, 6))] },
                reg(o + 0xC, "Link Capabilities", 4) { v in [
                    ("Max Link Speed", speed(bits(v, 3, 0))), ("Maximum Link Width", "x\(bits(v, 9, 4))"),
                    ("ASPM Support", ["none", "L0s", "L1", "L0s and L1"][Int(bits(v, 11, 10))]),
                    ("L0s Exit Latency", "\(bits(v, 14, 12))"), ("L1 Exit Latency", "\(bits(v, 17, 15))"),
                    ("Clock Power Management", flag(v, 18)), ("Surprise Down Error Reporting Capable", flag(v, 19)),
                    ("Data Link Layer Link Active Reporting Capable", flag(v, 20)),
                    ("Link Bandwidth Notification Capability", flag(v, 21)), ("ASPM Optionality Compliance", flag(v, 22)),
                    ("Port Number", "\(bits(v, 31, 24))")] },
                reg(o + 0x10, "Link Control", 2) { v in [
                    ("ASPM Control", ["disabled", "L0s", "L1", "L0s and L1"][Int(bits(v, 1, 0))]),
                    ("Read Completion Boundary", flag(v, 3) == "1" ? "128 B" : "64 B"), ("Link Disable", flag(v, 4)),
                    ("Common Clock Configuration", flag(v, 6)), ("Extended Synch", flag(v, 7)),
                    ("Enable Clock Power Management", flag(v, 8))] },
                reg(o + 0x12, "Link Status", 2) { v in [
                    ("Current Link Speed", speed(bits(v, 3, 0))), ("Negotiated Link Width", "x\(bits(v, 9, 4))"),
                    ("Link Training", flag(v, 11)), ("Slot Clock Configuration", flag(v, 12)),
                    ("Data Link Layer Link Active", flag(v, 13)), ("Link Bandwidth Management Status", flag(v, 14)),
                    ("Link Autonomous Bandwidth Status", flag(v, 15))] },
            ]
            sections.append(("PCI Express Capability at 0x\(hex(o, width: 2)) (PCIe 6.0 §7.5.3)", regs.compactMap { $0 }))
        }
        if let m = caps.first(PCICapability.msix) {
            let o = m.offset
            let regs: [PCIRegisterReport?] = [
                reg(o + 2, "Message Control", 2) { v in [
                    ("Table Size", "\(bits(v, 10, 0)) (\(bits(v, 10, 0) + 1) vectors)"),
                    ("Function Mask", flag(v, 14)), ("MSI-X Enable", flag(v, 15))] },
                reg(o + 4, "Table Offset/Table BIR", 4) { v in [
                    ("Table BIR", "\(bits(v, 2, 0))"), ("Table Offset", "0x\(String(v & ~7, radix: 16))")] },
                reg(o + 8, "PBA Offset/PBA BIR", 4) { v in [
                    ("PBA BIR", "\(bits(v, 2, 0))"), ("PBA Offset", "0x\(String(v & ~7, radix: 16))")] },
            ]
            sections.append(("MSI-X Capability at 0x\(hex(o, width: 2)) (PCIe 6.0 §7.7.2)", regs.compactMap { $0 }))
        }
        if let p = caps.first(PCICapability.powerManagement) {
            let o = p.offset
            let regs: [PCIRegisterReport?] = [
                reg(o + 2, "Power Management Capabilities", 2) { v in [
                    ("Version", "\(bits(v, 2, 0))"), ("PME Clock", flag(v, 3)),
                    ("Immediate_Readiness_on_Return_to_D0", flag(v, 4)), ("Device Specific Initialization", flag(v, 5)),
                    ("Aux_Current", "\(bits(v, 8, 6))"), ("D1_Support", flag(v, 9)), ("D2_Support", flag(v, 10)),
                    ("PME_Support", "0x\(String(bits(v, 15, 11), radix: 16))")] },
                reg(o + 4, "Power Management Control/Status", 2) { v in [
                    ("PowerState", PCIPowerState(rawValue: UInt8(bits(v, 1, 0)))?.description ?? "?"),
                    ("No_Soft_Reset", flag(v, 3)), ("PME_En", flag(v, 8)), ("Data_Select", "\(bits(v, 12, 9))"),
                    ("Data_Scale", "\(bits(v, 14, 13))"), ("PME_Status", flag(v, 15))] },
            ]
            sections.append(("Power Management Capability at 0x\(hex(o, width: 2)) (PCIe 6.0 §7.5.2)", regs.compactMap { $0 }))
        }
        if let a = caps.firstExtended(PCIExtendedCapability.aer) {
            let o = a.offset
            let ue: [Int: String] = [
                4: "Data Link Protocol Error", 5: "Surprise Down Error", 12: "Poisoned TLP Received",
                13: "Flow Control Protocol Error", 14: "Completion Timeout", 15: "Completer Abort",
                16: "Unexpected Completion", 17: "Receiver Overflow", 18: "Malformed TLP", 19: "ECRC Error",
                20: "Unsupported Request Error", 21: "ACS Violation", 22: "Uncorrectable Internal Error",
                23: "MC Blocked TLP", 24: "AtomicOp Egress Blocked", 25: "TLP Prefix Blocked Error",
                26: "Poisoned TLP Egress Blocked"]
            let ce: [Int: String] = [
                0: "Receiver Error", 6: "Bad TLP", 7: "Bad DLLP", 8: "REPLAY_NUM Rollover", 12: "Replay Timer Timeout",
                13: "Advisory Non-Fatal Error", 14: "Corrected Internal Error", 15: "Header Log Overflow"]
            let regs: [PCIRegisterReport?] = [
                reg(o + 4, "Uncorrectable Error Status", 4) { v in [("set", named(v, ue))] },
                reg(o + 8, "Uncorrectable Error Mask", 4) { v in [("masked", named(v, ue))] },
                reg(o + 0xC, "Uncorrectable Error Severity", 4) { v in [("fatal", named(v, ue))] },
                reg(o + 0x10, "Correctable Error Status", 4) { v in [("set", named(v, ce))] },
                reg(o + 0x14, "Correctable Error Mask", 4) { v in [("masked", named(v, ce))] },
                reg(o + 0x18, "Advanced Error Capabilities and Control", 4) { v in [
                    ("First Error Pointer", "\(bits(v, 4, 0))"), ("ECRC Generation Capable", flag(v, 5)),
                    ("ECRC Generation Enable", flag(v, 6)), ("ECRC Check Capable", flag(v, 7)),
                    ("ECRC Check Enable", flag(v, 8))] },
            ]
            sections.append(("Advanced Error Reporting Extended Capability at 0x\(hex(o, width: 3)) v\(a.version) (PCIe 6.0 §7.8.4)",
                             regs.compactMap { $0 }))
        }
    }

    /// PCIe 6.0 §7.5.3.2 Device/Port Type encodings.
    public static func portTypeName(_ t: Int) -> String {
        switch t {
        case 0: "PCI Express Endpoint"
        case 1: "Legacy PCI Express Endpoint"
        case 4: "Root Port of PCI Express Root Complex"
        case 5: "Upstream Port of PCI Express Switch"
        case 6: "Downstream Port of PCI Express Switch"
        case 7: "PCI Express to PCI/PCI-X Bridge"
        case 8: "PCI/PCI-X to PCI Express Bridge"
        case 9: "Root Complex Integrated Endpoint"
        case 10: "Root Complex Event Collector"
        default: "reserved (\(t))"
        }
    }

    /// Every section title followed by its registers' lines, then "AER: not present" when it is absent.
    public var lines: [String] {
        var out: [String] = []
        for s in sections {
            out.append(s.title)
            out += s.registers.map { "  " + $0.line }
        }
        if !sections.contains(where: { $0.title.hasPrefix("Advanced Error Reporting") }) {
            out.append("Advanced Error Reporting Extended Capability: not present")
        }
        return out + problems.map { "problem: \($0)" }
    }
}
