// Feature values as typed views of Set Features CDW11 / Get Features CQE DW0 — NVMe Base 2.0c §5.27.1.
// Each is a raw dword with spec-named fields; setters never validate.

/// A feature value that lives in one dword.
public protocol FeatureValue: RawRepresentable, Hashable, Sendable where RawValue == UInt32 {
    static var fid: FeatureIdentifier { get }
    init(rawValue: UInt32)
}

extension FeatureValue {
    /// Set Features carrying this value in CDW11.
    public func setFeatures(sv: Bool = false, nsid: UInt32 = 0) -> SubmissionQueueEntry {
        .setFeatures(fid: Self.fid, cdw11: rawValue, sv: sv, nsid: nsid)
    }
    /// Get Features for this feature.
    public static func getFeatures(sel: FeatureSelect = .current, cdw11: UInt32 = 0, nsid: UInt32 = 0) -> SubmissionQueueEntry {
        .getFeatures(fid: fid, sel: sel, cdw11: cdw11, nsid: nsid)
    }
    /// Decodes the value from a Get Features completion's DW0.
    public init(completion: CompletionQueueEntry) { self.init(rawValue: completion.dw0) }
}

/// Arbitration (FID 01h) — Figure 319.
public struct ArbitrationFeature: FeatureValue {
    public static let fid = FeatureIdentifier.arbitration
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Bits 2:0 — Arbitration Burst (2^n commands; 7 = no limit).
    public var ab: UInt8 { get { UInt8(rawValue.bits(2, 0)) } set { rawValue.setBits(2, 0, UInt32(newValue)) } }
    /// Bits 15:8 — Low Priority Weight (0's based).
    public var lpw: UInt8 { get { UInt8(rawValue.bits(15, 8)) } set { rawValue.setBits(15, 8, UInt32(newValue)) } }
    /// Bits 23:16 — Medium Priority Weight (0's based).
    public var mpw: UInt8 { get { UInt8(rawValue.bits(23, 16)) } set { rawValue.setBits(23, 16, UInt32(newValue)) } }
    /// Bits 31:24 — High Priority Weight (0's based).
    public var hpw: UInt8 { get { UInt8(rawValue.bits(31, 24)) } set { rawValue.setBits(31, 24, UInt32(newValue)) } }
}

/// Power Management (FID 02h) — Figure 320.
public struct PowerManagementFeature: FeatureValue {
    public static let fid = FeatureIdentifier.powerManagement
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Bits 4:0 — Power State.
    public var ps: UInt8 { get { UInt8(rawValue.bits(4, 0)) } set { rawValue.setBits(4, 0, UInt32(newValue)) } }
    /// Bits 7:5 — Workload Hint.
    public var wh: UInt8 { get { UInt8(rawValue.bits(7, 5)) } set { rawValue.setBits(7, 5, UInt32(newValue)) } }
}

/// Temperature Threshold (FID 04h) — Figure 323.
public struct TemperatureThresholdFeature: FeatureValue {
    public static let fid = FeatureIdentifier.temperatureThreshold
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Bits 15:0 — Temperature Threshold (Kelvin).
    public var tmpth: UInt16 { get { UInt16(rawValue.bits(15, 0)) } set { rawValue.setBits(15, 0, UInt32(newValue)) } }
    /// Bits 19:16 — Threshold Temperature Select (0 composite, 1-8 sensors, Fh all).
    public var tmpsel: UInt8 { get { UInt8(rawValue.bits(19, 16)) } set { rawValue.setBits(19, 16, UInt32(newValue)) } }
    /// Bits 21:20 — Threshold Type Select (0 over temperature, 1 under temperature).
    public var thsel: UInt8 { get { UInt8(rawValue.bits(21, 20)) } set { rawValue.setBits(21, 20, UInt32(newValue)) } }
}

/// Volatile Write Cache (FID 06h) — Figure 327.
public struct VolatileWriteCacheFeature: FeatureValue {
    public static let fid = FeatureIdentifier.volatileWriteCache
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(wce: Bool) { rawValue = wce ? 1 : 0 }
    /// Bit 0 — Volatile Write Cache Enable.
    public var wce: Bool { get { rawValue.bit(0) } set { rawValue.setBit(0, newValue) } }
}

