import ArgumentParser
import Foundation
import NVMeFuzz
import NVMeSimulator
import NVMeWorkload
import Testing
@testable import NVMeKitCLI

/// Each value below trapped or hung `nvmekit` before it was range-checked. Parsing goes through the command types
/// exactly as `nvmekit` does (ArgumentParser calls `validate()`), so a regression traps this test process.
@Suite("nvmekit option ranges")
struct OptionRangeTests {
    /// The one-line message ArgumentParser prints for `args`, nil when they parse and validate.
    func message(_ type: any ParsableCommand.Type, _ args: [String]) -> String? {
        do { _ = try type.parseAsRoot(args); return nil } catch { return type.message(for: error) }
    }

    func expectRangeError(_ type: any ParsableCommand.Type, _ args: [String], _ prefix: String,
                          sourceLocation: SourceLocation = #_sourceLocation) {
        let m = message(type, args)
        #expect(m?.hasPrefix(prefix) == true, "\(args): \(m ?? "accepted")", sourceLocation: sourceLocation)
        #expect(m?.contains("\n") == false, "one line: \(m ?? "")", sourceLocation: sourceLocation)
    }

    @Test("cmd --data-len, --fuse, --psdt, --timeout-ms out of range are refused with the range")
    func cmdRanges() {
        let base = ["--target", "sim", "--opcode", "6"]
        expectRangeError(CmdCommand.self, base + ["--data-len=-1"], "--data-len must be 0…16777216")
        expectRangeError(CmdCommand.self, base + ["--data-len=9223372036854775807"], "--data-len must be 0…16777216")
        expectRangeError(CmdCommand.self, base + ["--fuse=4"], "--fuse must be 0…3")
        expectRangeError(CmdCommand.self, base + ["--psdt=255"], "--psdt must be 0…3")
        expectRangeError(CmdCommand.self, base + ["--timeout-ms=0"], "--timeout-ms must be 1…3600000")
        expectRangeError(CmdCommand.self, base + ["--timeout-ms=9223372036854775807"], "--timeout-ms must be 1…3600000")
        #expect(message(CmdCommand.self, base + ["--data-len=4096", "--fuse=3"]) == nil)
    }

    @Test("cmd --hex with non-ASCII hex digits is refused instead of trapping on a force unwrap")
    func cmdHexFullwidth() {
        // U+FF10 FULLWIDTH DIGIT ZERO is a hex digit to Character.isHexDigit but not to UInt8(_:radix:).
        let hex = String(repeating: "0", count: 126) + "\u{FF10}\u{FF10}"
        expectRangeError(CmdCommand.self, ["--target", "sim", "--hex", hex], "--hex must be 64 bytes as hex digits")
        #expect(message(CmdCommand.self, ["--target", "sim", "--hex", String(repeating: "00 ", count: 64)]) == nil)
    }

