import SystemPackage

/// Failures a user can fix: each description says what happened and the command that fixes it.
/// Syscall failures below these are `Errno` (swift-system); NVMe completion errors are `CompletionStatus` values.
public enum PlatformError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A syscall failed; `what` names the operation and the object.
    case system(what: String, errno: Errno)
    case unsupported(String)

    /// The text is not a PCI address (`domain:bus:device.function`).
    case invalidAddress(String)
    /// A well-formed address with no function behind it.
    case deviceNotFound(address: String)
    /// The operation needs root (or ownership of `path`).
    case notRoot(operation: String, path: String)
    /// The function has no IOMMU group: the IOMMU is off or absent.
    case iommuOff(address: String)
    /// Another device in the IOMMU group is bound to a host driver; `others` lists `(address, driver)`.
    case groupNotViable(group: Int, address: String, others: [GroupMember])
    /// The function is bound to `driver`, not to the driver the backend needs.
    case boundToOtherDriver(address: String, driver: String, needed: String)
    /// The kernel module a backend needs is not loaded.
    case driverNotLoaded(driver: String, module: String)
    /// Taking the controller would pull storage out from under the host (mounted filesystem, swap, md/dm/LVM).
    case deviceInUse(address: String, users: [String])
    /// Whether the controller is in use could not be established (a namespace that cannot be opened, namespaces that
    /// cannot be listed); each entry names the object, the errno and the fix. Binding fails closed.
    case inUseUnknown(address: String, problems: [String])
    /// Releasing the function from its userspace driver would pull it from under a process that has it open.
    case releaseInUse(address: String, users: [String])
    /// The function is not an NVMe controller (class 01:08:02); NVMeKit never binds or releases it.
    case notNVMeController(address: String, classCode: UInt32)
    /// `unbind` on a function that is not on a userspace driver (`driver` nil: no driver and no record).
    case notBoundByNVMeKit(address: String, driver: String?)
    /// `unbind` on a function on vfio-pci/uio_pci_generic with no driver recorded under /run/nvmekit.
    case noRecordedDriver(address: String, driver: String)
    /// Not enough hugepages free for a DMA allocation.
    case noHugepages(bytes: Int, pageSize: Int, free: Int, total: Int)
    /// A register reads all ones: the device fell off the bus, or memory space is disabled.
    case deviceGone(address: String, register: String, value: UInt64)
    /// An unsafe backend (no-IOMMU, UIO) was asked for without the explicit opt-in.
    case unsafeBackendNotAllowed(backend: String)
    /// VFIO's no-IOMMU mode is off in the kernel.
    case noIOMMUModeDisabled
    /// `/proc/self/pagemap` hides physical frame numbers (they read as zero without CAP_SYS_ADMIN).
    case physicalAddressesHidden
    /// An interrupt vector outside what is armed.
    case vectorNotArmed(vector: Int, armed: Int)
    /// More vectors than the function supports.
    case vectorOutOfRange(vector: Int, supported: Int)

    /// A device sharing an IOMMU group, and the driver holding it (nil: no driver).
    public struct GroupMember: Sendable, Hashable {
        public var address: String
        public var driver: String?
        public init(address: String, driver: String?) { self.address = address; self.driver = driver }
    }

    public var description: String {
        switch self {
        case .system(let what, let errno):
            return "\(what): \(errno.description) (errno \(errno.rawValue))"
        case .unsupported(let what):
            return what
        case .invalidAddress(let text):
            return "'\(text)' is not a PCI address: use domain:bus:device.function in hex, e.g. 0000:00:04.0 "
                + "(the domain may be omitted). `nvmekit list` shows the NVMe functions present."
        case .deviceNotFound(let address):
            return "No PCI function \(address) (nothing at /sys/bus/pci/devices/\(address)). "
                + "`nvmekit list` shows the NVMe functions present; after a hot-plug, rescan: `echo 1 > /sys/bus/pci/rescan`."
        case .notRoot(let operation, let path):
            return "\(operation) needs root: \(path) is not accessible to this user. "
                + "Run as root (`sudo nvmekit …`, `sudo swift test …`), or hand the file to your user: `sudo chown $USER \(path)`."
        case .iommuOff(let address):
            return "\(address) has no IOMMU group, so the IOMMU is off or absent and VFIO type1 cannot isolate it. "
                + "Turn it on with `intel_iommu=on iommu=pt` (or `amd_iommu=on`) on the kernel command line and reboot; "
                + "or, knowing the device then can DMA anywhere, use the no-IOMMU backend: "
                + "`modprobe vfio enable_unsafe_noiommu_mode=1` and `--backend noiommu --unsafe`."
        case .groupNotViable(let group, let address, let others):
            let list = others.map { "\($0.address) (bound to \($0.driver ?? "no driver"))" }.joined(separator: ", ")
            let fix = others.filter { $0.driver != nil && $0.driver != "vfio-pci" }
                .map { "`nvmekit bind --driver vfio \($0.address)`" }.joined(separator: " and ")
            return "IOMMU group \(group) of \(address) is not viable: every device in it must be bound to vfio-pci "
                + "or to no driver, but it also holds \(list). Bind them too: \(fix.isEmpty ? "`nvmekit bind --driver vfio <BDF>`" : fix), "
                + "or move the device to a slot with its own group."
        case .boundToOtherDriver(let address, let driver, let needed):
            let flag = needed == "uio_pci_generic" ? "uio" : "vfio"
            return "\(address) is bound to \(driver), not \(needed). Bind it first: `nvmekit bind --driver \(flag) \(address)` "
                + "(`nvmekit unbind \(address)` gives it back to \(driver))."
        case .driverNotLoaded(let driver, let module):
            return "The \(driver) driver is not loaded (no /sys/bus/pci/drivers/\(driver)). Load it: `modprobe \(module)`."
        case .deviceInUse(let address, let users):
            return "Refusing to take \(address): \(users.joined(separator: "; ")). "
                + "Unmount, swapoff, stop the md/dm/LVM user or the process first, "
                + "or pass --force (it skips the in-use check) if you accept losing them."
        case .inUseUnknown(let address, let problems):
            return "Refusing to take \(address): cannot tell whether it is in use: \(problems.joined(separator: "; ")). "
                + "Fix that, or pass --force (it skips the in-use check) if you know nothing uses the controller."
        case .releaseInUse(let address, let users):
            return "Refusing to release \(address): \(users.joined(separator: "; ")). Stop the process first, "
                + "or pass --force (it skips the in-use check) if you accept pulling the device from under it."
        case .notNVMeController(let address, let classCode):
            return "\(address) is not an NVMe controller (class 0x\(String(classCode, radix: 16)), NVMe is 0x10802): "
                + "NVMeKit binds and releases only NVMe functions, --force included. `nvmekit list` shows the NVMe functions."
        case .notBoundByNVMeKit(let address, let driver):
            if let driver {
                return "\(address) is bound to \(driver): nothing NVMeKit bound. `nvmekit unbind` only releases functions "
                    + "on vfio-pci or uio_pci_generic (`nvmekit list` shows each function's driver)."
            }
            return "\(address) has no driver and no driver is recorded for it under /run/nvmekit: nothing to release. "
                + "To hand it to the kernel's driver: `echo \(address) > /sys/bus/pci/drivers/nvme/bind`."
        case .noRecordedDriver(let address, let driver):
            return "\(address) is on \(driver), but no driver is recorded for it under /run/nvmekit (NVMeKit did not bind "
                + "it, or the record was lost with a reboot), so unbind will not guess one. `nvmekit unbind --force \(address)` "
                + "releases it and leaves it with no driver (--force skips the in-use check); then "
                + "`echo \(address) > /sys/bus/pci/drivers/nvme/bind` gives it to the kernel."
        case .noHugepages(let bytes, let pageSize, let free, let total):
            let kib = pageSize / 1024
            let needed = (bytes + pageSize - 1) / pageSize
            let want = pageSize == 2 << 20 ? max(64, needed) : max(1, needed)
            let reserve = pageSize == 2 << 20
                ? "`echo \(want) > /proc/sys/vm/nr_hugepages`"
                : "`echo \(want) > /sys/kernel/mm/hugepages/hugepages-\(kib)kB/nr_hugepages` (1 GiB pages are best reserved at boot: `hugepagesz=1G hugepages=\(want)`)"
            return "Could not allocate \(formatBytes(bytes)) of DMA memory in \(formatBytes(pageSize)) hugepages: "
                + "\(free) of \(total) free. Reserve some as root: \(reserve); check with `grep Huge /proc/meminfo`."
        case .deviceGone(let address, let register, let value):
            return "\(register) of \(address) reads all ones (0x\(String(value, radix: 16))): the device is not answering "
                + "(removed, stuck in reset, or memory space disabled in PCI COMMAND). Check `lspci -vv -s \(address)`; "
                + "after a removal, rescan: `echo 1 > /sys/bus/pci/rescan`."
        case .unsafeBackendNotAllowed(let backend):
            return "The \(backend) backend lets the device DMA to any physical memory (no IOMMU isolation), so it is opt-in: "
                + "pass `--unsafe` (API: `DeviceOptions(allowUnsafe: true)`) if this machine is disposable, "
                + "or use `--backend vfio` with the IOMMU on."
        case .noIOMMUModeDisabled:
            return "VFIO no-IOMMU mode is off (no /dev/vfio/noiommu-* group). Enable it, accepting unisolated DMA: "
                + "`echo 1 > /sys/module/vfio/parameters/enable_unsafe_noiommu_mode` (or `modprobe vfio enable_unsafe_noiommu_mode=1`), "
                + "then rebind: `nvmekit unbind <BDF> && nvmekit bind --driver vfio <BDF>`. The kernel needs CONFIG_VFIO_NOIOMMU."
        case .physicalAddressesHidden:
            return "/proc/self/pagemap reports no physical frame numbers (the kernel hides them without CAP_SYS_ADMIN), "
                + "so DMA bus addresses are unknown. Run as root (`sudo …`)."
        case .vectorNotArmed(let vector, let armed):
            return "Interrupt vector \(vector) is not armed (\(armed) armed). Call `interrupts.enable(vectors: \(vector + 1))` first "
                + "(before CC.EN = 1 on VFIO)."
        case .vectorOutOfRange(let vector, let supported):
            return "Interrupt vector \(vector) does not exist: the function supports \(supported) "
                + "(MSI-X Table Size + 1, or 1 for INTx)."
        }
    }
}

/// `2 MiB`, `512 KiB`, `4096 B`.
func formatBytes(_ n: Int) -> String {
    if n >= 1 << 30 && n % (1 << 30) == 0 { return "\(n >> 30) GiB" }
    if n >= 1 << 20 && n % (1 << 20) == 0 { return "\(n >> 20) MiB" }
    if n >= 1 << 10 && n % (1 << 10) == 0 { return "\(n >> 10) KiB" }
    return "\(n) B"
}
