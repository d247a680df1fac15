import Testing
@testable import NVMeKitCLI
import NVMeSpec

@Suite("nvmekit decode")
struct DecodeCommandTests {
    /// Hex of an SQE built by the spec layer.
    func hex(_ bytes: [UInt8]) -> String { bytes.map { hexDigits(UInt64($0), width: 2) }.joined(separator: " ") }

    func run(_ args: [String]) throws -> String { try DecodeCommand.parse(args).output() }

    func failure(_ args: [String]) -> String? {
        do { _ = try run(args); return nil } catch let e as DecodeError { return e.description } catch { return "\(error)" }
    }

    @Test("a 64-byte hex SQE is decoded by its command layout and validated")
    func sqe() throws {
        let sqe = SubmissionQueueEntry.createIOSubmissionQueue(qid: 1, qsize: 255, cqid: 1)
        let out = try run([hex(sqe.bytes)])
        #expect(out.hasPrefix("Submission Queue Entry: Create I/O Submission Queue"))
        #expect(out.contains("CDW10[31:16] QSIZE : 255") || out.contains("QSIZE") && out.contains(": 255"))
        #expect(out.contains("PRP1") && out.contains("queue base address is 0"))   // validation finding shown
    }

    @Test("--queue io reads the opcode in the NVM command set")
    func sqeIO() throws {
        let read = SubmissionQueueEntry.read(nsid: 1, slba: 0x1234, nlb: 7)
        let asAdmin = try run([hex(read.bytes)])
        #expect(asAdmin.contains("Get Log Page") && asAdmin.contains("--queue io"))
        let asIO = try run(["--queue", "io", hex(read.bytes)])
        #expect(asIO.contains("Submission Queue Entry: Read") && asIO.contains("0x1234") && asIO.contains("(8 blocks)"))
        #expect(asIO.contains("validation: no findings"))
    }

    @Test("a CQE prints its status by name")
    func cqe() throws {
        let cqe = CompletionQueueEntry(sqhd: 3, sqid: 1, cid: 9, phase: true, status: CompletionStatus(CommandSpecificStatus.invalidQueueSize, dnr: true))
        let out = try run(["0x" + cqe.bytes.map { hexDigits(UInt64($0), width: 2) }.joined()])
        #expect(out.hasPrefix("Completion Queue Entry: Invalid Queue Size (01/02) DNR"))
        #expect(out.contains("SQHD   : 3") && out.contains("CID    : 9"))
    }

