import Foundation
import NVMeDriver
import NVMePlatform
import NVMeSimulator
import NVMeSpec
import NVMeTestKit
import Synchronization
import Testing

/// The unit tier runs these on the simulator (no NVMEKIT_TARGET is set there); those that do not need the simulator
/// also pass on a device (`NVMEKIT_TARGET=<BDF>`, or in the tools/vm guest).
@Suite("NVMeTestKit fixtures on the simulator")
struct FixtureTests {
    @Test("`.controller` opens an initialised controller for the test", .controller)
    func controllerFixture() throws {
        let c = try NVMeTest.controller
        #expect(c.registers.csts.rdy)
        #expect(try NVMeTest.namespace.nsid == 1)
        #expect((NVMeTest.simulator != nil) == (try NVMeTest.target.isSimulator))
        #expect(try NVMeTest.ioQueue.qid == 1)
    }

    @Test("`.ioQueue` creates a fresh pair on the first free qid and deletes it after", .controller, .ioQueue(depth: 16))
    func ioQueueFixture() throws {
        let qp = try NVMeTest.ioQueue
        #expect(qp.qid == 2 && qp.sq.depth == 16)
        let data = try NVMeTest.buffer(blocks: 2, pattern: .random(seed: 7))
        let w = try NVMeTest.execute(DriverCommand.write(nsid: 1, slba: 10, blocks: 2), buffer: data)
        #expect(w.isSuccess)
        let back = try NVMeTest.buffer(blocks: 2)
        let r = try NVMeTest.execute(DriverCommand.read(nsid: 1, slba: 10, blocks: 2), buffer: back)
        #expect(r.isSuccess)
        #expect(try back.verify(.random(seed: 7)) == nil)
    }

    @Test("an odd command reads naturally: an invalid opcode comes back as Invalid Command Opcode", .controller)
    func oddCommand() throws {
        let c = try NVMeTest.execute(SQE(opcode: 0x7F, nsid: 1))
        #expect(c.is(.invalidCommandOpcode))
    }

    @Test("a simulator configuration reaches the fixture",
          .controller(simulator: { $0.namespaces = [.init(nsid: 1, blockCount: 100), .init(nsid: 2, blockCount: 200)] }),
          .needs(.simulator), .namespace(2))
    func simulatorConfiguration() throws {
        #expect(try NVMeTest.namespace.blockCount == 200)
        #expect(try NVMeTest.controller.namespaces.count == 2)
    }

    @Test("every test gets its own controller", .controller, arguments: [1, 2])
    func freshPerCase(_ n: Int) throws {
        let c = try NVMeTest.controller
        // A fresh controller has logged only its init sequence: nothing on the IO queue yet.
        #expect(c.ioQueues.first?.log.recorded == 0)
        _ = try NVMeTest.execute(DriverCommand.flush(nsid: 1))
        #expect(c.ioQueues.first?.log.recorded == 1)
    }

    @Test("without a fixture trait the accessors throw the fix instead of crashing")
    func noFixture() {
        #expect(NVMeTest.fixture == nil)
        #expect { _ = try NVMeTest.controller } throws: { error in
            "\(error)".contains("add the `.controller` trait")
        }
    }

    @Test("bad arguments to the accessors throw", .controller)
    func badArguments() throws {
        #expect(throws: TestKitError.self) { try NVMeTest.buffer(0) }
        #expect(throws: TestKitError.self) { try NVMeTest.makeIOQueue(depth: 1) }
        #expect(throws: TestKitError.self) { try NVMeTest.makeIOQueue(depth: 1 << 20) }
    }
}

@Suite("A suite sharing one controller", .controller(.perSuite), .serialized)
struct SharedControllerTests {
    static let seen = Mutex<[ObjectIdentifier]>([])

    @Test func first() throws { Self.seen.withLock { $0.append(ObjectIdentifier(try! NVMeTest.controller)) } }
    @Test func second() throws { Self.seen.withLock { $0.append(ObjectIdentifier(try! NVMeTest.controller)) } }
    @Test func third() throws {
        let me = ObjectIdentifier(try NVMeTest.controller)
        Self.seen.withLock { $0.append(me) }
        // Whatever order the three ran in, the ones before this saw the same controller.
        #expect(Self.seen.withLock { $0 }.allSatisfy { $0 == me })
    }
}

