/// An open enumeration of a spec-defined code: a raw value plus named constants for the values the spec defines.
/// Any raw value is representable (reserved and vendor values included), so a builder that takes one of these
/// accepts out-of-spec input: `IdentifyCNS(rawValue: 0x9F)` or the literal `0x9F`.
public protocol SpecValue: RawRepresentable, Hashable, Sendable, ExpressibleByIntegerLiteral, CustomStringConvertible
where RawValue: FixedWidthInteger & UnsignedInteger & Sendable, IntegerLiteralType == RawValue {
    init(rawValue: RawValue)
    /// The spec's name for each defined value.
    static var names: [RawValue: String] { get }
}

extension SpecValue {
    public init(integerLiteral value: RawValue) { self.init(rawValue: value) }
    public init(_ value: RawValue) { self.init(rawValue: value) }
    /// The spec's name, nil when the value is reserved or vendor specific.
    public var name: String? { Self.names[rawValue] }
    /// Whether the spec defines this value.
    public var isDefined: Bool { name != nil }
    /// Every defined value, in raw order.
    public static var allDefined: [Self] { names.keys.sorted().map { Self(rawValue: $0) } }
    /// `Identify Controller (01h)`; undefined values print as `Reserved (9Fh)`.
    public var description: String { "\(name ?? "Reserved") (\(hexDigits(UInt64(rawValue), width: RawValue.bitWidth / 4))h)" }
}

/// Upper-case hex, zero padded to `width` digits.
public func hexDigits(_ v: UInt64, width: Int) -> String {
    let h = String(v, radix: 16, uppercase: true)
    return h.count >= width ? h : String(repeating: "0", count: width - h.count) + h
}

/// Command Set Identifier (CSI) — NVMe Base 2.0c Figure 285 (I/O Command Set values).
public struct CommandSetIdentifier: SpecValue {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let nvm: Self = 0x00
    public static let keyValue: Self = 0x01
    public static let zonedNamespace: Self = 0x02
    public static let names: [UInt8: String] = [0x00: "NVM Command Set", 0x01: "Key Value Command Set",
                                                0x02: "Zoned Namespace Command Set"]
}

/// Identify Controller or Namespace Structure (CNS) — NVMe Base 2.0c §5.17.1, Figure 273.
public struct IdentifyCNS: SpecValue {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let namespace: Self = 0x00
    public static let controller: Self = 0x01
    public static let activeNamespaceIDList: Self = 0x02
    public static let namespaceIdentificationDescriptorList: Self = 0x03
    public static let nvmSetList: Self = 0x04
    public static let ioCommandSetSpecificNamespace: Self = 0x05
    public static let ioCommandSetSpecificController: Self = 0x06
    public static let ioCommandSetSpecificActiveNamespaceIDList: Self = 0x07
    public static let ioCommandSetIndependentNamespace: Self = 0x08
    public static let allocatedNamespaceIDList: Self = 0x10
    public static let allocatedNamespace: Self = 0x11
    public static let namespaceAttachedControllerList: Self = 0x12
    public static let controllerList: Self = 0x13
    public static let primaryControllerCapabilities: Self = 0x14
    public static let secondaryControllerList: Self = 0x15
    public static let namespaceGranularityList: Self = 0x16
    public static let uuidList: Self = 0x17
    public static let domainList: Self = 0x18
    public static let enduranceGroupList: Self = 0x19
    public static let ioCommandSetSpecificAllocatedNamespaceIDList: Self = 0x1A
    public static let ioCommandSetSpecificAllocatedNamespace: Self = 0x1B
    public static let ioCommandSet: Self = 0x1C
    public static let names: [UInt8: String] = [
        0x00: "Identify Namespace", 0x01: "Identify Controller", 0x02: "Active Namespace ID List",
        0x03: "Namespace Identification Descriptor List", 0x04: "NVM Set List",
        0x05: "I/O Command Set Specific Identify Namespace", 0x06: "I/O Command Set Specific Identify Controller",
        0x07: "I/O Command Set Specific Active Namespace ID List",
        0x08: "I/O Command Set Independent Identify Namespace", 0x10: "Allocated Namespace ID List",
        0x11: "Identify Namespace (allocated)", 0x12: "Namespace Attached Controller List", 0x13: "Controller List",
        0x14: "Primary Controller Capabilities", 0x15: "Secondary Controller List",
        0x16: "Namespace Granularity List", 0x17: "UUID List", 0x18: "Domain List", 0x19: "Endurance Group List",
        0x1A: "I/O Command Set Specific Allocated Namespace ID List",
        0x1B: "I/O Command Set Specific Identify Namespace (allocated)", 0x1C: "Identify I/O Command Set",
    ]
    /// Whether the NSID field is used by this CNS value (Figure 273 "NSID" column).
    public var usesNSID: Bool {
        [0x00, 0x02, 0x03, 0x05, 0x07, 0x08, 0x10, 0x11, 0x12, 0x1A, 0x1B].contains(rawValue)
    }
}

