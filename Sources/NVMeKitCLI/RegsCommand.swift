import ArgumentParser
import Foundation
import NVMePlatform
import NVMeSpec

/// Every BAR0 controller register with its fields, spec mnemonics and bit ranges (NVMe 2.0 §3.1.4).
enum RegisterMap {
    struct Field { let name: String; let hi: Int; let lo: Int }
    struct Register { let name: String; let offset: Int; let width: Int; let fields: [Field] }
    static func f(_ n: String, _ hi: Int, _ lo: Int? = nil) -> Field { Field(name: n, hi: hi, lo: lo ?? hi) }

    static let registers: [Register] = [
        .init(name: "CAP", offset: 0x00, width: 8, fields: [f("MQES", 15, 0), f("CQR", 16), f("AMS", 18, 17), f("TO", 31, 24),
              f("DSTRD", 35, 32), f("NSSRS", 36), f("CSS", 44, 37), f("BPS", 45), f("CPS", 47, 46), f("MPSMIN", 51, 48),
              f("MPSMAX", 55, 52), f("PMRS", 56), f("CMBS", 57), f("NSSS", 58), f("CRMS", 60, 59)]),
        .init(name: "VS", offset: 0x08, width: 4, fields: [f("MJR", 31, 16), f("MNR", 15, 8), f("TER", 7, 0)]),
        .init(name: "INTMS", offset: 0x0C, width: 4, fields: [f("IVMS", 31, 0)]),
        .init(name: "INTMC", offset: 0x10, width: 4, fields: [f("IVMC", 31, 0)]),
        .init(name: "CC", offset: 0x14, width: 4, fields: [f("EN", 0), f("CSS", 6, 4), f("MPS", 10, 7), f("AMS", 13, 11),
              f("SHN", 15, 14), f("IOSQES", 19, 16), f("IOCQES", 23, 20), f("CRIME", 24)]),
        .init(name: "CSTS", offset: 0x1C, width: 4, fields: [f("RDY", 0), f("CFS", 1), f("SHST", 3, 2), f("NSSRO", 4),
              f("PP", 5), f("ST", 6)]),
        .init(name: "NSSR", offset: 0x20, width: 4, fields: [f("NSSRC", 31, 0)]),
        .init(name: "AQA", offset: 0x24, width: 4, fields: [f("ASQS", 11, 0), f("ACQS", 27, 16)]),
        .init(name: "ASQ", offset: 0x28, width: 8, fields: [f("ASQB", 63, 12)]),
        .init(name: "ACQ", offset: 0x30, width: 8, fields: [f("ACQB", 63, 12)]),
        .init(name: "CMBLOC", offset: 0x38, width: 4, fields: [f("BIR", 2, 0), f("CQMMS", 3), f("CQPDS", 4), f("CDPMLS", 5),
              f("CDPCILS", 6), f("CDMMMS", 7), f("CQDA", 8), f("OFST", 31, 12)]),
        .init(name: "CMBSZ", offset: 0x3C, width: 4, fields: [f("SQS", 0), f("CQS", 1), f("LISTS", 2), f("RDS", 3), f("WDS", 4),
              f("SZU", 11, 8), f("SZ", 31, 12)]),
        .init(name: "BPINFO", offset: 0x40, width: 4, fields: [f("BPSZ", 14, 0), f("BRS", 25, 24), f("ABPID", 31)]),
        .init(name: "BPRSEL", offset: 0x44, width: 4, fields: [f("BPRSZ", 9, 0), f("BPROF", 29, 10), f("BPID", 31)]),
        .init(name: "BPMBL", offset: 0x48, width: 8, fields: [f("BMBBA", 63, 12)]),
        .init(name: "CMBMSC", offset: 0x50, width: 8, fields: [f("CRE", 0), f("CMSE", 1), f("CBA", 63, 12)]),
        .init(name: "CMBSTS", offset: 0x58, width: 4, fields: [f("CBAI", 0)]),
        .init(name: "CMBEBS", offset: 0x5C, width: 4, fields: [f("CMBSZU", 3, 0), f("RBB", 4), f("CMBWBZ", 31, 8)]),
        .init(name: "CMBSWTP", offset: 0x60, width: 4, fields: [f("CMBSWTU", 3, 0), f("CMBSWTV", 31, 8)]),
        .init(name: "NSSD", offset: 0x64, width: 4, fields: [f("NSSC", 31, 0)]),
        .init(name: "CRTO", offset: 0x68, width: 4, fields: [f("CRWMT", 15, 0), f("CRIMT", 31, 16)]),
        .init(name: "PMRCAP", offset: 0xE00, width: 4, fields: [f("RDS", 3), f("WDS", 4), f("BIR", 7, 5), f("PMRTU", 9, 8),
              f("PMRWBM", 13, 10), f("PMRTO", 23, 16), f("CMSS", 24)]),
        .init(name: "PMRCTL", offset: 0xE04, width: 4, fields: [f("EN", 0)]),
        .init(name: "PMRSTS", offset: 0xE08, width: 4, fields: [f("ERR", 7, 0), f("NRDY", 8), f("HSTS", 11, 9), f("CBAI", 12)]),
        .init(name: "PMREBS", offset: 0xE0C, width: 4, fields: [f("PMRSZU", 3, 0), f("RBB", 4), f("PMRWBZ", 31, 8)]),
        .init(name: "PMRSWTP", offset: 0xE10, width: 4, fields: [f("PMRSWTU", 3, 0), f("PMRSWTV", 31, 8)]),
        .init(name: "PMRMSCL", offset: 0xE14, width: 4, fields: [f("CMSE", 1), f("CBA", 31, 12)]),
        .init(name: "PMRMSCU", offset: 0xE18, width: 4, fields: [f("CBA", 31, 0)]),
    ]

