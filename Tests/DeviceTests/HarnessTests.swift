import Foundation
import Testing

/// The guest that `tools/vm` boots is what every other device test stands on: these pin its promises
/// (functions found by class code, bound to the backend's driver, hugepages, device nodes, QMP relay).
@Suite("Device harness (tools/vm guest)", .enabled(if: GuestEnvironment.isGuest, GuestEnvironment.notInGuest))
struct HarnessTests {
    let backend = GuestEnvironment.backend
    let devices = GuestEnvironment.devices

    @Test func backendIsKnown() {
        #expect(backend != nil, "NVMEKIT_BACKEND=\(GuestEnvironment.environment["NVMEKIT_BACKEND"] ?? "unset")")
    }

    @Test func everyControllerOfTheTopologyIsListed() {
        let expected = GuestEnvironment.controllers.count
        #expect(expected > 0)
        #expect(devices.count == expected, "NVMEKIT_DEVICES=\(devices) for controllers \(GuestEnvironment.controllers)")
    }

    @Test func listedFunctionsHaveNVMeClassCode() {
        for bdf in devices {
            #expect(GuestEnvironment.read("\(GuestEnvironment.sysfs(bdf))/class") == "0x010802", "\(bdf)")
        }
    }

    @Test func everyNVMeFunctionIsListedInBusOrder() throws {
        let all = try FileManager.default.contentsOfDirectory(atPath: "/sys/bus/pci/devices").sorted()
        let nvme = all.filter { GuestEnvironment.read("\(GuestEnvironment.sysfs($0))/class") == "0x010802" }
        #expect(nvme == devices)
    }

    @Test func functionsAreBoundToTheBackendsDriver() throws {
        let backend = try #require(backend)
        for bdf in devices {
            #expect(GuestEnvironment.linkTarget("\(GuestEnvironment.sysfs(bdf))/driver") == backend.driverName, "\(bdf)")
        }
    }

    @Test func hugepagesAreReserved() throws {
        let pages = try #require(GuestEnvironment.read("/proc/sys/vm/nr_hugepages").flatMap { Int($0) })
        #expect(pages >= 64)
        let meminfo = try #require(GuestEnvironment.read("/proc/meminfo"))
        #expect(meminfo.contains("Hugepagesize:       2048 kB"))
    }

    @Test(.enabled(if: GuestEnvironment.backend == .vfio, "vfio backend only"))
    func vfioGroupNodeExistsAndIOMMUIsOn() throws {
        #expect(FileManager.default.fileExists(atPath: "/dev/vfio/vfio"))
        for bdf in devices {
            let group = try #require(GuestEnvironment.linkTarget("\(GuestEnvironment.sysfs(bdf))/iommu_group"))
            #expect(FileManager.default.fileExists(atPath: "/dev/vfio/\(group)"), "\(bdf) group \(group)")
            // Each controller sits alone in its IOMMU group (behind its own root port).
            let members = try FileManager.default.contentsOfDirectory(atPath: "/sys/kernel/iommu_groups/\(group)/devices")
            #expect(members == [bdf])
        }
        #expect(FileManager.default.fileExists(atPath: "/sys/class/iommu/dmar0"))
    }

    @Test(.enabled(if: GuestEnvironment.backend == .noiommu, "noiommu backend only"))
    func noIOMMUGroupNodesExist() throws {
        #expect(GuestEnvironment.read("/sys/module/vfio/parameters/enable_unsafe_noiommu_mode") == "Y")
        for bdf in devices {
            let group = try #require(GuestEnvironment.linkTarget("\(GuestEnvironment.sysfs(bdf))/iommu_group"))
            #expect(FileManager.default.fileExists(atPath: "/dev/vfio/noiommu-\(group)"), "\(bdf) group \(group)")
        }
    }