/// Feature Identifiers (FID) — NVMe Base 2.0c §5.27.1, Figure 317, plus the NVM Command Set's.
public struct FeatureIdentifier: SpecValue {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let arbitration: Self = 0x01
    public static let powerManagement: Self = 0x02
    public static let lbaRangeType: Self = 0x03
    public static let temperatureThreshold: Self = 0x04
    public static let errorRecovery: Self = 0x05
    public static let volatileWriteCache: Self = 0x06
    public static let numberOfQueues: Self = 0x07
    public static let interruptCoalescing: Self = 0x08
    public static let interruptVectorConfiguration: Self = 0x09
    public static let writeAtomicityNormal: Self = 0x0A
    public static let asynchronousEventConfiguration: Self = 0x0B
    public static let autonomousPowerStateTransition: Self = 0x0C
    public static let hostMemoryBuffer: Self = 0x0D
    public static let timestamp: Self = 0x0E
    public static let keepAliveTimer: Self = 0x0F
    public static let hostControlledThermalManagement: Self = 0x10
    public static let nonOperationalPowerStateConfig: Self = 0x11
    public static let readRecoveryLevelConfig: Self = 0x12
    public static let predictableLatencyModeConfig: Self = 0x13
    public static let predictableLatencyModeWindow: Self = 0x14
    public static let hostBehaviorSupport: Self = 0x16
    public static let sanitizeConfig: Self = 0x17
    public static let enduranceGroupEventConfiguration: Self = 0x18
    public static let ioCommandSetProfile: Self = 0x19
    public static let spinupControl: Self = 0x1A
    public static let enhancedControllerMetadata: Self = 0x7D
    public static let controllerMetadata: Self = 0x7E
    public static let namespaceMetadata: Self = 0x7F
    public static let softwareProgressMarker: Self = 0x80
    public static let hostIdentifier: Self = 0x81
    public static let reservationNotificationMask: Self = 0x82
    public static let reservationPersistence: Self = 0x83
    public static let namespaceWriteProtectionConfig: Self = 0x84
    public static let names: [UInt8: String] = [
        0x01: "Arbitration", 0x02: "Power Management", 0x03: "LBA Range Type", 0x04: "Temperature Threshold",
        0x05: "Error Recovery", 0x06: "Volatile Write Cache", 0x07: "Number of Queues",
        0x08: "Interrupt Coalescing", 0x09: "Interrupt Vector Configuration", 0x0A: "Write Atomicity Normal",
        0x0B: "Asynchronous Event Configuration", 0x0C: "Autonomous Power State Transition",
        0x0D: "Host Memory Buffer", 0x0E: "Timestamp", 0x0F: "Keep Alive Timer",
        0x10: "Host Controlled Thermal Management", 0x11: "Non-Operational Power State Config",
        0x12: "Read Recovery Level Config", 0x13: "Predictable Latency Mode Config",
        0x14: "Predictable Latency Mode Window", 0x16: "Host Behavior Support", 0x17: "Sanitize Config",
        0x18: "Endurance Group Event Configuration", 0x19: "I/O Command Set Profile", 0x1A: "Spinup Control",
        0x7D: "Enhanced Controller Metadata", 0x7E: "Controller Metadata", 0x7F: "Namespace Metadata",
        0x80: "Software Progress Marker", 0x81: "Host Identifier", 0x82: "Reservation Notification Mask",
        0x83: "Reservation Persistence", 0x84: "Namespace Write Protection Config",
    ]
}

