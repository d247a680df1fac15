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

    private let uioFD: Int32
    private let bus: PCIBus
    private let pci: PCIAddress
    private let closed = Mutex(false)
    private let forwarder: UIOForwarder

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
        let rfd = nvmekit_open(resource, 2)
        guard rfd >= 0 else { throw PlatformError.system(what: "opening \(resource)", errno: Errno(rawValue: -rfd)) }
        var err: Int32 = 0
        let p = nvmekit_mmap_device(rfd, size, 0, &err)
        _ = nvmekit_close(rfd)
        guard let p else { throw PlatformError.system(what: "mapping \(resource)", errno: Errno(rawValue: err)) }
        let bar = MappedBAR(length: size, areas: [.init(offset: 0, length: size, base: nvmekit_address(p))], fd: -1, fdOffset: 0)
        bar0 = bar
        try bar.checkPresent(address: address)

        let ufd = nvmekit_open(uioPath, 2)
        guard ufd >= 0 else { throw PlatformError.system(what: "opening \(uioPath)", errno: Errno(rawValue: -ufd)) }
        uioFD = ufd
        let forwarder = UIOForwarder(uioFD: ufd)
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
    }

    deinit { close() }

    public func reset(_ kind: FunctionResetKind) throws {
        guard kind == .flr else { throw PlatformError.unsupported("uio supports only FLR (sysfs reset) for \(address)") }
        try bus.reset(pci)
        try config?.enableMemoryAndBusMaster()
    }

    public func close() {
        let already = closed.withLock { c in defer { c = true }; return c }
        if already { return }
        try? interrupts.disable()
        forwarder.stop()
        _ = nvmekit_close(uioFD)
    }
}

/// Forwards UIO interrupts to an eventfd: a thread blocks on /dev/uioN and for every change of its counter signals the
/// vector's eventfd. uio_pci_generic masks INTx in its handler; the source's acknowledge hook unmasks it.
final class UIOForwarder: @unchecked Sendable {
    private let uioFD: Int32
    private let running = Mutex<StreamHandle?>(nil)
    init(uioFD: Int32) { self.uioFD = uioFD }

    func start(eventFD: Int32) {
        stop()
        let stopFD = nvmekit_eventfd_create(1)
        guard stopFD >= 0 else { return }
        let handle = StreamHandle(stopFD: stopFD)
        running.withLock { $0 = handle }
        let ufd = uioFD
        PlatformThread.detach {
            while true {
                let r = nvmekit_poll_readable_or_stop(ufd, handle.stopFD, -1)
                if r != 1 { return }
                var count: UInt32 = 0
                if nvmekit_uio_wait(ufd, 0, &count) == 1 {
                    _ = nvmekit_eventfd_signal(eventFD)
                }
            }
        }
    }

    func stop() {
        let h = running.withLock { h in defer { h = nil }; return h }
        h?.stop()
    }
}
