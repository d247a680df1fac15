import NVMePlatform

/// How completions are signalled to the driver.
public enum InterruptMode: String, Sendable, Hashable, Codable, CaseIterable {
    /// One MSI-X vector per queue pair (vector 0 admin), armed before CC.EN = 1.
    case msix
    /// Legacy INTx (UIO): every queue on vector 0.
    case intx
    /// No interrupts: IEN = 0 on every IO CQ; the driver polls.
    case polling
}

/// Knobs of the standard init sequence. Every one of them can also be overridden by replacing a step.
public struct ControllerOptions: Sendable, Hashable {
    /// Admin SQ/CQ entries (AQA.ASQS/ACQS + 1). 2 is the smallest legal admin queue.
    public var adminQueueDepth = 32
    /// CC.MPS: memory page size 4 KiB << mps (must lie within CAP.MPSMIN...MPSMAX to work).
    public var mps: UInt8 = 0
    /// CC.AMS: 0 round robin, 1 weighted round robin with urgent priority class.
    public var arbitration: UInt8 = 0
    /// CC.CSS; nil picks 6 (all I/O command sets) when CAP.CSS bit 6 is set, else 0 (NVM).
    public var commandSetSelected: UInt8? = nil
    /// IO queue pairs the createIOQueues step creates (qid 1...n).
    public var ioQueueCount = 1
    public var ioQueueDepth = 256
    /// QPRIO for each IO SQ (0 urgent, 1 high, 2 medium, 3 low) when arbitration is WRR; missing entries are 2.
    public var ioQueuePriorities: [UInt8] = []
    public var interrupts: InterruptMode = .msix
    /// Issue Doorbell Buffer Config (before any IO queue exists) and ring IO queues through shadow doorbells.
    public var shadowDoorbells = false
    /// Asynchronous Event Requests kept outstanding.
    public var asyncEventRequests = 1
    /// Command log entries per queue (0 disables logging).
    public var commandLogCapacity = 256
    public var defaultTimeout: Duration = .seconds(5)
    public var timeoutPolicy: TimeoutPolicy = .completeLocally

    public init() {}
}
