import NVMePlatform
import Testing

/// `PCIConfigReport` (behind `nvmekit regs --pci`) on the constructed config space (Fixtures/config-space, built from
/// the spec byte by byte, with AER) and on QEMU 7.2's captured one.
@Suite("PCI capability report: PCI Express, MSI-X, PM, AER with spec names")
struct PCIConfigReportTests {
    func field(_ report: PCIConfigReport, _ register: String, _ name: String) -> String? {
        report.sections.flatMap(\.registers).first { $0.name == register }?.fields.first { $0.0 == name }?.1
    }

    @Test("constructed function: DevCtl 2810h decodes MPS 128 B, MRRS 512 B, Relaxed Ordering, No Snoop; AER severity names")
    func constructed() throws {
        let report = PCIConfigReport(config: try #require(fixture("config-space/constructed-nvme.bin")))
        #expect(report.problems.isEmpty)
        #expect(field(report, "PCI Express Capabilities", "Device/Port Type") == "PCI Express Endpoint")
        #expect(field(report, "PCI Express Capabilities", "Capability Version") == "2")
        #expect(field(report, "Device Capabilities", "Max_Payload_Size Supported") == "128 B")
        #expect(field(report, "Device Capabilities", "Function Level Reset Capability") == "1")
        #expect(field(report, "Device Capabilities", "Role-Based Error Reporting") == "1")
        #expect(field(report, "Device Control", "Max_Payload_Size") == "128 B")
        #expect(field(report, "Device Control", "Max_Read_Request_Size") == "512 B")
        #expect(field(report, "Device Control", "Enable Relaxed Ordering") == "1")
        #expect(field(report, "Device Control", "Enable No Snoop") == "1")
        #expect(field(report, "Device Status", "Transactions Pending") == "0")
        #expect(field(report, "Link Capabilities", "Max Link Speed") == "2.5 GT/s")
        #expect(field(report, "Link Capabilities", "Maximum Link Width") == "x1")
        #expect(field(report, "Link Status", "Current Link Speed") == "2.5 GT/s")
        #expect(field(report, "Link Status", "Negotiated Link Width") == "x1")
        #expect(field(report, "Message Control", "Table Size") == "64 (65 vectors)")
        #expect(field(report, "Power Management Control/Status", "No_Soft_Reset") == "1")
        #expect(field(report, "Uncorrectable Error Severity", "fatal") == "Data Link Protocol Error | Surprise Down Error | "
            + "Flow Control Protocol Error | Receiver Overflow | Malformed TLP | Uncorrectable Internal Error")
        #expect(field(report, "Uncorrectable Error Status", "set") == "none")
        let lines = report.lines
        #expect(lines.contains { $0.hasPrefix("Advanced Error Reporting Extended Capability at 0x100 v2") })
        #expect(lines.contains { $0.contains("0x088 Device Control") && $0.contains("0x2810") })
    }

    @Test("QEMU 7.2 capture: PCIe v2 endpoint at 80h, 2.5 GT/s x1, MSI-X enabled, PM D0, no AER")
    func qemu() throws {
        let report = PCIConfigReport(config: try #require(fixture("qemu/controller-a/pci-config.bin")))
        #expect(report.sections.map(\.title).map { String($0.prefix(while: { $0 != " " })) } == ["PCI", "MSI-X", "Power"])
        #expect(field(report, "Link Status", "Negotiated Link Width") == "x1")
        #expect(field(report, "Message Control", "MSI-X Enable") == "1")
        #expect(field(report, "Power Management Control/Status", "PowerState") == "D0")
        #expect(report.lines.contains("Advanced Error Reporting Extended Capability: not present"))
    }

    @Test("Device/Port Type names and a reserved encoding")
    func portTypes() {
        #expect(PCIConfigReport.portTypeName(9) == "Root Complex Integrated Endpoint")
        #expect(PCIConfigReport.portTypeName(4) == "Root Port of PCI Express Root Complex")
        #expect(PCIConfigReport.portTypeName(15) == "reserved (15)")
    }

    @Test("a truncated config space decodes what it holds and does not trap")
    func truncated() throws {
        let blob = try #require(fixture("config-space/constructed-nvme.bin"))
        let report = PCIConfigReport(config: Array(blob.prefix(0x86)))
        #expect(report.sections.first?.registers.map(\.name) == ["PCI Express Capabilities"])
        #expect(PCIConfigReport(config: []).sections.isEmpty)
    }
}