/// Select (SEL) of Get Features — NVMe Base 2.0c Figure 315.
public struct FeatureSelect: SpecValue {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let current: Self = 0
    public static let `default`: Self = 1
    public static let saved: Self = 2
    public static let supportedCapabilities: Self = 3
    public static let names: [UInt8: String] = [0: "Current", 1: "Default", 2: "Saved", 3: "Supported Capabilities"]
}

/// Log Page Identifiers (LID) — NVMe Base 2.0c §5.16.1, Figure 202, plus NVM and ZNS command set pages.
public struct LogPageIdentifier: SpecValue {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let supportedLogPages: Self = 0x00
    public static let errorInformation: Self = 0x01
    public static let smartHealthInformation: Self = 0x02
    public static let firmwareSlotInformation: Self = 0x03
    public static let changedNamespaceList: Self = 0x04
    public static let commandsSupportedAndEffects: Self = 0x05
    public static let deviceSelfTest: Self = 0x06
    public static let telemetryHostInitiated: Self = 0x07
    public static let telemetryControllerInitiated: Self = 0x08
    public static let enduranceGroupInformation: Self = 0x09
    public static let predictableLatencyPerNVMSet: Self = 0x0A
    public static let predictableLatencyEventAggregate: Self = 0x0B
    public static let asymmetricNamespaceAccess: Self = 0x0C
    public static let persistentEventLog: Self = 0x0D
    public static let enduranceGroupEventAggregate: Self = 0x0F
    public static let mediaUnitStatus: Self = 0x10
    public static let supportedCapacityConfigurationList: Self = 0x11
    public static let featureIdentifiersSupportedAndEffects: Self = 0x12
    public static let nvmeMICommandsSupportedAndEffects: Self = 0x13
    public static let commandAndFeatureLockdown: Self = 0x14
    public static let bootPartition: Self = 0x15
    public static let rotationalMediaInformation: Self = 0x16
    public static let discovery: Self = 0x70
    public static let reservationNotification: Self = 0x80
    public static let sanitizeStatus: Self = 0x81
    public static let changedZoneList: Self = 0xBF
    public static let names: [UInt8: String] = [
        0x00: "Supported Log Pages", 0x01: "Error Information", 0x02: "SMART / Health Information",
        0x03: "Firmware Slot Information", 0x04: "Changed Namespace List", 0x05: "Commands Supported and Effects",
        0x06: "Device Self-test", 0x07: "Telemetry Host-Initiated", 0x08: "Telemetry Controller-Initiated",
        0x09: "Endurance Group Information", 0x0A: "Predictable Latency Per NVM Set",
        0x0B: "Predictable Latency Event Aggregate", 0x0C: "Asymmetric Namespace Access",
        0x0D: "Persistent Event Log", 0x0F: "Endurance Group Event Aggregate", 0x10: "Media Unit Status",
        0x11: "Supported Capacity Configuration List", 0x12: "Feature Identifiers Supported and Effects",
        0x13: "NVMe-MI Commands Supported and Effects", 0x14: "Command and Feature Lockdown",
        0x15: "Boot Partition", 0x16: "Rotational Media Information", 0x70: "Discovery",
        0x80: "Reservation Notification", 0x81: "Sanitize Status", 0xBF: "Changed Zone List",
    ]
}

/// Sanitize Action (SANACT) — NVMe Base 2.0c Figure 372.
public struct SanitizeAction: SpecValue {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let exitFailureMode: Self = 1
    public static let blockErase: Self = 2
    public static let overwrite: Self = 3
    public static let cryptoErase: Self = 4
    public static let names: [UInt8: String] = [1: "Exit Failure Mode", 2: "Start a Block Erase sanitize operation",
                                                3: "Start an Overwrite sanitize operation",
                                                4: "Start a Crypto Erase sanitize operation"]
}

/// Commit Action (CA) of Firmware Commit — NVMe Base 2.0c Figure 194.
public struct FirmwareCommitAction: SpecValue {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let replaceImage: Self = 0
    public static let replaceAndActivate: Self = 1
    public static let activate: Self = 2
    public static let replaceAndActivateImmediately: Self = 3
    public static let replaceBootPartition: Self = 6
    public static let activateBootPartition: Self = 7
    public static let names: [UInt8: String] = [
        0: "Downloaded image replaces the image in the slot; not activated",
        1: "Downloaded image replaces the image in the slot; activated at the next reset",
        2: "Existing image in the slot is activated at the next reset",
        3: "Downloaded image replaces the image in the slot and is activated immediately",
        6: "Downloaded image replaces the Boot Partition", 7: "Mark the Boot Partition active",
    ]
}

