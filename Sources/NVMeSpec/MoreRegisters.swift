// The remaining controller registers — NVMe Base 2.0c §3.1.4, Figures 35-77. Every field is a get/set property
// named after the spec mnemonic; `rawValue` is always available and setters never validate.

/// Interrupt Mask Set (INTMS, 0Ch) — Figure 39. Writing 1 to a bit masks that vector (pin-based/MSI only).
public struct InterruptMaskSet: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Bits 31:0 — Interrupt Vector Mask Set.
    public var ivms: UInt32 { get { rawValue } set { rawValue = newValue } }
    /// One vector's bit.
    public subscript(vector v: Int) -> Bool { get { rawValue.bit(v) } set { rawValue.setBit(v, newValue) } }
}

/// Interrupt Mask Clear (INTMC, 10h) — Figure 40. Writing 1 to a bit unmasks that vector.
public struct InterruptMaskClear: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Bits 31:0 — Interrupt Vector Mask Clear.
    public var ivmc: UInt32 { get { rawValue } set { rawValue = newValue } }
    public subscript(vector v: Int) -> Bool { get { rawValue.bit(v) } set { rawValue.setBit(v, newValue) } }
}

/// NVM Subsystem Reset (NSSR, 20h) — Figure 43. Writing "NVMe" (4E564D65h) starts a subsystem reset.
public struct NVMSubsystemReset: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Bits 31:0 — NVM Subsystem Reset Control.
    public var nssrc: UInt32 { get { rawValue } set { rawValue = newValue } }
    /// The value that triggers the reset: ASCII "NVMe".
    public static let resetValue: UInt32 = 0x4E56_4D65
    public static let reset = NVMSubsystemReset(rawValue: resetValue)
}

/// Admin Submission Queue Base Address (ASQ, 28h) — Figure 45.
public struct AdminSubmissionQueueBaseAddress: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(address: UInt64) { rawValue = address }
    /// Bits 63:12 — Admin Submission Queue Base (the address >> 12).
    public var asqb: UInt64 { get { rawValue.bits(63, 12) } set { rawValue.setBits(63, 12, newValue) } }
    /// Bits 11:0 — reserved (must be 0: the queue is 4 KiB aligned).
    public var reserved: UInt16 { get { UInt16(rawValue.bits(11, 0)) } set { rawValue.setBits(11, 0, UInt64(newValue)) } }
    /// The byte address ASQB describes.
    public var address: UInt64 { rawValue & ~0xFFF }
}

/// Admin Completion Queue Base Address (ACQ, 30h) — Figure 46.
public struct AdminCompletionQueueBaseAddress: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(address: UInt64) { rawValue = address }
    /// Bits 63:12 — Admin Completion Queue Base (the address >> 12).
    public var acqb: UInt64 { get { rawValue.bits(63, 12) } set { rawValue.setBits(63, 12, newValue) } }
    /// Bits 11:0 — reserved.
    public var reserved: UInt16 { get { UInt16(rawValue.bits(11, 0)) } set { rawValue.setBits(11, 0, UInt64(newValue)) } }
    public var address: UInt64 { rawValue & ~0xFFF }
}

