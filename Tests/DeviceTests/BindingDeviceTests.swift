import Foundation
import NVMePlatform
import Testing

/// `DriverBinding` against the guest's kernel nvme driver: a namespace block device that is open refuses the bind
/// (O_EXCL for exclusive holders, the /proc/<pid>/fd scan for plain opens), and an idle controller goes to a userspace
/// driver and back with its block devices.
///
/// The kernel backend boots with `intel_iommu=off`, where vfio-pci refuses to probe (no IOMMU group), so the userspace
/// driver here is uio_pci_generic; the check and the driver_override/unbind/probe writes are the same for vfio-pci.
@Suite("Driver binding takes no disk in use (kernel nvme driver)", .serialized,
       .enabled(if: GuestEnvironment.backend == .kernel, "kernel backend only (tools/vm test --backend kernel)"))
struct BindingDeviceTests {
    /// Controller B when the guest has it (the other tests lean on A), else A.
    let bdf = GuestEnvironment.devices.last ?? ""

    /// Waits until `condition` holds or `seconds` pass; true when it held.
    static func wait(seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(50_000)
        }
        return condition()
    }

    static func loadUIO() throws {
        for m in ["uio", "uio_pci_generic"] where !FileManager.default.fileExists(atPath: "/sys/module/\(m)") {
            let r = try GuestEnvironment.run("/sbin/insmod", ["/lib/modules/nvmekit/\(m).ko"])
            #expect(r.status == 0, "insmod \(m)")
        }
        #expect(FileManager.default.fileExists(atPath: "/sys/bus/pci/drivers/uio_pci_generic"))
    }

    /// The namespace block devices of the function, once there are at least `count` and all are in /dev (the nvme
    /// driver scans namespaces asynchronously, one by one).
    func liveBlockDevices(count: Int = 1, _ function: () throws -> PCIFunction) -> [String]? {
        var found: [String]?
        _ = Self.wait(seconds: 30) {
            guard let f = try? function() else { return false }
            let nodes = StorageUsers().kernelNodes(of: f)
            guard nodes.problems.isEmpty, nodes.blockDevices.count >= count,
                  nodes.blockDevices.allSatisfy({ FileManager.default.fileExists(atPath: "/dev/\($0)") }) else { return false }
            found = nodes.blockDevices
            return true
        }
        return found
    }

    @Test func openNamespaceRefusesTheBindAndAnIdleControllerGoesToUIOAndBack() throws {
        try Self.loadUIO()
        let binding = DriverBinding()
        let a = try PCIAddress(parsing: bdf)
        #expect(binding.bus.driver(of: a) == "nvme")
        let before = try #require(liveBlockDevices { try binding.bus.function(a) }, "no namespace block devices on \(bdf)")
        let disk = "/dev/\(before[0])"

        // 1. A plain open by another process: only the /proc scan can see it.
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/sh")
        child.arguments = ["-c", "exec 3<\(disk); exec sleep 300"]
        try child.run()
        // SIGKILL: the guest's init may leave SIGTERM ignored, and an ignored signal stays ignored across exec.
        func stop() { if child.isRunning { kill(child.processIdentifier, SIGKILL); child.waitUntilExit() } }
        defer { stop() }
        let pid = child.processIdentifier
        let holding = Self.wait(seconds: 30) {
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/3")) == disk
                && GuestEnvironment.read("/proc/\(pid)/comm") == "sleep"
        }
        try #require(holding, "child \(pid) never held \(disk) open")
        let raw = #expect(throws: PlatformError.self) { try binding.bind(a, to: .uio) }
        guard case .deviceInUse(let address, let users)? = raw else { Issue.record("got \(String(describing: raw))"); return }
        #expect(address == bdf)
        #expect(users.contains("pid \(pid) (sleep) has \(disk) open"), "\(users)")
        #expect(binding.bus.driver(of: a) == "nvme", "nothing changed")
        stop()

        // 2. An exclusive holder (what a mount, md or dm does): the O_EXCL open gets EBUSY.
        let fd = open(disk, O_RDONLY | O_EXCL)
        try #require(fd >= 0, "open \(disk) O_EXCL: errno \(errno)")
        let exclusive = #expect(throws: PlatformError.self) { try binding.bind(a, to: .uio) }
        close(fd)
        guard case .deviceInUse(_, let reasons)? = exclusive else { Issue.record("got \(String(describing: exclusive))"); return }
        #expect(reasons.contains { $0.hasPrefix("\(before[0]) is held exclusively") }, "\(reasons)")
        #expect(reasons.contains("pid \(getpid()) (\(GuestEnvironment.read("/proc/self/comm") ?? "?")) has \(disk) open"),
                "\(reasons)")
        #expect(binding.bus.driver(of: a) == "nvme", "nothing changed")
        #expect(binding.rememberedDriver(a) == nil, "no record for a refused bind")

        // 3. Nothing open: to uio_pci_generic, the block devices go; unbind gives it back to nvme, they return.
        #expect(try binding.bind(a, to: .uio) == "nvme")
        #expect(binding.bus.driver(of: a) == "uio_pci_generic")
        #expect(binding.rememberedDriver(a) == "nvme")
        #expect(Self.wait(seconds: 30) { !FileManager.default.fileExists(atPath: disk) }, "\(disk) still present on uio")
        #expect(try binding.unbind(a) == "nvme")
        #expect(binding.rememberedDriver(a) == nil)
        let after = liveBlockDevices(count: before.count) { try binding.bus.function(a) }
        #expect(after.map { Set(before).isSubset(of: $0) } == true, "block devices before \(before), after \(after ?? [])")
        #expect(FileManager.default.fileExists(atPath: disk), "\(disk) did not come back")

        // 4. On nvme again, unbind refuses: nothing NVMeKit bound.
        let again = #expect(throws: PlatformError.self) { try binding.unbind(a) }
        #expect(again == .notBoundByNVMeKit(address: bdf, driver: "nvme"))
    }
}
