/// A list of up to 1024 NSIDs, ascending, zero terminated: the Active Namespace ID List (Identify CNS 02h/07h, Base
/// §5.17.2.2, Figure 277) and the Changed Namespace List log page (LID 04h, Base §5.16.1.5, Figure 211).
public struct NamespaceList: ByteStructure, FieldReport {
    public static let size = 4096
    public static let capacity = 1024
    public var bytes: [UInt8]
    public init() { bytes = [UInt8](repeating: 0, count: Self.size) }
    public init(_ nsids: [UInt32]) {
        self.init()
        for (i, n) in nsids.prefix(Self.capacity).enumerated() { setLE(4 * i, n) }
    }

    /// Entry n (0...1023), raw.
    public subscript(n: Int) -> UInt32 { get { le(4 &* n) } set { setLE(4 &* n, newValue) } }
    /// The NSIDs up to the first zero entry.
    public var nsids: [UInt32] {
        var out: [UInt32] = []
        for i in 0..<Self.capacity { let n = self[i]; if n == 0 { break }; out.append(n) }
        return out
    }
    /// Changed Namespace List: the first entry FFFFFFFFh means more than 1024 namespaces changed.
    public var overflowed: Bool { self[0] == 0xFFFF_FFFF }
    public var reportFields: [ReportField] { nsids.enumerated().map { ReportField("[\($0.offset)]", $0.element) } }
}

/// I/O Command Set Specific Identify Controller for the Zoned Namespace Command Set (CNS 06h, CSI 02h) — ZNS 1.1
/// §4.1.5.2, Figure 50.
public struct ZonedIdentifyController: ByteStructure, FieldReport, NVMeCLIReport {
    public static let size = 4096
    public var bytes: [UInt8]
    public init() { bytes = [UInt8](repeating: 0, count: Self.size) }
    /// Byte 0 — Zone Append Size Limit (2^n units of CAP.MPSMIN; 0 = MDTS applies).
    public var zasl: UInt8 { get { bytes[0] } set { bytes[0] = newValue } }
    public var reportFields: [ReportField] { [ReportField("zasl", zasl)] }
    public var nvmeCLIFields: [ReportField] { reportFields }
}

/// LBA Format Extension data structure — ZNS 1.1 Figure 52 (16 bytes; zoned Identify Namespace bytes 2816 + 16·n).
public struct LBAFormatExtension: Hashable, Sendable {
    /// Bytes 7:0 — Zone Size (logical blocks).
    public var zsze: UInt64
    /// Byte 8 — Zone Descriptor Extension Size (64-byte units).
    public var zdes: UInt8
    public init(zsze: UInt64 = 0, zdes: UInt8 = 0) { self.zsze = zsze; self.zdes = zdes }
}

/// I/O Command Set Specific Identify Namespace for the Zoned Namespace Command Set (CNS 05h, CSI 02h) — ZNS 1.1
/// §4.1.5.1, Figure 51.
public struct ZonedIdentifyNamespace: ByteStructure, FieldReport {
    public static let size = 4096
    public var bytes: [UInt8]
    public init() { bytes = [UInt8](repeating: 0, count: Self.size) }