/// Controller Memory Buffer Location (CMBLOC, 38h) — Figure 47.
public struct ControllerMemoryBufferLocation: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Bits 2:0 — Base Indicator Register (BAR holding the CMB).
    public var bir: UInt8 { get { UInt8(rawValue.bits(2, 0)) } set { rawValue.setBits(2, 0, UInt32(newValue)) } }
    /// Bit 3 — CMB Queue Mixed Memory Support.
    public var cqmms: Bool { get { rawValue.bit(3) } set { rawValue.setBit(3, newValue) } }
    /// Bit 4 — CMB Queue Physically Discontiguous Support.
    public var cqpds: Bool { get { rawValue.bit(4) } set { rawValue.setBit(4, newValue) } }
    /// Bit 5 — CMB Data Pointer Mixed Locations Support.
    public var cdpmls: Bool { get { rawValue.bit(5) } set { rawValue.setBit(5, newValue) } }
    /// Bit 6 — CMB Data Pointer and Command Independent Locations Support.
    public var cdpcils: Bool { get { rawValue.bit(6) } set { rawValue.setBit(6, newValue) } }
    /// Bit 7 — CMB Data Metadata Mixed Memory Support.
    public var cdmmms: Bool { get { rawValue.bit(7) } set { rawValue.setBit(7, newValue) } }
    /// Bit 8 — CMB Queue Dword Alignment.
    public var cqda: Bool { get { rawValue.bit(8) } set { rawValue.setBit(8, newValue) } }
    /// Bits 31:12 — Offset into the BAR, in CMBSZ.SZU units.
    public var ofst: UInt32 { get { rawValue.bits(31, 12) } set { rawValue.setBits(31, 12, newValue) } }
}

/// Controller Memory Buffer Size (CMBSZ, 3Ch) — Figure 48.
public struct ControllerMemoryBufferSize: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Bit 0 — Submission Queue Support.
    public var sqs: Bool { get { rawValue.bit(0) } set { rawValue.setBit(0, newValue) } }
    /// Bit 1 — Completion Queue Support.
    public var cqs: Bool { get { rawValue.bit(1) } set { rawValue.setBit(1, newValue) } }
    /// Bit 2 — PRP SGL List Support.
    public var lists: Bool { get { rawValue.bit(2) } set { rawValue.setBit(2, newValue) } }
    /// Bit 3 — Read Data Support.
    public var rds: Bool { get { rawValue.bit(3) } set { rawValue.setBit(3, newValue) } }
    /// Bit 4 — Write Data Support.
    public var wds: Bool { get { rawValue.bit(4) } set { rawValue.setBit(4, newValue) } }
    /// Bits 11:8 — Size Units (0 4 KiB, 1 64 KiB, 2 1 MiB, 3 16 MiB, 4 256 MiB, 5 4 GiB, 6 64 GiB).
    public var szu: UInt8 { get { UInt8(rawValue.bits(11, 8)) } set { rawValue.setBits(11, 8, UInt32(newValue)) } }
    /// Bits 31:12 — Size, in SZU units.
    public var sz: UInt32 { get { rawValue.bits(31, 12) } set { rawValue.setBits(31, 12, newValue) } }
    /// Bytes per SZU unit (4 KiB * 16^SZU).
    public var unitBytes: UInt64 { szu > 6 ? 0 : UInt64(4096) << (4 * UInt64(szu)) }
    /// CMB size in bytes.
    public var sizeBytes: UInt64 { UInt64(sz) &* unitBytes }
}

/// Boot Partition Information (BPINFO, 40h) — Figure 49.
public struct BootPartitionInformation: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Bits 14:0 — Boot Partition Size, in 128 KiB units.
    public var bpsz: UInt16 { get { UInt16(rawValue.bits(14, 0)) } set { rawValue.setBits(14, 0, UInt32(newValue)) } }
    /// Bits 25:24 — Boot Read Status (0 no read, 1 in progress, 2 completed, 3 error).
    public var brs: UInt8 { get { UInt8(rawValue.bits(25, 24)) } set { rawValue.setBits(25, 24, UInt32(newValue)) } }
    /// Bit 31 — Active Boot Partition ID.
    public var abpid: Bool { get { rawValue.bit(31) } set { rawValue.setBit(31, newValue) } }
}

/// Boot Partition Read Select (BPRSEL, 44h) — Figure 50.
public struct BootPartitionReadSelect: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Bits 9:0 — Boot Partition Read Size, in 4 KiB units.
    public var bprsz: UInt16 { get { UInt16(rawValue.bits(9, 0)) } set { rawValue.setBits(9, 0, UInt32(newValue)) } }
    /// Bits 29:10 — Boot Partition Read Offset, in 4 KiB units.
    public var bprof: UInt32 { get { rawValue.bits(29, 10) } set { rawValue.setBits(29, 10, newValue) } }
    /// Bit 31 — Boot Partition Identifier.
    public var bpid: Bool { get { rawValue.bit(31) } set { rawValue.setBit(31, newValue) } }
}

