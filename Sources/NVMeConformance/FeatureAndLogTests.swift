import Foundation
import NVMeDriver
import NVMePlatform
import NVMeSpec

/// Get/Set Features SEL values and saveable/changeable attributes (NVMe Base 2.0c §5.15, §5.27).
enum FeatureTests {
    static let base = "NVMe Base 2.0c"
    /// Features every controller supports (Base 2.0c §5.27.1, Figure "Feature Identifiers": mandatory ones).
    static let mandatory: [(UInt8, String)] = [(0x01, "Arbitration"), (0x02, "Power Management"),
                                               (0x04, "Temperature Threshold"), (0x07, "Number of Queues"),
                                               (0x08, "Interrupt Coalescing"), (0x09, "Interrupt Vector Configuration"),
                                               (0x0A, "Write Atomicity Normal"), (0x0B, "Asynchronous Event Configuration")]

    static func get(_ t: ConformanceContext, _ fid: UInt8, sel: UInt8 = 0, cdw11: UInt32 = 0) -> Completion {
        t.controller.adminCommand(DriverCommand.getFeatures(fid: fid, sel: sel, cdw11: cdw11))
    }

    static var all: [ConformanceTest] {
        var tests: [ConformanceTest] = []
        for (i, (fid, name)) in mandatory.enumerated() {
            tests.append(ConformanceTest(id: "features.\(String(format: "%03d", i + 1))-get-\(hex(fid).lowercased())",
                                         title: "Get Features \(name) (FID \(hex(fid))) with SEL = 000b succeeds",
                                         citation: "\(base) §5.15 Get Features; §5.27.1 \(name)", area: .features) { t in
                t.expectSuccess(get(t, fid))   // Interrupt Vector Configuration: CDW11 IV 0, the admin vector
            })
        }
        for (i, (fid, name)) in mandatory.enumerated() {
            tests.append(ConformanceTest(id: "features.\(String(format: "%03d", i + 11))-capabilities-\(hex(fid).lowercased())",
                                         title: "Get Features \(name) with SEL = 011b reports capabilities with DW0 31:3 = 0",
                                         citation: "\(base) §5.15 SEL = 011b (Supported Capabilities), Figure \"Get Features – Supported Capabilities\"",
                                         area: .features, requires: Requires.saveSelect) { t in
                let c = get(t, fid, sel: 3)
                if case .fail = t.expectSuccess(c) { return t.expectSuccess(c, "SEL 011b") }
                return t.expectThat(c.dw0 >> 3 == 0, expected: "DW0 bits 31:3 = 0", observed: "DW0 = \(hex(c.dw0))")
            })
        }
        tests += [
            ConformanceTest(id: "features.020-sel-default", title: "Get Features Arbitration with SEL = 001b (default) succeeds",
                            citation: "\(base) §5.15 SEL = 001b", area: .features, requires: Requires.saveSelect) { t in
                t.expectSuccess(get(t, 0x01, sel: 1))
            },
            ConformanceTest(id: "features.021-sel-saved", title: "Get Features Arbitration with SEL = 010b (saved) succeeds",
                            citation: "\(base) §5.15 SEL = 010b", area: .features, requires: Requires.saveSelect) { t in
                t.expectSuccess(get(t, 0x01, sel: 2))
            },
            ConformanceTest(id: "features.022-sel-reserved", title: "Get Features with a reserved SEL (100b) is Invalid Field in Command",
                            citation: "\(base) §5.15 CDW10.SEL (100b-111b reserved); Generic Command Status 02h (a reserved coded value)", area: .features) { t in
                t.expect(get(t, 0x01, sel: 4), GenericStatus.invalidFieldInCommand)
            },
            ConformanceTest(id: "features.023-get-reserved-fid", title: "Get Features with reserved FID 00h is Invalid Field in Command",
                            citation: "\(base) §5.15 CDW10.FID; §5.27.1 (FID 00h reserved)", area: .features) { t in
                t.expect(get(t, 0x00), GenericStatus.invalidFieldInCommand)
            },
            ConformanceTest(id: "features.024-set-reserved-fid", title: "Set Features with reserved FID 00h is Invalid Field in Command",
                            citation: "\(base) §5.27 CDW10.FID", area: .features) { t in
                t.expect(t.controller.adminCommand(DriverCommand.setFeatures(fid: 0x00, cdw11: 0)), GenericStatus.invalidFieldInCommand)
            },
            ConformanceTest(id: "features.025-temperature-threshold-changeable",
                            title: "Temperature Threshold set by Set Features is returned by Get Features (SEL 000b)",
                            citation: "\(base) §5.27.1.4 Temperature Threshold; §5.15", area: .features) { t in
                let old = get(t, 0x04)
                try t.setupStep(old, "Get Features Temperature Threshold")
                let value: UInt32 = (old.dw0 & 0xFFFF) == 0x0150 ? 0x0151 : 0x0150   // 336 K / 337 K, over-temperature
                let set = t.controller.adminCommand(DriverCommand.setFeatures(fid: 0x04, cdw11: value))
                let now = get(t, 0x04)
                _ = t.controller.adminCommand(DriverCommand.setFeatures(fid: 0x04, cdw11: old.dw0 & 0xFFFF))
                return allOf(t.expectSuccess(set, "Set Features TMPTH \(value)"), t.expectSuccess(now, "Get Features"),
                             t.expectEqual("TMPTH", now.dw0 & 0xFFFF, value))
            },
            ConformanceTest(id: "features.026-not-saveable", title: "Set Features with SV = 1 on a feature that is not saveable is Feature Identifier Not Saveable",
                            citation: "\(base) §5.27 CDW10.SV; §5.15 SEL 011b bit 0", area: .features,
                            requires: Requires.saveSelect) { t in
                for fid: UInt8 in [0x08, 0x0B, 0x04, 0x01] {
                    let caps = get(t, fid, sel: 3)
                    guard caps.isSuccess, caps.dw0 & 1 == 0 else { continue }
                    let cur = get(t, fid)
                    try t.setupStep(cur, "Get Features FID \(hex(fid))")
                    let c = t.controller.adminCommand(DriverCommand.setFeatures(fid: fid, cdw11: cur.dw0, save: true))
                    return t.expect(c, CommandSpecificStatus.featureIdentifierNotSaveable, "FID \(hex(fid)) with SV = 1")
                }
                return .notApplicable("Get Features SEL 011b reports every probed feature (08h, 0Bh, 04h, 01h) saveable")
            },
            ConformanceTest(id: "features.027-vwc-absent", title: "Without a volatile write cache, Set Features Volatile Write Cache is Invalid Field in Command",
                            citation: "\(base) §5.27.1.7 Volatile Write Cache; §5.17.2.1 VWC bit 0", area: .features,
                            requires: ConformanceRequirement("no volatile write cache") { c in
                                (IdentifyController(bytes: c.identifyData)?.vwc ?? 0) & 1 == 1 ? "Identify Controller VWC bit 0 = 1" : nil
                            }) { t in
                t.expect(t.controller.adminCommand(DriverCommand.setFeatures(fid: 0x06, cdw11: 0)), GenericStatus.invalidFieldInCommand)
            },
            ConformanceTest(id: "features.028-vwc-changeable", title: "With a volatile write cache, WCE set by Set Features is returned by Get Features",
                            citation: "\(base) §5.27.1.7 Volatile Write Cache (WCE)", area: .features,
                            requires: ConformanceRequirement("a volatile write cache") { c in
                                (IdentifyController(bytes: c.identifyData)?.vwc ?? 0) & 1 == 0 ? "Identify Controller VWC bit 0 = 0" : nil
                            }) { t in
                let old = get(t, 0x06)
                try t.setupStep(old, "Get Features Volatile Write Cache")
                let want: UInt32 = old.dw0 & 1 ^ 1
                let set = t.controller.adminCommand(DriverCommand.setFeatures(fid: 0x06, cdw11: want))
                let now = get(t, 0x06)
                _ = t.controller.adminCommand(DriverCommand.setFeatures(fid: 0x06, cdw11: old.dw0 & 1))
                return allOf(t.expectSuccess(set), t.expectEqual("WCE", now.dw0 & 1, want))
            },
        ]
        return tests
    }
}