/// Self-test Code (STC) — NVMe Base 2.0c Figure 203.
public struct SelfTestCode: SpecValue {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let shortDeviceSelfTest: Self = 0x1
    public static let extendedDeviceSelfTest: Self = 0x2
    public static let vendorSpecific: Self = 0xE
    public static let abortDeviceSelfTest: Self = 0xF
    public static let names: [UInt8: String] = [0x1: "Short device self-test operation",
                                                0x2: "Extended device self-test operation",
                                                0xE: "Vendor specific", 0xF: "Abort device self-test operation"]
}

/// Select (SEL) of Namespace Management — NVMe Base 2.0c Figure 366.
public struct NamespaceManagementSelect: SpecValue {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let create: Self = 0
    public static let delete: Self = 1
    public static let names: [UInt8: String] = [0: "Create", 1: "Delete"]
}

/// Select (SEL) of Namespace Attachment — NVMe Base 2.0c Figure 363.
public struct NamespaceAttachmentSelect: SpecValue {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let attach: Self = 0
    public static let detach: Self = 1
    public static let names: [UInt8: String] = [0: "Controller Attach", 1: "Controller Detach"]
}

/// Secure Erase Settings (SES) of Format NVM — NVM Command Set / Base 2.0c Figure 189.
public struct SecureEraseSetting: SpecValue {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let none: Self = 0
    public static let userDataErase: Self = 1
    public static let cryptographicErase: Self = 2
    public static let names: [UInt8: String] = [0: "No secure erase operation requested", 1: "User Data Erase",
                                                2: "Cryptographic Erase"]
}

/// Directive Type (DTYPE) — NVMe Base 2.0c §8.7, Figure 485.
public struct DirectiveType: SpecValue {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let identify: Self = 0x00
    public static let streams: Self = 0x01
    public static let dataPlacement: Self = 0x02
    public static let names: [UInt8: String] = [0x00: "Identify", 0x01: "Streams", 0x02: "Data Placement"]
}

/// Zone Send Action (ZSA) of Zone Management Send — ZNS Command Set 1.1, Figure 36.
public struct ZoneSendAction: SpecValue {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let closeZone: Self = 0x01
    public static let finishZone: Self = 0x02
    public static let openZone: Self = 0x03
    public static let resetZone: Self = 0x04
    public static let offlineZone: Self = 0x05
    public static let setZoneDescriptorExtension: Self = 0x10
    public static let flushExplicitZoneResourceAllocation: Self = 0x11
    public static let names: [UInt8: String] = [0x01: "Close Zone", 0x02: "Finish Zone", 0x03: "Open Zone",
                                                0x04: "Reset Zone", 0x05: "Offline Zone",
                                                0x10: "Set Zone Descriptor Extension",
                                                0x11: "Flush Explicit Zone Resource Allocation"]
}

/// Zone Receive Action (ZRA) of Zone Management Receive — ZNS Command Set 1.1, Figure 40.
public struct ZoneReceiveAction: SpecValue {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let reportZones: Self = 0x00
    public static let extendedReportZones: Self = 0x01
    public static let names: [UInt8: String] = [0x00: "Report Zones", 0x01: "Extended Report Zones"]
}

/// Zone Receive Action Specific Field (ZRASF) for Report Zones — ZNS Command Set 1.1, Figure 41.
public struct ZoneReportFilter: SpecValue {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let allZones: Self = 0x00
    public static let empty: Self = 0x01
    public static let implicitlyOpened: Self = 0x02
    public static let explicitlyOpened: Self = 0x03
    public static let closed: Self = 0x04
    public static let full: Self = 0x05
    public static let readOnly: Self = 0x06
    public static let offline: Self = 0x07
    public static let names: [UInt8: String] = [0: "List all zones", 1: "Zone State Empty",
                                                2: "Zone State Implicitly Opened", 3: "Zone State Explicitly Opened",
                                                4: "Zone State Closed", 5: "Zone State Full",
                                                6: "Zone State Read Only", 7: "Zone State Offline"]
}