    @Test(.enabled(if: GuestEnvironment.backend == .uio, "uio backend only"))
    func uioNodesExistAndBusMasterIsOn() throws {
        for bdf in devices {
            let uio = try FileManager.default.contentsOfDirectory(atPath: "\(GuestEnvironment.sysfs(bdf))/uio")
            #expect(uio.count == 1)
            #expect(uio.allSatisfy { FileManager.default.fileExists(atPath: "/dev/\($0)") }, "\(bdf): \(uio)")
            let config = try #require(FileManager.default.contents(atPath: "\(GuestEnvironment.sysfs(bdf))/config"))
            #expect(config.count >= 64)
            // COMMAND's low byte as the harness left it after binding (other tests may change it since).
            let command = try #require(GuestEnvironment.read("/run/nvmekit/command-\(bdf)").flatMap { UInt8($0) })
            #expect(command & 0x04 != 0, "\(bdf): the harness did not set PCI COMMAND.BME (COMMAND low byte \(command))")
        }
    }

    @Test(.enabled(if: GuestEnvironment.backend == .kernel, "kernel backend only"))
    func kernelDriverControllersAreLive() throws {
        for bdf in devices {
            let names = try FileManager.default.contentsOfDirectory(atPath: "\(GuestEnvironment.sysfs(bdf))/nvme")
            #expect(names.count == 1)
            for name in names {
                #expect(FileManager.default.fileExists(atPath: "/dev/\(name)"))
                #expect(GuestEnvironment.read("/sys/class/nvme/\(name)/state") == "live")
            }
        }
    }

    @Test func qmpRelayReachesQEMU() throws {
        let reply = try GuestEnvironment.run("/usr/local/bin/nvmekit-qmp", [#"{"execute":"query-status"}"#])
        #expect(reply.status == 0)
        #expect(reply.output.contains(#""status": "running""#), "\(reply.output)")
    }
}

/// Hot-plug through QMP (the controllers sit behind PCIe root ports): controller B leaves and comes back, and the
/// kernel's nvme driver finds it again. Kernel backend only: there the driver rebinds by itself, so the tests after
/// this one see the topology they expect.
@Suite("Device harness: QMP hot-plug", .enabled(if: GuestEnvironment.backend == .kernel && GuestEnvironment.controllers.contains("b"),
                                                "kernel backend with controller B (tools/vm test --backend kernel)"))
struct HotPlugTests {
    static let qmp = "/usr/local/bin/nvmekit-qmp"

    /// Waits until `condition` holds or `seconds` pass; true when it held.
    static func wait(seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(50_000)
        }
        return condition()
    }

    @Test func controllerBLeavesOnDeviceDelAndReturnsOnDeviceAdd() throws {
        let bdf = try #require(GuestEnvironment.devices.last)
        let sysfs = GuestEnvironment.sysfs(bdf)
        let deleted = try GuestEnvironment.run(Self.qmp, [#"{"execute":"device_del","arguments":{"id":"nvme1"}}"#,
                                                          "--until", "DEVICE_DELETED", "--device", "nvme1", "--timeout", "60"])
        #expect(deleted.status == 0, "\(deleted.output)")
        #expect(deleted.output.contains(#""device": "nvme1""#), "\(deleted.output)")
        #expect(!FileManager.default.fileExists(atPath: sysfs), "\(bdf) still present after DEVICE_DELETED")

        let controller = #"{"execute":"device_add","arguments":{"driver":"nvme","id":"nvme1","bus":"rp1","subsys":"subsys-b","serial":"NVMEKIT1","max_ioqpairs":64,"msix_qsize":65}}"#
        // QEMU 7.2 cannot hot-plug an nvme-ns onto a controller; a namespace of an nvme-subsys outlives its
        // controller and is attached again to the next controller of that subsystem.
        let added = try GuestEnvironment.run(Self.qmp, [controller])
        #expect(added.status == 0, "\(added.output)")

        let back = Self.wait(seconds: 60) {
            guard GuestEnvironment.read("\(sysfs)/class") == "0x010802",
                  let name = (try? FileManager.default.contentsOfDirectory(atPath: "\(sysfs)/nvme"))?.first,
                  GuestEnvironment.read("/sys/class/nvme/\(name)/state") == "live",
                  let entries = try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/nvme/\(name)")
            else { return false }
            return entries.contains { $0.wholeMatch(of: /nvme\d+(c\d+)?n1/) != nil }
        }
        #expect(back, "\(bdf) did not come back as a live nvme controller with namespace 1 within 60 s")
    }
}
