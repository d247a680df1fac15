import Testing
@testable import NVMePlatform

@Suite("PCI discovery, driver binding and in-use refusal (on a fake sysfs)")
struct BindingTests {
    func machine() -> FakeSysfs {
        let fs = FakeSysfs()
        fs.addFunction("0000:00:03.0", class: "0x020000", vendor: "0x8086", device: "0x10d3", driver: "e1000e", group: 2)
        fs.addFunction("0000:01:00.0", driver: "nvme", group: 7, numa: 0)
        fs.addFunction("0000:02:00.0", driver: nil, group: 8)
        fs.dir("/sys/bus/pci/drivers/vfio-pci")
        fs.dir("/sys/bus/pci/drivers/nvme")
        fs.defaultDriver = ["0000:01:00.0": "nvme", "0000:02:00.0": "nvme"]
        return fs
    }

    @Test func listsOnlyNVMeFunctionsWithSysfsDetails() throws {
        let bus = PCIBus(files: machine())
        let fns = try bus.functions()
        #expect(fns.map(\.address.description) == ["0000:01:00.0", "0000:02:00.0"])
        let a = fns[0]
        #expect(a.vendorID == 0x1B36 && a.deviceID == 0x0010 && a.subsystemVendorID == 0x1AF4 && a.subsystemDeviceID == 0x1100)
        #expect(a.classCode == 0x010802 && a.revision == 2)
        #expect(a.numaNode == 0 && fns[1].numaNode == nil, "numa_node -1 means unknown")
        #expect(a.driver == "nvme" && fns[1].driver == nil)
        #expect(a.iommuGroup == 7)
        #expect(a.currentLinkSpeed == "2.5 GT/s PCIe" && a.currentLinkWidth == 1)
        #expect(a.driverOverride == nil)
    }

    @Test func absentFunctionIsNamedWithTheListCommand() throws {
        let error = #expect(throws: PlatformError.self) { try PCIBus(files: machine()).address("0000:05:00.0") }
        #expect(error == .deviceNotFound(address: "0000:05:00.0"))
        #expect(error?.description.contains("nvmekit list") == true)
    }

