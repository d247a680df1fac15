import Foundation
import Testing

/// `nvmekit identify --json` speaks nvme-cli's JSON field names: on the device, through our own driver, its identity
/// fields equal what nvme-cli 2.3 printed for the same controller (Fixtures/qemu/controller-a/id-ctrl.json, captured
/// on the kernel backend by tools/vm capture-fixtures). NVMe Base 2.0c §5.17.2.1.
@Suite("nvmekit identify --json agrees with nvme-cli on the device",
       .enabled(if: GuestEnvironment.backend == .vfio, "runs in the guest on the vfio backend (tools/vm test --backend vfio)"))
struct CLIIdentifyTests {
    static let nvmekit = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0])
        .deletingLastPathComponent().appendingPathComponent("nvmekit").path
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Fixtures/qemu/controller-a/id-ctrl.json").standardized.path
    /// Fields that identify the controller and do not change from boot to boot.
    static let fields = ["vid", "ssvid", "sn", "mn", "fr", "mdts", "nn", "ver", "oacs", "oncs", "sqes", "cqes", "vwc", "cntlid"]

    @Test func identifyJSONMatchesNVMeCLIForControllerA() throws {
        let nvmeCLI = try NVMeCLIOracle.object(try #require(FileManager.default.contents(atPath: Self.fixture),
                                                            "missing \(Self.fixture)"))
        #expect(FileManager.default.isExecutableFile(atPath: Self.nvmekit), "missing \(Self.nvmekit)")
        let result = try GuestEnvironment.run(Self.nvmekit, ["identify", "--json"])
        #expect(result.status == 0, "nvmekit identify --json exited \(result.status): \(result.output)")
        let ours = try NVMeCLIOracle.object(result.data)
        for field in Self.fields {
            let theirs = try #require(nvmeCLI[field], "nvme-cli's fixture has no \(field)")
            let mine = try #require(ours[field], "nvmekit identify --json has no \(field)")
            // Strings byte for byte, SN/MN/FR's trailing space padding included (as nvme-cli prints them).
            if let t = theirs as? String {
                #expect((mine as? String) == t, "\(field): nvmekit \"\(mine)\", nvme-cli \"\(t)\"")
            } else {
                #expect((mine as? NSNumber) == (theirs as? NSNumber), "\(field): nvmekit \(mine), nvme-cli \(theirs)")
            }
        }
    }
}