    @Test("cmd --input-file without --data-len sends the file's size; a file larger than --data-len is refused")
    func cmdInputFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cli-input-\(UUID().uuidString).bin").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data(repeating: 7, count: 100)))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let derived = try #require(try CmdCommand.parseAsRoot(["--target", "sim", "--opcode", "9", "--input-file", path]) as? CmdCommand)
        #expect(try derived.bufferLength() == 100)
        expectRangeError(CmdCommand.self, ["--target", "sim", "--opcode", "9", "--input-file", path, "--data-len", "64"],
                         "--input-file '\(path)' has 100 bytes, more than --data-len 64")
        expectRangeError(CmdCommand.self, ["--target", "sim", "--opcode", "9", "--input-file", "/dev/zero"],
                         "--input-file '/dev/zero' is not a regular file")
    }

    @Test("io: --qd, --workers, --time, --reset-at, --io-count, --cmdlog out of range, NaN or infinite are refused")
    func ioStaticRanges() {
        let base = ["--target", "sim", "--no-progress"]
        expectRangeError(IOCommand.self, base + ["--qd=0"], "--qd must be 1…65535")
        expectRangeError(IOCommand.self, base + ["--qd=-5"], "--qd must be 1…65535")
        expectRangeError(IOCommand.self, base + ["--workers=100000"], "--workers must be 1…65535")
        expectRangeError(IOCommand.self, base + ["--time=nan"], "--time must be 0.001…604800")
        expectRangeError(IOCommand.self, base + ["--time=inf"], "--time must be 0.001…604800")
        expectRangeError(IOCommand.self, base + ["--time=1e300"], "--time must be 0.001…604800")
        expectRangeError(IOCommand.self, base + ["--time=1", "--reset-at=1e300"], "--reset-at must be 0…1")
        expectRangeError(IOCommand.self, base + ["--time=1", "--reset-at=-1"], "--reset-at must be 0…1")
        expectRangeError(IOCommand.self, base + ["--time=1", "--reset-at=nan"], "--reset-at must be 0…1")
        expectRangeError(IOCommand.self, base + ["--io-count=0"], "--io-count must be 1…")
        expectRangeError(IOCommand.self, base + ["--cmdlog=-1"], "--cmdlog must be 0…1000000")
        expectRangeError(IOCommand.self, base + ["--qprio=4"], "--qprio must be 0…3")
        expectRangeError(IOCommand.self, base + ["--threads=2"], "--threads must be 1…1")
        expectRangeError(IOCommand.self, base + ["--sim-blocks=0"], "--sim-blocks must be 1…16777216")
        expectRangeError(IOCommand.self, base + ["--and-target=sim:"], "--and-target must be sim or sim:STATEFILE")
        expectRangeError(IOCommand.self, base + ["--mix=read:9223372036854775807,read:1"], "--mix: op mix weight must be 0…1000000")
        expectRangeError(IOCommand.self, base + ["--io-size=9223372036854775807k"], "--io-size: IO size '9223372036854775807k' is too large")
        expectRangeError(IOCommand.self, base + ["--io-size=4k:9223372036854775807,8k:1"], "--io-size: IO size weight must be 0…1000000")
        #expect(message(IOCommand.self, base + ["--time=0.001", "--qd=2047", "--cq-depth=2048"]) == nil)
    }

    /// Runs `args` through `nvmekit io` on the simulator and returns the error it stops with.
    func ioRunError(_ args: [String]) throws -> String? {
        let cmd = try #require(try IOCommand.parseAsRoot(["--target", "sim", "--no-progress", "--time", "0.01"] + args) as? IOCommand)
        do { try cmd.run(); return nil } catch let e as OptionError { return e.description }
    }

    @Test("io: --io-size beyond MDTS·MPSMIN, --qd beyond CAP.MQES and --workers beyond the granted queues are refused after opening")
    func ioDeviceRanges() throws {
        // The simulator: MDTS 7 with 4 KiB MPSMIN (512 KiB), CAP.MQES 2047, 64 queue pairs, 512-byte blocks.
        #expect(try ioRunError(["--io-size", "4m"])?.hasPrefix("--io-size must be 1…1024 (blocks of 512 bytes, 512 KiB: MDTS·MPSMIN on sim0); got 8192") == true)
        #expect(try ioRunError(["--qd", "4096"])?.hasPrefix("--qd must be 1…2047") == true)
        #expect(try ioRunError(["--workers", "65"])?.hasPrefix("--workers must be 1…64") == true)
        #expect(try ioRunError(["--sim-blocks", "4", "--io-size", "8"])?.hasPrefix("--io-size must be 1…4") == true)
        #expect(try ioRunError(["--region-end", "300000"])?.hasPrefix("--region-end must be 1…262144") == true)
    }

    @Test("reset --inflight, cmdlog --last, demo --blocks, log --length/--lsp, features get --sel out of range are refused")
    func otherCommands() {
        expectRangeError(ResetCommand.self, ["--target", "sim", "--inflight=-1"], "--inflight must be 0…1023")
        expectRangeError(ResetCommand.self, ["--target", "sim", "--inflight=9223372036854775807"], "--inflight must be 0…1023")
        expectRangeError(CmdlogCommand.self, ["--target", "sim", "--last=-1"], "--last must be 1…1000000")
        expectRangeError(DemoCommand.self, ["--target", "sim", "--blocks=0"], "--blocks must be 1…65536")
        expectRangeError(DemoCommand.self, ["--target", "sim", "--blocks=-9223372036854775808"], "--blocks must be 1…65536")
        expectRangeError(LogCommand.self, ["--target", "sim", "--length=6"], "--length must be 4…16777216")
        expectRangeError(LogCommand.self, ["--target", "sim", "--length=9223372036854775807"], "--length must be 4…16777216")
        expectRangeError(LogCommand.self, ["--target", "sim", "--lsp=0x80"], "--lsp must be 0…127")
        expectRangeError(LogCommand.self, ["--target", "sim", "--offset=2"], "--offset must be a multiple of 4")
        expectRangeError(FeaturesCommand.Get.self, ["--target", "sim", "--fid", "7", "--sel", "9"], "--sel must be 0…3")
        expectRangeError(IrqCommand.self, ["--vectors=-1", "0000:00:04.0"], "--vectors must be 1…2048")
        expectRangeError(IrqCommand.self, ["--seconds=9223372036854775807", "0000:00:04.0"], "--seconds must be 1…3600")
        expectRangeError(QueueBenchCommand.self, ["--depth=1"], "--depth must be 2…65536")
        expectRangeError(QueueBenchCommand.self, ["--ios=0"], "--ios must be 1…1000000000")
        expectRangeError(IdentifyCommand.self, ["--target", "sim:"], "--target must be sim or sim:STATEFILE")
    }

    @Test("demo --blocks beyond MDTS is refused after opening; reset --inflight beyond the namespace likewise")
    func demoBlocksBeyondMDTS() throws {
        var demo = Walkthrough(target: try TargetOptions.parse(["--target", "sim"]), blocks: 4096)
        #expect {
            try demo.run()
        } throws: { error in
            (error as? OptionError)?.description.hasPrefix("--blocks must be 1…1024 (MDTS·MPSMIN is 524288 bytes") == true
        }
    }

    @Test("fuzz: --time inf/NaN/huge, --first-case near 2^64, empty --generators and --oracles are refused")
    func fuzzRanges() {
        let base = ["--target", "sim", "--quiet"]
        expectRangeError(FuzzCommand.self, base + ["--time=inf"], "--time must be 0.001…604800")
        expectRangeError(FuzzCommand.self, base + ["--time=1e300h"], "--time must be 0.001…604800")
        expectRangeError(FuzzCommand.self, base + ["--time=nan"], "--time must be 0.001…604800")
        expectRangeError(FuzzCommand.self, base + ["--first-case=18446744073709551615"], "--first-case must be 0…9223372036854775807")
        expectRangeError(FuzzCommand.self, base + ["--first-case=9223372036854775807", "--cases=2"], "--first-case + --cases must stay within")
        expectRangeError(FuzzCommand.self, base + ["--generators", ""], "--generators must be a comma-separated list")
        expectRangeError(FuzzCommand.self, base + ["--generators=,"], "--generators must be a comma-separated list")
        expectRangeError(FuzzCommand.self, base + ["--oracles", ""], "--oracles must be a comma-separated list")
        expectRangeError(FuzzCommand.self, base + ["--deadline-ms=9223372036854775807"], "--deadline-ms must be 1…600000")
        expectRangeError(FuzzCommand.self, base + ["--replay=x.json", "--cases=5"], "--cases has no effect with --replay")
        #expect(FuzzCommand.parseDuration("5m") == .seconds(300))
        #expect(FuzzCommand.parseDuration("1ms") == .milliseconds(1))
    }

    @Test("the IO size and op mix parsers throw instead of overflowing")
    func distributionParsers() {
        #expect(throws: WorkloadConfigurationError.self) { try IOSizeDistribution.parse("9223372036854775807k", blockSize: 512) }
        #expect(throws: WorkloadConfigurationError.self) { try IOSizeDistribution.parse("18014398509481984m", blockSize: 512) }
        #expect(throws: WorkloadConfigurationError.self) { try IOSizeDistribution.parse("4k:9223372036854775807,8k:1", blockSize: 512) }
        #expect(throws: WorkloadConfigurationError.self) { try IOSizeDistribution.parse("4xk", blockSize: 512) }
        #expect(throws: WorkloadConfigurationError.self) { try OperationMix.parse("read:9223372036854775807,read:1") }
        #expect((try? IOSizeDistribution.parse("4kib:70,1m:30", blockSize: 512)) == .weighted([.init(blocks: 8, weight: 70), .init(blocks: 2048, weight: 30)]))
    }
}

