import NVMeSpec

/// How the simulated controller gets CPU time to process submission queues.
public enum ExecutionMode: String, Sendable, Codable, CaseIterable {
    /// A doorbell write processes the rung queue synchronously on the writer's thread, before `write32` returns.
    /// Deterministic; the default for tests.
    case inline
    /// Doorbell writes only record the new value; the test calls `step()` / `process(count:)`.
    case step
    /// A polling thread processes queues (and shadow doorbells) continuously, for throughput.
    case background
}

/// One namespace of the simulated controller.
public struct NamespaceConfiguration: Sendable, Codable, Hashable {
    public var nsid: UInt32
    /// Namespace size in logical blocks (NSZE = NCAP).
    public var blockCount: UInt64
    /// Index into `lbaFormats` in use (FLBAS).
    public var formatIndex: Int
    /// Supported LBA formats: data size (bytes, a power of two ≥ 512) and metadata bytes per block.
    public var lbaFormats: [LBAFormat]
    /// Metadata is transferred at the end of each block in the data buffer (extended LBA) when true,
    /// through MPTR otherwise (FLBAS bit 4).
    public var extendedMetadata: Bool
    /// A zoned namespace (ZNS command set) when set.
    public var zoned: ZoneConfiguration?
    /// Attached to the controller (namespace attachment); an allocated but detached namespace is inactive.
    public var attached: Bool

    public struct LBAFormat: Sendable, Codable, Hashable {
        public var dataSize: Int
        public var metadataSize: Int
        public init(dataSize: Int, metadataSize: Int = 0) { self.dataSize = dataSize; self.metadataSize = metadataSize }
        /// LBADS: log2 of the data size.
        public var lbads: UInt8 { UInt8(dataSize.trailingZeroBitCount) }
    }

    public struct ZoneConfiguration: Sendable, Codable, Hashable {
        /// Zone size (and capacity) in logical blocks.
        public var zoneSize: UInt64
        public var zoneCapacity: UInt64
        /// Maximum open / active resources (0 = no limit).
        public var maxOpen: UInt32
        public var maxActive: UInt32
        public init(zoneSize: UInt64 = 4096, zoneCapacity: UInt64? = nil, maxOpen: UInt32 = 0, maxActive: UInt32 = 0) {
            self.zoneSize = zoneSize; self.zoneCapacity = zoneCapacity ?? zoneSize
            self.maxOpen = maxOpen; self.maxActive = maxActive
        }
    }

    /// The LBA formats QEMU 7.2 advertises: 512, 512+8, 512+16, 512+64, 4096, 4096+8, 4096+16, 4096+64.
    public static let qemuLBAFormats: [LBAFormat] = [
        .init(dataSize: 512), .init(dataSize: 512, metadataSize: 8), .init(dataSize: 512, metadataSize: 16),
        .init(dataSize: 512, metadataSize: 64), .init(dataSize: 4096), .init(dataSize: 4096, metadataSize: 8),
        .init(dataSize: 4096, metadataSize: 16), .init(dataSize: 4096, metadataSize: 64),
    ]

    /// Copy limits of Identify Namespace (NVM Command Set 1.0 §4.1.5.1), QEMU 7.2's nvme-ns defaults: Maximum Single
    /// Source Range Length (blocks), Maximum Copy Length (blocks), Maximum Source Range Count (0's based).
    public var mssrl: UInt16 = 128
    public var mcl: UInt32 = 128
    public var msrc: UInt8 = 127

    public init(nsid: UInt32 = 1, blockCount: UInt64 = 262_144, formatIndex: Int = 0,
                lbaFormats: [LBAFormat] = NamespaceConfiguration.qemuLBAFormats, extendedMetadata: Bool = false,
                zoned: ZoneConfiguration? = nil, attached: Bool = true) {
        self.nsid = nsid; self.blockCount = blockCount; self.formatIndex = formatIndex; self.lbaFormats = lbaFormats
        self.extendedMetadata = extendedMetadata; self.zoned = zoned; self.attached = attached
    }

    public var format: LBAFormat { lbaFormats[formatIndex] }
    public var blockSize: Int { format.dataSize }
    public var metadataSize: Int { format.metadataSize }
}