    /// Bytes 1:0 — Zone Operation Characteristics (0 variable zone capacity, 1 zone active excursions)
    public var zoc: UInt16 { get { le(0) } set { setLE(0, newValue) } }
    /// Bytes 3:2 — Optional Zoned Command Support (0 read across zone boundaries)
    public var ozcs: UInt16 { get { le(2) } set { setLE(2, newValue) } }
    /// Bytes 7:4 — Maximum Active Resources (0's based; FFFFFFFFh = no limit)
    public var mar: UInt32 { get { le(4) } set { setLE(4, newValue) } }
    /// Bytes 11:8 — Maximum Open Resources (0's based; FFFFFFFFh = no limit)
    public var mor: UInt32 { get { le(8) } set { setLE(8, newValue) } }
    /// Bytes 15:12 — Reset Recommended Limit (s)
    public var rrl: UInt32 { get { le(12) } set { setLE(12, newValue) } }
    /// Bytes 19:16 — Finish Recommended Limit (s)
    public var frl: UInt32 { get { le(16) } set { setLE(16, newValue) } }
    /// Bytes 23:20 — Reset Recommended Limit 1
    public var rrl1: UInt32 { get { le(20) } set { setLE(20, newValue) } }
    /// Bytes 27:24 — Reset Recommended Limit 2
    public var rrl2: UInt32 { get { le(24) } set { setLE(24, newValue) } }
    /// Bytes 31:28 — Reset Recommended Limit 3
    public var rrl3: UInt32 { get { le(28) } set { setLE(28, newValue) } }
    /// Bytes 35:32 — Finish Recommended Limit 1
    public var frl1: UInt32 { get { le(32) } set { setLE(32, newValue) } }
    /// Bytes 39:36 — Finish Recommended Limit 2
    public var frl2: UInt32 { get { le(36) } set { setLE(36, newValue) } }
    /// Bytes 43:40 — Finish Recommended Limit 3
    public var frl3: UInt32 { get { le(40) } set { setLE(40, newValue) } }
    /// Bytes 47:44 — Number of ZRWA Resources
    public var numzrwa: UInt32 { get { le(44) } set { setLE(44, newValue) } }
    /// Bytes 49:48 — ZRWA Flush Granularity
    public var zrwafg: UInt16 { get { le(48) } set { setLE(48, newValue) } }
    /// Bytes 51:50 — ZRWA Size
    public var zrwasz: UInt16 { get { le(50) } set { setLE(50, newValue) } }
    /// Bytes 52 — ZRWA Capability
    public var zrwacap: UInt8 { get { bytes[52] } set { bytes[52] = newValue } }
    /// Bytes 4095:3840 — Vendor Specific
    public var vs: [UInt8] { get { raw(3840, 256) } set { setRaw(3840, 256, newValue) } }

    /// Bytes 2816+16n… — LBA Format Extension n (0...63), paired with Identify Namespace LBA Format n.
    public subscript(lbafe n: Int) -> LBAFormatExtension {
        get { LBAFormatExtension(zsze: le(2816 &+ 16 &* n), zdes: le(2816 &+ 16 &* n &+ 8)) }
        set { setLE(2816 &+ 16 &* n, newValue.zsze); setLE(2816 &+ 16 &* n &+ 8, newValue.zdes) }
    }
    /// ZOC bit 0 — Variable Zone Capacity.
    public var vzcap: Bool { get { zoc.bit(0) } set { zoc.setBit(0, newValue) } }
    /// ZOC bit 1 — Zone Active Excursions.
    public var zae: Bool { get { zoc.bit(1) } set { zoc.setBit(1, newValue) } }
    /// OZCS bit 0 — Read Across Zone Boundaries.
    public var razb: Bool { get { ozcs.bit(0) } set { ozcs.setBit(0, newValue) } }

    /// Fields, with the LBA format extensions for formats 0...`nlbaf` (from Identify Namespace).
    public func reportFields(nlbaf: Int) -> [ReportField] { fields(nlbaf: nlbaf, signedLimits: false) }
    /// nvme-cli 2.3's `zns id-ns -o json`: the same names; it prints MAR/MOR as signed 32-bit (FFFFFFFFh → -1).
    public func nvmeCLIFields(nlbaf: Int) -> [ReportField] { fields(nlbaf: nlbaf, signedLimits: true) }

    func fields(nlbaf: Int, signedLimits: Bool) -> [ReportField] {
        let lim: (UInt32) -> ReportValue = { signedLimits ? .int(Int(Int32(bitPattern: $0))) : .int(Int($0)) }
        return [ReportField("zoc", zoc), ReportField("ozcs", ozcs), ReportField("mar", lim(mar)), ReportField("mor", lim(mor)),
         ReportField("rrl", rrl), ReportField("frl", frl), ReportField("rrl1", rrl1), ReportField("rrl2", rrl2),
         ReportField("rrl3", rrl3), ReportField("frl1", frl1), ReportField("frl2", frl2), ReportField("frl3", frl3),
         ReportField("numzrwa", numzrwa), ReportField("zrwafg", zrwafg), ReportField("zrwasz", zrwasz),
         ReportField("zrwacap", zrwacap),
         ReportField("lbafe", .objects((0...min(nlbaf, 63)).map {
            [ReportField("zsze", self[lbafe: $0].zsze), ReportField("zdes", self[lbafe: $0].zdes)] }))]
    }
    public var reportFields: [ReportField] { reportFields(nlbaf: 0) }
}

