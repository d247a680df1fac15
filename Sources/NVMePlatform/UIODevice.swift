import CNVMeShim
import NVMeSpec
import Synchronization
import SystemPackage

// The UIO backend (uio_pci_generic): BAR0 through sysfs `resource0`, config space through sysfs `config`, INTx through
// /dev/uioN, bus addresses from /proc/self/pagemap. No isolation: opt-in only.

/// An NVMe function bound to uio_pci_generic.
public final class UIODevice: NVMeDevice, @unchecked Sendable {
    public let address: String
    public let backend = "uio"
    public let bar0: any RegisterSpace
    public let dma: any DMAAllocator
    public let interrupts: any InterruptSource
    public let config: (any ConfigSpace)?
    public let supportedResets: Set<FunctionResetKind>
    /// `/dev/uioN`.
    public let uioPath: String

    private let bus: PCIBus
    private let pci: PCIAddress
    private let closed = Mutex(false)
    private let forwarder: UIOForwarder
    private let bar: MappedBAR

    init(address a: PCIAddress, options: DeviceOptions, bus: PCIBus) throws {
        address = a.description
        pci = a
        self.bus = bus
        let files = bus.files
        guard let uio = (try? files.list(bus.path(a, "uio")))?.first(where: { $0.hasPrefix("uio") }) else {
            throw PlatformError.unsupported("\(address) has no uio device under \(bus.path(a, "uio")); "
                + "bind it: `nvmekit bind --driver uio \(address)`")
        }
        uioPath = "/dev/\(uio)"
        let resource = bus.path(a, "resource0")
        for p in [uioPath, resource, bus.path(a, "config")] where !files.isAccessible(p, write: true) {
            throw PlatformError.notRoot(operation: "Opening \(address) through UIO", path: p)
        }

        let cfg = try SysfsConfigSpace(path: ((files as? HostFiles)?.root ?? "") + bus.path(a, "config"))
        config = cfg
        // uio_pci_generic does not enable the device for DMA.
        if options.enableBusMaster { try cfg.enableMemoryAndBusMaster() }

        // BAR0 size: the first line of `resource` is "start end flags".
        let line = files.string(bus.path(a, "resource"))?.split(separator: "\n").first ?? ""
        let fields = line.split(separator: " ").compactMap { UInt64($0.dropFirst(2), radix: 16) }
        guard fields.count >= 2, fields[1] > fields[0] else {
            throw PlatformError.unsupported("cannot read BAR0 size of \(address) from \(bus.path(a, "resource"))")
        }
        let size = Int(fields[1] - fields[0] + 1)
        // The mapping keeps what it needs of the file: the descriptor closes when its owner goes, here.
        let resourceFD = try OwnedDescriptor.check(nvmekit_open(resource, 2), "opening \(resource)", name: resource)
        var err: Int32 = 0
        guard let p = nvmekit_mmap_device(resourceFD.unsafeRawValue, size, 0, &err) else {
            throw PlatformError.system(what: "mapping \(resource)", errno: Errno(rawValue: err))
        }
        resourceFD.close()
        let bar = MappedBAR(length: size, areas: [.init(offset: 0, length: size, base: nvmekit_address(p))], fd: nil, fdOffset: 0)
        self.bar = bar
        bar0 = bar
        try bar.checkPresent(address: address)

        let uioFD = try OwnedDescriptor.check(nvmekit_open(uioPath, 2), "opening \(uioPath)", name: uioPath)
        let forwarder = UIOForwarder(uioFD: uioFD)
        self.forwarder = forwarder
        // uio_pci_generic masks INTx in its handler by setting PCI COMMAND.INTx_DISABLE (bit 10) and offers no
        // irqcontrol (writing /dev/uioN fails with ENOSYS): user space unmasks by clearing the bit in config space.
        let setINTx: @Sendable (Bool) throws -> Void = { enabled in
            var command = try cfg.command
            if enabled { command.remove(.interruptDisable) } else { command.insert(.interruptDisable) }
            try cfg.setCommand(command)
        }
        interrupts = EventInterruptSource(kind: .intx, supportedVectors: 1, hooks: .init(
            arm: { fds in
                forwarder.start(eventFD: fds[0])
                try setINTx(true)
            },
            disarm: {
                forwarder.stop()
                try setINTx(false)
            },
            // Masking a vector of a pin-based controller is the controller's own job: INTMS/INTMC (NVMe 2.0 §3.1.4.3–4)
            // stop it asserting INTx, and it asserts again on INTMC while completions are pending.
            mask: { vector, masked in
                bar.write32(UInt32(1) << UInt32(vector), at: masked ? ControllerRegister.intms.rawValue : ControllerRegister.intmc.rawValue)
            },
            // Level-triggered INTx stays asserted until the CQ head doorbell moves: unmask only once a listener has
            // consumed the event, not in the forwarder, or the line would storm.
            acknowledge: { _ in try? setINTx(true) }))

        dma = HugepageDMAAllocator(mapper: try PagemapMapper(), pageSize: options.dmaPageSize,
                                   numaNode: (try? bus.function(a))?.numaNode, files: files)
        supportedResets = files.exists(bus.path(a, "reset")) ? [.flr] : []
        Self.opens.withLock { $0[a.description, default: 0] += 1 }
    }