/// Everything that shapes a simulated controller. Defaults follow QEMU 7.2's `-device nvme` defaults, so tests
/// written against the simulator see what they will see on the VM.
public struct SimulatorConfiguration: Sendable, Hashable {
    /// CAP. Default as QEMU 7.2: MQES 2047, CQR, TO 15 (7.5 s), DSTRD 0, NSSRS 0, CSS NVM + I/O sets, MPSMAX 4.
    public var cap: ControllerCapabilities
    /// VS. Default 1.4.0.
    public var version: Version
    public var executionMode: ExecutionMode
    /// Time from CC.EN 0→1 (or 1→0) until CSTS.RDY follows. Must stay within CAP.TO to be spec compliant.
    public var readyDelay: Duration
    /// MSI-X table size (QEMU `msix_qsize`, default 65).
    public var interruptVectors: Int
    /// I/O queue pairs the controller grants (QEMU `max_ioqpairs`, default 64).
    public var maxIOQueuePairs: Int
    /// Maximum Data Transfer Size as a power of two in units of CAP.MPSMIN pages (0 = no limit); QEMU default 7.
    public var mdts: UInt8
    /// Asynchronous Event Request Limit, 0's based (QEMU `aerl`, default 3).
    public var aerl: UInt8
    public var serialNumber: String
    public var modelNumber: String
    public var firmwareRevision: String
    public var namespaces: [NamespaceConfiguration]
    /// Complete I/O commands without moving data or touching storage (measures the driver's own per-IO cost).
    public var nullIO: Bool
    /// Composite temperature reported in the SMART log, in kelvin (QEMU reports 323 K).
    public var temperatureKelvin: UInt16
    /// Firmware slots (FRMW.NOFS, 1-7); slot 1 is read-only like QEMU's.
    public var firmwareSlots: Int
    /// How long a sanitize operation runs (the Sanitize Status log reports progress meanwhile).
    public var sanitizeDuration: Duration
    /// How long a short device self-test runs (an extended one takes four times as long).
    public var selfTestDuration: Duration
    /// NVM capacity (TNVMCAP) that Namespace Management can allocate from.
    public var totalCapacityBytes: UInt64
    /// Identify Controller CMIC: bit 1 set for a controller in a multi-controller NVM subsystem (QEMU with
    /// `-device nvme-subsys`, as tools/vm's topology has).
    public var cmic: UInt8
    /// PMCSR NoSoftReset of the simulated function's PCI Power Management capability. QEMU 7.2 sets it (the function
    /// keeps its state through D3hot); false models a device that returns from D3hot to D0uninitialized, reset
    /// (PCI PM 1.2 §5.4.1).
    public var pciNoSoftReset: Bool = true

    public init(cap: ControllerCapabilities = SimulatorConfiguration.qemuCAP,
                version: Version = Version(mjr: 1, mnr: 4),
                executionMode: ExecutionMode = .inline, readyDelay: Duration = .zero,
                interruptVectors: Int = 65, maxIOQueuePairs: Int = 64, mdts: UInt8 = 7, aerl: UInt8 = 3,
                serialNumber: String = "NVMEKITSIM0", modelNumber: String = "NVMeKit Simulated Ctrl",
                firmwareRevision: String = "1.0", namespaces: [NamespaceConfiguration] = [NamespaceConfiguration()],
                nullIO: Bool = false, temperatureKelvin: UInt16 = 323, firmwareSlots: Int = 3,
                sanitizeDuration: Duration = .milliseconds(200), selfTestDuration: Duration = .milliseconds(100),
                totalCapacityBytes: UInt64 = 4 << 30, cmic: UInt8 = 0) {
        self.cap = cap; self.version = version; self.executionMode = executionMode; self.readyDelay = readyDelay
        self.interruptVectors = interruptVectors; self.maxIOQueuePairs = maxIOQueuePairs; self.mdts = mdts
        self.aerl = aerl; self.serialNumber = serialNumber; self.modelNumber = modelNumber
        self.firmwareRevision = firmwareRevision; self.namespaces = namespaces; self.nullIO = nullIO
        self.temperatureKelvin = temperatureKelvin; self.firmwareSlots = firmwareSlots
        self.sanitizeDuration = sanitizeDuration; self.selfTestDuration = selfTestDuration
        self.totalCapacityBytes = totalCapacityBytes
        self.cmic = cmic
    }

    /// CAP as QEMU 7.2 reports it.
    public static let qemuCAP = ControllerCapabilities(rawValue: 0x0040_1820_0F01_07FF)
}
