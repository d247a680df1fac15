import Foundation
import NVMePlatform
import Testing

/// `PCIConfigReport` and `nvmekit regs --pci` on QEMU 7.2's NVMe function (docs/pci-config.md).
@Suite("PCI capability decode on QEMU (vfio, noiommu, uio)", .serialized,
       .enabled(if: GuestEnvironment.isGuest, GuestEnvironment.notInGuest),
       .enabled(if: PlatformGuest.backend != nil, "needs NVMEKIT_BACKEND=vfio|noiommu|uio"))
struct PCIConfigDeviceTests {
    static let nvmekit = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0])
        .deletingLastPathComponent().appendingPathComponent("nvmekit").path

    func field(_ report: PCIConfigReport, _ register: String, _ name: String) -> String? {
        report.sections.flatMap(\.registers).first { $0.name == register }?.fields.first { $0.0 == name }?.1
    }

    @Test("the report agrees with the capability structs read from the live function; MPS set within MPS supported")
    func reportMatchesLiveFunction() throws {
        let dev = try PlatformGuest.open(GuestEnvironment.devices[0])
        defer { dev.close() }
        let config = try #require(dev.config)
        let bytes = try config.readAll()
        let caps = PCICapabilityList(config: bytes)
        let report = PCIConfigReport(config: bytes)
        print(report.lines.joined(separator: "\n"))
        #expect(report.problems.isEmpty)
        let e = try #require(caps.pciExpress)
        // The controller sits behind a pcie-root-port (tools/vm topology): an Endpoint (PCIe 6.0 §7.5.3.2, 0000b).
        #expect(e.deviceType == 0 && field(report, "PCI Express Capabilities", "Device/Port Type") == "PCI Express Endpoint")
        #expect(field(report, "Link Status", "Current Link Speed") == PCIExpressCapability.speedName(e.currentLinkSpeed))
        #expect(field(report, "Link Status", "Negotiated Link Width") == "x\(e.currentLinkWidth)")
        #expect(e.currentLinkWidth >= 1 && e.currentLinkWidth <= e.maxLinkWidth, "negotiated width within the maximum")
        // PCIe 6.0 §7.5.3.4: Max_Payload_Size "must not be programmed to a value larger than" the supported one.
        let mps = (e.deviceControl >> 5) & 7, mpss = e.deviceCapabilities & 7
        #expect(mps <= mpss)
        #expect(field(report, "Device Control", "Max_Payload_Size") == "\(128 << Int(mps)) B")
        #expect(field(report, "Message Control", "Table Size") == "64 (65 vectors)")
        let pm = try #require(caps.powerManagement)
        #expect(field(report, "Power Management Control/Status", "PowerState") == pm.state.description)
        #expect(report.sections.contains { $0.title.hasPrefix("Advanced Error Reporting") } == (caps.aer != nil))
    }

    @Test("nvmekit regs --pci prints the BAR0 registers then the capabilities with spec names")
    func regsPCI() throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.nvmekit), "missing \(Self.nvmekit)")
        let backend = try #require(PlatformGuest.backend).rawValue
        let access = ["--backend", backend, "--unsafe", GuestEnvironment.devices[0]]
        let r = try GuestEnvironment.run(Self.nvmekit, ["regs", "--pci"] + access)
        print(r.output)
        #expect(r.status == 0, "exit \(r.status): \(r.output)")
        #expect(r.output.contains("CSTS") && r.output.contains("PCI Express Capability at 0x"))
        #expect(r.output.contains("Device/Port Type=PCI Express Endpoint"))
        #expect(r.output.contains("Max_Read_Request_Size=") && r.output.contains("Negotiated Link Width=x"))
        #expect(r.output.contains("MSI-X Capability at 0x") && r.output.contains("Power Management Capability at 0x"))
        let json = try GuestEnvironment.run(Self.nvmekit, ["regs", "--pci", "--json"] + access)
        #expect(json.status == 0)
        let entries = try #require(try JSONSerialization.jsonObject(with: json.data) as? [[String: String]])
        #expect(entries.contains { $0["register"] == "Link Status" && $0["Negotiated Link Width"] != nil })
    }
}
