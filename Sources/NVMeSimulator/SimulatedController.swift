import CNVMeShim
import Glibc
import NVMePlatform
import NVMeSpec
import Synchronization

/// An in-process NVMe controller that *is* an `NVMeDevice` (backend `sim`): BAR0 registers and doorbells, DMA
/// through a `DMAAddressSpace`, MSI-X through real eventfds, admin and NVM/ZNS command processing over sparse
/// storage, and scriptable fault injection. Defaults match QEMU 7.2's `-device nvme`.
///
/// ```swift
/// let sim = try SimulatedController()                     // inline mode: a doorbell write processes the queue
/// let bar = sim.bar0                                      // drive it like real hardware
/// sim.inject(.nth(1, queue: .io, .dropCompletion))        // and break it on purpose
/// ```
public final class SimulatedController: NVMeDevice, @unchecked Sendable {
    public let address: String
    public var backend: String { "sim" }
    public let configuration: SimulatorConfiguration
    /// The DMA allocator and the address space the controller reaches host memory through.
    public let memory: any DMAAllocator & DMAAddressSpace
    public let simulatedInterrupts: EventInterruptSource
    /// Where namespaces, firmware slots and SMART counters persist between processes, if anywhere.
    public let stateFile: String?
    let state: Mutex<ControllerState>
    /// Fingerprint of the state as loaded from or last written to `stateFile` (nil: the file does not exist yet).
    private let savedFingerprint: Mutex<UInt64?>
    private var registerSpace: SimulatedRegisterSpace!
    private var configSpace: SimulatedConfigSpace!
    private let modeState: Mutex<(mode: ExecutionMode, poller: SimulatorThread?, clock: SimulatorThread?)>
    private let running = Atomic<Bool>(true)
    private let pollerSleeping = Atomic<Bool>(false)
    private let pollerWake: Int32
    private let clockRunning = Atomic<Bool>(false)

    /// - Parameters:
    ///   - configuration: CAP, namespaces, execution mode and the rest; defaults as QEMU 7.2.
    ///   - memory: where DMA memory comes from; by default a fresh `HeapDMAAllocator` (simulated bus addresses).
    ///   - address: the name the device reports (`sim0`).
    public convenience init(configuration: SimulatorConfiguration = SimulatorConfiguration(),
                memory: (any DMAAllocator & DMAAddressSpace)? = nil, address: String = "sim0") throws {
        try self.init(configuration: configuration, memory: memory, address: address, stateFile: nil)
    }

    /// A controller whose namespaces (layout and data), firmware slots and SMART counters persist in `stateFile`:
    /// loaded from it when it exists (its namespaces replace `configuration.namespaces`), written back by
    /// `saveState()` and `close()`. Each process starts as after a power cycle. One process at a time per file.
    public convenience init(stateFile: String, configuration: SimulatorConfiguration = SimulatorConfiguration(),
                            memory: (any DMAAllocator & DMAAddressSpace)? = nil, address: String = "sim0") throws {
        try self.init(configuration: configuration, memory: memory, address: address, stateFile: Optional(stateFile))
    }

    private init(configuration: SimulatorConfiguration, memory: (any DMAAllocator & DMAAddressSpace)?,
                 address: String, stateFile: String?) throws {
        try Self.validateNamespaces(configuration.namespaces)
        self.address = address
        self.stateFile = stateFile
        self.configuration = configuration
        let mem = memory ?? HeapDMAAllocator()
        self.memory = mem
        simulatedInterrupts = EventInterruptSource(kind: .msix, supportedVectors: configuration.interruptVectors)
        var initial = ControllerState(configuration: configuration, bus: BusMemory(space: mem))
        var fingerprint: UInt64? = nil
        if let path = stateFile, let bytes = try StateFile.load(path) {
            try initial.decodeState(bytes, path: path)
            fingerprint = StateFile.fingerprint(initial.encodeState())
        }
        savedFingerprint = Mutex(fingerprint)
        state = Mutex(initial)
        modeState = Mutex((configuration.executionMode, nil, nil))
        let fd = nvmekit_eventfd_create(1)
        guard fd >= 0 else { throw PlatformError.system(what: "eventfd for the simulator's poller", errno: .init(rawValue: -fd)) }
        pollerWake = fd
        registerSpace = SimulatedRegisterSpace(controller: self, length: ControllerState.barLength(configuration))
        configSpace = SimulatedConfigSpace(controller: self)
        if configuration.executionMode == .background { startPoller() }
    }

