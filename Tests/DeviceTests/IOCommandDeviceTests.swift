import Foundation
import Testing

/// `nvmekit io --reset-at` on QEMU's NVMe controller, run as the user runs it (the debug `nvmekit` beside the test
/// binary, on the function and backend `tools/vm` bound): after each controller reset the workers' queues are back,
/// IO and verification go on, and `--io-count` ends the run.
@Suite("nvmekit io --reset-at on the device (vfio, noiommu, uio)", .serialized,
       .enabled(if: GuestEnvironment.isGuest, GuestEnvironment.notInGuest),
       .enabled(if: PlatformGuest.backend != nil, "needs NVMEKIT_BACKEND=vfio|noiommu|uio"))
struct IOCommandDeviceTests {
    static let nvmekit = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0])
        .deletingLastPathComponent().appendingPathComponent("nvmekit").path

    /// Runs `nvmekit io …` (standard output discarded, standard error to the test log); nil when it has not ended
    /// within `deadlineSeconds`, then it is killed.
    static func io(_ arguments: [String], deadlineSeconds: Int = 300) throws -> Int32? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: nvmekit)
        p.arguments = ["io", "--no-progress"] + arguments
        p.standardOutput = FileHandle.nullDevice
        let ended = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in ended.signal() }
        try p.run()
        guard ended.wait(timeout: .now() + .seconds(deadlineSeconds)) == .success else {
            p.terminate()
            return nil
        }
        return p.terminationStatus
    }

    static func total(_ path: String) throws -> [String: Any] {
        let data = try #require(FileManager.default.contents(atPath: path), "no results in \(path)")
        let obj = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return try #require(obj["total"] as? [String: Any])
    }

    @Test func resetAtWithAnIOCountKeepsIOAndVerificationGoingAfterEachReset() throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.nvmekit), "missing \(Self.nvmekit)")
        let map = "/tmp/io-reset-at.map", results = "/tmp/io-reset-at.json"
        try? FileManager.default.removeItem(atPath: map)
        let region = ["--region-end", "4096", "--io-size", "4k", "--map-file", map]
        // Every block of the region written first, so that each read has an expectation.
        #expect(try Self.io(region + ["--read", "0", "--random", "0", "--qd", "16", "--io-count", "512"]) == 0)

        // 3000 IOs at 1000 IOPS take 3 s at least: both resets fall inside the run.
        let status = try Self.io(region + ["--mix", "read:50,write:50", "--qd", "16", "--iops", "1000", "--io-count", "3000",
                                           "--reset-at", "1", "--reset-at", "2", "--json-file", results])
        try #require(status != nil, "nvmekit io --reset-at --io-count never ended")
        #expect(status == 0)
        let t = try Self.total(results)
        let ios = try #require(t["ios"] as? Int), aborted = try #require(t["abortedByReset"] as? Int)
        #expect(ios + aborted == 3000, "every IO of --io-count was submitted: \(ios) completed, \(aborted) aborted by the resets")
        #expect(t["resets"] as? Int == 2)
        #expect((t["iosAfterReset"] as? Int ?? 0) > 0, "IO went on after the last reset")
        #expect((t["verifiedBlocksAfterReset"] as? Int ?? 0) > 0, "verification went on after the last reset")
        #expect(t["mismatchCount"] as? Int == 0, "\(((t["mismatches"] as? [[String: Any]])?.first?["description"]) ?? "")")
        #expect(t["errors"] as? Int == 0 && t["timeouts"] as? Int == 0)

        // Then every block of the region reads back as the map, carried in the map file, expects.
        #expect(try Self.io(region + ["--read", "100", "--random", "0", "--qd", "16", "--io-count", "512",
                                      "--json-file", results]) == 0)
        let v = try Self.total(results)
        #expect(v["mismatchCount"] as? Int == 0, "\(((v["mismatches"] as? [[String: Any]])?.first?["description"]) ?? "")")
        #expect(v["verifiedBlocks"] as? Int == 4096)
    }
}