/// Error Information log entry — NVMe Base 2.0c §5.16.1.2, Figure 205 (64 bytes; the log page is an array of them).
public struct ErrorInformationEntry: ByteStructure, FieldReport, NVMeCLIReport {
    public static let size = 64
    public var bytes: [UInt8]
    public init() { bytes = [UInt8](repeating: 0, count: Self.size) }

    /// Bytes 7:0 — Error Count
    public var errorCount: UInt64 { get { le(0) } set { setLE(0, newValue) } }
    /// Bytes 9:8 — Submission Queue ID
    public var sqid: UInt16 { get { le(8) } set { setLE(8, newValue) } }
    /// Bytes 11:10 — Command ID
    public var cid: UInt16 { get { le(10) } set { setLE(10, newValue) } }
    /// Bytes 13:12 — Status Field (bit 0 Phase Tag, bits 15:1 status)
    public var statusField: UInt16 { get { le(12) } set { setLE(12, newValue) } }
    /// Bytes 15:14 — Parameter Error Location (7:0 byte, 10:8 bit)
    public var parameterErrorLocation: UInt16 { get { le(14) } set { setLE(14, newValue) } }
    /// Bytes 23:16 — LBA
    public var lba: UInt64 { get { le(16) } set { setLE(16, newValue) } }
    /// Bytes 27:24 — Namespace
    public var nsid: UInt32 { get { le(24) } set { setLE(24, newValue) } }
    /// Bytes 28 — Vendor Specific Information Available
    public var vendorSpecificInformationAvailable: UInt8 { get { bytes[28] } set { bytes[28] = newValue } }
    /// Bytes 29 — Transport Type
    public var trtype: UInt8 { get { bytes[29] } set { bytes[29] = newValue } }
    /// Bytes 39:32 — Command Specific Information
    public var commandSpecificInformation: UInt64 { get { le(32) } set { setLE(32, newValue) } }
    /// Bytes 41:40 — Transport Type Specific Information
    public var transportTypeSpecificInformation: UInt16 { get { le(40) } set { setLE(40, newValue) } }

    /// Status Field bit 0 — Phase Tag of the failed command's completion.
    public var phaseTag: Bool { get { statusField.bit(0) } set { statusField.setBit(0, newValue) } }
    /// Status Field bits 15:1 — the failed command's status.
    public var status: CompletionStatus {
        get { CompletionStatus(rawValue: statusField >> 1) }
        set { statusField = newValue.rawValue << 1 | (statusField & 1) }
    }
    /// Parameter Error Location bits 7:0 — byte of the command where the error is.
    public var errorByte: UInt8 { UInt8(parameterErrorLocation.bits(7, 0)) }
    /// Parameter Error Location bits 10:8 — bit within that byte.
    public var errorBit: UInt8 { UInt8(parameterErrorLocation.bits(10, 8)) }

    /// nvme-cli 2.3's `error-log -o json` entry.
    public var nvmeCLIFields: [ReportField] {
        [ReportField("error_count", errorCount), ReportField("sqid", sqid), ReportField("cmdid", cid),
         ReportField("status_field", statusField >> 1), ReportField("phase_tag", phaseTag), ReportField("parm_error_location", parameterErrorLocation),
         ReportField("lba", .uint(lba)), ReportField("nsid", nsid), ReportField("vs", vendorSpecificInformationAvailable),
         ReportField("trtype", trtype), ReportField("cs", .uint(commandSpecificInformation)),
         ReportField("trtype_spec_info", transportTypeSpecificInformation)]
    }

    /// nvme-cli's fields plus the status by name.
    public var reportFields: [ReportField] { nvmeCLIFields + [ReportField("status", status.description)] }
}

