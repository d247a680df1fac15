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
            #expect(config[4] & 0x04 != 0, "\(bdf): PCI COMMAND.BME is off")
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
