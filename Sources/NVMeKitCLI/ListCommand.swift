import ArgumentParser
import Foundation
import NVMePlatform

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List NVMe PCI functions (class 01/08/02) with ids, NUMA node, driver, IOMMU group and link.")

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        let functions = try reportingPlatformErrors { try PCIBus().functions() }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(functions), as: UTF8.self))
            return
        }
        if functions.isEmpty { print("no NVMe functions (PCI class 010802) found"); return }
        let rows = functions.map { f -> [String] in
            [f.address.description,
             "\(hex4(f.vendorID)):\(hex4(f.deviceID))",
             "\(hex4(f.subsystemVendorID)):\(hex4(f.subsystemDeviceID))",
             f.numaNode.map(String.init) ?? "-",
             f.driver ?? "-",
             f.iommuGroup.map(String.init) ?? "-",
             [f.currentLinkSpeed, f.currentLinkWidth.map { "x\($0)" }].compactMap { $0 }.joined(separator: " "),
             f.namespaces.joined(separator: ",").isEmpty ? "-" : f.namespaces.joined(separator: ","),
             f.deviceName ?? ""]
        }
        printTable(["BDF", "VID:DID", "SSVID:SSID", "NUMA", "DRIVER", "IOMMU", "LINK", "NAMESPACES", "NAME"], rows)
    }
}

func hex4(_ v: UInt16) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: max(0, 4 - s.count)) + s
}

func printTable(_ header: [String], _ rows: [[String]]) {
    let widths = header.indices.map { i in ([header[i]] + rows.map { $0[i] }).map(\.count).max() ?? 0 }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { i, c in i == cells.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
            .joined(separator: "  ")
    }
    print(line(header))
    for r in rows { print(line(r)) }
}
