import Synchronization

// PCI configuration space decoding: the type 0 header and the capability lists (PCI Local Bus 3.0 §6.7,
// PCIe Base 6.0 §7.5–7.9). Works on a byte blob, so captured config spaces are unit-testable; `ConfigSpace`
// gets the same through `readAll()`.

/// The type 0 configuration header (PCI Local Bus 3.0 §6.1).
public struct PCIConfigHeader: Sendable, Hashable {
    public var vendorID: UInt16, deviceID: UInt16
    public var command: UInt16, status: UInt16
    public var revisionID: UInt8
    /// Base class, subclass, programming interface: 0x010802 for NVMe.
    public var classCode: UInt32
    public var headerType: UInt8
    public var bars: [UInt32]
    public var subsystemVendorID: UInt16, subsystemID: UInt16
    public var capabilitiesPointer: UInt8
    public var interruptLine: UInt8, interruptPin: UInt8

    /// Decodes the 64-byte header; bytes missing from a shorter array read as 0.
    public init(_ bytes: [UInt8]) {
        let b = bytes.count >= 64 ? bytes : bytes + [UInt8](repeating: 0, count: 64 - bytes.count)
        vendorID = le16(b, 0x00); deviceID = le16(b, 0x02)
        command = le16(b, 0x04); status = le16(b, 0x06)
        revisionID = b[0x08]
        classCode = UInt32(b[0x0B]) << 16 | UInt32(b[0x0A]) << 8 | UInt32(b[0x09])
        headerType = b[0x0E]
        bars = (0..<6).map { le32(b, 0x10 + 4 * $0) }
        subsystemVendorID = le16(b, 0x2C); subsystemID = le16(b, 0x2E)
        capabilitiesPointer = b[0x34]
        interruptLine = b[0x3C]; interruptPin = b[0x3D]
    }

    /// Status bit 4: the capability list at 0x34 is valid.
    public var hasCapabilityList: Bool { status & 0x10 != 0 }
    public var isNVMe: Bool { classCode == PCIConfigHeader.nvmeClassCode }
    public static let nvmeClassCode: UInt32 = 0x01_08_02
}

/// PCI COMMAND register bits (PCI Local Bus 3.0 §6.2.2).
public struct PCICommand: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let ioSpace = PCICommand(rawValue: 1 << 0)
    public static let memorySpace = PCICommand(rawValue: 1 << 1)
    public static let busMaster = PCICommand(rawValue: 1 << 2)
    public static let parityErrorResponse = PCICommand(rawValue: 1 << 6)
    public static let serrEnable = PCICommand(rawValue: 1 << 8)
    public static let interruptDisable = PCICommand(rawValue: 1 << 10)
    public static let offset = 0x04
}

/// A capability in the standard list (0x40–0xFF).
public struct PCICapability: Sendable, Hashable {
    public var id: UInt8
    public var offset: Int
    public var name: String { PCICapability.names[id] ?? "Capability 0x\(hex(id, width: 2))" }
    public static let powerManagement: UInt8 = 0x01, msi: UInt8 = 0x05, vendorSpecific: UInt8 = 0x09
    public static let pciExpress: UInt8 = 0x10, msix: UInt8 = 0x11
    static let names: [UInt8: String] = [
        0x01: "Power Management", 0x03: "VPD", 0x05: "MSI", 0x09: "Vendor Specific", 0x0D: "Bridge Subsystem Vendor ID",
        0x10: "PCI Express", 0x11: "MSI-X", 0x12: "SATA", 0x13: "Advanced Features",
    ]
}

/// A capability in the extended list (0x100–0xFFF).
public struct PCIExtendedCapability: Sendable, Hashable {
    public var id: UInt16
    public var version: UInt8
    public var offset: Int
    public var name: String { PCIExtendedCapability.names[id] ?? "Extended Capability 0x\(hex(id, width: 4))" }
    public static let aer: UInt16 = 0x0001, deviceSerialNumber: UInt16 = 0x0003, ari: UInt16 = 0x000E
    public static let sriov: UInt16 = 0x0010
    static let names: [UInt16: String] = [
        0x0001: "Advanced Error Reporting", 0x0002: "Virtual Channel", 0x0003: "Device Serial Number",
        0x0004: "Power Budgeting", 0x000B: "Vendor Specific", 0x000D: "ACS", 0x000E: "ARI", 0x0010: "SR-IOV",
        0x0017: "TPH Requester", 0x0018: "Latency Tolerance Reporting", 0x0019: "Secondary PCI Express",
        0x001E: "L1 PM Substates", 0x0025: "Data Link Feature", 0x0026: "Physical Layer 16.0 GT/s",
    ]
}