/// The Error Information log page (LID 01h): ELPE+1 entries of 64 bytes.
public struct ErrorInformationLog: Hashable, Sendable {
    public var entries: [ErrorInformationEntry]
    public init(entries: [ErrorInformationEntry]) { self.entries = entries }
    /// Splits `bytes` into 64-byte entries (a trailing partial entry is dropped).
    public init(bytes: [UInt8]) {
        entries = stride(from: 0, to: bytes.count - ErrorInformationEntry.size + 1, by: ErrorInformationEntry.size)
            .map { ErrorInformationEntry(bytes: bytes[$0..<($0 + ErrorInformationEntry.size)])! }
    }
    public var bytes: [UInt8] { entries.flatMap(\.bytes) }
}

/// SMART / Health Information log page (LID 02h) — NVMe Base 2.0c §5.16.1.3, Figure 207. 512 bytes.
public struct SMARTHealthLog: ByteStructure, FieldReport, NVMeCLIReport {
    public static let size = 512
    public var bytes: [UInt8]
    public init() { bytes = [UInt8](repeating: 0, count: Self.size) }

    /// Bytes 0 — Critical Warning
    public var criticalWarning: UInt8 { get { bytes[0] } set { bytes[0] = newValue } }
    /// Bytes 2:1 — Composite Temperature (K)
    public var compositeTemperature: UInt16 { get { le(1) } set { setLE(1, newValue) } }
    /// Bytes 3 — Available Spare (%)
    public var availableSpare: UInt8 { get { bytes[3] } set { bytes[3] = newValue } }
    /// Bytes 4 — Available Spare Threshold (%)
    public var availableSpareThreshold: UInt8 { get { bytes[4] } set { bytes[4] = newValue } }
    /// Bytes 5 — Percentage Used
    public var percentageUsed: UInt8 { get { bytes[5] } set { bytes[5] = newValue } }
    /// Bytes 6 — Endurance Group Critical Warning Summary
    public var enduranceGroupCriticalWarningSummary: UInt8 { get { bytes[6] } set { bytes[6] = newValue } }
    /// Bytes 47:32 — Data Units Read (1000 × 512 bytes)
    public var dataUnitsRead: UInt128 { get { le(32) } set { setLE(32, newValue) } }
    /// Bytes 63:48 — Data Units Written (1000 × 512 bytes)
    public var dataUnitsWritten: UInt128 { get { le(48) } set { setLE(48, newValue) } }
    /// Bytes 79:64 — Host Read Commands
    public var hostReadCommands: UInt128 { get { le(64) } set { setLE(64, newValue) } }
    /// Bytes 95:80 — Host Write Commands
    public var hostWriteCommands: UInt128 { get { le(80) } set { setLE(80, newValue) } }
    /// Bytes 111:96 — Controller Busy Time (minutes)
    public var controllerBusyTime: UInt128 { get { le(96) } set { setLE(96, newValue) } }
    /// Bytes 127:112 — Power Cycles
    public var powerCycles: UInt128 { get { le(112) } set { setLE(112, newValue) } }
    /// Bytes 143:128 — Power On Hours
    public var powerOnHours: UInt128 { get { le(128) } set { setLE(128, newValue) } }
    /// Bytes 159:144 — Unsafe Shutdowns
    public var unsafeShutdowns: UInt128 { get { le(144) } set { setLE(144, newValue) } }
    /// Bytes 175:160 — Media and Data Integrity Errors
    public var mediaAndDataIntegrityErrors: UInt128 { get { le(160) } set { setLE(160, newValue) } }
    /// Bytes 191:176 — Number of Error Information Log Entries
    public var numberOfErrorInformationLogEntries: UInt128 { get { le(176) } set { setLE(176, newValue) } }
    /// Bytes 195:192 — Warning Composite Temperature Time (minutes)
    public var warningCompositeTemperatureTime: UInt32 { get { le(192) } set { setLE(192, newValue) } }
    /// Bytes 199:196 — Critical Composite Temperature Time (minutes)
    public var criticalCompositeTemperatureTime: UInt32 { get { le(196) } set { setLE(196, newValue) } }
    /// Bytes 219:216 — Thermal Management Temperature 1 Transition Count
    public var thermalManagementTemperature1TransitionCount: UInt32 { get { le(216) } set { setLE(216, newValue) } }
    /// Bytes 223:220 — Thermal Management Temperature 2 Transition Count
    public var thermalManagementTemperature2TransitionCount: UInt32 { get { le(220) } set { setLE(220, newValue) } }
    /// Bytes 227:224 — Total Time For Thermal Management Temperature 1 (s)
    public var totalTimeForThermalManagementTemperature1: UInt32 { get { le(224) } set { setLE(224, newValue) } }
    /// Bytes 231:228 — Total Time For Thermal Management Temperature 2 (s)
    public var totalTimeForThermalManagementTemperature2: UInt32 { get { le(228) } set { setLE(228, newValue) } }