/// Boot Partition Memory Buffer Location (BPMBL, 48h) — Figure 51.
public struct BootPartitionMemoryBufferLocation: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    /// Bits 63:12 — Boot Partition Memory Buffer Base Address (address >> 12).
    public var bmbba: UInt64 { get { rawValue.bits(63, 12) } set { rawValue.setBits(63, 12, newValue) } }
    public var address: UInt64 { rawValue & ~0xFFF }
}

/// Controller Memory Buffer Memory Space Control (CMBMSC, 50h) — Figure 52.
public struct ControllerMemoryBufferMemorySpaceControl: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    /// Bit 0 — Capabilities Registers Enabled.
    public var cre: Bool { get { rawValue.bit(0) } set { rawValue.setBit(0, newValue) } }
    /// Bit 1 — Controller Memory Space Enable.
    public var cmse: Bool { get { rawValue.bit(1) } set { rawValue.setBit(1, newValue) } }
    /// Bits 63:12 — Controller Base Address (address >> 12).
    public var cba: UInt64 { get { rawValue.bits(63, 12) } set { rawValue.setBits(63, 12, newValue) } }
}

/// Controller Memory Buffer Status (CMBSTS, 58h) — Figure 53.
public struct ControllerMemoryBufferStatus: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Bit 0 — Controller Base Address Invalid.
    public var cbai: Bool { get { rawValue.bit(0) } set { rawValue.setBit(0, newValue) } }
}

/// Controller Memory Buffer Elasticity Buffer Size (CMBEBS, 5Ch) — Figure 54.
public struct ControllerMemoryBufferElasticityBufferSize: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Bits 3:0 — CMB Elasticity Buffer Size Units.
    public var cmbszu: UInt8 { get { UInt8(rawValue.bits(3, 0)) } set { rawValue.setBits(3, 0, UInt32(newValue)) } }
    /// Bit 4 — CMB Read Bypass Behavior.
    public var cmbrbb: Bool { get { rawValue.bit(4) } set { rawValue.setBit(4, newValue) } }
    /// Bits 31:8 — CMB Elasticity Buffer Size Base.
    public var cmbwbz: UInt32 { get { rawValue.bits(31, 8) } set { rawValue.setBits(31, 8, newValue) } }
}

/// Controller Ready Timeouts (CRTO, 68h) — Figure 57.
public struct ControllerReadyTimeouts: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Bits 15:0 — Controller Ready With Media Timeout, 500 ms units.
    public var crwmt: UInt16 { get { UInt16(rawValue.bits(15, 0)) } set { rawValue.setBits(15, 0, UInt32(newValue)) } }
    /// Bits 31:16 — Controller Ready Independent of Media Timeout, 500 ms units.
    public var crimt: UInt16 { get { UInt16(rawValue.bits(31, 16)) } set { rawValue.setBits(31, 16, UInt32(newValue)) } }
}

/// Persistent Memory Capabilities (PMRCAP, E00h) — Figure 69.
public struct PersistentMemoryCapabilities: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Bit 3 — Read Data Support.
    public var rds: Bool { get { rawValue.bit(3) } set { rawValue.setBit(3, newValue) } }
    /// Bit 4 — Write Data Support.
    public var wds: Bool { get { rawValue.bit(4) } set { rawValue.setBit(4, newValue) } }
    /// Bits 7:5 — Base Indicator Register.
    public var bir: UInt8 { get { UInt8(rawValue.bits(7, 5)) } set { rawValue.setBits(7, 5, UInt32(newValue)) } }
    /// Bits 9:8 — Persistent Memory Region Time Units (0 500 ms, 1 minutes).
    public var pmrtu: UInt8 { get { UInt8(rawValue.bits(9, 8)) } set { rawValue.setBits(9, 8, UInt32(newValue)) } }
    /// Bits 13:10 — Persistent Memory Region Write Barrier Mechanisms.
    public var pmrwbm: UInt8 { get { UInt8(rawValue.bits(13, 10)) } set { rawValue.setBits(13, 10, UInt32(newValue)) } }
    /// Bits 23:16 — Persistent Memory Region Timeout, in PMRTU units.
    public var pmrto: UInt8 { get { UInt8(rawValue.bits(23, 16)) } set { rawValue.setBits(23, 16, UInt32(newValue)) } }
    /// Bit 24 — Controller Memory Space Supported.
    public var cmss: Bool { get { rawValue.bit(24) } set { rawValue.setBit(24, newValue) } }
}

