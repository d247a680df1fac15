import Testing
@testable import NVMeSpec

/// A register field as the spec's figure gives it: mnemonic, bit range, and the property that exposes it.
struct SpecField<R> {
    let name: String, hi: Int, lo: Int
    let set: (inout R, UInt64) -> Void
    let get: (R) -> UInt64
}
func field<R, V: FixedWidthInteger>(_ name: String, _ kp: WritableKeyPath<R, V>, _ hi: Int, _ lo: Int) -> SpecField<R> {
    SpecField(name: name, hi: hi, lo: lo, set: { $0[keyPath: kp] = V(truncatingIfNeeded: $1) },
              get: { UInt64($0[keyPath: kp]) })
}
func flag<R>(_ name: String, _ kp: WritableKeyPath<R, Bool>, _ bit: Int) -> SpecField<R> {
    SpecField(name: name, hi: bit, lo: bit, set: { $0[keyPath: kp] = $1 & 1 == 1 }, get: { $0[keyPath: kp] ? 1 : 0 })
}

/// Every field lands on exactly its bit range: set to all ones from zero, cleared from all ones, a pattern value
/// reads back, and no field leaks into a neighbour.
func checkFields<R: RawRepresentable>(_ type: R.Type, _ fields: [SpecField<R>],
                                      sourceLocation: SourceLocation = #_sourceLocation)
where R.RawValue: FixedWidthInteger & UnsignedInteger {
    let width = R.RawValue.bitWidth
    for f in fields {
        let w = f.hi - f.lo + 1
        let ones: UInt64 = w >= 64 ? .max : (1 << w) - 1
        let inPlace = R.RawValue(truncatingIfNeeded: ones << UInt64(f.lo))
        var r = R(rawValue: 0)!
        f.set(&r, .max)   // wider than the field: must truncate, not spill
        #expect(r.rawValue == inPlace, "\(R.self).\(f.name) set from zero", sourceLocation: sourceLocation)
        #expect(f.get(r) == ones, "\(R.self).\(f.name) reads back all ones", sourceLocation: sourceLocation)
        var all = R(rawValue: R.RawValue.max)!
        f.set(&all, 0)
        #expect(all.rawValue == ~inPlace, "\(R.self).\(f.name) clear from all ones", sourceLocation: sourceLocation)
        let pattern: UInt64 = 0xA5A5_A5A5_A5A5_A5A5 & ones
        var p = R(rawValue: 0)!
        f.set(&p, pattern)
        #expect(f.get(p) == pattern, "\(R.self).\(f.name) pattern", sourceLocation: sourceLocation)
        #expect(f.hi < width)
    }
}

@Suite("Register fields round-trip (Base §3.1.4)")
struct RegisterFieldTests {
    @Test("CAP fields — Figure 36") func cap() {
        checkFields(ControllerCapabilities.self, [
            field("MQES", \.mqes, 15, 0), flag("CQR", \.cqr, 16), field("AMS", \.ams, 18, 17), field("TO", \.to, 31, 24),
            field("DSTRD", \.dstrd, 35, 32), flag("NSSRS", \.nssrs, 36), field("CSS", \.css, 44, 37), flag("BPS", \.bps, 45),
            field("CPS", \.cps, 47, 46), field("MPSMIN", \.mpsmin, 51, 48), field("MPSMAX", \.mpsmax, 55, 52),
            flag("PMRS", \.pmrs, 56), flag("CMBS", \.cmbs, 57), flag("NSSS", \.nsss, 58), field("CRMS", \.crms, 60, 59)])
    }
    @Test("VS fields — Figure 37") func vs() {
        checkFields(Version.self, [field("MJR", \.mjr, 31, 16), field("MNR", \.mnr, 15, 8), field("TER", \.ter, 7, 0)])
        #expect(Version(mjr: 1, mnr: 4).rawValue == 0x0001_0400 && Version(rawValue: 0x0002_0000).description == "2.0.0")
    }
    @Test("INTMS/INTMC — Figures 39-40") func intm() {
        checkFields(InterruptMaskSet.self, [field("IVMS", \.ivms, 31, 0)])
        checkFields(InterruptMaskClear.self, [field("IVMC", \.ivmc, 31, 0)])
        var m = InterruptMaskSet(rawValue: 0); m[vector: 5] = true
        #expect(m.rawValue == 0x20)
    }
    @Test("CC fields — Figure 41") func cc() {
        checkFields(ControllerConfiguration.self, [
            flag("EN", \.en, 0), field("CSS", \.css, 6, 4), field("MPS", \.mps, 10, 7), field("AMS", \.ams, 13, 11),
            field("SHN", \.shn, 15, 14), field("IOSQES", \.iosqes, 19, 16), field("IOCQES", \.iocqes, 23, 20),
            flag("CRIME", \.crime, 24)])
    }
    @Test("CSTS fields — Figure 42") func csts() {
        checkFields(ControllerStatus.self, [
            flag("RDY", \.rdy, 0), flag("CFS", \.cfs, 1), field("SHST", \.shst, 3, 2), flag("NSSRO", \.nssro, 4),
            flag("PP", \.pp, 5), flag("ST", \.st, 6)])
    }
    @Test("NSSR, AQA, ASQ, ACQ — Figures 43-46") func queueRegs() {
        checkFields(NVMSubsystemReset.self, [field("NSSRC", \.nssrc, 31, 0)])
        #expect(NVMSubsystemReset.reset.rawValue == 0x4E56_4D65)   // "NVMe" in ASCII, Figure 43
        checkFields(AdminQueueAttributes.self, [field("ASQS", \.asqs, 11, 0), field("ACQS", \.acqs, 27, 16)])
        checkFields(AdminSubmissionQueueBaseAddress.self, [field("ASQB", \.asqb, 63, 12)])
        checkFields(AdminCompletionQueueBaseAddress.self, [field("ACQB", \.acqb, 63, 12)])
        #expect(AdminSubmissionQueueBaseAddress(address: 0x1234_5000).asqb == 0x12345)
        #expect(AdminCompletionQueueBaseAddress(address: 0x1234_5008).validate().count == 1)
    }
    @Test("CMBLOC, CMBSZ, CMBMSC, CMBSTS, CMBEBS — Figures 47-54") func cmb() {
        checkFields(ControllerMemoryBufferLocation.self, [
            field("BIR", \.bir, 2, 0), flag("CQMMS", \.cqmms, 3), flag("CQPDS", \.cqpds, 4), flag("CDPMLS", \.cdpmls, 5),
            flag("CDPCILS", \.cdpcils, 6), flag("CDMMMS", \.cdmmms, 7), flag("CQDA", \.cqda, 8),
            field("OFST", \.ofst, 31, 12)])
        checkFields(ControllerMemoryBufferSize.self, [
            flag("SQS", \.sqs, 0), flag("CQS", \.cqs, 1), flag("LISTS", \.lists, 2), flag("RDS", \.rds, 3),
            flag("WDS", \.wds, 4), field("SZU", \.szu, 11, 8), field("SZ", \.sz, 31, 12)])
        var sz = ControllerMemoryBufferSize(rawValue: 0); sz.szu = 2; sz.sz = 3
        #expect(sz.sizeBytes == 3 * 1024 * 1024)
        checkFields(ControllerMemoryBufferMemorySpaceControl.self, [
            flag("CRE", \.cre, 0), flag("CMSE", \.cmse, 1), field("CBA", \.cba, 63, 12)])
        checkFields(ControllerMemoryBufferStatus.self, [flag("CBAI", \.cbai, 0)])
        checkFields(ControllerMemoryBufferElasticityBufferSize.self, [
            field("CMBSZU", \.cmbszu, 3, 0), flag("CMBRBB", \.cmbrbb, 4), field("CMBWBZ", \.cmbwbz, 31, 8)])
        checkFields(ControllerReadyTimeouts.self, [field("CRWMT", \.crwmt, 15, 0), field("CRIMT", \.crimt, 31, 16)])
    }
    @Test("BPINFO, BPRSEL, BPMBL — Figures 49-51") func bootPartitions() {
        checkFields(BootPartitionInformation.self, [
            field("BPSZ", \.bpsz, 14, 0), field("BRS", \.brs, 25, 24), flag("ABPID", \.abpid, 31)])
        checkFields(BootPartitionReadSelect.self, [
            field("BPRSZ", \.bprsz, 9, 0), field("BPROF", \.bprof, 29, 10), flag("BPID", \.bpid, 31)])
        checkFields(BootPartitionMemoryBufferLocation.self, [field("BMBBA", \.bmbba, 63, 12)])
    }
    @Test("PMRCAP, PMRCTL, PMRSTS, PMREBS, PMRSWTP, PMRMSCL/U — Figures 69-75") func pmr() {
        checkFields(PersistentMemoryCapabilities.self, [
            flag("RDS", \.rds, 3), flag("WDS", \.wds, 4), field("BIR", \.bir, 7, 5), field("PMRTU", \.pmrtu, 9, 8),
            field("PMRWBM", \.pmrwbm, 13, 10), field("PMRTO", \.pmrto, 23, 16), flag("CMSS", \.cmss, 24)])
        checkFields(PersistentMemoryRegionControl.self, [flag("EN", \.en, 0)])
        checkFields(PersistentMemoryRegionStatus.self, [
            field("ERR", \.err, 7, 0), flag("NRDY", \.nrdy, 8), field("HSTS", \.hsts, 11, 9), flag("CBAI", \.cbai, 12)])
        checkFields(PersistentMemoryRegionElasticityBufferSize.self, [
            field("PMRSZU", \.pmrszu, 3, 0), flag("RBB", \.rbb, 4), field("PMRWBZ", \.pmrwbz, 31, 8)])
        checkFields(PersistentMemoryRegionSustainedWriteThroughput.self, [
            field("PMRSWTU", \.pmrswtu, 3, 0), field("PMRSWTV", \.pmrswtv, 31, 8)])
        checkFields(PersistentMemoryRegionMemorySpaceControlLower.self, [flag("CMSE", \.cmse, 1), field("CBA", \.cba, 31, 12)])
        checkFields(PersistentMemoryRegionMemorySpaceControlUpper.self, [field("CBA", \.cba, 31, 0)])
    }

    @Test("CC validation flags IOSQES/IOCQES, MPS outside CAP, reserved CSS/AMS/SHN (Base §3.1.4.5)")
    func ccValidation() {
        let cap = ControllerCapabilities(rawValue: 0x0040_1820_0F01_07FF)   // QEMU 7.2: MPSMAX 4, CSS C1h, AMS 0
        var cc = ControllerConfiguration(rawValue: 0)
        cc.en = true; cc.iosqes = 6; cc.iocqes = 4
        #expect(cc.validate(cap: cap).isEmpty)
        cc.iosqes = 7; cc.iocqes = 5; cc.mps = 5; cc.ams = 1; cc.shn = 3; cc.css = 2
        let fields = Set(cc.validate(cap: cap).map(\.field))
        #expect(fields == ["CC.IOSQES", "CC.IOCQES", "CC.MPS", "CC.AMS", "CC.SHN", "CC.CSS"])
        #expect(ControllerConfiguration(rawValue: 0x0046_0002).validate(cap: cap).contains { $0.field == "CC" })
        #expect(AdminQueueAttributes(asqs: 0, acqs: 31).validate().map(\.field) == ["AQA.ASQS"])
    }

    @Test("register offsets match Figure 33")
    func offsets() {
        let expected: [(ControllerRegister, Int)] = [
            (.cap, 0x00), (.vs, 0x08), (.intms, 0x0C), (.intmc, 0x10), (.cc, 0x14), (.csts, 0x1C), (.nssr, 0x20),
            (.aqa, 0x24), (.asq, 0x28), (.acq, 0x30), (.cmbloc, 0x38), (.cmbsz, 0x3C), (.bpinfo, 0x40),
            (.bprsel, 0x44), (.bpmbl, 0x48), (.cmbmsc, 0x50), (.cmbsts, 0x58), (.pmrcap, 0xE00), (.pmrctl, 0xE04),
            (.pmrsts, 0xE08)]
        for (r, off) in expected { #expect(r.rawValue == off, "\(r)") }
    }
}
