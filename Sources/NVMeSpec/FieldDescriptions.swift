// Field-by-field descriptions with the spec's field names, so a failed `#expect` or a `print` shows what a
// controller posted: `CQE(dw0: 0x0, sqhd: 3, sqid: 1, cid: 7, p: 1, status: SCT 0h SC 02h Invalid Field in Command, dnr: 1)`.

func hexValue<T: BinaryInteger>(_ v: T) -> String { "0x" + String(v, radix: 16, uppercase: true) }
func flag(_ b: Bool) -> String { b ? "1" : "0" }
func fieldList(_ type: String, _ fields: [(String, String)]) -> String {
    type + "(" + fields.map { "\($0.0): \($0.1)" }.joined(separator: ", ") + ")"
}

extension CompletionQueueEntry: CustomStringConvertible, CustomDebugStringConvertible {
    /// `CQE(dw0: 0x0, sqhd: 3, sqid: 1, cid: 7, p: 1, status: SCT 0h SC 02h Invalid Field in Command, dnr: 1)`;
    /// DW1, CRD and More only when not zero.
    public var description: String {
        var f: [(String, String)] = [("dw0", hexValue(dw0))]
        if dw1 != 0 { f.append(("dw1", hexValue(dw1))) }
        f += [("sqhd", "\(sqhd)"), ("sqid", "\(sqid)"), ("cid", "\(cid)"), ("p", flag(p)),
              ("status", status.codeDescription)]
        if status.crd != 0 { f.append(("crd", "\(status.crd)")) }
        if status.m { f.append(("m", "1")) }
        f.append(("dnr", flag(status.dnr)))
        return fieldList("CQE", f)
    }
    /// Every field, zero or not.
    public var debugDescription: String {
        fieldList("CQE", [("dw0", hexValue(dw0)), ("dw1", hexValue(dw1)), ("sqhd", "\(sqhd)"), ("sqid", "\(sqid)"),
                          ("cid", "\(cid)"), ("p", flag(p)), ("status", status.codeDescription),
                          ("crd", "\(status.crd)"), ("m", flag(status.m)), ("dnr", flag(status.dnr))])
    }
}

extension SubmissionQueueEntry: CustomStringConvertible, CustomDebugStringConvertible {
    /// `SQE(opc: 06h, cid: 7, nsid: 0x0, prp1: 0x10000, cdw10: 0x1)`: CDW0 fields, NSID, and every other dword or
    /// pointer that is not zero.
    public var description: String {
        var f: [(String, String)] = [("opc", hex2(opc) + "h")]
        if fuse != 0 { f.append(("fuse", "\(fuse)")) }
        if psdt != 0 { f.append(("psdt", "\(psdt)")) }
        f += [("cid", "\(cid)"), ("nsid", hexValue(nsid))]
        if cdw2 != 0 { f.append(("cdw2", hexValue(cdw2))) }
        if cdw3 != 0 { f.append(("cdw3", hexValue(cdw3))) }
        if mptr != 0 { f.append(("mptr", hexValue(mptr))) }
        if psdt == 0 {
            if prp1 != 0 { f.append(("prp1", hexValue(prp1))) }
            if prp2 != 0 { f.append(("prp2", hexValue(prp2))) }
        } else {
            f.append(("sgl1", "\(hexValue(prp1)) \(hexValue(prp2))"))
        }
        for (name, v) in [("cdw10", cdw10), ("cdw11", cdw11), ("cdw12", cdw12), ("cdw13", cdw13), ("cdw14", cdw14),
                          ("cdw15", cdw15)] where v != 0 {
            f.append((name, hexValue(v)))
        }
        return fieldList("SQE", f)
    }
    /// Every field, zero or not.
    public var debugDescription: String {
        fieldList("SQE", [("opc", hex2(opc) + "h"), ("fuse", "\(fuse)"), ("psdt", "\(psdt)"), ("cid", "\(cid)"),
                          ("nsid", hexValue(nsid)), ("cdw2", hexValue(cdw2)), ("cdw3", hexValue(cdw3)),
                          ("mptr", hexValue(mptr)), ("prp1", hexValue(prp1)), ("prp2", hexValue(prp2)),
                          ("cdw10", hexValue(cdw10)), ("cdw11", hexValue(cdw11)), ("cdw12", hexValue(cdw12)),
                          ("cdw13", hexValue(cdw13)), ("cdw14", hexValue(cdw14)), ("cdw15", hexValue(cdw15))])
    }
}

extension ControllerCapabilities: CustomStringConvertible {
    /// `CAP(mqes: 2047, cqr: 1, ams: 0, to: 15, dstrd: 0, nssrs: 0, css: 0xC1, bps: 0, cps: 0, mpsmin: 0, …)`.
    public var description: String {
        fieldList("CAP", [("mqes", "\(mqes)"), ("cqr", flag(cqr)), ("ams", "\(ams)"), ("to", "\(to)"),
                          ("dstrd", "\(dstrd)"), ("nssrs", flag(nssrs)), ("css", hexValue(css)), ("bps", flag(bps)),
                          ("cps", "\(cps)"), ("mpsmin", "\(mpsmin)"), ("mpsmax", "\(mpsmax)"), ("pmrs", flag(pmrs)),
                          ("cmbs", flag(cmbs)), ("nsss", flag(nsss)), ("crms", "\(crms)")])
    }
}

extension ControllerConfiguration: CustomStringConvertible {
    /// `CC(en: 1, css: 0, mps: 0, ams: 0, shn: 0, iosqes: 6, iocqes: 4, crime: 0)`.
    public var description: String {
        fieldList("CC", [("en", flag(en)), ("css", "\(css)"), ("mps", "\(mps)"), ("ams", "\(ams)"), ("shn", "\(shn)"),
                         ("iosqes", "\(iosqes)"), ("iocqes", "\(iocqes)"), ("crime", flag(crime))])
    }
}

extension ControllerStatus: CustomStringConvertible {
    /// `CSTS(rdy: 1, cfs: 0, shst: 0, nssro: 0, pp: 0, st: 0)`, or `CSTS(FFFFFFFFh: device gone)`.
    public var description: String {
        if isAllOnes { return "CSTS(FFFFFFFFh: device gone)" }
        return fieldList("CSTS", [("rdy", flag(rdy)), ("cfs", flag(cfs)), ("shst", "\(shst)"), ("nssro", flag(nssro)),
                                  ("pp", flag(pp)), ("st", flag(st))])
    }
}

extension AdminQueueAttributes: CustomStringConvertible {
    /// `AQA(asqs: 31, acqs: 31)` (0's based sizes, as in the register).
    public var description: String { fieldList("AQA", [("asqs", "\(asqs)"), ("acqs", "\(acqs)")]) }
}

extension AdminSubmissionQueueBaseAddress: CustomStringConvertible {
    /// `ASQ(0x12000)`.
    public var description: String { "ASQ(\(hexValue(rawValue)))" }
}

extension AdminCompletionQueueBaseAddress: CustomStringConvertible {
    /// `ACQ(0x13000)`.
    public var description: String { "ACQ(\(hexValue(rawValue)))" }
}

extension InterruptMaskSet: CustomStringConvertible {
    /// `INTMS(0x0)`.
    public var description: String { "INTMS(\(hexValue(rawValue)))" }
}

extension InterruptMaskClear: CustomStringConvertible {
    /// `INTMC(0x0)`.
    public var description: String { "INTMC(\(hexValue(rawValue)))" }
}