@Suite("Capability requirements skip with the field that rules them out")
struct CapabilityTests {
    static func probe(sgls: UInt32 = 0, cap: ControllerCapabilities = SimulatorConfiguration.qemuCAP,
                      target: TestTarget = TestTarget(kind: .simulator)) -> CapabilityProbe {
        var id = IdentifyController()
        id.sgls = sgls
        return CapabilityProbe(cap: cap, identify: id, namespaces: [], interruptKind: .msix, supportedVectors: 65,
                               backend: "sim", target: target)
    }

    @Test("the SGL skip names Identify Controller SGLS bits 1:0")
    func sglReason() {
        #expect(Capability.sgl.missingReason(Self.probe(sgls: 0))
                == "needs SGL: Identify Controller SGLS bits 1:0 = 00b on this controller")
        #expect(Capability.sgl.missingReason(Self.probe(sgls: 0x0001_0001)) == nil)
        #expect(Capability.sgl.missingReason(Self.probe(sgls: 0x2)) == nil)
    }

    @Test("CMB, NSSR, metadata, second controller name their fields")
    func otherReasons() {
        let p = Self.probe()
        #expect(Capability.cmb.missingReason(p) == "needs CMB: CAP.CMBS (bit 57) = 0 on this controller")
        #expect(Capability.nssr.missingReason(p)?.contains("CAP.NSSRS (bit 36) = 0") == true)
        #expect(Capability.metadata.missingReason(p)?.contains("LBAF[FLBAS].MS = 0") == true)
        #expect(Capability.secondController.missingReason(p)?.contains("one controller") == true)
        var cap = SimulatorConfiguration.qemuCAP
        cap.cmbs = true
        #expect(Capability.cmb.missingReason(Self.probe(cap: cap)) == nil)
    }

    @Test("the probe reads the simulator's SGLS and CAP", .controller, .needs(.simulator))
    func probeFromController() throws {
        let f = try #require(NVMeTest.fixture)
        #expect(try NVMeTest.missingReason([.sgl], on: f) == nil)
        #expect(try NVMeTest.missingReason([.cmb, .sgl], on: f) == "needs CMB: CAP.CMBS (bit 57) = 0 on this controller")
    }

    /// The simulator has no CMB: there this test must be skipped, never run.
    @Test("a test needing CMB is skipped on the simulator", .controller, .needs(.cmb))
    func skippedWithoutCMB() throws {
        #expect(try NVMeTest.controller.cap.cmbs, "the body ran although CAP.CMBS = 0")
    }

    /// `.needs` alone opens the controller.
    @Test("`.needs` alone opens the controller and runs when the capability is there", .needs(.sgl))
    func runsWithSGL() throws {
        #expect(try NVMeTest.controller.registers.csts.rdy)
    }

    @Test("`NVMeTest.require` skips from inside the body", .controller)
    func requireInBody() throws {
        try NVMeTest.require(.cmb)
        #expect(try NVMeTest.controller.cap.cmbs, "require(.cmb) returned although CAP.CMBS = 0")
    }
}

@Suite("A failing test carries the controller's record")
struct FailureRecordTests {
    /// Runs `body` inside the `.controller` trait's scope, collecting (and swallowing) the issues it records.
    static func issues(of body: @escaping @Sendable () async throws -> Void) async throws -> [Issue] {
        let test = try #require(Test.current)
        let seen = Mutex<[Issue]>([])
        let catcher = IssueHandlingTrait.compactMapIssues { issue in
            seen.withLock { $0.append(issue) }
            return nil
        }
        try await catcher.provideScope(for: test, testCase: Test.Case.current) {
            try await ControllerTrait().provideScope(for: test, testCase: Test.Case.current, performing: body)
        }
        return seen.withLock { $0 }
    }

    @Test("a failed expectation carries the last commands, the registers and the identity")
    func expectationFailure() async throws {
        let issues = try await Self.issues {
            let c = try NVMeTest.execute(SQE(opcode: 0x7E, nsid: 1))
            #expect(c.isSuccess, "deliberate failure: opcode 7Eh is not an NVM command")
        }
        let issue = try #require(issues.first)
        let record = issue.comments.map(\.rawValue).joined(separator: "\n")
        #expect(record.contains("NVMeTestKit failure record"))
        #expect(record.contains(", SN ") && record.contains(", VID "), "the controller's identity")
        #expect(record.contains("CSTS(rdy: 1"))
        #expect(record.contains("queue 1:"))
        #expect(record.contains("7Eh"), "the failing command is in the log")
        #expect(record.contains("Invalid Command Opcode"))
    }

