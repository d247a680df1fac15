import SystemPackage
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
        fs.addKernelController("0000:01:00.0", "nvme0", namespaces: [("nvme0n1", "259:0")])
        fs.dir("/proc")
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
        // What O_EXCL sees: every claimed device, and the disk whose partitions are claimed.
        for d in ["nvme0n1", "nvme0n1p1", "nvme0n1p2", "nvme0n2"] { fs.exclusiveOpenErrors["/dev/\(d)"] = .resourceBusy }
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
        #expect(error == .deviceInUse(address: "0000:01:00.0", users: [
            "nvme0n1p1 is mounted on /mnt/data disk",
            "nvme0n1p2 is active swap",
            "nvme0n2 is an LVM physical volume under vg0-root (dm-0)",
        ]), "the busy whole disk nvme0n1 is explained by its partitions")
        #expect(error?.description.hasPrefix("Refusing to take 0000:01:00.0: nvme0n1p1 is mounted on /mnt/data disk; ") == true)
        #expect(error?.description.contains("--force (it skips the in-use check)") == true)
        #expect(binding.bus.driver(of: a) == "nvme", "nothing changed")
        #expect(fs.writes.isEmpty)
        #expect(fs.held.isEmpty)
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
    @Test func nonNVMeFunctionIsRefusedEvenWhenForced() throws {
        let fs = FakeSysfs()
        fs.addFunction("0000:00:03.0", class: "0x020000", vendor: "0x8086", device: "0x10d3", driver: "e1000e", group: 2)
        fs.dir("/sys/bus/pci/drivers/vfio-pci")
        let binding = DriverBinding(bus: PCIBus(files: fs))
        let a = try PCIAddress(parsing: "0000:00:03.0")
        for force in [false, true] {
            let error = #expect(throws: PlatformError.self) { try binding.bind(a, to: .vfio, force: force) }
            #expect(error == .notNVMeController(address: "0000:00:03.0", classCode: 0x020000))
            #expect(error?.description.contains("is not an NVMe controller (class 0x20000") == true)
            #expect(error?.description.contains("--force included") == true)
        }
        #expect(fs.writes.isEmpty)
        #expect(binding.bus.driver(of: a) == "e1000e")
    }

    @Test func nonNVMeFunctionOnVFIOIsNotReleasedEvenWhenForced() throws {
        let fs = FakeSysfs()
        fs.addFunction("0000:00:03.0", class: "0x020000", vendor: "0x8086", device: "0x10d3", driver: "vfio-pci", group: 2)
        fs.file("/run/nvmekit/0000:00:03.0.driver", "e1000e")
        fs.dir("/sys/bus/pci/drivers/e1000e"); fs.dir("/proc")
        let binding = DriverBinding(bus: PCIBus(files: fs))
        let a = try PCIAddress(parsing: "0000:00:03.0")
        for force in [false, true] {
            let error = #expect(throws: PlatformError.self) { try binding.unbind(a, force: force) }
            #expect(error == .notNVMeController(address: "0000:00:03.0", classCode: 0x020000))
        }
        #expect(fs.writes.isEmpty)
    }
}

@Suite("Binding never takes a disk in use (on a fake sysfs)")
struct BindingInUseTests {
    let a = try! PCIAddress(parsing: "0000:01:00.0")

    /// 0000:01:00.0 on the kernel nvme driver with nvme0n1 (259:0) and its partition nvme0n1p1 (259:1);
    /// 0000:04:00.0 on vfio-pci in IOMMU group 9, bound by someone else (no record).
    func machine() -> FakeSysfs {
        let fs = FakeSysfs()
        fs.addFunction("0000:01:00.0", driver: "nvme", group: 7)
        fs.addFunction("0000:04:00.0", driver: "vfio-pci", group: 9)
        fs.dir("/sys/bus/pci/drivers/vfio-pci")
        fs.addKernelController("0000:01:00.0", "nvme0", namespaces: [("nvme0n1", "259:0")],
                               partitions: ["nvme0n1": [("nvme0n1p1", "259:1")]])
        fs.dir("/sys/bus/pci/devices/0000:01:00.0/nvme/nvme0/ng0n1")
        fs.file("/proc/self/mountinfo", "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n")
        fs.file("/proc/swaps", "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n")
        fs.addProcess(1, "init", fds: [0: "/dev/null", 1: "/dev/console"])
        return fs
    }

