import Foundation
import NVMeDriver
import NVMePlatform
import NVMeSpec

/// NVM command set IO errors and data commands (NVM Command Set 1.0c §3.2; NVMe Base 2.0c §7.1 Flush).
enum NVMTests {
    static let nvm = "NVM Command Set 1.0c"
    static let base = "NVMe Base 2.0c"

    static func blocks(_ t: ConformanceContext, _ ns: Namespace, _ n: Int) throws -> Buffer {
        try t.buffer(n * ns.blockSize)
    }

    static func test(_ id: String, _ title: String, _ citation: String, requires: ConformanceRequirement? = nil,
                     _ body: @escaping @Sendable (ConformanceContext, Namespace) throws -> ConformanceOutcome) -> ConformanceTest {
        let req = requires.map { Requires.all(Requires.namespace, $0) } ?? Requires.namespace
        return ConformanceTest(id: "nvm-io.\(id)", title: title, citation: citation, area: .nvmIO, setup: .standard,
                               requires: req) { t in try body(t, try t.requireNamespace()) }
    }

    static let all: [ConformanceTest] = [
        test("001-read-last-lba", "Read of the last LBA succeeds", "\(nvm) §3.2.4 Read") { t, ns in
            t.expectSuccess(try t.io(.read(nsid: ns.nsid, slba: ns.blockCount - 1, nlb: 0), buffer: try blocks(t, ns, 1)))
        },
        test("002-read-at-nsze", "Read at SLBA = NSZE is LBA Out of Range", "\(nvm) §3.2.4 Read; Base 2.0c §3.2 LBA range") { t, ns in
            t.expect(try t.io(.read(nsid: ns.nsid, slba: ns.blockCount, nlb: 0), buffer: try blocks(t, ns, 1)),
                     GenericStatus.lbaOutOfRange)
        },
        test("003-read-crossing-end", "Read of 2 blocks from the last LBA is LBA Out of Range", "\(nvm) §3.2.4 Read (SLBA + NLB)") { t, ns in
            t.expect(try t.io(.read(nsid: ns.nsid, slba: ns.blockCount - 1, nlb: 1), buffer: try blocks(t, ns, 2)),
                     GenericStatus.lbaOutOfRange)
        },
        test("004-read-slba-max", "Read at SLBA FFFFFFFFFFFFFFFFh is LBA Out of Range", "\(nvm) §3.2.4 Read") { t, ns in
            t.expect(try t.io(.read(nsid: ns.nsid, slba: .max, nlb: 0), buffer: try blocks(t, ns, 1)), GenericStatus.lbaOutOfRange)
        },
        test("005-write-at-nsze", "Write at SLBA = NSZE is LBA Out of Range", "\(nvm) §3.2.6 Write") { t, ns in
            t.expect(try t.io(.write(nsid: ns.nsid, slba: ns.blockCount, nlb: 0), buffer: try blocks(t, ns, 1)),
                     GenericStatus.lbaOutOfRange)
        },
        test("006-write-crossing-end", "Write of 2 blocks from the last LBA is LBA Out of Range", "\(nvm) §3.2.6 Write") { t, ns in
            t.expect(try t.io(.write(nsid: ns.nsid, slba: ns.blockCount - 1, nlb: 1), buffer: try blocks(t, ns, 2)),
                     GenericStatus.lbaOutOfRange)
        },
        test("007-read-nsid-0", "Read with NSID 0 is Invalid Namespace or Format", "\(base) §3.2.1.2 (NSID 0h)") { t, ns in
            t.expect(try t.io(.read(nsid: 0, slba: 0, nlb: 0), buffer: try blocks(t, ns, 1)), GenericStatus.invalidNamespaceOrFormat)
        },
        test("008-read-nsid-above-nn", "Read with NSID > NN is Invalid Namespace or Format", "\(base) §3.2.1.2 (invalid NSID)") { t, ns in
            guard let nsid = t.nsidAboveNN else { return .notApplicable("Identify Controller NN ≥ FFFFFFFEh") }
            return t.expect(try t.io(.read(nsid: nsid, slba: 0, nlb: 0), buffer: try blocks(t, ns, 1)),
                            GenericStatus.invalidNamespaceOrFormat, "NSID \(hex(nsid))")
        },
        test("009-read-nsid-broadcast", "Read with NSID FFFFFFFFh (broadcast, which Read does not support) is aborted",
             "\(base) §3.2.1.2 (broadcast NSID on a command that does not support it)") { t, ns in
            // Either status names the NSID as what is wrong; the check is that the controller does not read.
            t.expect(try t.io(.read(nsid: 0xFFFF_FFFF, slba: 0, nlb: 0), buffer: try blocks(t, ns, 1)),
                     [GenericStatus.invalidNamespaceOrFormat, GenericStatus.invalidFieldInCommand])
        },
        test("010-write-nsid-above-nn", "Write with NSID > NN is Invalid Namespace or Format", "\(base) §3.2.1.2") { t, ns in
            guard let nsid = t.nsidAboveNN else { return .notApplicable("Identify Controller NN ≥ FFFFFFFEh") }
            return t.expect(try t.io(.write(nsid: nsid, slba: 0, nlb: 0), buffer: try blocks(t, ns, 1)),
                            GenericStatus.invalidNamespaceOrFormat)
        },
        test("011-read-beyond-mdts", "Read of more than MDTS is Invalid Field in Command", "\(base) §5.17.2.1 MDTS", requires: Requires.mdts) { t, ns in
            let mdtsBytes = (1 << Int(t.identify.mdts)) * t.cap.minimumPageSize
            let n = mdtsBytes / ns.blockSize + 1
            guard n <= 65536, n <= Int(ns.blockCount) else { return .notApplicable("MDTS + 1 block exceeds NLB or the namespace") }
            return t.expect(try t.io(.read(nsid: ns.nsid, slba: 0, nlb: UInt16(n - 1)), buffer: try blocks(t, ns, n)),
                            GenericStatus.invalidFieldInCommand, "\(n) blocks with MDTS = \(mdtsBytes) bytes")
        },
        test("012-read-at-mdts", "Read of exactly MDTS bytes succeeds", "\(base) §5.17.2.1 MDTS", requires: Requires.mdts) { t, ns in
            let mdtsBytes = (1 << Int(t.identify.mdts)) * t.cap.minimumPageSize
            let n = mdtsBytes / ns.blockSize
            guard n >= 1, n <= 65536, n <= Int(ns.blockCount) else { return .notApplicable("MDTS is not a block count within NLB") }
            return t.expectSuccess(try t.io(.read(nsid: ns.nsid, slba: 0, nlb: UInt16(n - 1)), buffer: try blocks(t, ns, n)))
        },
        test("013-flush", "Flush of an active namespace succeeds", "\(base) §7.1 Flush") { t, ns in
            t.expectSuccess(try t.io(.flush(nsid: ns.nsid)))
        },
        test("014-flush-nsid-above-nn", "Flush with NSID > NN is Invalid Namespace or Format", "\(base) §7.1 Flush; §3.2.1.2") { t, _ in
            guard let nsid = t.nsidAboveNN else { return .notApplicable("Identify Controller NN ≥ FFFFFFFEh") }
            return t.expect(try t.io(.flush(nsid: nsid)), GenericStatus.invalidNamespaceOrFormat)
        },
        test("015-flush-broadcast", "Flush with NSID FFFFFFFFh follows Identify Controller VWC bits 2:1", "\(base) §7.1 Flush; §5.17.2.1 VWC") { t, _ in
            let vwc = t.identify.vwc
            let c = try t.io(.flush(nsid: 0xFFFF_FFFF))
            switch (vwc >> 1) & 3 {
            case 3: return t.expectSuccess(c, "VWC bits 2:1 = 11b")
            case 2: return t.expect(c, GenericStatus.invalidNamespaceOrFormat, "VWC bits 2:1 = 10b")
            default: return .notApplicable("Identify Controller VWC bits 2:1 = \((vwc >> 1) & 3) (support not indicated)")
            }
        },
        test("016-write-read-back", "Data written is read back unchanged", "\(nvm) §3.2.6 Write, §3.2.4 Read") { t, ns in
            let w = try blocks(t, ns, 4), r = try blocks(t, ns, 4)
            try w.fill(.random(seed: 0x5EC))
            try t.setupStep(try t.io(.write(nsid: ns.nsid, slba: 8, nlb: 3), buffer: w), "Write")
            let c = try t.io(.read(nsid: ns.nsid, slba: 8, nlb: 3), buffer: r)
            return allOf(t.expectSuccess(c), t.expectThat(r.compare(to: w) == nil, expected: "the written bytes",
                                                          observed: "\(r.compare(to: w).map { "\($0)" } ?? "")"))
        },
        test("017-write-zeroes", "Write Zeroes makes the blocks read as zeroes", "\(nvm) §3.2.8 Write Zeroes", requires: Requires.writeZeroes) { t, ns in
            let w = try blocks(t, ns, 2), r = try blocks(t, ns, 2)
            try w.fill(.ones)
            try t.setupStep(try t.io(.write(nsid: ns.nsid, slba: 16, nlb: 1), buffer: w), "Write")
            let z = try t.io(.writeZeroes(nsid: ns.nsid, slba: 16, nlb: 1))
            try t.setupStep(try t.io(.read(nsid: ns.nsid, slba: 16, nlb: 1), buffer: r), "Read")
            return allOf(t.expectSuccess(z), t.expectThat(r.bytes.allSatisfy { $0 == 0 }, expected: "zeroes",
                                                          observed: "non-zero byte at \(r.bytes.firstIndex { $0 != 0 } ?? -1)"))
        },
        test("018-write-zeroes-out-of-range", "Write Zeroes past the end is LBA Out of Range", "\(nvm) §3.2.8 Write Zeroes", requires: Requires.writeZeroes) { t, ns in
            t.expect(try t.io(.writeZeroes(nsid: ns.nsid, slba: ns.blockCount - 1, nlb: 1)), GenericStatus.lbaOutOfRange)
        },
        test("019-compare-match", "Compare with the data on the media succeeds", "\(nvm) §3.2.1 Compare", requires: Requires.compare) { t, ns in
            let w = try blocks(t, ns, 2)
            try w.fill(.random(seed: 7))
            try t.setupStep(try t.io(.write(nsid: ns.nsid, slba: 24, nlb: 1), buffer: w), "Write")
            return t.expectSuccess(try t.io(.compare(nsid: ns.nsid, slba: 24, nlb: 1), buffer: w))
        },
        test("020-compare-mismatch", "Compare with different data is Compare Failure", "\(nvm) §3.2.1 Compare; Media and Data Integrity Errors 85h", requires: Requires.compare) { t, ns in
            let w = try blocks(t, ns, 2), other = try blocks(t, ns, 2)
            try w.fill(.random(seed: 7))
            try other.fill(.random(seed: 8))
            try t.setupStep(try t.io(.write(nsid: ns.nsid, slba: 24, nlb: 1), buffer: w), "Write")
            return t.expect(try t.io(.compare(nsid: ns.nsid, slba: 24, nlb: 1), buffer: other),
                            MediaAndDataIntegrityStatus.compareFailure)
        },
        test("021-compare-out-of-range", "Compare past the end is LBA Out of Range", "\(nvm) §3.2.1 Compare", requires: Requires.compare) { t, ns in
            t.expect(try t.io(.compare(nsid: ns.nsid, slba: ns.blockCount, nlb: 0), buffer: try blocks(t, ns, 1)),
                     GenericStatus.lbaOutOfRange)
        },
        test("022-verify-out-of-range", "Verify past the end is LBA Out of Range", "\(nvm) §3.2.5 Verify", requires: Requires.verify) { t, ns in
            t.expect(try t.io(.verify(nsid: ns.nsid, slba: ns.blockCount, nlb: 0)), GenericStatus.lbaOutOfRange)
        },
        test("023-unsupported-io-opcode", "An IO opcode the controller does not support is Invalid Command Opcode",
             "\(base) Figure \"Generic Command Status Values\" 01h; §5.16.1.6 IOCS", requires: Requires.commandsSupportedLog) { t, ns in
            let (c, buf) = try t.admin(try DriverCommand.getLogPage(lid: 0x05, bytes: 4096), bytes: 4096)
            try t.setupStep(c, "Get Log Page 05h")
            let b = buf?.bytes ?? []
            guard let op = (UInt8(0x03)...0x7F).first(where: { le(b, 1024 + Int($0) * 4, UInt32.self) & 1 == 0 }) else {
                return .notApplicable("every IO opcode 03h-7Fh is reported supported")
            }
            return t.expect(try t.io(SQE(opcode: op, nsid: ns.nsid)), GenericStatus.invalidCommandOpcode, "opcode \(hex(op))")
        },
        test("024-read-fua", "Read with FUA = 1 succeeds", "\(nvm) §3.2.4 Read CDW12.FUA") { t, ns in
            t.expectSuccess(try t.io(.read(nsid: ns.nsid, slba: 0, nlb: 0, fua: true), buffer: try blocks(t, ns, 1)))
        },
        test("025-write-fua", "Write with FUA = 1 succeeds", "\(nvm) §3.2.6 Write CDW12.FUA") { t, ns in
            let w = try blocks(t, ns, 1)
            return t.expectSuccess(try t.io(.write(nsid: ns.nsid, slba: 32, nlb: 0, fua: true), buffer: w))
        },
        test("026-sqhd-advances", "CQE.SQHD reports the SQ head after each command", "\(base) §4.2 Completion Queue Entry SQHD") { t, ns in
            let q = try t.ioQueue()
            let a = try t.io(.flush(nsid: ns.nsid), on: q), b = try t.io(.flush(nsid: ns.nsid), on: q)
            let depth = UInt16(q.sq.depth)
            return t.expectThat(b.cqe.sqhd == (a.cqe.sqhd + 1) % depth, expected: "SQHD \((a.cqe.sqhd + 1) % depth) after \(a.cqe.sqhd)",
                                observed: "SQHD \(b.cqe.sqhd)")
        },
    ]
}