    /// Throws `InvalidArgument` for a namespace the simulator cannot hold: no LBA format or more than 64, a format
    /// index outside them, a data size that is not a power of two of at least 512, a negative metadata size, or
    /// more bytes (blocks × (data + metadata)) than a 64-bit byte offset addresses. Each of these trapped later.
    static func validateNamespaces(_ namespaces: [NamespaceConfiguration]) throws {
        for (i, ns) in namespaces.enumerated() {
            try InvalidArgument.check("namespaces[\(i)].lbaFormats.count", ns.lbaFormats.count, in: 1...64)
            try InvalidArgument.check("namespaces[\(i)].formatIndex", ns.formatIndex, in: 0..<ns.lbaFormats.count)
            for (k, f) in ns.lbaFormats.enumerated() {
                guard f.dataSize >= 512, f.dataSize & (f.dataSize - 1) == 0 else {
                    throw InvalidArgument(name: "namespaces[\(i)].lbaFormats[\(k)].dataSize", value: f.dataSize,
                                          valid: "a power of two >= 512")
                }
                try InvalidArgument.check("namespaces[\(i)].lbaFormats[\(k)].metadataSize", f.metadataSize, in: 0...0xFFFF)
            }
            let perBlock = UInt64(ns.blockSize + ns.metadataSize)
            try InvalidArgument.check("namespaces[\(i)].blockCount", ns.blockCount, in: 0...(UInt64.max / perBlock))
        }
    }

    deinit {
        // The poller holds the controller strongly, so it is not running here; the clock thread holds it weakly
        // and exits on its next tick.
        running.store(false, ordering: .releasing)
        _ = Glibc.close(pollerWake)
    }

    // MARK: NVMeDevice

    public var bar0: any RegisterSpace { registerSpace }
    public var dma: any DMAAllocator { memory }
    public var interrupts: any InterruptSource { simulatedInterrupts }
    public var config: (any ConfigSpace)? { configSpace }
    public var supportedResets: Set<FunctionResetKind> { [.flr, .hotReset, .powerCycle] }

    /// FLR and hot reset return every register to its reset value (a controller reset with CC = 0); a power cycle
    /// also counts in SMART Power Cycles and activates a pending firmware image. Namespaces and their data persist.
    public func reset(_ kind: FunctionResetKind) throws {
        withState { $0.functionReset(powerCycle: kind == .powerCycle) }
    }

    /// Stops the threads, disarms interrupts and, with a state file, saves it (a failure to save is reported by
    /// `saveState()`; `close()` cannot throw, so call `saveState()` first when the outcome matters).
    public func close() {
        stopThreads()
        try? simulatedInterrupts.disable()
        try? saveState()
    }

    /// Writes namespaces, firmware slots and SMART counters to `stateFile` (nothing without one), atomically
    /// (temporary file, fsync, rename, fsync of the directory). A sanitize still running completes first. When
    /// nothing changed since the file was loaded or last saved, the file is left untouched (byte for byte: the
    /// power cycle this process counted at start is not recorded by itself).
    public func saveState() throws {
        guard let path = stateFile else { return }
        let bytes = withState { s -> [UInt8] in
            s.advanceBackgroundOperations()
            if s.sanitize.inProgress { s.finishSanitize() }
            return s.encodeState()
        }
        let fingerprint = StateFile.fingerprint(bytes)
        if savedFingerprint.withLock({ $0 }) == fingerprint { return }
        try StateFile.save(bytes, to: path)
        savedFingerprint.withLock { $0 = fingerprint }
    }

