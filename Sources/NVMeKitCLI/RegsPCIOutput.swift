import ArgumentParser
import NVMePlatform

extension RegsCommand {
    /// `--pci`: the function's PCI Express, MSI-X, PM and AER capabilities register by register (spec names). Text is
    /// printed here; for `--json` the registers come back as entries with a `capability` key.
    func pciOutput(_ device: any NVMeDevice) throws -> [[String: String]] {
        guard let config = device.config else {
            printError("\(device.backend) \(device.address): no PCI configuration space to decode")
            throw ExitCode(2)
        }
        let report = PCIConfigReport(config: try reportingPlatformErrors { try config.readAll() })
        if !json {
            print("")
            print(report.lines.joined(separator: "\n"))
            return []
        }
        var out: [[String: String]] = []
        for s in report.sections {
            for r in s.registers {
                var e = ["capability": s.title, "register": r.name, "offset": "0x" + String(r.offset, radix: 16),
                         "value": "0x" + String(r.value, radix: 16)]
                for (k, v) in r.fields { e[k] = v }
                out.append(e)
            }
        }
        return out
    }
}
