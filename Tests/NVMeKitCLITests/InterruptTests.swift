import Foundation
import Synchronization
import NVMeFuzz
import NVMeWorkload
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `nvmekit` beside the test binary (`swift build --build-tests` builds both into the same directory).
let nvmekitBinary = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).deletingLastPathComponent()
    .appendingPathComponent("nvmekit").path

/// Waits until `process` has exited or `deadline` passed; true when it exited.
func waitForExit(_ process: Process, until deadline: Date) -> Bool {
    while process.isRunning && Date() < deadline { usleep(20_000) }
    return !process.isRunning
}

@Suite("SIGINT/SIGTERM: nvmekit stops, saves and exits 130",
       .enabled(if: FileManager.default.isExecutableFile(atPath: nvmekitBinary), "nvmekit is not built beside the tests: swift build --build-tests"))
struct InterruptTests {
    /// Starts `nvmekit io` on the simulator for 30 s and returns once its first progress line arrived.
    func startIO(_ extra: [String], dir: String) throws -> (Process, Pipe) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: nvmekitBinary)
        p.arguments = ["io", "--target", "sim", "--time", "30", "--read", "50", "--qd", "8"] + extra
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        try p.run()
        // The progress line (standard error, once a second) says the workers are running: wait for it.
        let started = Mutex(false)
        let h = err.fileHandleForReading
        let deadline = Date().addingTimeInterval(60)
        var seen = ""
        while Date() < deadline && p.isRunning {
            let chunk = h.availableData
            if chunk.isEmpty { break }
            seen += String(decoding: chunk, as: UTF8.self)
            // The second line: the workers have been submitting for a second.
            if seen.components(separatedBy: " IOPS").count > 2 { started.withLock { $0 = true }; break }
        }
        #expect(started.withLock { $0 }, "nvmekit io printed no progress line")
        return (p, err)
    }

    @Test("the first SIGINT stops the run: exit status 130, the integrity map and the JSON results are saved",
          arguments: [SIGINT, SIGTERM])
    func firstSignalStopsAndSaves(signal: Int32) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nvmekit-int-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let map = dir + "/map", json = dir + "/results.json"
        let (p, err) = try startIO(["--map-file", map, "--json-file", json], dir: dir)
        kill(p.processIdentifier, signal)
        let exited = waitForExit(p, until: Date().addingTimeInterval(20))
        if !exited { p.terminate() }
        #expect(exited, "nvmekit io still running 20 s after the signal (it was asked to run 30 s)")
        guard exited else { return }
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(p.terminationReason == .exit && p.terminationStatus == 130,
                "reason \(p.terminationReason.rawValue) status \(p.terminationStatus): \(stderr.suffix(400))")
        let data = try #require(FileManager.default.contents(atPath: map), "no integrity map saved at \(map)")
        let m = try #require(IntegrityMap(serialized: [UInt8](data)), "the saved map does not parse")
        #expect(m.nsid == 1)
        let results = try #require(FileManager.default.contents(atPath: json), "no JSON results at \(json)")
        #expect(String(decoding: results, as: UTF8.self).contains("\"ios\""))
    }

    @Test("nvmekit fuzz stops after the current case on SIGINT, writes its summary and exits 130")
    func fuzzStopsAndWritesItsSummary() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nvmekit-int-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let summary = dir + "/summary.json"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: nvmekitBinary)
        p.arguments = ["fuzz", "--target", "sim", "--time", "60", "--out", dir + "/findings", "--summary-file", summary]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        try p.run()
        // The progress line (standard error, once a second) says cases are running.
        let first = err.fileHandleForReading.availableData
        #expect(!first.isEmpty, "nvmekit fuzz ended without a progress line")
        kill(p.processIdentifier, SIGINT)
        let exited = waitForExit(p, until: Date().addingTimeInterval(20))
        if !exited { p.terminate() }
        #expect(exited, "nvmekit fuzz still running 20 s after SIGINT (it was asked to run 60 s)")
        guard exited else { return }
        #expect(p.terminationReason == .exit && p.terminationStatus == 130, "status \(p.terminationStatus)")
        let data = try #require(FileManager.default.contents(atPath: summary), "no summary at \(summary)")
        let s = try JSONDecoder().decode(FuzzSummary.self, from: data)
        #expect(s.cases > 0)
    }
}