    /// Bytes 215:200 — Temperature Sensor n (1...8), Kelvin; 0 = not implemented.
    public subscript(temperatureSensor n: Int) -> UInt16 {
        get { le(200 &+ 2 &* (n &- 1)) }
        set { setLE(200 &+ 2 &* (n &- 1), newValue) }
    }
    /// Critical Warning bit 0 — available spare below threshold.
    public var spareBelowThreshold: Bool { criticalWarning.bit(0) }
    /// Critical Warning bit 1 — temperature outside a threshold.
    public var temperatureThresholdExceeded: Bool { criticalWarning.bit(1) }
    /// Critical Warning bit 2 — NVM subsystem reliability degraded.
    public var reliabilityDegraded: Bool { criticalWarning.bit(2) }
    /// Critical Warning bit 3 — media placed in read only mode.
    public var readOnly: Bool { criticalWarning.bit(3) }
    /// Critical Warning bit 4 — volatile memory backup device failed.
    public var volatileMemoryBackupFailed: Bool { criticalWarning.bit(4) }
    /// Critical Warning bit 5 — persistent memory region read only or unreliable.
    public var persistentMemoryRegionDegraded: Bool { criticalWarning.bit(5) }

    /// nvme-cli 2.3's `smart-log -o json` names; 128-bit counters as decimal strings.
    public var nvmeCLIFields: [ReportField] {
        var f: [ReportField] = [
            .init("critical_warning", criticalWarning), .init("temperature", compositeTemperature),
            .init("avail_spare", availableSpare), .init("spare_thresh", availableSpareThreshold),
            .init("percent_used", percentageUsed),
            .init("endurance_grp_critical_warning_summary", enduranceGroupCriticalWarningSummary),
            .init("data_units_read", .string(String(dataUnitsRead))),
            .init("data_units_written", .string(String(dataUnitsWritten))),
            .init("host_read_commands", .string(String(hostReadCommands))),
            .init("host_write_commands", .string(String(hostWriteCommands))),
            .init("controller_busy_time", .string(String(controllerBusyTime))),
            .init("power_cycles", .string(String(powerCycles))),
            .init("power_on_hours", .string(String(powerOnHours))),
            .init("unsafe_shutdowns", .string(String(unsafeShutdowns))),
            .init("media_errors", .string(String(mediaAndDataIntegrityErrors))),
            .init("num_err_log_entries", .string(String(numberOfErrorInformationLogEntries))),
            .init("warning_temp_time", warningCompositeTemperatureTime),
            .init("critical_comp_time", criticalCompositeTemperatureTime),
        ]
        for n in 1...8 where self[temperatureSensor: n] != 0 {
            f.append(.init("temperature_sensor_\(n)", self[temperatureSensor: n]))
        }
        f += [.init("thm_temp1_trans_count", thermalManagementTemperature1TransitionCount),
              .init("thm_temp2_trans_count", thermalManagementTemperature2TransitionCount),
              .init("thm_temp1_total_time", totalTimeForThermalManagementTemperature1),
              .init("thm_temp2_total_time", totalTimeForThermalManagementTemperature2)]
        return f
    }
    public var reportFields: [ReportField] { nvmeCLIFields }
}

/// Firmware Slot Information log page (LID 03h) — NVMe Base 2.0c §5.16.1.4, Figure 209. 512 bytes.
public struct FirmwareSlotLog: ByteStructure, FieldReport {
    public static let size = 512
    public var bytes: [UInt8]
    public init() { bytes = [UInt8](repeating: 0, count: Self.size) }