/// Persistent Memory Region Control (PMRCTL, E04h) — Figure 70.
public struct PersistentMemoryRegionControl: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Bit 0 — Enable.
    public var en: Bool { get { rawValue.bit(0) } set { rawValue.setBit(0, newValue) } }
}

/// Persistent Memory Region Status (PMRSTS, E08h) — Figure 71.
public struct PersistentMemoryRegionStatus: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Bits 7:0 — Error.
    public var err: UInt8 { get { UInt8(rawValue.bits(7, 0)) } set { rawValue.setBits(7, 0, UInt32(newValue)) } }
    /// Bit 8 — Not Ready.
    public var nrdy: Bool { get { rawValue.bit(8) } set { rawValue.setBit(8, newValue) } }
    /// Bits 11:9 — Health Status (0 normal, 1 restore error, 2 read only, 3 unreliable).
    public var hsts: UInt8 { get { UInt8(rawValue.bits(11, 9)) } set { rawValue.setBits(11, 9, UInt32(newValue)) } }
    /// Bit 12 — Controller Base Address Invalid.
    public var cbai: Bool { get { rawValue.bit(12) } set { rawValue.setBit(12, newValue) } }
}

/// Persistent Memory Region Elasticity Buffer Size (PMREBS, E0Ch) — Figure 72.
public struct PersistentMemoryRegionElasticityBufferSize: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Bits 3:0 — PMR Elasticity Buffer Size Units.
    public var pmrszu: UInt8 { get { UInt8(rawValue.bits(3, 0)) } set { rawValue.setBits(3, 0, UInt32(newValue)) } }
    /// Bit 4 — Read Bypass Behavior.
    public var rbb: Bool { get { rawValue.bit(4) } set { rawValue.setBit(4, newValue) } }
    /// Bits 31:8 — PMR Elasticity Buffer Size Base.
    public var pmrwbz: UInt32 { get { rawValue.bits(31, 8) } set { rawValue.setBits(31, 8, newValue) } }
}

/// Persistent Memory Region Sustained Write Throughput (PMRSWTP, E10h) — Figure 73.
public struct PersistentMemoryRegionSustainedWriteThroughput: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Bits 3:0 — PMR Sustained Write Throughput Units.
    public var pmrswtu: UInt8 { get { UInt8(rawValue.bits(3, 0)) } set { rawValue.setBits(3, 0, UInt32(newValue)) } }
    /// Bits 31:8 — PMR Sustained Write Throughput.
    public var pmrswtv: UInt32 { get { rawValue.bits(31, 8) } set { rawValue.setBits(31, 8, newValue) } }
}

/// Persistent Memory Region Controller Memory Space Control Lower (PMRMSCL, E14h) — Figure 74.
public struct PersistentMemoryRegionMemorySpaceControlLower: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Bit 1 — Controller Memory Space Enable.
    public var cmse: Bool { get { rawValue.bit(1) } set { rawValue.setBit(1, newValue) } }
    /// Bits 31:12 — Controller Base Address bits 31:12.
    public var cba: UInt32 { get { rawValue.bits(31, 12) } set { rawValue.setBits(31, 12, newValue) } }
}