/// Repro files are input too: `nvmekit fuzz --replay` must reject a malformed or out-of-range one by field, and the
/// runner's own arithmetic must not overflow on whatever a case holds.
@Suite("fuzz repro bounds")
struct ReproBoundsTests {
    func sampleCase(_ actions: [Action]) -> FuzzCase {
        FuzzCase(index: 1, generator: .fields, label: "extreme", actions: actions)
    }

    /// A repro holding `actions` after one Identify (Repro has no public memberwise initialiser: built as a file is).
    func repro(_ actions: [Action], dwords: [UInt32]? = nil) throws -> Repro {
        var sub = Submission(qid: 0, sqe: .init(opcode: 0x06), prp1: .data(offset: 0))
        if let dwords { sub.dwords = dwords }
        let c = sampleCase([.submit(sub)] + actions)
        func object<T: Encodable>(_ v: T) throws -> Any {
            try JSONSerialization.jsonObject(with: JSONEncoder().encode(v), options: [.fragmentsAllowed])
        }
        let fields: [String: Any] = [
            "format": Repro.currentFormat, "seed": 1, "target": "sim", "oracle": "deadline", "expected": "", "got": "",
            "caseIndex": 1, "label": "x", "generator": "fields", "environment": try object(FuzzEnvironment()),
            "queueState": [Any](), "history": [Any](), "failingCase": try object(c), "posted": [Any](),
            "registerWrites": [Any](), "alsoTripped": [Any](),
        ]
        return try JSONDecoder().decode(Repro.self, from: JSONSerialization.data(withJSONObject: fields))
    }

