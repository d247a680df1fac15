/// What a run did, as printed by `nvmekit fuzz --json`.
public struct FuzzSummary: Hashable, Sendable, Codable {
    public var target = ""
    public var seed: UInt64 = 0
    public var cases: Int = 0
    /// Cases generated but not run because their label matched `FuzzOptions.avoidLabels` (not counted in `cases`).
    public var avoided: Int = 0
    public var findings: Int = 0
    /// Commands that did not complete within the deadline.
    public var hangs: Int = 0
    /// Recoveries after a hang, fatal status or broken state that brought the controller back (Identify answered).
    public var recovered: Int = 0
    /// Recoveries where no reset level brought the controller back (the run stops).
    public var unrecovered: Int = 0
    /// Errors the fuzzer itself hit while running a case (anything thrown out of a case); 0 is the goal.
    public var toolkitCrashes: Int = 0
    /// Re-initialisations a case asked for (queue or register state changed on purpose); not recoveries.
    public var plannedResets: Int = 0
    /// Resets performed, by level (`controller`, `flr`, `hot-reset`, `power-cycle`).
    public var resets: [String: Int] = [:]
    public var commands: Int = 0
    public var doorbellWrites: Int = 0
    public var dmaFaults: Int = 0
    public var perOracle: [String: Int] = [:]
    public var perGenerator: [String: Int] = [:]
    /// Wall time spent per generator, recoveries and re-initialisations included (seconds).
    public var secondsPerGenerator: [String: Double] = [:]
    /// Commands posted per opcode (`admin 06h`, `io 02h`).
    public var perOpcode: [String: Int] = [:]
    /// Findings per opcode.
    public var findingsPerOpcode: [String: Int] = [:]
    /// Distinct completion statuses seen (`00/02 Invalid Field in Command`) and how often.
    public var statuses: [String: Int] = [:]
    public var reproFiles: [String] = []
    public var seconds: Double = 0
    public var casesPerSecond: Double = 0

    public init() {}

    public static func opcodeKey(qid: UInt16, opcode: UInt8) -> String {
        let h = String(opcode, radix: 16, uppercase: true)
        return (qid == 0 ? "admin " : "io ") + (h.count == 1 ? "0" + h : h) + "h"
    }

    /// One line for the progress display.
    public var progressLine: String {
        "cases \(cases)  findings \(findings)  hangs \(hangs)  recovered \(recovered)  resets \(resets.values.reduce(0, +))"
            + "  statuses \(statuses.count)  \(Int(casesPerSecond)) cases/s"
    }

    /// A human report: totals, then counts per oracle, opcode and status.
    public var report: String {
        var lines = ["target \(target)  seed \(seed)  \(cases) cases in \(String(format1(seconds))) s (\(Int(casesPerSecond)) cases/s)",
                     "findings \(findings)  hangs \(hangs)  recovered \(recovered)  unrecovered \(unrecovered)  toolkit crashes \(toolkitCrashes)",
                     "commands \(commands)  doorbell writes \(doorbellWrites)  DMA faults \(dmaFaults)  planned resets \(plannedResets)  resets \(resets.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))"]
        if avoided > 0 { lines.insert("avoided \(avoided) cases by label (shapes known to take the target down)", at: 1) }
        if !perGenerator.isEmpty {
            lines.append("cases per generator (wall time):")
            for (k, v) in perGenerator.sorted(by: { $0.key < $1.key }) {
                lines.append("  \(k): \(v) (\(format1(secondsPerGenerator[k] ?? 0)) s)")
            }
        }
        if !perOracle.isEmpty {
            lines.append("findings per oracle:")
            for (k, v) in perOracle.sorted(by: { $0.key < $1.key }) { lines.append("  \(k): \(v)") }
        }
        if !findingsPerOpcode.isEmpty {
            lines.append("findings per opcode:")
            for (k, v) in findingsPerOpcode.sorted(by: { $0.value > $1.value }).prefix(20) { lines.append("  \(k): \(v)") }
        }
        lines.append("distinct statuses: \(statuses.count)")
        for (k, v) in statuses.sorted(by: { $0.value > $1.value }).prefix(30) { lines.append("  \(k): \(v)") }
        if !reproFiles.isEmpty {
            lines.append("repro files:")
            for f in reproFiles.prefix(30) { lines.append("  \(f)") }
            if reproFiles.count > 30 { lines.append("  … \(reproFiles.count - 30) more") }
        }
        return lines.joined(separator: "\n")
    }
}

func format1(_ x: Double) -> String {
    let t = (x * 10).rounded() / 10
    return String(t)
}
