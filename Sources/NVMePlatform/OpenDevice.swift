/// The ways NVMeKit reaches a PCI function.
public enum DeviceBackend: String, Sendable, Codable, CaseIterable {
    /// vfio-pci with the IOMMU (type1): isolated DMA at IOVAs NVMeKit allocates.
    case vfio
    /// vfio-pci in no-IOMMU mode: physical bus addresses, no isolation. Opt-in.
    case noiommu
    /// uio_pci_generic: BAR through sysfs, INTx only, physical bus addresses, no isolation. Opt-in.
    case uio

    /// The kernel driver this backend needs the function bound to.
    public var driver: DriverBinding.Target { self == .uio ? .uio : .vfio }
    public var isUnsafe: Bool { self != .vfio }
}

/// How to open a device.
public struct DeviceOptions: Sendable {
    /// Required for `noiommu` and `uio`: they let the device DMA anywhere in physical memory.
    public var allowUnsafe: Bool
    /// Preferred interrupt kind; falls back MSI-X → MSI → INTx to what the function offers (UIO: INTx only).
    public var interrupts: InterruptKind
    /// Page size backing DMA memory. Hugepages by default; `.small` (4 KiB) works for VFIO type1, where the IOMMU pins.
    public var dmaPageSize: HugepageDMAAllocator.PageSize
    /// Bind the function to the backend's driver first when it is bound elsewhere (refusing in-use controllers
    /// unless `force`).
    public var bindIfNeeded: Bool
    public var force: Bool
    /// Set PCI COMMAND memory space + bus master on open (DMA needs it; vfio-pci clears it on open).
    public var enableBusMaster: Bool

    public init(allowUnsafe: Bool = false, interrupts: InterruptKind = .msix,
                dmaPageSize: HugepageDMAAllocator.PageSize = .huge2M, bindIfNeeded: Bool = false, force: Bool = false,
                enableBusMaster: Bool = true) {
        self.allowUnsafe = allowUnsafe; self.interrupts = interrupts; self.dmaPageSize = dmaPageSize
        self.bindIfNeeded = bindIfNeeded; self.force = force; self.enableBusMaster = enableBusMaster
    }
}

/// Opens the NVMe function at `address` through `backend`. Every user-fixable problem is a `PlatformError` whose
/// description names the fix (bad address, not root, IOMMU off, group not viable, wrong driver, no hugepages,
/// device gone).
public func openDevice(address: String, backend: DeviceBackend,
                       options: DeviceOptions = DeviceOptions()) throws -> any NVMeDevice {
    let bus = PCIBus()
    let a = try bus.address(address)
    if backend.isUnsafe && !options.allowUnsafe { throw PlatformError.unsafeBackendNotAllowed(backend: backend.rawValue) }
    let driver = bus.driver(of: a)
    if driver != backend.driver.rawValue {
        if options.bindIfNeeded {
            try DriverBinding(bus: bus).bind(a, to: backend.driver, force: options.force)
        } else {
            if !bus.files.exists("\(PCIBus.drivers)/\(backend.driver.rawValue)") {
                throw PlatformError.driverNotLoaded(driver: backend.driver.rawValue, module: backend.driver.module)
            }
            throw PlatformError.boundToOtherDriver(address: a.description, driver: driver ?? "no driver",
                                                   needed: backend.driver.rawValue)
        }
    }
    switch backend {
    case .vfio: return try VFIODevice(address: a, noIOMMU: false, options: options, bus: bus)
    case .noiommu: return try VFIODevice(address: a, noIOMMU: true, options: options, bus: bus)
    case .uio: return try UIODevice(address: a, options: options, bus: bus)
    }
}