    let extremes: [Action] = [
        .writeRegister(offset: Int.max, value: 1),
        .writeRegisterPointer(offset: Int.max - 3, pointer: .data(offset: Int.max)),
        .writeList(offset: Int.max - 8, entries: [.list(offset: Int.min), .absolute(1)]),
        .writeSGL(offset: Int.max - 16, descriptors: [.dataBlock(.data(offset: 0), 512)]),
        .writeBytes(area: .data, offset: Int.max, bytes: [1, 2, 3]),
        .fill(area: .list, offset: Int.max, count: Int.max, byte: 1),
        .fill(area: .data, offset: Int.min, count: Int.min, byte: 1),
        .ringSubmissionTail(qid: 0, value: .tail(plus: Int.max)),
        .ringCompletionHead(qid: 0, value: .head(plus: Int.min)),
    ]

    @Test("every out-of-range field is named with its value and range")
    func problemsNameTheField() throws {
        let r = try repro(extremes + [.waitReady(ready: true, milliseconds: Int.max), .wait(microseconds: -1)], dwords: [6, 0, 0])
        let p = r.problems()
        #expect(p.contains("failingCase.actions[0].submit dwords count must be 16…16; got 3"))
        #expect(p.contains("failingCase.actions[1].writeRegister offset must be 0…1099511627776; got \(Int.max)"))
        #expect(p.contains { $0.hasPrefix("failingCase.actions[8] doorbell plus must be") })
        #expect(p.contains("failingCase.actions[10].waitReady milliseconds must be 0…60000; got \(Int.max)"))
        #expect(p.contains("failingCase.actions[11].wait microseconds must be 0…60000000; got -1"))
        #expect(try repro([]).problems().isEmpty)

        let path = FileManager.default.temporaryDirectory.appendingPathComponent("repro-\(UUID().uuidString).json").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data(r.json().utf8)))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect {
            try Repro.load(path: path)
        } throws: { error in
            "\(error)".contains("is not a usable repro: failingCase.actions[0].submit dwords count must be 16…16; got 3")
        }
    }

    @Test("the runner executes cases with extreme offsets and counts without overflowing")
    func runnerSurvivesExtremes() throws {
        let sim = try SimulatedController()
        defer { sim.close() }
        var o = FuzzOptions()
        o.deadline = .milliseconds(50)
        let runner = try FuzzRunner(target: FuzzTarget(device: sim, faults: nil, name: "sim"), options: o)
        // Before the bounds checks used checked arithmetic, each of these trapped the process.
        var short = Submission(qid: 1, sqe: .init(opcode: 0x02, nsid: 1), prp1: .data(offset: Int.max))
        short.dwords = [2, 1]
        let r = runner.replay(cases: [sampleCase(extremes + [.submit(short)])], queueState: [], oracle: .deadline)
        #expect(r.findings.allSatisfy { $0.oracle != .deviceAlive })
    }
}
