import ArgumentParser
import Foundation
import NVMePlatform
import NVMeSimulator
import Testing
@testable import NVMeKitCLI

/// `--target sim:FILE` is one device for every subcommand: the simulator's own state file, written atomically,
/// untouched by read-only commands, with save errors reported; `nvmekit io --map-file` keeps the integrity map
/// of that device beside it.
@Suite("nvmekit --target sim:FILE and io --map-file", .serialized)
struct SimStateFileCLITests {
    let base = NSTemporaryDirectory() + "nvmekit-cli-\(UInt64.random(in: 0...UInt64.max))"
    var state: String { base + ".state" }
    var map: String { base + ".map" }
    var json: String { base + ".json" }

    func cleanUp() {
        for p in [state, map, json] { try? FileManager.default.removeItem(atPath: p) }
    }

    func run<C: ParsableCommand>(_ type: C.Type, _ args: [String]) throws {
        var cmd = try #require(try type.parseAsRoot(args) as? C)
        try cmd.run()
    }

    func io(_ extra: [String], target: String? = nil) throws {
        try run(IOCommand.self, ["--target", target ?? "sim:\(state)", "--sim-blocks", "4096", "--io-count", "512",
                                 "--random", "0", "--map-file", map, "--no-progress"] + extra)
    }

    func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    @Test("io on sim:FILE persists its writes, and a later io run on the same file verifies them against the map file")
    func ioPersistsAndALaterRunVerifies() throws {
        defer { cleanUp() }
        try io(["--read", "0"])
        let sim = try SimulatedController(stateFile: state)
        let written = try #require(sim.readBlocks(nsid: 1, lba: 4095, count: 1))
        sim.close()
        #expect(written.contains { $0 != 0 }, "the last LBA's stamp is in the state file")
        try io(["--read", "100", "--json-file", json])     // throws ExitCode(3) on a mismatch
        let result = try #require(try JSONSerialization.jsonObject(with: bytes(json)) as? [String: Any])
        let total = try #require(result["total"] as? [String: Any])
        #expect(total["verifiedBlocks"] as? Int == 4096)
        #expect(total["mismatchCount"] as? Int == 0)
    }

    @Test("io refuses a map file of another device, naming both identities")
    func ioRefusesAMapOfAnotherDevice() throws {
        defer { cleanUp() }
        try io(["--read", "0"])
        let other = base + "-other.state"
        defer { try? FileManager.default.removeItem(atPath: other) }
        #expect(throws: ExitCode(2)) { try io(["--read", "100", "--sim-blocks", "8192"], target: "sim:\(other)") }
    }

    @Test("demo on sim:FILE persists the blocks it wrote in the simulator's format")
    func demoPersists() throws {
        defer { cleanUp() }
        try run(DemoCommand.self, ["--target", "sim:\(state)", "--interrupts", "polling"])
        let sim = try SimulatedController(stateFile: state)
        defer { sim.close() }
        let expected = try Buffer(count: 4 * 512, from: HeapDMAAllocator())
        try expected.fill(.random(seed: 2020))
        #expect(sim.readBlocks(nsid: 1, lba: 0, count: 4) == expected.bytes)
    }

    @Test("identify, log and features get leave the state file byte for byte unchanged")
    func readOnlyCommandsLeaveTheFileUnchanged() throws {
        defer { cleanUp() }
        try io(["--read", "0"])
        let before = try bytes(state)
        try run(IdentifyCommand.self, ["--target", "sim:\(state)"])
        try run(LogCommand.self, ["--target", "sim:\(state)", "--lid", "2"])
        try run(FeaturesCommand.Get.self, ["--target", "sim:\(state)", "--fid", "7"])
        try io(["--read", "100", "--no-verify"])
        #expect(try bytes(state) != before, "reads count in SMART Host Read Commands: io saves them")
        let after = try bytes(state)
        try run(IdentifyCommand.self, ["--target", "sim:\(state)"])
        #expect(try bytes(state) == after)
    }

    @Test("io exits non-zero when the state file cannot be saved")
    func ioSaveErrorExitsNonZero() throws {
        let missing = base + "-no-such-dir/sim.state"
        #expect(throws: ExitCode(2)) { try io(["--read", "0"], target: "sim:\(missing)") }
        cleanUp()
    }

    @Test("a read-only subcommand exits non-zero with one line when its new state file cannot be created")
    func identifySaveErrorExitsNonZero() throws {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("nvmekit").path
        try #require(FileManager.default.isExecutableFile(atPath: binary),
                     "the nvmekit binary is built beside the test bundle (swift build --build-tests): \(binary)")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = ["identify", "--target", "sim:\(base)-no-such-dir/sim.state"]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = Pipe()
        try p.run()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus != 0)
        let lines = message.split(separator: "\n")
        #expect(lines.count == 1 && message.contains("cannot write simulator state file"), "\(message)")
    }
}