/// Power Management capability (PCI PM 1.2 §3.2).
public struct PowerManagementCapability: Sendable, Hashable {
    public var offset: Int
    /// PMC, offset +2.
    public var pmc: UInt16
    /// PMCSR, offset +4.
    public var pmcsr: UInt16
    /// PMCSR bits 1:0: 0 = D0 … 3 = D3hot.
    public var powerState: UInt8 { UInt8(pmcsr & 3) }
    /// PMCSR bit 3: a D3hot→D0 transition does not reset the function.
    public var noSoftReset: Bool { pmcsr & 0x8 != 0 }
}

/// MSI capability (PCI Local Bus 3.0 §6.8.1).
public struct MSICapability: Sendable, Hashable {
    public var offset: Int
    /// Message Control, offset +2.
    public var messageControl: UInt16
    public var enabled: Bool { messageControl & 1 != 0 }
    /// Multiple Message Capable (bits 3:1) as a vector count.
    public var vectorsCapable: Int { 1 << Int((messageControl >> 1) & 7) }
    public var is64Bit: Bool { messageControl & (1 << 7) != 0 }
    public var perVectorMasking: Bool { messageControl & (1 << 8) != 0 }
}

/// MSI-X capability (PCI Local Bus 3.0 §6.8.2; PCIe 6.0 §7.7.2).
public struct MSIXCapability: Sendable, Hashable {
    public var offset: Int
    /// Message Control, offset +2.
    public var messageControl: UInt16
    /// Table Offset/BIR, offset +4.
    public var tableOffsetBIR: UInt32
    /// PBA Offset/BIR, offset +8.
    public var pbaOffsetBIR: UInt32
    /// Table Size (bits 10:0 are N-1) as a vector count.
    public var tableSize: Int { Int(messageControl & 0x7FF) + 1 }
    public var enabled: Bool { messageControl & (1 << 15) != 0 }
    public var functionMask: Bool { messageControl & (1 << 14) != 0 }
    public var tableBIR: Int { Int(tableOffsetBIR & 7) }
    public var tableOffset: Int { Int(tableOffsetBIR & ~7) }
    public var pbaBIR: Int { Int(pbaOffsetBIR & 7) }
    public var pbaOffset: Int { Int(pbaOffsetBIR & ~7) }
    /// Table entry layout (16 bytes per vector): Message Address, Upper Address, Data, Vector Control (bit 0 Mask).
    public static let entrySize = 16
    public static let vectorControlOffset = 12
}

/// PCI Express capability (PCIe 6.0 §7.5.3).
public struct PCIExpressCapability: Sendable, Hashable {
    public var offset: Int
    /// PCI Express Capabilities register, +2.
    public var capabilities: UInt16
    /// Device Capabilities, +4.
    public var deviceCapabilities: UInt32
    /// Device Control, +8.
    public var deviceControl: UInt16
    /// Device Status, +0xA.
    public var deviceStatus: UInt16
    /// Link Capabilities, +0xC.
    public var linkCapabilities: UInt32
    /// Link Status, +0x12.
    public var linkStatus: UInt16