    static func value(_ raw: UInt64, _ field: Field) -> UInt64 {
        let width = field.hi - field.lo + 1
        return width >= 64 ? raw : (raw >> UInt64(field.lo)) & ((1 << UInt64(width)) - 1)
    }
}

struct RegsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "regs",
        abstract: "Read and decode every BAR0 controller register (spec names, NVMe 2.0 §3.1.4).",
        discussion: "vfio-pci resets the function when it is opened, so through vfio this shows the post-reset state.")

    @OptionGroup var access: DeviceAccessOptions
    @Flag(help: "Print JSON instead of text.")
    var json = false
    @Flag(help: "Also decode the PCI function: PCI Express (device/link), MSI-X, Power Management and AER capabilities.")
    var pci = false
    @Argument(help: "PCI address, e.g. 0000:00:04.0.")
    var bdf: String

    func run() throws {
        let device = try reportingPlatformErrors { try openDevice(address: bdf, backend: access.backend, options: access.options) }
        defer { device.close() }
        try run(on: device)
    }

    /// The register dump of an open device (its BAR0 as it is now).
    func run(on device: any NVMeDevice) throws {
        let bar = device.bar0
        var out: [[String: String]] = []
        for r in RegisterMap.registers where r.offset + r.width <= bar.length {
            let raw = r.width == 8 ? bar.read64(at: r.offset) : UInt64(bar.read32(at: r.offset))
            let digits = r.width * 2
            let hexRaw = String(raw, radix: 16)
            let padded = String(repeating: "0", count: max(0, digits - hexRaw.count)) + hexRaw
            let fields = r.fields.map { "\($0.name)=\(RegisterMap.value(raw, $0))" }
            if json {
                var entry = ["register": r.name, "offset": "0x" + String(r.offset, radix: 16), "value": "0x" + padded]
                for fl in r.fields { entry[fl.name] = String(RegisterMap.value(raw, fl)) }
                out.append(entry)
            } else {
                let off = String(r.offset, radix: 16)
                let name = r.name.padding(toLength: 8, withPad: " ", startingAt: 0)
                print("0x\(String(repeating: "0", count: max(0, 3 - off.count)) + off) \(name) 0x\(padded)  \(fields.joined(separator: " "))")
            }
        }
        if pci { out += try pciOutput(device) }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(out), as: UTF8.self))
        } else {
            let cap = bar.cap
            print("\(device.backend) \(device.address): queues up to \(Int(cap.mqes) + 1) entries, doorbell stride \(cap.doorbellStride) B, "
                + "ready timeout \(cap.timeout), pages \(cap.minimumPageSize)–\(cap.maximumPageSize) B, NVMe \(bar.vs)")
        }
    }
}
