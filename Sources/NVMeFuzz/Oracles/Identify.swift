import NVMeDriver
import NVMeSpec

/// `identify`: the controller still answers Identify Controller, with the identity bytes (VID, SSVID, SN, MN, FR:
/// bytes 0-71) it gave after initialisation. Run every `FuzzOptions.identifyEvery` cases and at the end of a run; the
/// runner then tries to recover the controller (a failed recovery is also an `identify` finding).
enum IdentifyOracle {
    /// `now`: the Identify Controller data just read (nil: the command did not complete successfully).
    static func judge(baseline: [UInt8], now: [UInt8]?, caseIndex: UInt64) -> Finding? {
        let same = now.map { Array($0[0..<72]) == Array(baseline.prefix(72)) } ?? false
        if same { return nil }
        let got = now == nil ? "Identify Controller did not complete successfully" : "identity bytes 0-71 changed"
        return Finding(oracle: .identify, caseIndex: caseIndex, opcode: AdminOpcode.identify.rawValue,
                       expected: "Identify Controller answers with the same VID/SN/MN/FR", got: got)
    }
}