    public var version: Int { Int(capabilities & 0xF) }
    /// Device/Port Type (bits 7:4): 0 = PCIe Endpoint, 9 = RC Integrated Endpoint, 4 = Root Port …
    public var deviceType: Int { Int((capabilities >> 4) & 0xF) }
    /// Device Capabilities bit 28.
    public var functionLevelResetCapable: Bool { deviceCapabilities & (1 << 28) != 0 }
    /// Max_Payload_Size Supported in bytes.
    public var maxPayloadSupported: Int { 128 << Int(deviceCapabilities & 7) }
    public var maxLinkSpeed: Int { Int(linkCapabilities & 0xF) }
    public var maxLinkWidth: Int { Int((linkCapabilities >> 4) & 0x3F) }
    public var currentLinkSpeed: Int { Int(linkStatus & 0xF) }
    public var currentLinkWidth: Int { Int((linkStatus >> 4) & 0x3F) }
    /// Device Control bit 15 (write 1 to start an FLR) — offset of the Device Control register.
    public var deviceControlOffset: Int { offset + 8 }
    /// `2.5 GT/s` … for a Link Speed encoding.
    public static func speedName(_ code: Int) -> String {
        ["?", "2.5 GT/s", "5 GT/s", "8 GT/s", "16 GT/s", "32 GT/s", "64 GT/s"][min(max(code, 0), 6)]
    }
}

/// Advanced Error Reporting (PCIe 6.0 §7.8.4).
public struct AERCapability: Sendable, Hashable {
    public var offset: Int
    public var uncorrectableStatus: UInt32, uncorrectableMask: UInt32, uncorrectableSeverity: UInt32
    public var correctableStatus: UInt32, correctableMask: UInt32
    public var capabilitiesAndControl: UInt32
    /// First Error Pointer (bits 4:0).
    public var firstErrorPointer: Int { Int(capabilitiesAndControl & 0x1F) }
}

/// Single Root I/O Virtualization (PCIe 6.0 §9.3.3).
public struct SRIOVCapability: Sendable, Hashable {
    public var offset: Int
    public var capabilities: UInt32
    public var control: UInt16
    public var initialVFs: Int, totalVFs: Int, numVFs: Int
    public var firstVFOffset: Int, vfStride: Int
    public var vfDeviceID: UInt16
    /// SR-IOV Control bit 0.
    public var vfEnable: Bool { control & 1 != 0 }
}

/// Both capability lists of one function, walked defensively: a loop, a pointer into the header, or a pointer past
/// the blob ends the walk and is reported in `problems`, never trapped on.
public struct PCICapabilityList: Sendable, Hashable {
    public var standard: [PCICapability] = []
    public var extended: [PCIExtendedCapability] = []
    /// What was wrong with the lists (empty for a well-formed function).
    public var problems: [String] = []
    private let bytes: [UInt8]

    public init(config bytes: [UInt8]) {
        self.bytes = bytes
        guard bytes.count >= 64 else { problems.append("config space shorter than the 64-byte header"); return }
        let header = PCIConfigHeader(bytes)
        if header.hasCapabilityList {
            var seen = Set<Int>()
            var p = Int(header.capabilitiesPointer & 0xFC)
            while p != 0 {
                if p < 0x40 || p + 2 > min(bytes.count, 256) {
                    problems.append("capability pointer 0x\(hex(p, width: 2)) outside 0x40–0xFF"); break
                }
                if !seen.insert(p).inserted { problems.append("capability list loops back to 0x\(hex(p, width: 2))"); break }
                standard.append(PCICapability(id: bytes[p], offset: p))
                p = Int(bytes[p + 1] & 0xFC)
            }
        }
        guard bytes.count >= 0x104 else { return }
        var seen = Set<Int>()
        var p = 0x100
        while p != 0 {
            if p < 0x100 || p + 4 > bytes.count {
                problems.append("extended capability pointer 0x\(hex(p, width: 3)) outside 0x100–0xFFF"); break
            }
            if !seen.insert(p).inserted { problems.append("extended capability list loops back to 0x\(hex(p, width: 3))"); break }
            let h = le32(bytes, p)
            if h == 0 || h == 0xFFFF_FFFF { break }   // no extended capabilities (or not readable)
            extended.append(PCIExtendedCapability(id: UInt16(h & 0xFFFF), version: UInt8((h >> 16) & 0xF), offset: p))
            p = Int((h >> 20) & 0xFFC)
        }
    }

    public func first(_ id: UInt8) -> PCICapability? { standard.first { $0.id == id } }
    public func firstExtended(_ id: UInt16) -> PCIExtendedCapability? { extended.first { $0.id == id } }

