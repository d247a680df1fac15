import NVMeSpec

/// What the generators know about the controller and the runner's memory layout. The runner fills it from CAP and
/// Identify after initialisation; tests build one by hand.
public struct FuzzEnvironment: Hashable, Sendable, Codable {
    public var pageSize: Int = 4096
    public var adminQueueDepth: Int = 32
    /// The I/O queue pair the runner keeps (polled, no interrupt vector).
    public var ioQueueID: UInt16 = 1
    public var ioQueueDepth: Int = 64
    /// Data area the commands may use, in pages.
    public var dataPages: Int = 32
    /// List area for PRP lists / SGL segments, in pages.
    public var listPages: Int = 4
    /// Identify Controller NN.
    public var namespaceCount: UInt32 = 1
    /// Active namespace identifiers.
    public var activeNamespaces: [UInt32] = [1]
    /// Namespace 1's logical block size and size in blocks.
    public var blockSize: Int = 512
    public var blockCount: UInt64 = 262_144
    /// Maximum data transfer size in bytes (nil: no limit).
    public var maximumTransferBytes: Int? = 512 * 1024
    /// CAP.MQES (0's based).
    public var mqes: UInt16 = 2047
    /// CAP.CQR.
    public var contiguousQueuesRequired: Bool = true
    /// I/O queue pairs granted by Set Features Number of Queues (1's based).
    public var grantedQueuePairs: Int = 64
    /// MSI-X vectors.
    public var interruptVectors: Int = 65
    /// Canary LBAs at the end of namespace 1 that generated commands keep away from.
    public var canaryBlocks: Int = 8

    public init() {}

    public var dataBytes: Int { dataPages * pageSize }
    /// Highest LBA count a well-formed command may use while staying clear of the canary blocks.
    public var usableBlocks: UInt64 { blockCount > UInt64(canaryBlocks) ? blockCount - UInt64(canaryBlocks) : 0 }
    public var firstCanaryBlock: UInt64 { usableBlocks }
    /// A queue id past every queue the controller granted.
    public var firstUngrantedQueueID: UInt16 { UInt16(clamping: grantedQueuePairs + 1) }
}