    // MARK: Execution

    /// How queues get processed; changing it starts or stops the polling thread.
    public var executionMode: ExecutionMode {
        get { modeState.withLock { $0.mode } }
        set {
            let old = modeState.withLock { s -> ExecutionMode in let o = s.mode; s.mode = newValue; return o }
            if old == .background && newValue != .background { stopPoller() }
            if newValue == .background && old != .background { startPoller() }
            if newValue == .inline { process() }
        }
    }

    /// Processes one command (admin queue first, then I/O queues in order). Returns false when no SQ had work.
    @discardableResult
    public func step() -> Bool { process(count: 1) == 1 }

    /// Processes up to `count` commands; returns how many were fetched.
    @discardableResult
    public func process(count: Int = .max) -> Int {
        withState { $0.processAll(limit: count) }
    }

    /// Commands the host has posted (SQ tail moved by a doorbell) that the controller has not fetched yet.
    public var pendingCommands: Int {
        withState { s in
            s.sqs.compactMap { $0 }.reduce(0) { n, q in n + Int((q.tail + q.size - q.head) % q.size) }
        }
    }

    // MARK: Registers (called by SimulatedRegisterSpace)

    func readRegister(_ offset: Int) -> UInt32 {
        withState { $0.readRegister(offset) }
    }

    func writeRegister(_ value: UInt32, at offset: Int) {
        let mode = modeState.withLock { $0.mode }
        withState { s in
            s.writeRegister(value, at: offset)
            if mode == .inline { s.processKicked() } else { s.kick = .none }
        }
        if mode == .background && pollerSleeping.load(ordering: .acquiring) { _ = nvmekit_eventfd_signal(pollerWake) }
    }

    // MARK: Faults, events and inspection

    /// Arms a fault rule. Rules are checked in the order they were added; the first that fires wins.
    public func inject(_ rule: FaultRule) {
        withState { $0.faults.rules.append((rule, 0, 0)) }
        if rule.action.needsClock { startClock() }
    }

    /// Disarms every fault rule (completions already held by a delay still arrive).
    public func clearFaults() { withState { $0.faults.rules.removeAll() } }

    /// Makes a controller that disappeared (registers all ones) answer again, as after a re-plug; it comes back
    /// reset.
    public func reappear() { withState { $0.functionReset(powerCycle: true) } }

    /// Sets the composite temperature (kelvin) the SMART log reports; crossing a threshold raises a SMART event
    /// when Asynchronous Event Configuration enables it.
    public func setTemperature(kelvin: UInt16) {
        withState { s in s.temperatureOverride = kelvin; s.checkTemperature() }
    }

    /// Queues an asynchronous event as the controller would (type, information, log page), for AER tests.
    public func raiseAsyncEvent(type: UInt8, info: UInt8, logPage: UInt8) {
        withState { $0.enqueueEvent(AsyncEvent(type: type, info: info, logPage: logPage)) }
    }

    public var statistics: SimulatorStatistics { withState { $0.statistics } }

    /// Active namespace IDs.
    public var activeNamespaces: [UInt32] {
        withState { s in s.namespaces.values.filter { $0.config.attached }.map(\.nsid).sorted() }
    }

    /// The current configuration of namespace `nsid` (after formats, namespace management), nil when not allocated.
    public func namespace(_ nsid: UInt32) -> NamespaceConfiguration? {
        withState { $0.namespaces[nsid]?.config }
    }

    /// Reads namespace blocks directly, bypassing the queues (for test oracles). Data only, no metadata.
    public func readBlocks(nsid: UInt32, lba: UInt64, count: Int) -> [UInt8]? {
        withState { s in
            guard let ns = s.namespaces[nsid] else { return nil }
            return ns.data.read(offset: lba * UInt64(ns.blockSize), count: count * ns.blockSize)
        }
    }