/// Persistent Memory Region Controller Memory Space Control Upper (PMRMSCU, E18h) — Figure 75.
public struct PersistentMemoryRegionMemorySpaceControlUpper: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Bits 31:0 — Controller Base Address bits 63:32.
    public var cba: UInt32 { get { rawValue } set { rawValue = newValue } }
}

// MARK: - Register validation (setters never validate; these report)

extension ControllerConfiguration {
    /// Findings for a CC value about to be written, given the controller's CAP.
    public func validate(cap: ControllerCapabilities) -> [ValidationFinding] {
        var out: [ValidationFinding] = []
        let reserved = rawValue & ~UInt32(0x01FF_FFF1)
        if reserved != 0 { out.append(.init(.error, "CC", "reserved bits set: 0x\(hexDigits(UInt64(reserved), width: 8))")) }
        if iosqes != 6 { out.append(.init(.error, "CC.IOSQES", "\(iosqes): NVM I/O submission queue entries are 64 bytes (IOSQES 6)")) }
        if iocqes != 4 { out.append(.init(.error, "CC.IOCQES", "\(iocqes): NVM I/O completion queue entries are 16 bytes (IOCQES 4)")) }
        if mps < cap.mpsmin || mps > cap.mpsmax {
            out.append(.init(.error, "CC.MPS", "\(mps) is outside CAP.MPSMIN...MPSMAX (\(cap.mpsmin)...\(cap.mpsmax))"))
        }
        switch css {
        case 0: if !cap.css.bit(0) { out.append(.init(.error, "CC.CSS", "NVM command set (0) not in CAP.CSS")) }
        case 6: if !cap.css.bit(6) { out.append(.init(.error, "CC.CSS", "I/O command sets (6) not in CAP.CSS")) }
        case 7: if !cap.css.bit(7) { out.append(.init(.error, "CC.CSS", "admin only (7) not in CAP.CSS")) }
        default: out.append(.init(.error, "CC.CSS", "value \(css) is reserved"))
        }
        switch ams {
        case 0: break
        case 1: if !cap.ams.bit(0) { out.append(.init(.error, "CC.AMS", "weighted round robin not in CAP.AMS")) }
        case 7: if !cap.ams.bit(1) { out.append(.init(.error, "CC.AMS", "vendor specific arbitration not in CAP.AMS")) }
        default: out.append(.init(.error, "CC.AMS", "value \(ams) is reserved"))
        }
        if shn == 3 { out.append(.init(.error, "CC.SHN", "value 3 is reserved")) }
        if crime && !cap.crms.bit(1) { out.append(.init(.error, "CC.CRIME", "set, but CAP.CRMS.CRIMS is 0")) }
        return out
    }
}

extension AdminQueueAttributes {
    /// Findings for an AQA value: sizes are 0's based, at least 2 entries and at most 4096.
    public func validate() -> [ValidationFinding] {
        var out: [ValidationFinding] = []
        if asqs == 0 { out.append(.init(.error, "AQA.ASQS", "0 (one entry) is invalid; the minimum is 1 (two entries)")) }
        if acqs == 0 { out.append(.init(.error, "AQA.ACQS", "0 (one entry) is invalid; the minimum is 1 (two entries)")) }
        let reserved = rawValue & ~UInt32(0x0FFF_0FFF)
        if reserved != 0 { out.append(.init(.error, "AQA", "reserved bits set: 0x\(hexDigits(UInt64(reserved), width: 8))")) }
        return out
    }
}

extension AdminSubmissionQueueBaseAddress {
    public func validate() -> [ValidationFinding] {
        reserved != 0 ? [.init(.error, "ASQ", "bits 11:0 are reserved: the queue must be 4 KiB aligned")] : []
    }
}

extension AdminCompletionQueueBaseAddress {
    public func validate() -> [ValidationFinding] {
        reserved != 0 ? [.init(.error, "ACQ", "bits 11:0 are reserved: the queue must be 4 KiB aligned")] : []
    }
}
