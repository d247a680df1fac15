import ArgumentParser
import Foundation
import NVMeSimulator
import NVMeSpec
import Testing
@testable import NVMeKitCLI

/// `nvmekit io` on the simulator, through the command's own run body: a command answered after its timeout — its
/// data moved then — corrupts nothing and fails the run; `--reset-at` with `--io-count` ends and keeps verifying.
@Suite("nvmekit io: late completions after a timeout, and IO across resets", .serialized)
struct IOTimeoutAndResetTests {
    static func command(_ args: [String]) throws -> IOCommand {
        try #require(try IOCommand.parseAsRoot(["--target", "sim", "--no-progress"] + args) as? IOCommand)
    }

    /// The exit status `nvmekit io` ends with when its run body returns or throws this.
    static func status(_ body: () throws -> Void) -> Int32 {
        do { try body(); return 0 } catch let e as ExitCode { return e.rawValue } catch { return -1 }
    }

    /// `total` of a JSON results file.
    static func total(_ path: String) throws -> [String: Any] {
        let data = try #require(FileManager.default.contents(atPath: path), "no results in \(path)")
        let obj = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return try #require(obj["total"] as? [String: Any])
    }

    static func scratch() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nvmekit-io-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test("a write answered after its timeout, its data read from the host then, leaves every block as the map expects and exits 5")
    func aLateWriteAfterItsTimeoutCorruptsNothingAndFailsTheRun() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let map = dir.appendingPathComponent("map").path
        let results = dir.appendingPathComponent("run.json").path
        // 4 KiB IOs (8 blocks) written in order over 4096 blocks: no LBA is written twice in one run.
        let region = ["--region-end", "4096", "--io-size", "4k", "--random", "0", "--map-file", map]

        let fill = try Self.command(region + ["--read", "0", "--qd", "4", "--io-count", "512"])
        let c = try fill.open("sim")
        defer { c.close() }
        let sim = try #require(c.device as? SimulatedController)
        #expect(Self.status { try fill.run(on: [c]) } == 0)

        // QD 1, one buffer slot. The 20th write (LBAs 152..<160) runs 3 s after its doorbell, 1 s after the
        // worker's 2 s timeout, and only then reads its buffer. Had the worker handed that slot to the next write,
        // the late write would put another LBA's stamps on 152..<160. The 1 s margins keep a loaded host from
        // noticing the timeout only after the late completion, or giving up (one more timeout with its only slot
        // held) before it; 450 IOs of 8 blocks never wrap the 4096-block region.
        sim.inject(.nth(20, queue: .io, opcode: IOOpcode.write.rawValue, .delayExecution(.milliseconds(3000))))
        let late = try Self.command(region + ["--read", "0", "--qd", "1", "--iops", "100", "--time", "4.5",
                                              "--timeout", "2", "--json-file", results])
        #expect(Self.status { try late.run(on: [c]) } == IOCommand.timeoutExitCode, "a timeout fails the run")
        let t = try Self.total(results)
        #expect(t["timeouts"] as? Int == 1 && t["errors"] as? Int == 0 && t["abortedByReset"] as? Int == 0,
                "timeouts \(t["timeouts"] ?? "-") errors \(t["errors"] ?? "-") aborted \(t["abortedByReset"] ?? "-")")
        #expect(t["lateCompletions"] as? Int == 1 && t["quarantinedAtEnd"] as? Int == 0)
        #expect(sim.statistics.faultsInjected == 1)

        // Every block, the late write's included, reads back as the map says (old or new content there).
        let check = try Self.command(region + ["--read", "100", "--qd", "4", "--io-count", "512", "--json-file", results])
        #expect(Self.status { try check.run(on: [c]) } == 0)
        let v = try Self.total(results)
        #expect(v["mismatchCount"] as? Int == 0, "\(((v["mismatches"] as? [[String: Any]])?.first?["description"]) ?? "")")
        #expect(v["verifiedBlocks"] as? Int == 4096)
    }

    @Test("--timeout outside 0.001...86400 seconds is refused with the range, before any IO", arguments: ["0", "-1", "1e300", "nan"])
    func aTimeoutOutOfRangeIsRefused(_ value: String) throws {
        // Refused while parsing, so no controller is opened and no command sent.
        do {
            _ = try Self.command(["--timeout=\(value)", "--io-count", "10"])
            Issue.record("--timeout=\(value) was accepted")
        } catch {
            #expect(IOCommand.message(for: error).contains("--timeout must be 0.001…86400"), "\(error)")
        }
    }

    @Test("a --reset-at the run never reaches is reported and fails the run")
    func aResetAfterTheEndOfTheRunIsAnError() throws {
        let cmd = try Self.command(["--io-count", "50", "--reset-at", "30"])
        let c = try cmd.open("sim")
        defer { c.close() }
        #expect(Self.status { try cmd.run(on: [c]) } == 2)
    }

    /// Runs a command on its own thread, so that a run that never ends fails the test instead of hanging it.
    final class Run: @unchecked Sendable {
        let command: IOCommand
        var status: Int32 = -2
        let done = DispatchSemaphore(value: 0)
        init(_ command: IOCommand) { self.command = command }
        func start() {
            let t = Thread { [self] in status = IOTimeoutAndResetTests.status { try command.run() }; done.signal() }
            t.stackSize = 1 << 22
            t.start()
        }
    }

    @Test("io --reset-at with --io-count ends, and IO and verification go on after each reset")
    func resetAtWithAnIOCountEndsAndKeepsVerifying() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let results = dir.appendingPathComponent("run.json").path
        // 3000 IOs at 2000 IOPS take 1.5 s: both resets fall inside the run.
        let run = Run(try Self.command(["--mix", "read:50,write:50", "--region-end", "2048", "--io-size", "4k", "--qd", "8",
                                        "--iops", "2000", "--io-count", "3000", "--reset-at", "0.5", "--reset-at", "1.0",
                                        "--json-file", results]))
        run.start()
        try #require(run.done.wait(timeout: .now() + 120) == .success, "nvmekit io --reset-at --io-count never ended")
        #expect(run.status == 0)
        let t = try Self.total(results)
        let ios = try #require(t["ios"] as? Int), aborted = try #require(t["abortedByReset"] as? Int)
        #expect(ios + aborted == 3000, "every IO of --io-count was submitted: \(ios) completed, \(aborted) aborted by the resets")
        #expect(t["resets"] as? Int == 2)
        #expect((t["iosAfterReset"] as? Int ?? 0) > 0, "IO went on after the last reset")
        #expect((t["verifiedBlocksAfterReset"] as? Int ?? 0) > 0, "verification went on after the last reset")
        #expect(t["mismatchCount"] as? Int == 0 && t["errors"] as? Int == 0 && t["timeouts"] as? Int == 0)
    }
}
