import Foundation
import NVMeDriver
import NVMePlatform
import NVMeSpec

/// Identify (NVMe Base 2.0c §5.17) for CNS 00h, 01h, 02h, 03h, an invalid CNS and invalid NSIDs.
enum IdentifyTests {
    static let base = "NVMe Base 2.0c"

    static func identify(_ t: ConformanceContext, cns: UInt8, nsid: UInt32 = 0) throws -> (Completion, [UInt8]) {
        let (c, buf) = try t.admin(DriverCommand.identify(cns: cns, nsid: nsid), bytes: 4096)
        return (c, buf?.bytes ?? [])
    }

    static func printable(_ b: ArraySlice<UInt8>) -> Bool { b.allSatisfy { (0x20...0x7E).contains($0) } }

    static let all: [ConformanceTest] = [
        ConformanceTest(id: "identify.001-controller", title: "Identify CNS 01h (controller) succeeds",
                        citation: "\(base) §5.17.2.1 Identify Controller", area: .identify) { t in
            t.expectSuccess(try identify(t, cns: 1).0)
        },
        ConformanceTest(id: "identify.002-sn-mn-fr-ascii", title: "SN, MN and FR hold printable ASCII (20h-7Eh)",
                        citation: "\(base) §5.17.2.1 SN, MN, FR (ASCII strings)", area: .identify) { t in
            let b = t.controller.identifyData
            guard b.count >= 72 else { throw ConformanceError("no Identify Controller data") }
            let fields = [("SN", b[4..<24]), ("MN", b[24..<64]), ("FR", b[64..<72])]
            for (name, bytes) in fields where !printable(bytes) {
                return .fail(expected: "\(name) bytes in 20h...7Eh", observed: "\(name) = \(bytes.map { hex($0) })")
            }
            return .pass
        },
        ConformanceTest(id: "identify.003-sqes-cqes", title: "SQES and CQES require 64-byte SQ and 16-byte CQ entries",
                        citation: "\(base) §5.17.2.1 SQES, CQES", area: .identify) { t in
            let id = t.identify
            let ok = id.sqes & 0xF == 6 && id.sqes >> 4 >= 6 && id.cqes & 0xF == 4 && id.cqes >> 4 >= 4
            return t.expectThat(ok, expected: "SQES 3:0 = 6, 7:4 ≥ 6; CQES 3:0 = 4, 7:4 ≥ 4",
                                observed: "SQES = \(hex(id.sqes)), CQES = \(hex(id.cqes))")
        },
        ConformanceTest(id: "identify.004-namespace", title: "Identify CNS 00h for an active NSID: NSZE ≥ NCAP ≥ NUSE and FLBAS ≤ NLBAF",
                        citation: "\(base) §5.17.2.1; NVM Command Set 1.0c §4.1.5.1 NSZE, NCAP, NUSE, FLBAS", area: .identify,
                        setup: .standard, requires: Requires.namespace) { t in
            let ns = try t.requireNamespace()
            let (c, b) = try identify(t, cns: 0, nsid: ns.nsid)
            try t.setupStep(c, "Identify CNS 00h NSID \(ns.nsid)")
            let nsze: UInt64 = le(b, 0), ncap: UInt64 = le(b, 8), nuse: UInt64 = le(b, 16)
            let flbas = b[26] & 0x0F, nlbaf = b[25]
            return t.expectThat(nsze >= ncap && ncap >= nuse && nsze > 0 && flbas <= nlbaf,
                                expected: "NSZE ≥ NCAP ≥ NUSE, NSZE > 0, FLBAS 3:0 ≤ NLBAF",
                                observed: "NSZE \(nsze), NCAP \(ncap), NUSE \(nuse), FLBAS \(flbas), NLBAF \(nlbaf)")
        },
        ConformanceTest(id: "identify.005-namespace-lbads", title: "The LBA format in use has LBADS ≥ 9 (512 bytes)",
                        citation: "NVM Command Set 1.0c §4.1.5.1 LBAF.LBADS", area: .identify, setup: .standard,
                        requires: Requires.namespace) { t in
            let ns = try t.requireNamespace()
            let (c, b) = try identify(t, cns: 0, nsid: ns.nsid)
            try t.setupStep(c, "Identify CNS 00h")
            let index = Int(b[26] & 0x0F)
            let lbaf: UInt32 = le(b, 128 + 4 * index)
            let lbads = (lbaf >> 16) & 0xFF
            return t.expectThat(lbads >= 9, expected: "LBAF\(index).LBADS ≥ 9", observed: "LBADS = \(lbads)")
        },
        ConformanceTest(id: "identify.006-namespace-nsid-0", title: "Identify CNS 00h with NSID 0 is Invalid Namespace or Format",
                        citation: "\(base) §5.17 (CNS 00h NSID); §3.2.1.2 (invalid NSID)", area: .identify) { t in
            t.expect(try identify(t, cns: 0, nsid: 0).0, GenericStatus.invalidNamespaceOrFormat)
        },
        ConformanceTest(id: "identify.007-namespace-nsid-above-nn", title: "Identify CNS 00h with NSID > NN is Invalid Namespace or Format",
                        citation: "\(base) §5.17 (CNS 00h NSID); §3.2.1.2", area: .identify) { t in
            guard let nsid = t.nsidAboveNN else { return .notApplicable("Identify Controller NN ≥ FFFFFFFEh") }
            return t.expect(try identify(t, cns: 0, nsid: nsid).0, GenericStatus.invalidNamespaceOrFormat, "NSID \(hex(nsid))")
        },
        ConformanceTest(id: "identify.008-namespace-inactive", title: "Identify CNS 00h for an inactive valid NSID returns a zero-filled structure",
                        citation: "\(base) §5.17.2.1 (CNS 00h, inactive NSID); §3.2.1.4", area: .identify, setup: .standard) { t in
            let active = Set(t.controller.namespaces.map(\.nsid))
            guard let nsid = (1...max(1, min(t.identify.nn, 1024))).first(where: { !active.contains($0) }),
                  nsid <= t.identify.nn else {
                return .notApplicable("every NSID up to NN = \(t.identify.nn) is active")
            }
            let (c, b) = try identify(t, cns: 0, nsid: nsid)
            return allOf(t.expectSuccess(c, "NSID \(nsid)"),
                         t.expectThat(b.allSatisfy { $0 == 0 }, expected: "4096 zero bytes",
                                      observed: "first non-zero byte at \(b.firstIndex { $0 != 0 } ?? -1)"))
        },
        ConformanceTest(id: "identify.009-active-list", title: "Identify CNS 02h lists active NSIDs in ascending order, each ≤ NN",
                        citation: "\(base) §5.17.2.2 Active Namespace ID list", area: .identify, setup: .standard) { t in
            let (c, b) = try identify(t, cns: 2, nsid: 0)
            try t.setupStep(c, "Identify CNS 02h")
            let ids = (0..<1024).map { le(b, $0 * 4, UInt32.self) }.prefix { $0 != 0 }
            let ascending = zip(ids, ids.dropFirst()).allSatisfy { $0 < $1 }
            let nn = t.identify.nn
            return t.expectThat(ascending && ids.allSatisfy { $0 <= nn } && !ids.isEmpty == !t.controller.namespaces.isEmpty,
                                expected: "ascending NSIDs ≤ NN (\(nn))", observed: "list \(Array(ids.prefix(16)))")
        },
        ConformanceTest(id: "identify.010-active-list-above", title: "Identify CNS 02h returns only NSIDs greater than CDW1.NSID",
                        citation: "\(base) §5.17.2.2", area: .identify, setup: .standard, requires: Requires.namespace) { t in
            let first = try t.requireNamespace().nsid
            let (c, b) = try identify(t, cns: 2, nsid: first)
            try t.setupStep(c, "Identify CNS 02h NSID \(first)")
            let ids = (0..<1024).map { le(b, $0 * 4, UInt32.self) }.prefix { $0 != 0 }
            return t.expectThat(ids.allSatisfy { $0 > first }, expected: "every NSID > \(first)", observed: "list \(Array(ids.prefix(16)))")
        },
        ConformanceTest(id: "identify.011-active-list-broadcast", title: "Identify CNS 02h with NSID FFFFFFFFh is Invalid Namespace or Format",
                        citation: "\(base) §5.17 (CNS 02h: NSID FFFFFFFEh and FFFFFFFFh are invalid)", area: .identify) { t in
            t.expect(try identify(t, cns: 2, nsid: 0xFFFF_FFFF).0, GenericStatus.invalidNamespaceOrFormat)
        },
        ConformanceTest(id: "identify.012-active-list-fffffffe", title: "Identify CNS 02h with NSID FFFFFFFEh is Invalid Namespace or Format",
                        citation: "\(base) §5.17 (CNS 02h: NSID FFFFFFFEh and FFFFFFFFh are invalid)", area: .identify) { t in
            t.expect(try identify(t, cns: 2, nsid: 0xFFFF_FFFE).0, GenericStatus.invalidNamespaceOrFormat)
        },
        ConformanceTest(id: "identify.013-descriptors", title: "Identify CNS 03h returns well-formed descriptors (NIDL fits NIDT)",
                        citation: "\(base) §5.17.2.3 Namespace Identification Descriptor list", area: .identify, setup: .standard,
                        requires: Requires.namespace) { t in
            let ns = try t.requireNamespace()
            let (c, b) = try identify(t, cns: 3, nsid: ns.nsid)
            try t.setupStep(c, "Identify CNS 03h NSID \(ns.nsid)")
            var off = 0, count = 0
            let lengths: [UInt8: UInt8] = [1: 8, 2: 16, 3: 16, 4: 1]
            while off + 4 <= b.count {
                let nidt = b[off], nidl = b[off + 1]
                if nidt == 0 && nidl == 0 { break }
                guard let want = lengths[nidt], want == nidl else {
                    return .fail(expected: "NIDT 1/2/3/4 with NIDL 8/16/16/1", observed: "NIDT \(nidt) NIDL \(nidl) at byte \(off)")
                }
                count += 1
                off += 4 + Int(nidl)
            }
            return t.expectThat(count >= 1, expected: "at least one descriptor", observed: "none")
        },
        ConformanceTest(id: "identify.014-descriptors-nsid-0", title: "Identify CNS 03h with NSID 0 is Invalid Namespace or Format",
                        citation: "\(base) §5.17 (CNS 03h NSID)", area: .identify) { t in
            t.expect(try identify(t, cns: 3, nsid: 0).0, GenericStatus.invalidNamespaceOrFormat)
        },
        ConformanceTest(id: "identify.015-reserved-cns", title: "Identify with a reserved CNS (FEh) is Invalid Field in Command",
                        citation: "\(base) §5.17, Figure \"CNS Values\" (reserved)", area: .identify) { t in
            t.expect(try identify(t, cns: 0xFE).0, GenericStatus.invalidFieldInCommand)
        },
        ConformanceTest(id: "identify.016-nn-covers-active", title: "Every active NSID is ≤ Identify Controller NN",
                        citation: "\(base) §5.17.2.1 NN", area: .identify, setup: .standard) { t in
            let nn = t.identify.nn
            let above = t.controller.namespaces.map(\.nsid).filter { $0 > nn }
            return t.expectThat(above.isEmpty, expected: "active NSIDs ≤ NN = \(nn)", observed: "NSIDs \(above)")
        },
        ConformanceTest(id: "identify.017-cntlid-stable", title: "Identify Controller is the same on two reads (CNTLID, SN, MN)",
                        citation: "\(base) §5.17.2.1 CNTLID, SN, MN", area: .identify) { t in
            let (c, b) = try identify(t, cns: 1)
            try t.setupStep(c, "Identify CNS 01h")
            let a = t.controller.identifyData
            return t.expectThat(Array(a.prefix(80)) == Array(b.prefix(80)), expected: "bytes 0-79 equal",
                                observed: "they differ")
        },
        ConformanceTest(id: "identify.018-identify-cqe-dw0", title: "Identify completes with the CID of the command",
                        citation: "\(base) §4.2 Completion Queue Entry CID", area: .identify) { t in
            let c = try identify(t, cns: 1).0
            return t.expectEqual("CQE.CID", c.cqe.cid, c.sqe.cid)
        },
    ]
}
