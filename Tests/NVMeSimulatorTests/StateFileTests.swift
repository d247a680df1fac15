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
