import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import NVMeDriver
import NVMeFuzz
import NVMePlatform
import NVMeSimulator

/// `nvmekit fuzz`: malformed commands, doorbells and init sequences against the simulator or a controller, judged by
/// oracles, with recovery and a repro file per finding.
struct FuzzCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fuzz",
        abstract: "Fuzz a controller with malformed commands, doorbells and init sequences; judge, recover, write repros.",
        discussion: """
        Every case is generated from --seed and its index, so a run is reproducible. Findings are named by the oracle
        that tripped (\(OracleKind.allCases.map(\.rawValue).joined(separator: ", "))) and each new one is saved as a JSON
        repro in --out. `nvmekit fuzz --replay FILE` runs a repro again; add --minimize to shrink it first.

        Generators: \(GeneratorKind.allCases.map(\.rawValue).joined(separator: ", ")).

        Examples:
          nvmekit fuzz --target sim --cases 100000 --json
          nvmekit fuzz --target 0000:00:04.0 --backend vfio --time 5m --generators prp,sgl --out findings
          nvmekit fuzz --target sim --replay findings/deadline-case17-io-02h.json --minimize
        """)

    @OptionGroup var device: TargetOptions

    @Option(help: "Seed of the case generator (decimal or 0x hex).")
    var seed: String = "1"

    @Option(help: "Number of cases to run (default 1000 unless --time is given).")
    var cases: Int?

    @Option(name: .customLong("first-case"), help: "Index of the first case (run case N of a seed alone with --first-case N --cases 1).")
    var firstCase: UInt64 = 0

    @Option(help: "Time limit: seconds, or with a unit (90s, 5m, 1h).")
    var time: String?

    @Option(help: "Comma-separated generators to use (default: all).")
    var generators: String?

    @Option(help: "Comma-separated oracles to apply (default: all).")
    var oracles: String?

    @Option(help: "Milliseconds a command may take before the deadline oracle calls it a hang.")
    var deadlineMs: Int = 500

    @Option(help: "Directory for repro files.")
    var out: String = "fuzz-findings"

    @Option(help: "Replay a repro file instead of generating cases.")
    var replay: String?

    @Flag(help: "Shrink the repro (with --replay) or every repro the run wrote, by delta debugging.")
    var minimize = false

    @Flag(help: "Print the summary as one JSON object on stdout.")
    var json = false

    @Flag(help: "No progress line on stderr.")
    var quiet = false

    @Flag(help: "Print every case on stderr as it finishes: index, seconds, label, oracles that tripped.")
    var trace = false

    @Flag(help: ArgumentHelp(
        "Machine-readable lines on stdout for a supervisor outside the target's host (tools/vm fuzz).",
        discussion: "Before each case `FUZZ CASE <index> <counters JSON> <label>`; each repro as `FUZZ REPRO <file> <base64>`; every 250 cases `FUZZ CHECKPOINT <summary JSON>`; at the end `FUZZ SUMMARY <summary JSON>`. Each line is flushed at once."))
    var heartbeat = false

    @Option(name: .customLong("avoid"), help: ArgumentHelp(
        "Do not run cases whose label contains TEXT (repeatable); they are counted as `avoided`.",
        discussion: "For shapes known to take the target down beyond any reset the toolkit can do, e.g. --avoid 'SGL segment chain looping on itself' on QEMU 7.2.",
        valueName: "TEXT"))
    var avoid: [String] = []

    @Option(name: .customLong("summary-file"), help: "Also write the summary as JSON to this file.")
    var summaryFile: String?

    /// Case indices stay below 2^63 so `--first-case` + `--cases` never wraps.
    static let lastCaseIndex = UInt64(Int64.max)
    /// The longest --time: a week.
    static let longestRun = 604_800.0

    func validate() throws {
        try device.validate()
        if parseNumber(seed, as: UInt64.self) == nil { throw Check.invalid("--seed", seed, mustBe: "a number 0…2^64-1, e.g. 42 or 0x2a") }
        try Check.range("--cases", cases, 1...1_000_000_000_000)
        try Check.range("--first-case", firstCase, 0...Self.lastCaseIndex)
        if let cases, Self.lastCaseIndex - firstCase < UInt64(cases) {
            throw OptionError("--first-case + --cases must stay within 0…\(Self.lastCaseIndex); got \(firstCase) + \(cases)")
        }
        if let time { _ = try Self.checkedDuration(time) }
        _ = try parsedGenerators()
        _ = try parsedOracles()
        try Check.range("--deadline-ms", deadlineMs, 1...600_000, "milliseconds")
        if avoid.contains(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
            throw Check.invalid("--avoid", "", mustBe: "a non-empty label text (an empty one would avoid every case)")
        }
        if out.isEmpty { throw Check.invalid("--out", out, mustBe: "a directory path") }
        if replay == nil { try Check.directoryPath("--out", out) }
        if let summaryFile { try Check.writablePath("--summary-file", summaryFile) }
        if replay != nil {
            // A replay runs the repro's own cases: options that shape a generated run would be silently ignored.
            let shaping: [(String, Bool)] = [("--cases", cases != nil), ("--first-case", firstCase != 0), ("--time", time != nil),
                                             ("--generators", generators != nil), ("--avoid", !avoid.isEmpty),
                                             ("--heartbeat", heartbeat), ("--trace", trace), ("--summary-file", summaryFile != nil)]
            if let (name, _) = shaping.first(where: { $0.1 }) { throw Check.unused(name, "with --replay (the repro file says what runs)") }
        }
    }

    static func parseDuration(_ s: String) -> Duration? { try? checkedDuration(s) }

    /// `--time` as a duration of 1 ms … a week: seconds, or with a unit (ms, s, m, h).
    static func checkedDuration(_ s: String) throws -> Duration {
        let t = s.trimmingCharacters(in: .whitespaces).lowercased()
        var number = t, scale = 1.0
        for (u, k) in [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)] where t.hasSuffix(u) {
            number = String(t.dropLast(u.count)); scale = k; break
        }
        guard let v = Double(number), !number.isEmpty else {
            throw Check.invalid("--time", s, mustBe: "a duration: seconds or with a unit, e.g. 90, 90s, 5m or 1h")
        }
        let seconds = v * scale
        try Check.range("--time", seconds, 0.001...longestRun, "seconds")
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }

    func parsedGenerators() throws -> [GeneratorKind] {
        guard let generators else { return GeneratorKind.allCases }
        let names = generators.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !names.isEmpty, !names.contains(where: \.isEmpty) else {
            throw Check.invalid("--generators", generators, mustBe: "a comma-separated list of \(GeneratorKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return try names.map {
            let n = $0.trimmingCharacters(in: .whitespaces)
            guard let g = GeneratorKind(rawValue: n) else {
                throw ValidationError("unknown generator '\(n)': choose from \(GeneratorKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return g
        }
    }

    func parsedOracles() throws -> Set<OracleKind> {
        guard let oracles else { return Set(OracleKind.allCases) }
        let names = oracles.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !names.isEmpty, !names.contains(where: \.isEmpty) else {
            throw Check.invalid("--oracles", oracles, mustBe: "a comma-separated list of \(OracleKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return Set(try names.map {
            let n = $0.trimmingCharacters(in: .whitespaces)
            guard let o = OracleKind(rawValue: n) else {
                throw ValidationError("unknown oracle '\(n)': choose from \(OracleKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return o
        })
    }

    func makeTarget() throws -> FuzzTarget {
        let dev = try device.openDevice()
        if let sim = dev as? SimulatedController {
            return FuzzTarget(device: dev, faults: CountingFaultMonitor { Int(sim.statistics.dmaFaults) }, name: "sim")
        }
        let monitor: (any DMAFaultMonitor)? = DeviceBackend(rawValue: dev.backend) == .vfio ? KernelLogFaultMonitor() : nil
        return FuzzTarget(device: dev, faults: monitor, name: dev.address)
    }

    func run() throws {
        var options = FuzzOptions()
        options.seed = parseNumber(seed, as: UInt64.self) ?? 1
        options.timeLimit = time.flatMap(Self.parseDuration)
        options.cases = cases ?? (options.timeLimit == nil ? 1000 : nil)
        options.firstCase = firstCase
        options.generators = try parsedGenerators()
        options.oracles = try parsedOracles()
        options.deadline = .milliseconds(deadlineMs)
        options.outputDirectory = out
        options.avoidLabels = avoid

        let target: FuzzTarget
        let runner: FuzzRunner
        do {
            target = try makeTarget()
            runner = try FuzzRunner(target: target, options: options)
        } catch {
            FileHandle.standardError.write(Data("nvmekit fuzz: \(error)\n".utf8))
            throw ExitCode.failure
        }
        defer {
            runner.controller.close()   // quiesces the controller, then closes the device
            if let failure = TargetOptions.saveState(of: target.device) { printError(failure); Self.exit(withError: ExitCode(2)) }
        }
        runner.shouldStop = { Interruption.shared.isInterrupted }

        if let replay {
            try runReplay(replay, runner)
            return
        }
        if trace {
            runner.caseFinished = { c, found, seconds in
                let line = String(format: "case %llu %.3f s ", c.index, seconds) + c.label
                    + (found.isEmpty ? "" : "  [" + found.map(\.oracle.rawValue).joined(separator: ",") + "]")
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
        }
        if !quiet {
            runner.progress = { s in FileHandle.standardError.write(Data("\r\(s.progressLine)   ".utf8)) }
        }
        let beat = heartbeat ? Heartbeat(runner: runner) : nil
        beat?.attach()
        let summary = runner.run()
        beat?.finish(summary)
        if let summaryFile {
            let e = JSONEncoder(); e.outputFormatting = [.sortedKeys]
            guard FileManager.default.createFile(atPath: summaryFile, contents: try e.encode(summary)) else {
                FileHandle.standardError.write(Data("nvmekit fuzz: cannot write --summary-file \(summaryFile): check the directory exists and is writable\n".utf8))
                throw ExitCode.failure
            }
        }
        if !quiet { FileHandle.standardError.write(Data("\n".utf8)) }
        var minimized: [String] = []
        if minimize {
            for r in runner.repros.prefix(10) {
                let m = Minimizer.minimize(r, using: runner)
                let path = (out as NSString).appendingPathComponent(r.fileName.replacingOccurrences(of: ".json", with: ".min.json"))
                if FileManager.default.createFile(atPath: path, contents: Data(m.repro.json().utf8)) { minimized.append(path) }
            }
        }
        if json {
            var s = summary
            s.reproFiles += minimized
            let e = JSONEncoder()
            e.outputFormatting = [.sortedKeys]
            print(String(decoding: try e.encode(s), as: UTF8.self))
        } else {
            print(summary.report)
            for p in minimized { print("minimised: \(p)") }
        }
        if summary.unrecovered > 0 { throw ExitCode(2) }
    }

    func runReplay(_ path: String, _ runner: FuzzRunner) throws {
        let repro: Repro
        do { repro = try Repro.load(path: path) } catch {
            FileHandle.standardError.write(Data("nvmekit fuzz: \(error)\n".utf8))
            throw ExitCode.failure
        }
        var r = repro
        var note = ""
        if minimize {
            let m = Minimizer.minimize(repro, using: runner)
            r = m.repro
            let outPath = path.hasSuffix(".json") ? String(path.dropLast(5)) + ".min.json" : path + ".min.json"
            if FileManager.default.createFile(atPath: outPath, contents: Data(r.json().utf8)) {
                note = "minimised \(m.actionsBefore) → \(m.actionsAfter) actions in \(m.replays) replays: \(outPath)"
            }
        }
        let result = runner.replay(r)
        if json {
            struct Out: Encodable { var reproduced: Bool; var oracle: String; var findings: [Finding]; var minimized: String? }
            let e = JSONEncoder(); e.outputFormatting = [.sortedKeys]
            print(String(decoding: try e.encode(Out(reproduced: result.reproduced, oracle: r.oracle.rawValue,
                                                     findings: result.findings, minimized: note.isEmpty ? nil : note)), as: UTF8.self))
        } else {
            print(result.reproduced ? "reproduced: \(r.oracle.rawValue) — \(r.expected); got \(result.findings.first { $0.oracle == r.oracle }?.got ?? "")"
                                    : "did not reproduce \(r.oracle.rawValue) (\(result.findings.count) other finding(s): \(result.findings.map(\.oracle.rawValue).joined(separator: ", ")))")
            if !note.isEmpty { print(note) }
        }
    }
}

/// The `--heartbeat` protocol: one flushed line per event on stdout, read by `tools/vm.d/fuzz-supervisor.py`, which
/// restarts QEMU when the device or the whole guest dies and resumes the run after the case that was running.
final class Heartbeat {
    /// The counters a supervisor needs to account for a run that never reached its summary.
    struct Counters: Encodable {
        var cases, findings, hangs, recovered, unrecovered, toolkitCrashes, plannedResets, dmaFaults, commands, avoided: Int
        init(_ s: FuzzSummary) {
            cases = s.cases; findings = s.findings; hangs = s.hangs; recovered = s.recovered; unrecovered = s.unrecovered
            toolkitCrashes = s.toolkitCrashes; plannedResets = s.plannedResets; dmaFaults = s.dmaFaults
            commands = s.commands; avoided = s.avoided
        }
    }

    let runner: FuzzRunner
    var sentRepros = 0
    let encoder: JSONEncoder = { let e = JSONEncoder(); e.outputFormatting = [.sortedKeys]; return e }()

    /// Where lines go; nil: stdout.
    let sink: ((String) -> Void)?

    init(runner: FuzzRunner, sink: ((String) -> Void)? = nil) { self.runner = runner; self.sink = sink }

    /// On a serial console (the guest's stdout) the line is drained to the UART before the case runs: when QEMU
    /// dies during a case, the last complete line names that case and not one still queued in the tty buffer.
    let drain = isatty(1) == 1

    func say(_ line: String) {
        if let sink { sink(line); return }
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
        if drain { _ = tcdrain(1) }
    }

    func json(_ v: some Encodable) -> String {
        (try? encoder.encode(v)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// Sends the repros written since the last call (they must reach the host before the device can take it down).
    func flushRepros() {
        while sentRepros < runner.repros.count {
            let r = runner.repros[sentRepros]
            say("FUZZ REPRO \(r.fileName) " + Data(r.json().utf8).base64EncodedString())
            sentRepros += 1
        }
    }

    func attach() {
        runner.caseStarting = { [unowned self] c, s in
            if s.cases > 0 && s.cases % 250 == 0 { say("FUZZ CHECKPOINT " + json(s)) }
            say("FUZZ CASE \(c.index) " + json(Counters(s)) + " " + c.label)
        }
        let previous = runner.caseFinished
        runner.caseFinished = { [unowned self] c, f, t in previous?(c, f, t); flushRepros() }
    }

    func finish(_ summary: FuzzSummary) {
        flushRepros()
        say("FUZZ SUMMARY " + json(summary))
    }
}