    func bindError(_ fs: FakeSysfs, force: Bool = false) -> PlatformError? {
        #expect(throws: PlatformError.self) {
            try DriverBinding(bus: PCIBus(files: fs)).bind(a, to: .vfio, force: force)
        }
    }

    @Test func btrfsSeenOnlyByTheExclusiveOpenIsRefused() throws {
        let fs = machine()
        // btrfs (and ZFS) mount an anonymous device: mountinfo shows 0:45, not the partition's 259:1.
        fs.file("/proc/self/mountinfo", """
            22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw
            40 22 0:45 / /srv rw,relatime - btrfs /dev/nvme0n1p1 rw,space_cache=v2

            """)
        fs.exclusiveOpenErrors["/dev/nvme0n1p1"] = .resourceBusy
        fs.exclusiveOpenErrors["/dev/nvme0n1"] = .resourceBusy
        let error = bindError(fs)
        guard case .deviceInUse(let address, let users)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(address == "0000:01:00.0")
        #expect(users.count == 1, "the whole disk is busy because of its partition: one reason")
        #expect(users.first?.hasPrefix("nvme0n1p1 is held exclusively (opening it O_EXCL fails with EBUSY)") == true)
        #expect(users.first?.contains("btrfs") == true)
        #expect(fs.writes.isEmpty)
        #expect(fs.held.isEmpty, "nothing stays open after a refusal")
        #expect(fs.exists("/run/nvmekit/0000:01:00.0.driver") == false, "no record for a refused bind")
    }

    @Test func rawOpensOfBlockAndCharacterDevicesAreNamedByProcess() throws {
        let fs = machine()
        fs.addProcess(812, "dd", fds: [0: "/dev/null", 3: "/dev/nvme0n1"])
        fs.addProcess(905, "qemu-system-x86", fds: [12: "/dev/nvme0n1p1", 13: "/dev/nvme0n1p1"])
        fs.addProcess(1203, "smartd", fds: [4: "/dev/nvme0"])
        fs.addProcess(1300, "fio", fds: [5: "/dev/ng0n1"])
        fs.addProcess(1400, "cat", fds: [3: "/dev/nvme1n1"])
        #expect(bindError(fs) == .deviceInUse(address: "0000:01:00.0", users: [
            "pid 812 (dd) has /dev/nvme0n1 open",
            "pid 905 (qemu-system-x86) has /dev/nvme0n1p1 open",
            "pid 1203 (smartd) has /dev/nvme0 open",
            "pid 1300 (fio) has /dev/ng0n1 open",
        ]))
        #expect(fs.writes.isEmpty)
        #expect(fs.held.isEmpty)
        // --force skips the in-use check, and only it.
        #expect(try DriverBinding(bus: PCIBus(files: fs)).bind(a, to: .vfio, force: true) == "nvme")
    }

    @Test func ownExclusiveHoldIsNotAUserButAnotherOpenInTheSameProcessIs() throws {
        let fs = machine()
        fs.link("/proc/self", "4242")
        // Descriptor 100 is the fake's first exclusive handle (ours); descriptor 7 is a plain open by this process.
        fs.addProcess(4242, "nvmekit", fds: [100: "/dev/nvme0n1", 7: "/dev/nvme0n1p1"])
        #expect(bindError(fs) == .deviceInUse(address: "0000:01:00.0", users: ["pid 4242 (nvmekit) has /dev/nvme0n1p1 open"]))
        let alone = machine()
        alone.link("/proc/self", "4242")
        alone.addProcess(4242, "nvmekit", fds: [100: "/dev/nvme0n1"])
        #expect(try DriverBinding(bus: PCIBus(files: alone)).bind(a, to: .vfio) == "nvme")
    }

    @Test(arguments: [(Errno.permissionDenied, "run as root"), (Errno.noSuchFileOrDirectory, "udevadm settle"),
                      (Errno.ioError, "dmesg")])
    func namespaceThatCannotBeOpenedRefuses(errno: Errno, fix: String) throws {
        let fs = machine()
        fs.exclusiveOpenErrors["/dev/nvme0n1p1"] = errno
        let error = bindError(fs)
        guard case .inUseUnknown(let address, let problems)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(address == "0000:01:00.0")
        #expect(problems.count == 1)
        #expect(problems.first?.hasPrefix("/dev/nvme0n1p1 cannot be opened to check it: ") == true)
        #expect(problems.first?.contains("(errno \(errno.rawValue))") == true)
        #expect(problems.first?.contains(fix) == true)
        #expect(error?.description.contains("--force (it skips the in-use check)") == true)
        #expect(fs.writes.isEmpty)
        #expect(fs.held.isEmpty)
    }

    @Test func kernelBoundControllerWithoutListableNamespacesRefuses() throws {
        let fs = FakeSysfs()
        fs.addFunction("0000:01:00.0", driver: "nvme", group: 7)
        fs.dir("/sys/bus/pci/drivers/vfio-pci"); fs.dir("/proc")
        let error = bindError(fs)
        guard case .inUseUnknown(_, let problems)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(problems.first?.contains("the namespaces of 0000:01:00.0 cannot be listed: /sys/bus/pci/devices/0000:01:00.0/nvme") == true)
        #expect(problems.first?.contains("errno 2") == true)
        #expect(fs.writes.isEmpty)
        // A controller directory present but empty of controllers is no better.
        fs.dir("/sys/bus/pci/devices/0000:01:00.0/nvme")
        guard case .inUseUnknown(_, let again)? = bindError(fs) else { Issue.record("bound with no controller listed"); return }
        #expect(again.first?.contains("holds no controller") == true)
        #expect(fs.writes.isEmpty)
    }

    @Test func multipathPathDeviceIsCheckedThroughItsHead() throws {
        let fs = FakeSysfs()
        fs.addFunction("0000:01:00.0", driver: "nvme", group: 7)
        fs.dir("/sys/bus/pci/drivers/vfio-pci"); fs.dir("/proc")
        fs.dir("/sys/bus/pci/devices/0000:01:00.0/nvme/nvme1/nvme0c1n1")
        fs.file("/sys/class/block/nvme0n1/dev", "259:0\n")
        fs.dir("/sys/class/block/nvme0n1/nvme0n1p1")
        fs.exclusiveOpenErrors["/dev/nvme0n1p1"] = .resourceBusy
        fs.exclusiveOpenErrors["/dev/nvme0n1"] = .resourceBusy
        guard case .deviceInUse(_, let users)? = bindError(fs) else { Issue.record("multipath head not checked"); return }
        #expect(users.count == 1 && users.first?.hasPrefix("nvme0n1p1 is held exclusively") == true)
    }

    @Test func exclusiveHandlesAreHeldAcrossTheDriverChange() throws {
        let fs = machine()
        #expect(try DriverBinding(bus: PCIBus(files: fs)).bind(a, to: .vfio) == "nvme")
        #expect(fs.operations == [
            "open-excl /dev/nvme0n1",
            "open-excl /dev/nvme0n1p1",
            "write /sys/bus/pci/devices/0000:01:00.0/driver_override <- vfio-pci",
            "write /sys/bus/pci/drivers/nvme/unbind <- 0000:01:00.0",
            "write /sys/bus/pci/drivers_probe <- 0000:01:00.0",
            "close /dev/nvme0n1p1",
            "close /dev/nvme0n1",
        ])
        #expect(fs.held.isEmpty)
    }

    @Test func unbindRefusesAMountedDiskOnTheKernelDriverEvenWhenForced() throws {
        let fs = machine()
        fs.file("/proc/self/mountinfo", "22 1 259:1 / / rw,relatime - ext4 /dev/nvme0n1p1 rw\n")
        let binding = DriverBinding(bus: PCIBus(files: fs))
        for force in [false, true] {
            let error = #expect(throws: PlatformError.self) { try binding.unbind(a, force: force) }
            #expect(error == .notBoundByNVMeKit(address: "0000:01:00.0", driver: "nvme"))
            #expect(error?.description.contains("is bound to nvme: nothing NVMeKit bound") == true)
        }
        #expect(fs.writes.isEmpty)
        #expect(binding.bus.driver(of: a) == "nvme")
    }

    @Test func unbindWithoutARecordRefusesAndForceLeavesTheFunctionUnbound() throws {
        let fs = machine()
        fs.dir("/sys/bus/pci/drivers/nvme")
        fs.defaultDriver = ["0000:04:00.0": "nvme"]
        let binding = DriverBinding(bus: PCIBus(files: fs))
        let b = try PCIAddress(parsing: "0000:04:00.0")
        let error = #expect(throws: PlatformError.self) { try binding.unbind(b) }
        #expect(error == .noRecordedDriver(address: "0000:04:00.0", driver: "vfio-pci"))
        #expect(error?.description.contains("`nvmekit unbind --force 0000:04:00.0`") == true)
        #expect(error?.description.contains("--force skips the in-use check") == true)
        #expect(fs.writes.isEmpty)
        #expect(try binding.unbind(b, force: true) == nil, "not handed to whatever the kernel would probe")
        #expect(fs.writes == [
            "/sys/bus/pci/devices/0000:04:00.0/driver_override <- ",
            "/sys/bus/pci/drivers/vfio-pci/unbind <- 0000:04:00.0",
        ])
        // Unbound with no record: nothing NVMeKit holds.
        let again = #expect(throws: PlatformError.self) { try binding.unbind(b, force: true) }
        #expect(again == .notBoundByNVMeKit(address: "0000:04:00.0", driver: nil))
    }

    @Test func unbindRefusesWhileAProcessHasTheVFIOGroupOpen() throws {
        let fs = machine()
        fs.dir("/sys/bus/pci/drivers/nvme")
        let binding = DriverBinding(bus: PCIBus(files: fs))
        try binding.bind(a, to: .vfio)
        fs.addProcess(2001, "qemu-system-x86", fds: [20: "/dev/vfio/vfio", 21: "/dev/vfio/7"])
        let writes = fs.writes.count
        let error = #expect(throws: PlatformError.self) { try binding.unbind(a) }
        #expect(error == .releaseInUse(address: "0000:01:00.0", users: ["pid 2001 (qemu-system-x86) has /dev/vfio/7 open"]))
        #expect(error?.description.contains("--force (it skips the in-use check)") == true)
        #expect(fs.writes.count == writes)
        #expect(binding.bus.driver(of: a) == "vfio-pci")
        #expect(try binding.unbind(a, force: true) == "nvme")
    }

    @Test func unbindRefusesWhenTheRecordedDriverIsNotLoaded() throws {
        let fs = FakeSysfs()
        fs.addFunction("0000:04:00.0", driver: "vfio-pci", group: 9)
        fs.dir("/sys/bus/pci/drivers/vfio-pci"); fs.dir("/proc")
        fs.file("/run/nvmekit/0000:04:00.0.driver", "nvme")
        let error = #expect(throws: PlatformError.self) { try DriverBinding(bus: PCIBus(files: fs)).unbind(PCIAddress(parsing: "0000:04:00.0")) }
        #expect(error == .driverNotLoaded(driver: "nvme", module: "nvme"))
        #expect(fs.writes.isEmpty)
    }
}
