import NVMeSpec

// The backend-neutral device interface. The driver sees an NVMe function only through these protocols; VFIO type1,
// VFIO no-IOMMU, UIO and the in-process simulator each conform. Nothing here performs a syscall.

/// BAR0 of an NVMe controller: controller registers and doorbells.
public protocol RegisterSpace: AnyObject, Sendable {
    /// Size of the mapping in bytes.
    var length: Int { get }
    func read32(at offset: Int) -> UInt32
    func write32(_ value: UInt32, at offset: Int)
    /// 64-bit registers are accessed as two dwords, low first.
    func read64(at offset: Int) -> UInt64
    func write64(_ value: UInt64, at offset: Int)
}

/// What a bus master needs: host memory behind a bus address. The simulator implements this on its allocator;
/// real devices do the translation in the IOMMU.
public protocol DMAAddressSpace: AnyObject, Sendable {
    /// Host memory for `[bus, bus + length)`, or nil when any byte of it is not mapped (a DMA fault).
    func hostPointer(bus: UInt64, length: Int) -> UnsafeMutableRawPointer?
}

/// Allocates pinned memory the device can reach.
public protocol DMAAllocator: AnyObject, Sendable {
    /// `length` bytes aligned to `alignment` (a power of two), zero-filled, pinned and mapped for the device.
    func allocate(length: Int, alignment: Int) throws -> DMARegion
    /// Regions allocated and not yet released, for the leak report at teardown.
    var liveRegions: Int { get }
}

/// The argument checks every `DMAAllocator` makes before allocating.
public enum DMAArguments {
    /// The largest single allocation accepted: 1 TiB (larger lengths would overflow page rounding long before).
    public static let maximumLength = 1 << 40
    /// Throws `InvalidArgument` unless `length` is in 0...1 TiB and `alignment` is a power of two up to 1 GiB.
    public static func check(length: Int, alignment: Int) throws {
        try InvalidArgument.check("length", length, in: 0...maximumLength)
        guard alignment > 0, alignment <= 1 << 30, alignment & (alignment - 1) == 0 else {
            throw InvalidArgument(name: "alignment", value: alignment, valid: "a power of two in 1...2^30")
        }
    }
}

/// How a device signals completions.
public enum InterruptKind: String, Sendable, Codable {
    case msix, msi, intx, none
}

/// Interrupt vectors, each backed by an eventfd the device (or the simulator) signals.
public protocol InterruptSource: AnyObject, Sendable {
    var kind: InterruptKind { get }
    /// Vectors the function supports (MSI-X table size; 1 for INTx).
    var supportedVectors: Int { get }
    /// Vectors currently armed.
    var enabledVectors: Int { get }
    /// Arms vectors `0..<count`. For VFIO this must precede CC.EN = 1; the driver's init step does it in order.
    func enable(vectors count: Int) throws
    func disable() throws
    /// Waits until `vector` fires or `timeout` passes; returns the number of events consumed (0 on timeout).
    func wait(vector: Int, timeout: Duration) throws -> UInt64
    /// Events seen on `vector` since it was armed (consumed by `wait` or not).
    func count(vector: Int) -> UInt64
    /// Masks or unmasks one vector (MSI-X table Vector Control for real devices).
    func setMasked(_ masked: Bool, vector: Int) throws
    /// Whether `vector` is masked.
    func isMasked(vector: Int) -> Bool
    /// Whether an interrupt arrived on `vector` while it was masked and has not been delivered yet (the pending
    /// bit); unmasking delivers it.
    func isPending(vector: Int) -> Bool
}

extension InterruptSource {
    /// A source that keeps no mask state reports every vector unmasked.
    public func isMasked(vector: Int) -> Bool { false }
    /// A source that keeps no pending bits reports none pending.
    public func isPending(vector: Int) -> Bool { false }
}

/// PCI configuration space of the function.
public protocol ConfigSpace: AnyObject, Sendable {
    var length: Int { get }
    func read8(at offset: Int) throws -> UInt8
    func read16(at offset: Int) throws -> UInt16
    func read32(at offset: Int) throws -> UInt32
    func write8(_ value: UInt8, at offset: Int) throws
    func write16(_ value: UInt16, at offset: Int) throws
    func write32(_ value: UInt32, at offset: Int) throws
}

/// Function-level resets a backend may offer (controller reset through CC.EN and NSSR live in the driver).
public enum FunctionResetKind: String, Sendable, Codable, CaseIterable {
    /// PCIe Function Level Reset (VFIO_DEVICE_RESET or sysfs `reset`).
    case flr
    /// Secondary bus / hot reset of the slot.
    case hotReset
    /// Power cycle of the device (the simulator, or the VM harness).
    case powerCycle
}

/// One NVMe PCIe function as the driver sees it.
public protocol NVMeDevice: AnyObject, Sendable {
    /// `0000:00:04.0` for a PCI function, `sim0` for a simulated one.
    var address: String { get }
    /// `vfio`, `noiommu`, `uio`, `sim`.
    var backend: String { get }
    var bar0: any RegisterSpace { get }
    var dma: any DMAAllocator { get }
    var interrupts: any InterruptSource { get }
    /// nil when the backend has no config space (never for PCI backends).
    var config: (any ConfigSpace)? { get }
    /// Resets this backend can perform.
    var supportedResets: Set<FunctionResetKind> { get }
    /// Performs a function reset; BAR mappings and DMA mappings survive, bus mastering is restored.
    func reset(_ kind: FunctionResetKind) throws
    /// Releases the device: disarms interrupts, stops DMA where no IOMMU does (Bus Master Enable cleared on uio and
    /// no-IOMMU), revokes DMA memory (`DMARegion.isRevoked`), detaches the BAR mapping and closes every descriptor.
    /// Idempotent. Later register accesses read all ones and write nowhere; later DMA allocations throw.
    func close()
}

extension RegisterSpace {
    public var cap: ControllerCapabilities { ControllerCapabilities(rawValue: read64(at: ControllerRegister.cap.rawValue)) }
    public var vs: Version { Version(rawValue: read32(at: ControllerRegister.vs.rawValue)) }
    public var cc: ControllerConfiguration {
        get { ControllerConfiguration(rawValue: read32(at: ControllerRegister.cc.rawValue)) }
    }
    public func setCC(_ cc: ControllerConfiguration) { write32(cc.rawValue, at: ControllerRegister.cc.rawValue) }
    public var csts: ControllerStatus { ControllerStatus(rawValue: read32(at: ControllerRegister.csts.rawValue)) }
    public var aqa: AdminQueueAttributes { AdminQueueAttributes(rawValue: read32(at: ControllerRegister.aqa.rawValue)) }
    public func setAQA(_ aqa: AdminQueueAttributes) { write32(aqa.rawValue, at: ControllerRegister.aqa.rawValue) }
    public var asq: UInt64 { read64(at: ControllerRegister.asq.rawValue) }
    public func setASQ(_ v: UInt64) { write64(v, at: ControllerRegister.asq.rawValue) }
    public var acq: UInt64 { read64(at: ControllerRegister.acq.rawValue) }
    public func setACQ(_ v: UInt64) { write64(v, at: ControllerRegister.acq.rawValue) }
}