/// Get Log Page offsets and lengths (NVMe Base 2.0c §5.16).
enum LogTests {
    static let base = "NVMe Base 2.0c"

    static func log(_ t: ConformanceContext, lid: UInt8, bytes: Int, offset: UInt64 = 0, nsid: UInt32 = 0xFFFF_FFFF) throws -> (Completion, [UInt8]) {
        let (c, buf) = try t.admin(try DriverCommand.getLogPage(lid: lid, nsid: nsid, bytes: bytes, offset: offset), bytes: bytes)
        return (c, buf?.bytes ?? [])
    }

    static let all: [ConformanceTest] = [
        ConformanceTest(id: "logs.001-error-information", title: "Get Log Page Error Information (01h), one entry, succeeds",
                        citation: "\(base) §5.16.1.2 Error Information", area: .logs) { t in
            t.expectSuccess(try log(t, lid: 0x01, bytes: 64).0)
        },
        ConformanceTest(id: "logs.002-smart", title: "Get Log Page SMART / Health Information (02h) for the controller succeeds",
                        citation: "\(base) §5.16.1.3 SMART / Health Information", area: .logs) { t in
            t.expectSuccess(try log(t, lid: 0x02, bytes: 512).0)
        },
        ConformanceTest(id: "logs.003-firmware-slot-afi", title: "Firmware Slot Information AFI names an active slot 1-7",
                        citation: "\(base) §5.16.1.4 Firmware Slot Information (AFI)", area: .logs) { t in
            let (c, b) = try log(t, lid: 0x03, bytes: 512)
            try t.setupStep(c, "Get Log Page 03h")
            let slot = b[0] & 0x7
            return t.expectThat(slot >= 1, expected: "AFI bits 2:0 in 1...7", observed: "AFI = \(hex(b[0]))")
        },
        ConformanceTest(id: "logs.004-firmware-slot-frs", title: "The active firmware slot's revision (FRSn) is not empty",
                        citation: "\(base) §5.16.1.4 Firmware Slot Information (FRS1-FRS7)", area: .logs) { t in
            let (c, b) = try log(t, lid: 0x03, bytes: 512)
            try t.setupStep(c, "Get Log Page 03h")
            let slot = Int(b[0] & 0x7)
            guard slot >= 1 else { return .fail(expected: "an active slot in AFI", observed: "AFI = \(hex(b[0]))") }
            let frs = b[(8 * slot)..<(8 * slot + 8)]
            return t.expectThat(frs.contains { $0 != 0 && $0 != 0x20 }, expected: "FRS\(slot) holds a revision",
                                observed: "FRS\(slot) = \(frs.map { hex($0) })")
        },
        ConformanceTest(id: "logs.005-offset", title: "Get Log Page with LPOL = 8 returns the page from byte 8",
                        citation: "\(base) §5.16 CDW12 LPOL", area: .logs, requires: Requires.extendedLogData) { t in
            let (c0, whole) = try log(t, lid: 0x03, bytes: 512)
            try t.setupStep(c0, "Get Log Page 03h")
            let (c, part) = try log(t, lid: 0x03, bytes: 64, offset: 8)
            return allOf(t.expectSuccess(c, "LPOL 8"),
                         t.expectThat(part == Array(whole[8..<72]), expected: "bytes 8-71 of the page",
                                      observed: "\(part.prefix(16).map { hex($0) }) vs \(whole[8..<24].map { hex($0) })"))
        },
        ConformanceTest(id: "logs.006-offset-beyond-page", title: "Get Log Page with an offset past the end of the page is Invalid Field in Command",
                        citation: "\(base) §5.16 CDW12/13 LPOL/LPOU", area: .logs, requires: Requires.extendedLogData) { t in
            t.expect(try log(t, lid: 0x02, bytes: 512, offset: 4096).0, GenericStatus.invalidFieldInCommand, "SMART log, LPO 4096")
        },
        ConformanceTest(id: "logs.007-numd-beyond-page", title: "Get Log Page with NUMD past the end of the page succeeds and returns the page",
                        citation: "\(base) §5.16 CDW10/11 NUMDL/NUMDU", area: .logs) { t in
            let (c0, whole) = try log(t, lid: 0x03, bytes: 512)
            try t.setupStep(c0, "Get Log Page 03h")
            let (c, big) = try log(t, lid: 0x03, bytes: 4096)
            return allOf(t.expectSuccess(c, "NUMD for 4096 bytes of a 512-byte page"),
                         t.expectThat(Array(big.prefix(512)) == whole, expected: "the first 512 bytes are the page",
                                      observed: "they differ"))
        },
        ConformanceTest(id: "logs.008-reserved-lid", title: "Get Log Page with a reserved LID (6Fh) is Invalid Log Page",
                        citation: "\(base) §5.16, Figure \"Get Log Page – Log Page Identifiers\" (reserved)", area: .logs) { t in
            t.expect(try log(t, lid: 0x6F, bytes: 512).0, CommandSpecificStatus.invalidLogPage)
        },
        ConformanceTest(id: "logs.009-commands-supported", title: "Commands Supported and Effects lists every mandatory admin command as supported",
                        citation: "\(base) §5.16.1.6 Commands Supported and Effects (ACS CSUPP)", area: .logs,
                        requires: Requires.commandsSupportedLog) { t in
            let (c, b) = try log(t, lid: 0x05, bytes: 4096)
            try t.setupStep(c, "Get Log Page 05h")
            let mandatory: [UInt8] = [0x00, 0x01, 0x02, 0x04, 0x05, 0x06, 0x08, 0x09, 0x0A, 0x0C]
            let missing = mandatory.filter { le(b, Int($0) * 4, UInt32.self) & 1 == 0 }
            return t.expectThat(missing.isEmpty, expected: "CSUPP = 1 for admin opcodes \(mandatory.map { hex($0) })",
                                observed: "CSUPP = 0 for \(missing.map { hex($0) })")
        },
        ConformanceTest(id: "logs.010-smart-critical-reserved", title: "SMART Critical Warning reserved bits 7:6 are 0",
                        citation: "\(base) §5.16.1.3 Critical Warning", area: .logs) { t in
            let (c, b) = try log(t, lid: 0x02, bytes: 512)
            try t.setupStep(c, "Get Log Page 02h")
            return t.expectThat(b[0] >> 6 == 0, expected: "Critical Warning bits 7:6 = 0", observed: "Critical Warning = \(hex(b[0]))")
        },
        ConformanceTest(id: "logs.011-unsupported-admin-opcode", title: "An admin opcode the controller does not support is Invalid Command Opcode",
                        citation: "\(base) Figure \"Generic Command Status Values\" 01h Invalid Command Opcode", area: .logs,
                        requires: Requires.commandsSupportedLog) { t in
            let (c, b) = try log(t, lid: 0x05, bytes: 4096)
            try t.setupStep(c, "Get Log Page 05h")
            guard let op = (UInt8(0x30)...0x7B).first(where: { le(b, Int($0) * 4, UInt32.self) & 1 == 0 }) else {
                return .notApplicable("every admin opcode 30h-7Bh is reported supported")
            }
            return t.expect(t.controller.adminCommand(SQE(opcode: op)), GenericStatus.invalidCommandOpcode, "opcode \(hex(op))")
        },
    ]
}
