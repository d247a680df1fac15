import Foundation
import NVMePlatform
import NVMeSimulator
import NVMeSpec
import Testing

@Suite("Simulator: named state file shared by several processes")
struct StateFileTests {
    func tempPath() -> String { NSTemporaryDirectory() + "nvmekit-sim-\(UInt64.random(in: 0...UInt64.max)).state" }

    @Test("namespaces, their data and firmware slots survive close and reopen; reopening is a power cycle")
    func persistAcrossOpens() throws {
        let path = tempPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            let sim = try SimulatedController(stateFile: path)
            let host = TestHost(sim: sim)
            try host.enable()
            try host.createIOQueuePair(qid: 1, entries: 8)
            let buf = try host.region(4096)
            buf.copyBytes(from: pattern(1024, seed: 11), to: 0)
            #expect(host.run(TestHost.rw(.write, slba: 77, blocks: 2, prp1: buf.busAddress()), qid: 1)?.status == .success)
            let meta = try host.region(4096)
            meta.store(UInt64(2048), at: 0); meta.store(UInt64(2048), at: 8)
            var create = SubmissionQueueEntry(opcode: AdminOpcode.namespaceManagement.rawValue)
            create.prp1 = meta.busAddress()
            #expect(host.run(create)?.dw0 == 2)
            buf.copyBytes(from: Array("FW-9.9\0\0".utf8), to: 0)
            var dl = SubmissionQueueEntry(opcode: AdminOpcode.firmwareImageDownload.rawValue)
            dl.prp1 = buf.busAddress(); dl.cdw10 = 1
            #expect(host.run(dl)?.status == .success)
            var commit = SubmissionQueueEntry(opcode: AdminOpcode.firmwareCommit.rawValue)
            commit.cdw10 = 2 | 1 << 3
            #expect(host.run(commit)?.status == .success)
            try sim.saveState()
            sim.close()
        }
        let again = try SimulatedController(stateFile: path)
        defer { again.close() }
        #expect(again.readBlocks(nsid: 1, lba: 77, count: 2) == pattern(1024, seed: 11))
        #expect(again.namespace(2)?.blockCount == 2048)
        #expect(again.namespace(2)?.attached == false)
        let host = TestHost(sim: again)
        try host.enable()
        let id = try host.region(4096)
        #expect(host.run(TestHost.identify(cns: 1, buffer: id))?.status == .success)
        #expect(id.bytes(at: 64, count: 6) == Array("FW-9.9".utf8), "the pending image became active at power-on")
    }

    @Test("a damaged state file is refused with a message naming the fix")
    func damaged() throws {
        let path = tempPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data("not a state file".utf8).write(to: URL(fileURLWithPath: path))
        do {
            _ = try SimulatedController(stateFile: path)
            Issue.record("a damaged state file was accepted")
        } catch let e as PlatformError {
            #expect(e.description.contains("rm \(path)"))
        }
    }

    /// A state file with LBAs 77-78 written.
    func writtenStateFile() throws -> String {
        let path = tempPath()
        let sim = try SimulatedController(stateFile: path)
        let host = TestHost(sim: sim)
        try host.enable()
        try host.createIOQueuePair(qid: 1, entries: 8)
        let buf = try host.region(4096)
        buf.copyBytes(from: pattern(1024, seed: 11), to: 0)
        #expect(host.run(TestHost.rw(.write, slba: 77, blocks: 2, prp1: buf.busAddress()), qid: 1)?.status == .success)
        try sim.saveState()
        sim.close()
        return path
    }

    @Test("a process that only reads (Identify, Get Log Page, Get Features) leaves the state file byte for byte unchanged")
    func readOnlyUseLeavesTheFileUnchanged() throws {
        let path = try writtenStateFile()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let sim = try SimulatedController(stateFile: path)
        let host = TestHost(sim: sim)
        try host.enable()
        let buf = try host.region(4096)
        #expect(host.run(TestHost.identify(cns: 1, buffer: buf))?.status == .success)
        #expect(host.run(TestHost.getLogPage(lid: 0x02, bytes: 512, buffer: buf))?.status == .success)
        try sim.saveState()
        sim.close()
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
    }

    @Test("the old JSON block-list state file is refused with a message saying so")
    func oldJSONFormatIsRefused() throws {
        let path = tempPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(#"[{"nsid":1,"lba":0,"hex":"00"}]"#.utf8).write(to: URL(fileURLWithPath: path))
        #expect {
            _ = try SimulatedController(stateFile: path)
        } throws: { e in "\(e)".contains("older nvmekit") && "\(e)".contains("rm \(path)") }
    }

    /// Offsets into a state file with one namespace (magic, count, then the namespace's fields).
    static let nszeOffset = 8 + 4 + 4

    @Test("a state file that is not a regular file (/dev/zero, a directory) is refused at once, not read forever",
          arguments: ["/dev/zero", "/tmp"])
    func nonRegularStateFilesAreRefused(_ path: String) throws {
        do {
            let sim = try SimulatedController(stateFile: path)
            sim.close()
            Issue.record("\(path) was accepted as a state file")
        } catch {
            #expect("\(error)".contains("is not a regular file"), "\(error)")
        }
    }

    @Test("truncated, out-of-range and trailing-garbage state files are refused naming the field, before building the device")
    func malformedStateFilesAreRefused() throws {
        let path = try writtenStateFile()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let good = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        func refusal(_ bytes: [UInt8]) -> String? {
            do {
                try Data(bytes).write(to: URL(fileURLWithPath: path))
                let sim = try SimulatedController(stateFile: path)
                sim.close()
                return nil
            } catch {
                return "\(error)"
            }
        }
        #expect(refusal(good) == nil)
        #expect(refusal(Array(good.prefix(good.count - 3)))?.contains("truncated") == true)
        #expect(refusal(Array(good.prefix(20)))?.contains("truncated") == true)
        #expect(refusal(good + [1, 2, 3])?.contains("3 bytes after the end") == true)
        var huge = good
        for i in 0..<8 { huge[Self.nszeOffset + i] = UInt8(truncatingIfNeeded: (UInt64(1) << 62) >> (8 * UInt64(i))) }
        #expect(refusal(huge)?.contains("NSZE \(UInt64(1) << 62)") == true)
        var nsCount = good
        nsCount[8] = 0xFF; nsCount[9] = 0xFF; nsCount[10] = 0xFF; nsCount[11] = 0x7F
        #expect(refusal(nsCount)?.contains("namespaces, at most") == true)
        var fmt = good
        fmt[Self.nszeOffset + 8] = 99       // format index
        #expect(refusal(fmt)?.contains("format index 99") == true)
    }

    @Test("a state file that cannot be written is an error from saveState()")
    func saveErrorsAreReported() throws {
        let sim = try SimulatedController(stateFile: NSTemporaryDirectory() + "no-such-dir-\(UInt64.random(in: 0...UInt64.max))/sim.state")
        #expect(throws: PlatformError.self) { try sim.saveState() }
        sim.close()
    }

    @Test("a missing state file starts from the configuration and is created on close")
    func createdOnClose() throws {
        let path = tempPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let sim = try SimulatedController(stateFile: path, configuration: SimulatorConfiguration(
            namespaces: [NamespaceConfiguration(nsid: 4, blockCount: 99)]))
        #expect(sim.activeNamespaces == [4])
        sim.close()
        #expect(FileManager.default.fileExists(atPath: path))
        let again = try SimulatedController(stateFile: path)
        #expect(again.namespace(4)?.blockCount == 99)
        again.close()
    }
}