    @Test("wrong sizes and bad digits give one line naming the fix")
    func badInput() {
        let sqe63 = String(repeating: "00", count: 63)
        #expect(failure([sqe63]) == "expected 64 bytes for an SQE, got 63: pass 128 hex digits or --file")
        #expect(failure(["--kind", "cqe", "0011"]) == "expected 16 bytes for a CQE, got 2: pass 32 hex digits or --file")
        #expect(failure(["abc"])?.hasPrefix("odd number of hex digits (3)") == true)
        #expect(failure(["zz"])?.hasPrefix("'z' is not a hex digit") == true)
        #expect(failure([])?.hasPrefix("no input") == true)
        #expect(failure([String(repeating: "00", count: 4096)])?.hasSuffix("pass --kind") == true)
        #expect(failure(["--file", "/nonexistent/x.bin"])?.hasPrefix("--file '/nonexistent/x.bin' does not exist") == true)
        #expect(failure(["--file", "/dev/zero"]) == "--file '/dev/zero' is not a regular file")
        #expect(failure(["\u{FF10}\u{FF10}"])?.hasPrefix("'\u{FF10}' is not a hex digit") == true)
        #expect(failure(["--kind", "error-log", String(repeating: "00", count: 257 * 64)])?.hasPrefix("the Error Information log has at most 256 entries") == true)
        for e in [failure([sqe63]), failure(["zz"]), failure([])] { #expect(e?.contains("\n") == false) }
    }

    @Test("hex may contain spaces, commas, colons and 0x prefixes")
    func hexForms() throws {
        #expect(try DecodeCommand.parseHex("0x06 00,01:00 0A0b") == [0x06, 0x00, 0x01, 0x00, 0x0A, 0x0B])
    }

    @Test("id-ctrl from a file, --json: nvme-cli's keys")
    func identifyFile() throws {
        var c = IdentifyController()
        c.vid = 0x1B36; c.sn = "S1"; c.mn = "M"; c.fr = "F"; c.npss = 0
        let path = "/tmp/nvmekit-decode-test-\(UInt32.random(in: 0...UInt32.max)).bin"
        let f = fopen(path, "wb")!
        _ = c.bytes.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, f) }
        fclose(f)
        defer { remove(path) }
        let text = try run(["--kind", "id-ctrl", "--file", path])
        #expect(text.hasPrefix("Identify Controller") && text.contains("vid") && text.contains("6966"))
        let json = try run(["--kind", "id-ctrl", "--file", path, "--json"])
        #expect(json.hasPrefix("{\n  \"vid\":6966,\n  \"ssvid\":0,\n  \"sn\":\"S1                  \","))
        #expect(failure(["--file", path]) == "4096 bytes could be id-ctrl, id-ns, ns-list, zns-id-ctrl, zns-id-ns, effects, changed-ns: pass --kind")
    }

    @Test("log pages: SMART by --kind, error log guessed from a multiple of 64 bytes")
    func logs() throws {
        var s = SMARTHealthLog(); s.compositeTemperature = 310; s.criticalWarning = 1
        let smart = try run(["--kind", "smart", hex(s.bytes)])
        #expect(smart.contains("temperature") && smart.contains("310"))
        var e = ErrorInformationEntry(); e.errorCount = 4; e.status = CompletionStatus(GenericStatus.invalidFieldInCommand)
        let two = e.bytes + ErrorInformationEntry().bytes
        let out = try run([hex(two)])
        #expect(out.hasPrefix("Error Information log (2 entries)") && out.contains("Invalid Field in Command (00/02)"))
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Path of a file under Fixtures/, found relative to this source file.
func fixturePath(_ p: String, filePath: String = #filePath) -> String {
    var dir = filePath
    for _ in 0..<3 { if let slash = dir.lastIndex(of: "/") { dir = String(dir[..<slash]) } }
    return dir + "/Fixtures/" + p
}

func fileText(_ path: String) -> String? {
    guard let f = fopen(path, "rb") else { return nil }
    defer { fclose(f) }
    var out: [UInt8] = [], buf = [UInt8](repeating: 0, count: 4096)
    while true { let n = fread(&buf, 1, buf.count, f); if n <= 0 { break }; out += buf[0..<n] }
    return String(decoding: out, as: UTF8.self)
}

@Suite("nvmekit decode --json against nvme-cli 2.3",
       .enabled(if: fileText(fixturePath("qemu/controller-a/id-ctrl.json")) != nil,
                "Fixtures/qemu not present (captured by tools/vm capture-fixtures)"))
struct DecodeJSONAgainstNVMeCLITests {
    @Test("decode --json of each captured QEMU blob prints exactly what nvme-cli printed for it", arguments: [
        ("id-ctrl", "controller-a/id-ctrl"), ("id-ctrl", "controller-b/id-ctrl"), ("id-ns", "controller-a/id-ns-1"),
        ("id-ns", "controller-a/id-ns-2"), ("id-ns", "controller-b/id-ns-1"), ("smart", "controller-a/smart-log"),
        ("error-log", "controller-a/error-log"), ("zns-id-ns", "controller-b/zns-id-ns-1"),
        ("zns-id-ctrl", "controller-b/zns-id-ctrl"),
    ])
    func sameJSON(kind: String, file: String) throws {
        let theirs = try #require(fileText(fixturePath("qemu/\(file).json")))
        let ours = try DecodeCommand.parse(["--kind", kind, "--file", fixturePath("qemu/\(file).bin"), "--json"]).output()
        #expect(ours == theirs)
    }
}