    /// UIODevices open in this process, by function: uio_pci_generic lets a function be opened more than once, and
    /// Bus Master Enable is cleared only when the last of them closes.
    static let opens = Mutex<[String: Int]>([:])

    deinit { close() }

    public func reset(_ kind: FunctionResetKind) throws {
        guard kind == .flr else { throw PlatformError.unsupported("uio supports only FLR (sysfs reset) for \(address)") }
        try bus.reset(pci)
        try config?.enableMemoryAndBusMaster()
    }

    /// Releases the function: disarms INTx and joins the forwarder thread; when no other UIODevice of this process
    /// has the function open, disables the controller (CC.EN = 0, CSTS.RDY = 0 within CAP.TO) and clears Bus Master
    /// Enable (UIO has no IOMMU: nothing else stops the device from writing to memory that is about to be reused);
    /// revokes the DMA
    /// memory (`DMARegion.isRevoked`), drops the BAR mapping (later register accesses read all ones and write
    /// nowhere) and closes every descriptor. Idempotent.
    public func close() {
        let already = closed.withLock { c in defer { c = true }; return c }
        if already { return }
        try? interrupts.disable()
        forwarder.close()
        let last = Self.opens.withLock { o -> Bool in
            let n = (o[address] ?? 1) - 1
            o[address] = n > 0 ? n : nil
            return n <= 0
        }
        if last { disableControllerAndBusMaster() }
        (dma as? HugepageDMAAllocator)?.revoke(reason: "uio device \(address) was closed")
        bar.revoke()
    }
}

/// Forwards UIO interrupts to an eventfd: a thread blocks on /dev/uioN and for every change of its counter signals the
/// vector's eventfd. uio_pci_generic masks INTx in its handler; the source's acknowledge hook unmasks it.
/// Owns /dev/uioN: `stop()` joins the thread, so `close()` never closes the descriptor under it.
final class UIOForwarder: @unchecked Sendable {
    private let uioFD: OwnedDescriptor
    private let running = Mutex<(handle: StreamHandle, thread: JoinableThread)?>(nil)
    init(uioFD: OwnedDescriptor) { self.uioFD = uioFD }

    deinit { close() }

    func start(eventFD: Int32) {
        stop()
        guard uioFD.isOpen else { return }
        let stopFD = nvmekit_eventfd_create(1)
        guard stopFD >= 0 else { return }
        let handle = StreamHandle(stopFD: stopFD)
        let ufd = uioFD.unsafeRawValue   // valid until stop() has joined the thread
        let thread = JoinableThread {
            while true {
                let r = nvmekit_poll_readable_or_stop(ufd, handle.stopFD, -1)
                if r != 1 { return }
                var count: UInt32 = 0
                if nvmekit_uio_wait(ufd, 0, &count) == 1 {
                    _ = nvmekit_eventfd_signal(eventFD)
                }
            }
        }
        guard let thread else { return }
        running.withLock { $0 = (handle, thread) }
    }

    /// Stops the thread and waits until it has returned.
    func stop() {
        guard let r = running.withLock({ r in defer { r = nil }; return r }) else { return }
        r.handle.stop()
        r.thread.join()
    }

    /// Stops the thread, then closes /dev/uioN (idempotent).
    func close() {
        stop()
        uioFD.close()
    }
}
