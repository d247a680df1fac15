import NVMeDriver
import NVMeSpec

/// `lbaCanary`: canary LBAs no command was allowed to write read back with the pattern the runner wrote. Run every
/// `FuzzOptions.lbaCanaryEvery` cases and at the end of a run (the runner rewrites the canary after a finding, and
/// whenever a command may have written it).
enum LBACanaryOracle {
    /// The byte the canary holds at offset `i`.
    static func pattern(_ i: Int) -> UInt8 { UInt8(truncatingIfNeeded: i &* 7 &+ 0x5A) }

    /// `readBack`: the canary blocks as just read.
    static func judge(readBack got: [UInt8], environment env: FuzzEnvironment, caseIndex: UInt64) -> Finding? {
        guard let i = got.indices.first(where: { got[$0] != pattern($0) }) else { return nil }
        return Finding(oracle: .lbaCanary, caseIndex: caseIndex, qid: env.ioQueueID,
                       expected: "canary LBAs \(env.firstCanaryBlock)+\(env.canaryBlocks) unchanged since the last check",
                       got: "byte \(i) = \(hex(got[i])) (expected \(hex(pattern(i)))); no command in between was allowed to write there")
    }
}