    private func reads(_ o: Int, _ n: Int) -> Bool { o + n <= bytes.count }

    public var powerManagement: PowerManagementCapability? {
        guard let c = first(PCICapability.powerManagement), reads(c.offset, 6) else { return nil }
        return .init(offset: c.offset, pmc: le16(bytes, c.offset + 2), pmcsr: le16(bytes, c.offset + 4))
    }
    public var msi: MSICapability? {
        guard let c = first(PCICapability.msi), reads(c.offset, 4) else { return nil }
        return .init(offset: c.offset, messageControl: le16(bytes, c.offset + 2))
    }
    public var msix: MSIXCapability? {
        guard let c = first(PCICapability.msix), reads(c.offset, 12) else { return nil }
        return .init(offset: c.offset, messageControl: le16(bytes, c.offset + 2),
                     tableOffsetBIR: le32(bytes, c.offset + 4), pbaOffsetBIR: le32(bytes, c.offset + 8))
    }
    public var pciExpress: PCIExpressCapability? {
        guard let c = first(PCICapability.pciExpress), reads(c.offset, 0x14) else { return nil }
        let o = c.offset
        return .init(offset: o, capabilities: le16(bytes, o + 2), deviceCapabilities: le32(bytes, o + 4),
                     deviceControl: le16(bytes, o + 8), deviceStatus: le16(bytes, o + 0xA),
                     linkCapabilities: le32(bytes, o + 0xC), linkStatus: le16(bytes, o + 0x12))
    }
    public var aer: AERCapability? {
        guard let c = firstExtended(PCIExtendedCapability.aer), reads(c.offset, 0x1C) else { return nil }
        let o = c.offset
        return .init(offset: o, uncorrectableStatus: le32(bytes, o + 4), uncorrectableMask: le32(bytes, o + 8),
                     uncorrectableSeverity: le32(bytes, o + 0xC), correctableStatus: le32(bytes, o + 0x10),
                     correctableMask: le32(bytes, o + 0x14), capabilitiesAndControl: le32(bytes, o + 0x18))
    }
    public var sriov: SRIOVCapability? {
        guard let c = firstExtended(PCIExtendedCapability.sriov), reads(c.offset, 0x20) else { return nil }
        let o = c.offset
        return .init(offset: o, capabilities: le32(bytes, o + 4), control: le16(bytes, o + 8),
                     initialVFs: Int(le16(bytes, o + 0xC)), totalVFs: Int(le16(bytes, o + 0xE)),
                     numVFs: Int(le16(bytes, o + 0x10)), firstVFOffset: Int(le16(bytes, o + 0x14)),
                     vfStride: Int(le16(bytes, o + 0x16)), vfDeviceID: le16(bytes, o + 0x1A))
    }

    /// One line per capability: `0x40 MSI-X: 65 vectors, table BAR0+0x2000, PBA BAR0+0x3000`.
    public var summary: [String] {
        var out: [String] = []
        for c in standard {
            var line = "0x\(hex(c.offset, width: 2)) \(c.name)"
            switch c.id {
            case PCICapability.msix:
                if let m = msix {
                    line += ": \(m.tableSize) vectors, table BAR\(m.tableBIR)+0x\(String(m.tableOffset, radix: 16)), "
                        + "PBA BAR\(m.pbaBIR)+0x\(String(m.pbaOffset, radix: 16))\(m.enabled ? ", enabled" : "")"
                }
            case PCICapability.msi:
                if let m = msi { line += ": \(m.vectorsCapable) vector(s)\(m.is64Bit ? ", 64-bit" : "")\(m.enabled ? ", enabled" : "")" }
            case PCICapability.pciExpress:
                if let e = pciExpress {
                    line += ": v\(e.version), type \(e.deviceType), link \(PCIExpressCapability.speedName(e.currentLinkSpeed)) x\(e.currentLinkWidth)"
                        + " (max \(PCIExpressCapability.speedName(e.maxLinkSpeed)) x\(e.maxLinkWidth))\(e.functionLevelResetCapable ? ", FLR" : "")"
                }
            case PCICapability.powerManagement:
                if let p = powerManagement { line += ": D\(p.powerState)" }
            default: break
            }
            out.append(line)
        }
        for c in extended {
            var line = "0x\(hex(c.offset, width: 3)) \(c.name) v\(c.version)"
            if c.id == PCIExtendedCapability.sriov, let s = sriov {
                line += ": \(s.numVFs)/\(s.totalVFs) VFs, VF device 0x\(hex(s.vfDeviceID, width: 4))"
            }
            out.append(line)
        }
        return out + problems.map { "problem: \($0)" }
    }
}

