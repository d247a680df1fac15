import Foundation
import NVMeDriver
import NVMePlatform
import NVMeSpec

/// Controller registers (NVMe Base 2.0c §3.1.4) and their values around a Controller Level Reset (§3.7.2).
enum RegisterTests {
    static let base = "NVMe Base 2.0c"

    static let all: [ConformanceTest] = [
        ConformanceTest(id: "registers.001-cap-mqes-nonzero", title: "CAP.MQES is at least 1 (a value of 0h is invalid)",
                        citation: "\(base) §3.1.4.1 CAP.MQES", area: .registers) { t in
            t.expectThat(t.cap.mqes >= 1, expected: "CAP.MQES ≥ 1h", observed: "CAP.MQES = \(hex(t.cap.mqes))")
        },
        ConformanceTest(id: "registers.002-cap-css-one-set", title: "CAP.CSS reports at least one command set (bit 0, 6 or 7)",
                        citation: "\(base) §3.1.4.1 CAP.CSS", area: .registers) { t in
            t.expectThat(t.cap.css & 0xC1 != 0, expected: "CAP.CSS bit 0 (NVM), 6 (I/O command sets) or 7 (admin only) set",
                         observed: "CAP.CSS = \(hex(t.cap.css))")
        },
        ConformanceTest(id: "registers.003-cap-mps-order", title: "CAP.MPSMIN is not above CAP.MPSMAX",
                        citation: "\(base) §3.1.4.1 CAP.MPSMIN, CAP.MPSMAX", area: .registers) { t in
            t.expectThat(t.cap.mpsmin <= t.cap.mpsmax, expected: "CAP.MPSMIN ≤ CAP.MPSMAX",
                         observed: "CAP.MPSMIN = \(t.cap.mpsmin), CAP.MPSMAX = \(t.cap.mpsmax)")
        },
        ConformanceTest(id: "registers.004-cap-reserved", title: "CAP reserved bits 23:19 and 63:61 are 0",
                        citation: "\(base) §3.1.4.1 CAP (reserved bits)", area: .registers) { t in
            let raw = t.cap.rawValue
            let reserved = raw & ((0x1F << 19) | (0x7 << 61))
            return t.expectThat(reserved == 0, expected: "CAP bits 23:19 and 63:61 = 0",
                                observed: "CAP = \(hex(raw)) (reserved bits \(hex(reserved)))")
        },
        ConformanceTest(id: "registers.005-doorbells-in-bar", title: "BAR0 holds the doorbells of every queue the controller allocated",
                        citation: "\(base) §3.1.4.23-24 SQyTDBL/CQyHDBL; §3.1.4.1 CAP.DSTRD", area: .registers) { t in
            let queues = max(t.grantedSQs, t.grantedCQs)
            let end = ControllerRegister.doorbellBase + 2 * (queues + 1) * t.cap.doorbellStride
            return t.expectThat(t.registers.length >= end,
                                expected: "BAR0 ≥ \(hex(end)) bytes (\(queues) IO queues, stride \(t.cap.doorbellStride))",
                                observed: "BAR0 = \(hex(t.registers.length)) bytes")
        },
        ConformanceTest(id: "registers.006-vs-major", title: "VS.MJR is at least 1 and VS.MNR below 10",
                        citation: "\(base) §3.1.4.2 VS", area: .registers) { t in
            let vs = t.registers.vs
            return t.expectThat(vs.mjr >= 1 && vs.mnr < 10, expected: "VS ≥ 1.0 with a one-digit minor version",
                                observed: "VS = \(hex(vs.rawValue)) (\(vs))")
        },
        ConformanceTest(id: "registers.007-vs-matches-identify-ver", title: "VS equals Identify Controller VER (from 1.2 on)",
                        citation: "\(base) §3.1.4.2 VS; §5.17.2.1 Identify Controller VER", area: .registers) { t in
            let vs = t.registers.vs
            guard vs.rawValue >= 0x0001_0200 else { return .notApplicable("VS = \(vs) is below 1.2 (VER added in 1.2)") }
            return t.expectEqual("Identify Controller VER", hex(t.identify.ver), hex(vs.rawValue))
        },
        ConformanceTest(id: "registers.008-enabled-state", title: "With CC.EN = 1: CSTS.RDY = 1, CSTS.CFS = 0, CSTS.SHST = 00b",
                        citation: "\(base) §3.1.4.6 CSTS.RDY, CSTS.CFS, CSTS.SHST", area: .registers) { t in
            let cc = t.registers.cc, csts = t.registers.csts
            return t.expectThat(cc.en && csts.rdy && !csts.cfs && csts.shst == 0,
                                expected: "CC.EN = 1, CSTS.RDY = 1, CSTS.CFS = 0, CSTS.SHST = 0",
                                observed: "CC = \(hex(cc.rawValue)), CSTS = \(hex(csts.rawValue))")
        },
        ConformanceTest(id: "registers.009-csts-reserved", title: "CSTS reserved bits 31:7 are 0",
                        citation: "\(base) §3.1.4.6 CSTS (reserved bits)", area: .registers) { t in
            let csts = t.registers.csts.rawValue
            return t.expectThat(csts >> 7 == 0, expected: "CSTS bits 31:7 = 0", observed: "CSTS = \(hex(csts))")
        },
        ConformanceTest(id: "registers.010-cc-readback", title: "CC reads back the IOSQES, IOCQES, MPS and CSS the host wrote",
                        citation: "\(base) §3.1.4.5 CC", area: .registers) { t in
            let cc = t.registers.cc
            return t.expectThat(cc.iosqes == 6 && cc.iocqes == 4 && cc.mps == t.controller.options.mps,
                                expected: "CC.IOSQES = 6, CC.IOCQES = 4, CC.MPS = \(t.controller.options.mps)",
                                observed: "CC = \(hex(cc.rawValue)) (IOSQES \(cc.iosqes), IOCQES \(cc.iocqes), MPS \(cc.mps))")
        },
        ConformanceTest(id: "registers.011-aqa-readback", title: "AQA reads back the admin queue sizes the host wrote",
                        citation: "\(base) §3.1.4.8 AQA.ASQS, AQA.ACQS", area: .registers) { t in
            guard let admin = t.controller.adminQueue else { throw ConformanceError("no admin queue") }
            let aqa = t.registers.aqa
            return t.expectThat(Int(aqa.asqs) == admin.sq.depth - 1 && Int(aqa.acqs) == admin.cq.depth - 1,
                                expected: "AQA.ASQS = \(admin.sq.depth - 1), AQA.ACQS = \(admin.cq.depth - 1)",
                                observed: "AQA = \(hex(aqa.rawValue))")
        },
        ConformanceTest(id: "registers.012-asq-acq-readback", title: "ASQ and ACQ read back the admin queue base addresses",
                        citation: "\(base) §3.1.4.9 ASQ.ASQB, §3.1.4.10 ACQ.ACQB", area: .registers) { t in
            guard let admin = t.controller.adminQueue else { throw ConformanceError("no admin queue") }
            return t.expectThat(t.registers.asq == admin.sq.busAddress && t.registers.acq == admin.cq.busAddress,
                                expected: "ASQ = \(hex(admin.sq.busAddress)), ACQ = \(hex(admin.cq.busAddress))",
                                observed: "ASQ = \(hex(t.registers.asq)), ACQ = \(hex(t.registers.acq))")
        },
        ConformanceTest(id: "registers.013-disable-clears-rdy", title: "CC.EN 1→0 makes CSTS.RDY 0 within CAP.TO",
                        citation: "\(base) §3.1.4.5 CC.EN; §3.1.4.6 CSTS.RDY; §3.7.2", area: .registers) { t in
            var cc = t.registers.cc
            cc.en = false
            t.registers.setCC(cc)
            let limit = max(t.cap.timeout, .milliseconds(500))
            let clock = ContinuousClock()
            let end = clock.now.advanced(by: limit)
            while t.registers.csts.rdy && clock.now < end { Thread.sleep(forTimeInterval: 0.001) }
            return t.expectThat(!t.registers.csts.rdy, expected: "CSTS.RDY = 0 within CAP.TO (\(limit))",
                                observed: "CSTS = \(hex(t.registers.csts.rawValue)) after \(limit)")
        },
        ConformanceTest(id: "registers.014-reset-keeps-admin-queue-registers",
                        title: "A Controller Level Reset (CC.EN 1→0) keeps AQA, ASQ and ACQ",
                        citation: "\(base) §3.7.2 Controller Level Reset", area: .registers) { t in
            let before = (t.registers.aqa.rawValue, t.registers.asq, t.registers.acq)
            try t.controller.disable()
            let after = (t.registers.aqa.rawValue, t.registers.asq, t.registers.acq)
            return t.expectThat(before == after,
                                expected: "AQA/ASQ/ACQ = \(hex(before.0))/\(hex(before.1))/\(hex(before.2))",
                                observed: "AQA/ASQ/ACQ = \(hex(after.0))/\(hex(after.1))/\(hex(after.2))")
        },
        ConformanceTest(id: "registers.015-reset-clears-csts", title: "After CC.EN 1→0, CSTS.RDY = 0 and CSTS.SHST = 00b",
                        citation: "\(base) §3.7.2; §3.1.4.6 CSTS", area: .registers) { t in
            try t.controller.disable()
            let csts = t.registers.csts
            return t.expectThat(!csts.rdy && csts.shst == 0 && !csts.cfs, expected: "CSTS.RDY = 0, SHST = 0, CFS = 0",
                                observed: "CSTS = \(hex(csts.rawValue))")
        },
        ConformanceTest(id: "registers.016-reenable-after-reset",
                        title: "After a Controller Level Reset the host's re-initialisation makes the controller ready again",
                        citation: "\(base) §3.7.2 Controller Level Reset; §3.5.1 Memory-based Controller Initialization",
                        area: .registers) { t in
            // The reset clears CC (only AQA/ASQ/ACQ are kept), so the whole init sequence runs again, as a host must.
            do { try t.controller.reset(.controller) } catch {
                return .fail(expected: "CSTS.RDY = 1 after re-initialisation", observed: "\(error)")
            }
            let c = try t.admin(DriverCommand.identify(cns: 1), bytes: 4096).0
            return allOf(t.expectThat(t.registers.csts.rdy, expected: "CSTS.RDY = 1",
                                      observed: "CSTS = \(hex(t.registers.csts.rawValue))"),
                         t.expectSuccess(c, "Identify after the reset"))
        },
        ConformanceTest(id: "registers.017-normal-shutdown", title: "CC.SHN = 01b completes with CSTS.SHST = 10b within CAP.TO",
                        citation: "\(base) §3.1.4.5 CC.SHN; §3.1.4.6 CSTS.SHST; §3.6.1", area: .registers) { t in
            do { try t.controller.shutdown(abrupt: false) } catch {
                return .fail(expected: "CSTS.SHST = 10b", observed: "\(error)")
            }
            return t.expectEqual("CSTS.SHST", t.registers.csts.shst, 2)
        },
        ConformanceTest(id: "registers.018-cmb-absent-registers-zero", title: "Without a CMB, CMBLOC and CMBSZ are 0h",
                        citation: "\(base) §3.1.4.11 CMBLOC; §3.1.4.12 CMBSZ", area: .registers,
                        requires: ConformanceRequirement("no Controller Memory Buffer") { c in
                            c.registers.cap.cmbs ? "CAP.CMBS = 1 (a CMB is present)" : nil
                        }) { t in
            let loc = t.registers.read32(at: 0x38), sz = t.registers.read32(at: 0x3C)
            if sz == 0 { return .pass }
            return .fail(expected: "CMBSZ = 0h (CAP.CMBS = 0)", observed: "CMBLOC = \(hex(loc)), CMBSZ = \(hex(sz))")
        },
        ConformanceTest(id: "registers.019-bpinfo-without-bps", title: "Without Boot Partitions, BPINFO is 0h",
                        citation: "\(base) §3.1.4.13 BPINFO", area: .registers,
                        requires: ConformanceRequirement("no Boot Partitions") { c in
                            c.registers.cap.bps ? "CAP.BPS = 1" : nil
                        }) { t in
            t.expectEqual("BPINFO", hex(t.registers.read32(at: 0x40)), hex(UInt32(0)))
        },
    ]
}