/// Number of Queues (FID 07h) — Figures 328-329. In CDW11 the host asks (NSQR/NCQR); in DW0 the controller answers
/// (NSQA/NCQA). All counts are 0's based and exclude the admin queues.
public struct NumberOfQueuesFeature: FeatureValue {
    public static let fid = FeatureIdentifier.numberOfQueues
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(nsqr: UInt16, ncqr: UInt16) { rawValue = UInt32(ncqr) << 16 | UInt32(nsqr) }
    /// Bits 15:0 — Number of I/O Submission Queues Requested (CDW11).
    public var nsqr: UInt16 { get { UInt16(rawValue.bits(15, 0)) } set { rawValue.setBits(15, 0, UInt32(newValue)) } }
    /// Bits 31:16 — Number of I/O Completion Queues Requested (CDW11).
    public var ncqr: UInt16 { get { UInt16(rawValue.bits(31, 16)) } set { rawValue.setBits(31, 16, UInt32(newValue)) } }
    /// Bits 15:0 — Number of I/O Submission Queues Allocated (DW0).
    public var nsqa: UInt16 { get { nsqr } set { nsqr = newValue } }
    /// Bits 31:16 — Number of I/O Completion Queues Allocated (DW0).
    public var ncqa: UInt16 { get { ncqr } set { ncqr = newValue } }
}

/// Interrupt Coalescing (FID 08h) — Figure 330.
public struct InterruptCoalescingFeature: FeatureValue {
    public static let fid = FeatureIdentifier.interruptCoalescing
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Bits 7:0 — Aggregation Threshold (0's based completions).
    public var thr: UInt8 { get { UInt8(rawValue.bits(7, 0)) } set { rawValue.setBits(7, 0, UInt32(newValue)) } }
    /// Bits 15:8 — Aggregation Time (100 µs units).
    public var time: UInt8 { get { UInt8(rawValue.bits(15, 8)) } set { rawValue.setBits(15, 8, UInt32(newValue)) } }
}

/// Interrupt Vector Configuration (FID 09h) — Figure 331. CDW11 selects the vector (IV) for Get Features too.
public struct InterruptVectorConfigurationFeature: FeatureValue {
    public static let fid = FeatureIdentifier.interruptVectorConfiguration
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(iv: UInt16, cd: Bool) { rawValue = UInt32(iv); self.cd = cd }
    /// Bits 15:0 — Interrupt Vector.
    public var iv: UInt16 { get { UInt16(rawValue.bits(15, 0)) } set { rawValue.setBits(15, 0, UInt32(newValue)) } }
    /// Bit 16 — Coalescing Disable.
    public var cd: Bool { get { rawValue.bit(16) } set { rawValue.setBit(16, newValue) } }
}

/// Asynchronous Event Configuration (FID 0Bh) — Figure 333 (ZNS adds bit 27).
public struct AsynchronousEventConfigurationFeature: FeatureValue {
    public static let fid = FeatureIdentifier.asynchronousEventConfiguration
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Bits 7:0 — SMART / Health Critical Warnings (one bit per Critical Warning bit).
    public var shcw: UInt8 { get { UInt8(rawValue.bits(7, 0)) } set { rawValue.setBits(7, 0, UInt32(newValue)) } }
    /// Bit 8 — Namespace Attribute Notices.
    public var nan: Bool { get { rawValue.bit(8) } set { rawValue.setBit(8, newValue) } }
    /// Bit 9 — Firmware Activation Notices.
    public var fan: Bool { get { rawValue.bit(9) } set { rawValue.setBit(9, newValue) } }
    /// Bit 10 — Telemetry Log Notices.
    public var tln: Bool { get { rawValue.bit(10) } set { rawValue.setBit(10, newValue) } }
    /// Bit 11 — Asymmetric Namespace Access Change Notices.
    public var anacn: Bool { get { rawValue.bit(11) } set { rawValue.setBit(11, newValue) } }
    /// Bit 12 — Predictable Latency Event Aggregate Log Change Notices.
    public var plealcn: Bool { get { rawValue.bit(12) } set { rawValue.setBit(12, newValue) } }
    /// Bit 13 — LBA Status Information Notices.
    public var lsin: Bool { get { rawValue.bit(13) } set { rawValue.setBit(13, newValue) } }
    /// Bit 14 — Endurance Group Event Aggregate Log Change Notices.
    public var egealcn: Bool { get { rawValue.bit(14) } set { rawValue.setBit(14, newValue) } }
    /// Bit 15 — Normal NVM Subsystem Shutdown Notices.
    public var nnsshdn: Bool { get { rawValue.bit(15) } set { rawValue.setBit(15, newValue) } }
    /// Bit 27 — Zone Descriptor Changed Notices (ZNS).
    public var zdcn: Bool { get { rawValue.bit(27) } set { rawValue.setBit(27, newValue) } }
    /// Bit 31 — Discovery Log Page Change Notification.
    public var dlpcn: Bool { get { rawValue.bit(31) } set { rawValue.setBit(31, newValue) } }
}