@inline(__always) func le16(_ b: [UInt8], _ o: Int) -> UInt16 { UInt16(b[o]) | UInt16(b[o + 1]) << 8 }
@inline(__always) func le32(_ b: [UInt8], _ o: Int) -> UInt32 {
    UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24
}

extension ConfigSpace {
    /// The whole config space (256 or 4096 bytes) as one blob.
    public func readAll() throws -> [UInt8] {
        var out = [UInt8](); out.reserveCapacity(length)
        var o = 0
        while o + 4 <= length {
            let v = try read32(at: o)
            out += [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8(v >> 24)]
            o += 4
        }
        return out
    }
    public func header() throws -> PCIConfigHeader { PCIConfigHeader(try (0..<16).flatMap { i -> [UInt8] in
        let v = try read32(at: 4 * i)
        return [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8(v >> 24)]
    }) }
    public func capabilities() throws -> PCICapabilityList { PCICapabilityList(config: try readAll()) }

    public var command: PCICommand { get throws { PCICommand(rawValue: try read16(at: PCICommand.offset)) } }
    public func setCommand(_ c: PCICommand) throws { try write16(c.rawValue, at: PCICommand.offset) }

    /// Sets COMMAND.memorySpace and COMMAND.busMaster (DMA without bus mastering never completes and sets CSTS.CFS).
    /// Returns the COMMAND value before the change.
    @discardableResult
    public func enableMemoryAndBusMaster() throws -> PCICommand {
        let before = try command
        let after = before.union([.memorySpace, .busMaster])
        if after != before { try setCommand(after) }
        return before
    }

    /// Starts a Function Level Reset through PCIe Device Control bit 15 (PCIe 6.0 §6.6.2) when the function
    /// advertises it. The caller waits 100 ms before touching the function again. Returns false when not capable.
    public func initiateFunctionLevelReset() throws -> Bool {
        guard let e = try capabilities().pciExpress, e.functionLevelResetCapable else { return false }
        let control = try read16(at: e.deviceControlOffset)
        try write16(control | 0x8000, at: e.deviceControlOffset)
        return true
    }
}

/// A config space held in memory: captured blobs, and the simulator's function.
public final class ByteConfigSpace: ConfigSpace, @unchecked Sendable {
    private let storage: Mutex<[UInt8]>
    public let length: Int
    public init(_ bytes: [UInt8]) { length = bytes.count; storage = Mutex(bytes) }
    public var bytes: [UInt8] { storage.withLock { $0 } }

    private func check(_ o: Int, _ n: Int) throws {
        guard o >= 0, o + n <= length else {
            throw PlatformError.unsupported("config access at 0x\(String(o, radix: 16)) (+\(n)) beyond \(length) bytes")
        }
    }
    public func read8(at o: Int) throws -> UInt8 { try check(o, 1); return storage.withLock { $0[o] } }
    public func read16(at o: Int) throws -> UInt16 { try check(o, 2); return storage.withLock { le16($0, o) } }
    public func read32(at o: Int) throws -> UInt32 { try check(o, 4); return storage.withLock { le32($0, o) } }
    public func write8(_ v: UInt8, at o: Int) throws { try check(o, 1); storage.withLock { $0[o] = v } }
    public func write16(_ v: UInt16, at o: Int) throws {
        try check(o, 2); storage.withLock { $0[o] = UInt8(v & 0xFF); $0[o + 1] = UInt8(v >> 8) }
    }
    public func write32(_ v: UInt32, at o: Int) throws {
        try check(o, 4)
        storage.withLock { for k in 0..<4 { $0[o + k] = UInt8((v >> (8 * UInt32(k))) & 0xFF) } }
    }
}
