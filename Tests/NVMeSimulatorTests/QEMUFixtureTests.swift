import Foundation
import NVMePlatform
import NVMeSimulator
import NVMeSpec
import Testing

/// The simulator configured like tools/vm's controller A against the Identify data QEMU 7.2 returned for it
/// (Fixtures/qemu, captured by `tools/vm capture-fixtures`): the fields the model claims to match, byte for byte.
@Suite("Simulator vs QEMU 7.2 fixtures (Identify data captured from the VM)")
struct QEMUFixtureTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/qemu/controller-a")

    static func fixture(_ name: String) -> [UInt8]? {
        (try? Data(contentsOf: fixtures.appendingPathComponent(name))).map { [UInt8]($0) }
    }

    static let controllerA = SimulatorConfiguration(
        serialNumber: "NVMEKIT0", modelNumber: "QEMU NVMe Ctrl", firmwareRevision: "7.2.22",
        namespaces: [NamespaceConfiguration(nsid: 1, blockCount: 131_072, formatIndex: 0),
                     NamespaceConfiguration(nsid: 2, blockCount: 16_352, formatIndex: 5)],
            cmic: 0x02)   // tools/vm puts controller A in an nvme-subsys

    func identify(cns: UInt8, nsid: UInt32 = 0) throws -> [UInt8] {
        let host = try TestHost(Self.controllerA)
        try host.enable()
        let buf = try host.region(4096)
        let c = host.run(TestHost.identify(cns: cns, nsid: nsid, buffer: buf))
        #expect(c?.status == .success)
        return buf.bytes(at: 0, count: 4096)
    }

    /// Byte ranges of Identify Controller the model matches (Base Figure 275): VID…CNTLID (SN, MN, FR, RAB, IEEE,
    /// CMIC, MDTS), VER, CNTRLTYPE, ACL, AERL, LPA, WCTEMP, CCTEMP, SQES, CQES, NN, VWC, SGLS bit 0 (byte 536).
    static let controllerFields: [(String, Range<Int>)] = [
        ("VID..CNTLID", 0..<80), ("VER", 80..<84), ("CNTRLTYPE", 111..<112), ("ACL/AERL", 258..<260),
        ("LPA", 261..<262), ("WCTEMP/CCTEMP", 266..<270), ("SQES/CQES", 512..<514), ("NN", 516..<520),
        ("VWC", 525..<526),
    ]

    @Test("Identify Controller matches QEMU's in the fields the model claims",
          .enabled(if: QEMUFixtureTests.fixture("id-ctrl.bin") != nil, "Fixtures/qemu/controller-a/id-ctrl.bin is missing (tools/vm capture-fixtures)"))
    func identifyController() throws {
        let qemu = try #require(Self.fixture("id-ctrl.bin"))
        let sim = try identify(cns: 1)
        for (name, r) in Self.controllerFields {
            #expect(Array(sim[r]) == Array(qemu[r]), "\(name) (bytes \(r))")
        }
        #expect(sim[536] & 3 == qemu[536] & 3, "SGLS: SGL support")
    }

    @Test("Identify Namespace matches QEMU's NSZE/NCAP/NUSE, NLBAF, FLBAS, MC and LBA formats", arguments: [UInt32(1), 2])
    func identifyNamespace(nsid: UInt32) throws {
        guard let qemu = Self.fixture("id-ns-\(nsid).bin") else {
            Issue.record("Fixtures/qemu/controller-a/id-ns-\(nsid).bin is missing (tools/vm capture-fixtures)")
            return
        }
        let sim = try identify(cns: 0, nsid: nsid)
        for r in [0..<24, 25..<28, 128..<160] {
            #expect(Array(sim[r]) == Array(qemu[r]), "bytes \(r)")
        }
    }

    @Test("SMART log composite temperature matches QEMU's (323 K)",
          .enabled(if: QEMUFixtureTests.fixture("smart-log.bin") != nil, "smart-log.bin fixture missing"))
    func smartTemperature() throws {
        let qemu = try #require(Self.fixture("smart-log.bin"))
        let host = try TestHost(Self.controllerA)
        try host.enable()
        let buf = try host.region(4096)
        #expect(host.run(TestHost.getLogPage(lid: 2, bytes: 512, buffer: buf))?.status == .success)
        #expect(buf.bytes(at: 1, count: 2) == Array(qemu[1..<3]))
    }
}
