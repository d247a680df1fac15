import Foundation
import NVMeSpec
import Testing

/// External oracle: nvme-cli (in-kernel nvme driver) and our NVMeSpec decoders read the same bytes from QEMU's
/// controllers; every field nvme-cli prints must have our name and our value. Identify Controller and Namespace
/// (NVMe Base 2.0c §5.17.2.1–2), SMART / Health Information (§5.16.1.3), ZNS Identify (ZNS 1.1 §4.1.5).
@Suite("nvme-cli oracle: our decoders agree with nvme-cli field by field on the device",
       .enabled(if: GuestEnvironment.backend == .kernel, "runs in the guest on the kernel backend (tools/vm test --backend kernel)"))
struct NVMeCLIOracleTests {
    static let nvme = "/usr/sbin/nvme"

    /// Controller character device (`/dev/nvmeN`) of a function bound to the kernel's nvme driver.
    static func controllerNode(_ bdf: String) throws -> String {
        let names = try FileManager.default.contentsOfDirectory(atPath: "\(GuestEnvironment.sysfs(bdf))/nvme")
        return "/dev/\(try #require(names.first, "\(bdf) has no nvme controller"))"
    }

    /// Namespace IDs the kernel found on a controller (`nvme0n2` or, with multipath, `nvme0c0n2` → 2).
    static func namespaceIDs(_ node: String) throws -> [Int] {
        let name = (node as NSString).lastPathComponent
        let entries = try FileManager.default.contentsOfDirectory(atPath: "/sys/class/nvme/\(name)")
        let ids = entries.compactMap { entry in entry.wholeMatch(of: /nvme\d+(?:c\d+)?n(\d+)/).flatMap { Int($0.1) } }
        return Array(Set(ids)).sorted()
    }

    /// Raw bytes and JSON object of one nvme-cli command on `node`.
    static func nvmeCLI(_ oracleCase: NVMeCLIOracle.Case, _ node: String) throws -> (raw: [UInt8], json: [String: Any])? {
        let raw = try GuestEnvironment.run(nvme, oracleCase.arguments + [node] + oracleCase.rawFlag)
        let json = try GuestEnvironment.run(nvme, oracleCase.arguments + [node, "-o", "json"])
        guard raw.status == 0, json.status == 0 else { return nil }
        return (Array(raw.data), try NVMeCLIOracle.object(json.data))
    }

    /// Compares one case; returns false when nvme-cli could not run it.
    @discardableResult
    static func check(_ oracleCase: NVMeCLIOracle.Case, _ node: String, bdf: String) throws -> Bool {
        guard let (raw, json) = try nvmeCLI(oracleCase, node) else { return false }
        let ours = try #require(oracleCase.decode(raw), "\(bdf) \(oracleCase): \(raw.count) bytes did not decode")
        #expect(!json.isEmpty, "\(bdf) \(oracleCase): nvme-cli printed an empty object")
        let problems = NVMeCLIOracle.disagreements(ours: ours, nvmeCLI: json)
        #expect(problems.isEmpty,
                "\(bdf) \(oracleCase): \(problems.count) disagreement(s) with nvme-cli:\n\(problems.joined(separator: "\n"))")
        return true
    }

    @Test func identifyControllerAgreesWithNVMeCLI() throws {
        #expect(!GuestEnvironment.devices.isEmpty)
        for bdf in GuestEnvironment.devices {
            let ran = try Self.check(.init(name: "id-ctrl", arguments: ["id-ctrl"]) {
                IdentifyController(bytes: $0)?.nvmeCLIFields
            }, try Self.controllerNode(bdf), bdf: bdf)
            #expect(ran, "\(bdf): nvme id-ctrl failed")
        }
    }

    @Test func identifyNamespaceAgreesWithNVMeCLI() throws {
        var compared = 0
        for bdf in GuestEnvironment.devices {
            let node = try Self.controllerNode(bdf)
            for nsid in try Self.namespaceIDs(node) {
                let ran = try Self.check(.init(name: "id-ns \(nsid)", arguments: ["id-ns", "-n", "\(nsid)"]) {
                    IdentifyNamespace(bytes: $0)?.nvmeCLIFields
                }, node, bdf: bdf)
                #expect(ran, "\(bdf): nvme id-ns -n \(nsid) failed")
                compared += 1
            }
        }
        // Controller A has two namespaces, controller B one (see the topology in README).
        let expected = (GuestEnvironment.controllers.contains("a") ? 2 : 0) + (GuestEnvironment.controllers.contains("b") ? 1 : 0)
        #expect(compared == expected)
    }

    @Test func smartHealthLogAgreesWithNVMeCLI() throws {
        for bdf in GuestEnvironment.devices {
            let ran = try Self.check(.init(name: "smart-log", arguments: ["smart-log"]) {
                SMARTHealthLog(bytes: $0)?.nvmeCLIFields
            }, try Self.controllerNode(bdf), bdf: bdf)
            #expect(ran, "\(bdf): nvme smart-log failed")
        }
    }

    @Test(.enabled(if: GuestEnvironment.controllers.contains("b"), "needs controller B (zoned namespace)"))
    func zonedIdentifyAgreesWithNVMeCLI() throws {
        let bdf = try #require(GuestEnvironment.devices.last)
        let node = try Self.controllerNode(bdf)
        let ctrl = try Self.check(.init(name: "zns id-ctrl", arguments: ["zns", "id-ctrl"], rawFlag: ["-o", "binary"]) {
            ZonedIdentifyController(bytes: $0)?.nvmeCLIFields
        }, node, bdf: bdf)
        #expect(ctrl, "\(bdf): nvme zns id-ctrl failed")
        for nsid in try Self.namespaceIDs(node) {
            let idns = try GuestEnvironment.run(Self.nvme, ["id-ns", node, "-n", "\(nsid)", "-b"])
            let nlbaf = Int(try #require(IdentifyNamespace(bytes: Array(idns.data))).nlbaf)
            let ran = try Self.check(.init(name: "zns id-ns \(nsid)", arguments: ["zns", "id-ns", "-n", "\(nsid)"],
                                           rawFlag: ["-o", "binary"]) {
                ZonedIdentifyNamespace(bytes: $0)?.nvmeCLIFields(nlbaf: nlbaf)
            }, node, bdf: bdf)
            #expect(ran, "\(bdf): nvme zns id-ns -n \(nsid) failed (controller B's namespace is zoned)")
        }
    }
}