    /// Writes namespace blocks directly, bypassing the queues (for test setup). Data only.
    public func writeBlocks(nsid: UInt32, lba: UInt64, data: [UInt8]) {
        withState { s in
            guard let bs = s.namespaces[nsid]?.blockSize else { return }
            s.namespaces[nsid]!.data.write(offset: lba * UInt64(bs), from: data)
        }
    }

    /// Runs `body` with the controller state locked, then delivers the MSI-X messages it produced.
    func withState<R>(_ body: (inout ControllerState) -> R) -> R {
        let (r, vectors) = state.withLock { s -> (R, [Int]) in
            let r = body(&s)
            if s.vectorsToSignal.isEmpty { return (r, []) }
            let v = s.vectorsToSignal
            s.vectorsToSignal.removeAll(keepingCapacity: true)
            return (r, v)
        }
        for v in vectors { simulatedInterrupts.trigger(vector: v) }
        return r
    }

    // MARK: Threads

    private func startPoller() {
        let t = SimulatorThread { [weak self] in self?.pollLoop() }
        modeState.withLock { $0.poller = t }
        t.start()
    }

    private func stopPoller() {
        guard let t = modeState.withLock({ s -> SimulatorThread? in let t = s.poller; s.poller = nil; return t }) else { return }
        _ = nvmekit_eventfd_signal(pollerWake)
        t.join()
    }

    private func pollLoop() {
        var idle = 0
        while running.load(ordering: .relaxed) {
            if modeState.withLock({ $0.poller == nil }) { return }
            let n = withState { s -> Int in
                s.advanceClock()
                return s.processAll(limit: 1024)
            }
            if n > 0 { idle = 0; continue }
            idle += 1
            if idle < 2_000 { continue }
            pollerSleeping.store(true, ordering: .releasing)
            // Shadow doorbells change without an MMIO write: wake up every millisecond to look at them.
            _ = nvmekit_poll_readable(pollerWake, 1_000_000)
            var v: UInt64 = 0
            _ = nvmekit_eventfd_read(pollerWake, &v)
            pollerSleeping.store(false, ordering: .releasing)
            idle = 0
        }
    }

    /// The clock thread posts completions held by delay faults (and runs commands held by delayExecution faults)
    /// when their time comes, in every mode.
    private func startClock() {
        guard clockRunning.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { return }
        let t = SimulatorThread { [weak self] in
            while let me = self, me.running.load(ordering: .relaxed) {
                me.withState { $0.advanceClock() }
                var ts = timespec(tv_sec: 0, tv_nsec: 200_000)
                _ = nanosleep(&ts, nil)
            }
        }
        modeState.withLock { $0.clock = t }
        t.start()
    }

    private func stopThreads() {
        running.store(false, ordering: .releasing)
        stopPoller()
        if let c = modeState.withLock({ s -> SimulatorThread? in let c = s.clock; s.clock = nil; return c }) { c.join() }
    }
}

/// BAR0 of a simulated controller.
final class SimulatedRegisterSpace: RegisterSpace, @unchecked Sendable {
    unowned let controller: SimulatedController
    let length: Int

    init(controller: SimulatedController, length: Int) { self.controller = controller; self.length = length }

    func read32(at offset: Int) -> UInt32 { controller.readRegister(offset) }
    func write32(_ value: UInt32, at offset: Int) { controller.writeRegister(value, at: offset) }
    func read64(at offset: Int) -> UInt64 {
        UInt64(read32(at: offset)) | UInt64(read32(at: offset &+ 4)) << 32
    }
    func write64(_ value: UInt64, at offset: Int) {
        write32(UInt32(truncatingIfNeeded: value), at: offset)
        write32(UInt32(truncatingIfNeeded: value >> 32), at: offset &+ 4)
    }
}