    /// Byte 0 — Active Firmware Info.
    public var afi: UInt8 { get { bytes[0] } set { bytes[0] = newValue } }
    /// AFI bits 2:0 — the slot the running firmware came from.
    public var activeSlot: UInt8 { get { afi.bits(2, 0) } set { afi.setBits(2, 0, newValue) } }
    /// AFI bits 6:4 — the slot activated at the next reset (0 = not set).
    public var nextResetSlot: UInt8 { get { afi.bits(6, 4) } set { afi.setBits(6, 4, newValue) } }
    /// Bytes 8+8(n-1)… — Firmware Revision for Slot n (1...7), ASCII; empty when the slot is empty.
    public subscript(frs n: Int) -> String {
        get { ascii(8 &* n, 8) }
        set { setASCII(8 &* n, 8, newValue, pad: newValue.isEmpty ? 0 : 0x20) }
    }

    public var reportFields: [ReportField] {
        var f: [ReportField] = [.init("afi", afi), .init("active_slot", activeSlot), .init("next_reset_slot", nextResetSlot)]
        for n in 1...7 where bytes[8 * n] != 0 { f.append(.init("frs\(n)", self[frs: n])) }
        return f
    }
}

/// Commands Supported and Effects data structure — NVMe Base 2.0c Figure 213 (one per opcode).
public struct CommandEffects: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Bit 0 — Command Supported.
    public var csupp: Bool { get { rawValue.bit(0) } set { rawValue.setBit(0, newValue) } }
    /// Bit 1 — Logical Block Content Change.
    public var lbcc: Bool { get { rawValue.bit(1) } set { rawValue.setBit(1, newValue) } }
    /// Bit 2 — Namespace Capability Change.
    public var ncc: Bool { get { rawValue.bit(2) } set { rawValue.setBit(2, newValue) } }
    /// Bit 3 — Namespace Inventory Change.
    public var nic: Bool { get { rawValue.bit(3) } set { rawValue.setBit(3, newValue) } }
    /// Bit 4 — Controller Capability Change.
    public var ccc: Bool { get { rawValue.bit(4) } set { rawValue.setBit(4, newValue) } }
    /// Bits 18:16 — Command Submission and Execution.
    public var cse: UInt8 { get { UInt8(rawValue.bits(18, 16)) } set { rawValue.setBits(18, 16, UInt32(newValue)) } }
    /// Bit 19 — UUID Selection Supported.
    public var uss: Bool { get { rawValue.bit(19) } set { rawValue.setBit(19, newValue) } }
}

/// Commands Supported and Effects log page (LID 05h) — NVMe Base 2.0c §5.16.1.6, Figure 212. 4096 bytes.
public struct CommandsSupportedAndEffectsLog: ByteStructure, FieldReport {
    public static let size = 4096
    public var bytes: [UInt8]
    public init() { bytes = [UInt8](repeating: 0, count: Self.size) }
    /// Bytes 1023:0 — Admin Command Supported n (opcode n).
    public subscript(admin opcode: UInt8) -> CommandEffects {
        get { CommandEffects(rawValue: le(4 * Int(opcode))) }
        set { setLE(4 * Int(opcode), newValue.rawValue) }
    }
    /// Bytes 2047:1024 — I/O Command Supported n (opcode n).
    public subscript(io opcode: UInt8) -> CommandEffects {
        get { CommandEffects(rawValue: le(1024 + 4 * Int(opcode))) }
        set { setLE(1024 + 4 * Int(opcode), newValue.rawValue) }
    }
    /// Opcodes with CSUPP set.
    public var supportedAdminOpcodes: [UInt8] { (0...255).map(UInt8.init).filter { self[admin: $0].csupp } }
    public var supportedIOOpcodes: [UInt8] { (0...255).map(UInt8.init).filter { self[io: $0].csupp } }

    public var reportFields: [ReportField] {
        supportedAdminOpcodes.map {
            ReportField("ACS\(hexDigits(UInt64($0), width: 2))h \(AdminOpcode(rawValue: $0).map { "\($0)" } ?? "")",
                        .string("0x" + hexDigits(UInt64(self[admin: $0].rawValue), width: 8)))
        } + supportedIOOpcodes.map {
            ReportField("IOCS\(hexDigits(UInt64($0), width: 2))h \(IOOpcode(rawValue: $0).map { "\($0)" } ?? "")",
                        .string("0x" + hexDigits(UInt64(self[io: $0].rawValue), width: 8)))
        }
    }
}