    @Test func bindMovesToVFIOAndUnbindRestoresTheOriginalDriver() throws {
        let fs = machine()
        let binding = DriverBinding(bus: PCIBus(files: fs))
        let a = try PCIAddress(parsing: "0000:01:00.0")
        #expect(try binding.bind(a, to: .vfio) == "nvme")
        #expect(binding.bus.driver(of: a) == "vfio-pci")
        #expect(binding.rememberedDriver(a) == "nvme")
        #expect(fs.writes == [
            "/sys/bus/pci/devices/0000:01:00.0/driver_override <- vfio-pci",
            "/sys/bus/pci/drivers/nvme/unbind <- 0000:01:00.0",
            "/sys/bus/pci/drivers_probe <- 0000:01:00.0",
        ])
        #expect(try binding.unbind(a) == "nvme")
        #expect(fs.contents("/sys/bus/pci/devices/0000:01:00.0/driver_override") == "(null)")
        #expect(binding.rememberedDriver(a) == nil)
    }

    @Test func bindingTwiceKeepsTheFirstOriginalDriver() throws {
        let fs = machine()
        fs.dir("/sys/bus/pci/drivers/uio_pci_generic")
        let binding = DriverBinding(bus: PCIBus(files: fs))
        let a = try PCIAddress(parsing: "0000:01:00.0")
        try binding.bind(a, to: .vfio)
        try binding.bind(a, to: .uio)
        #expect(binding.bus.driver(of: a) == "uio_pci_generic")
        #expect(try binding.unbind(a) == "nvme")
    }

    @Test func unboundFunctionStaysUnboundAfterUnbind() throws {
        let fs = machine()
        let binding = DriverBinding(bus: PCIBus(files: fs))
        let a = try PCIAddress(parsing: "0000:02:00.0")
        #expect(try binding.bind(a, to: .vfio) == nil)
        #expect(try binding.unbind(a) == nil)
    }

    @Test func missingDriverModuleNamesTheModprobe() throws {
        let binding = DriverBinding(bus: PCIBus(files: machine()))
        let error = #expect(throws: PlatformError.self) { try binding.bind(PCIAddress(parsing: "0000:01:00.0"), to: .uio) }
        #expect(error == .driverNotLoaded(driver: "uio_pci_generic", module: "uio_pci_generic"))
        #expect(error?.description.contains("modprobe uio_pci_generic") == true)
    }

    func inUseMachine() -> FakeSysfs {
        let fs = machine()
        let c = "/sys/bus/pci/devices/0000:01:00.0/nvme/nvme0"
        fs.dir("\(c)/nvme0n1"); fs.dir("\(c)/nvme0n2")
        fs.file("/sys/class/block/nvme0n1/dev", "259:0\n")
        fs.file("/sys/class/block/nvme0n1/nvme0n1p1/dev", "259:1\n")
        fs.file("/sys/class/block/nvme0n1p1/dev", "259:1\n")
        fs.file("/sys/class/block/nvme0n1p2/dev", "259:2\n")
        fs.dir("/sys/class/block/nvme0n1/nvme0n1p2")
        fs.file("/sys/class/block/nvme0n2/dev", "259:3\n")
        fs.dir("/sys/class/block/nvme0n1p1/holders"); fs.dir("/sys/class/block/nvme0n2/holders/dm-0")
        fs.file("/sys/class/block/dm-0/dm/name", "vg0-root\n"); fs.file("/sys/class/block/dm-0/dm/uuid", "LVM-abc\n")
        fs.file("/proc/self/mountinfo", """
            22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw
            35 22 259:1 / /mnt/data\\040disk rw,relatime - xfs /dev/nvme0n1p1 rw

            """)
        fs.file("/proc/swaps", """
            Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority
            /dev/nvme0n1p2                          partition\t1048572\t\t0\t\t-2

            """)
        return fs
    }

    @Test func namespacesInUseAreNamedEachWithItsReason() throws {
        let fs = inUseMachine()
        let users = StorageUsers(files: fs).users(of: try PCIBus(files: fs).function(PCIAddress(parsing: "0000:01:00.0")))
        #expect(users == [
            "nvme0n1p1 is mounted on /mnt/data disk",
            "nvme0n1p2 is active swap",
            "nvme0n2 is an LVM physical volume under vg0-root (dm-0)",
        ])
    }

    @Test func bindRefusesAnInUseControllerUnlessForced() throws {
        let fs = inUseMachine()
        let binding = DriverBinding(bus: PCIBus(files: fs))
        let a = try PCIAddress(parsing: "0000:01:00.0")
        let error = #expect(throws: PlatformError.self) { try binding.bind(a, to: .vfio) }
        #expect(error?.description.hasPrefix("Refusing to take 0000:01:00.0: nvme0n1p1 is mounted on /mnt/data disk; ") == true)
        #expect(error?.description.contains("--force") == true)
        #expect(binding.bus.driver(of: a) == "nvme", "nothing changed")
        #expect(fs.writes.isEmpty)
        try binding.bind(a, to: .vfio, force: true)
        #expect(binding.bus.driver(of: a) == "vfio-pci")
    }

    @Test func notRootIsToldToUseSudo() throws {
        let fs = FakeSysfs(isRoot: false)
        fs.addFunction("0000:01:00.0", driver: "nvme", group: 7)
        fs.dir("/sys/bus/pci/drivers/vfio-pci")
        let error = #expect(throws: PlatformError.self) {
            try DriverBinding(bus: PCIBus(files: fs)).bind(PCIAddress(parsing: "0000:01:00.0"), to: .vfio)
        }
        #expect(error == .notRoot(operation: "Binding 0000:01:00.0 to vfio-pci", path: "/sys/bus/pci/devices/0000:01:00.0/driver_override"))
        #expect(error?.description.contains("sudo") == true)
    }

    @Test func groupSharedWithAHostDriverIsNotViableAndNamesTheOthers() throws {
        let fs = machine()
        fs.addFunction("0000:01:00.1", class: "0x0c0330", driver: "xhci_hcd", group: 7)
        let error = #expect(throws: PlatformError.self) { try PCIBus(files: fs).checkGroupViable(PCIAddress(parsing: "0000:01:00.0")) }
        #expect(error == .groupNotViable(group: 7, address: "0000:01:00.0",
                                         others: [.init(address: "0000:01:00.1", driver: "xhci_hcd")]))
        #expect(error?.description.contains("0000:01:00.1 (bound to xhci_hcd)") == true)
        #expect(error?.description.contains("nvmekit bind --driver vfio 0000:01:00.1") == true)
    }

    @Test func functionWithoutIOMMUGroupMeansIOMMUOff() throws {
        let fs = machine()
        fs.addFunction("0000:03:00.0", driver: "vfio-pci", group: nil)
        let error = #expect(throws: PlatformError.self) { try PCIBus(files: fs).checkGroupViable(PCIAddress(parsing: "0000:03:00.0")) }
        #expect(error == .iommuOff(address: "0000:03:00.0"))
        #expect(error?.description.contains("intel_iommu=on") == true)
    }
}

@Suite("Binding refuses non-NVMe functions")
struct BindingClassTests {
    @Test func nonNVMeFunctionIsRefusedUnlessForced() throws {
        let fs = FakeSysfs()
        fs.addFunction("0000:00:03.0", class: "0x020000", vendor: "0x8086", device: "0x10d3", driver: "e1000e", group: 2)
        fs.dir("/sys/bus/pci/drivers/vfio-pci")
        let binding = DriverBinding(bus: PCIBus(files: fs))
        let a = try PCIAddress(parsing: "0000:00:03.0")
        let error = #expect(throws: PlatformError.self) { try binding.bind(a, to: .vfio) }
        #expect(error?.description.contains("is not an NVMe controller (class 0x20000") == true)
        #expect(fs.writes.isEmpty)
        try binding.bind(a, to: .vfio, force: true)
        #expect(binding.bus.driver(of: a) == "vfio-pci")
    }
}