    @Test("a thrown error is recorded with the record")
    func thrownError() async throws {
        let issues = try await Self.issues {
            _ = try NVMeTest.controller.identify(cns: 0xFE)
        }
        let issue = try #require(issues.first)
        #expect(issue.error is CommandError)
        let record = issue.comments.map(\.rawValue).joined(separator: "\n")
        #expect(record.contains("NVMeTestKit failure record") && record.contains("queue 0:"))
        #expect(record.contains("06h"), "the failed Identify is in the admin log")
    }

    @Test("a passing test records nothing")
    func passing() async throws {
        let issues = try await Self.issues {
            let c = try NVMeTest.controller
            #expect(c.registers.csts.rdy)
        }
        #expect(issues.isEmpty)
    }
}

@Suite("The target comes from the environment; the simulator by default")
struct TargetTests {
    @Test("no variables: the simulator")
    func defaultIsSimulator() throws {
        #expect(try TestTarget.fromEnvironment([:]).isSimulator)
        #expect(try TestTarget.fromEnvironment(["NVMEKIT_TARGET": "sim"]).isSimulator)
    }

    @Test("a BDF and a backend")
    func pci() throws {
        let t = try TestTarget.fromEnvironment(["NVMEKIT_TARGET": "0000:01:00.0", "NVMEKIT_BACKEND": "vfio"])
        #expect(t.kind == .pci(address: "0000:01:00.0", backend: .vfio))
        #expect(t.interruptMode == .msix)
    }

    @Test("in the guest, the first of NVMEKIT_DEVICES; the rest are second controllers")
    func guest() throws {
        let t = try TestTarget.fromEnvironment(["NVMEKIT_GUEST": "1", "NVMEKIT_BACKEND": "uio",
                                                "NVMEKIT_DEVICES": "0000:00:04.0 0000:00:05.0"])
        #expect(t.kind == .pci(address: "0000:00:04.0", backend: .uio))
        #expect(t.otherDevices == ["0000:00:05.0"] && t.interruptMode == .intx)
        #expect(try TestTarget.fromEnvironment(["NVMEKIT_GUEST": "1", "NVMEKIT_BACKEND": "kernel",
                                                "NVMEKIT_DEVICES": "0000:00:04.0"]).isSimulator)
    }

    @Test("bad values throw with the fix")
    func badValues() {
        #expect(throws: TestTarget.ConfigurationError.self) { try TestTarget.fromEnvironment(["NVMEKIT_TARGET": "nvme0"]) }
        #expect(throws: TestTarget.ConfigurationError.self) {
            try TestTarget.fromEnvironment(["NVMEKIT_TARGET": "0000:01:00.0", "NVMEKIT_BACKEND": "spdk"])
        }
        #expect(throws: TestTarget.ConfigurationError.self) {
            try TestTarget.fromEnvironment(["NVMEKIT_TARGET": "0000:01:00.0", "NVMEKIT_BACKEND": "uio"])
        }
    }
}

@Suite("Swift Testing prints NVMe values field by field")
struct TestDescriptionTests {
    @Test("CustomTestStringConvertible renders the status by name and DNR")
    func testDescriptions() {
        let s = CompletionStatus(sct: 0, sc: 2, dnr: true)
        #expect(s.testDescription == "SCT 0h SC 02h Invalid Field in Command, dnr: 1")
        let e = CQE(dw0: 0, sqhd: 3, sqid: 1, cid: 7, phase: true, status: s)
        #expect(e.testDescription == e.description)
    }
}

@Suite("`.controller` on a suite gives each of its tests a fresh controller", .controller)
struct PerTestSuiteTests {
    /// Holds every case's controller (so no address is reused while the test runs).
    static let seen = Mutex<[Controller]>([])

    @Test(arguments: 0..<3)
    func eachCaseHasItsOwn(_ n: Int) throws {
        let me = try NVMeTest.controller
        #expect(Self.seen.withLock { s in defer { s.append(me) }; return !s.contains { $0 === me } })
        #expect(me.registers.csts.rdy)
    }
}
