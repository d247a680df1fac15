import Foundation
import NVMeDriver
import NVMePlatform
import NVMeSimulator
import NVMeSpec
import Synchronization
import Testing

/// The controller (and what hangs off it) a test or suite runs against, opened by a fixture trait and reached
/// through `NVMeTest`. Closed when the trait's scope ends.
public final class TestFixture: @unchecked Sendable {
    public let target: TestTarget
    public let controller: Controller
    /// The simulated controller when the target is the simulator (to inject faults, read its state).
    public let simulator: SimulatedController?
    /// Which test or suite opened it; a `.controller` trait on a test inside a suite that shares a controller
    /// opens a fresh one, a second trait of the same test reuses it.
    let owner: Test.ID
    let state = Mutex(State())
    struct State {
        var ioQueues: [QueuePair] = []
        var namespaceID: UInt32?
        var probe: CapabilityProbe?
    }

    init(target: TestTarget, controller: Controller, simulator: SimulatedController?, owner: Test.ID) {
        self.target = target; self.controller = controller; self.simulator = simulator; self.owner = owner
    }

    /// Opens the target with `configuration` and runs its init sequence.
    static func open(_ configuration: ControllerTrait.Configuration, owner: Test.ID) throws -> TestFixture {
        let target = try TestTarget.fromEnvironment()
        let device = try target.openDevice(simulator: configuration.simulator)
        var options = configuration.options
        if configuration.interrupts == nil { options.interrupts = target.interruptMode }
        let c = Controller(device: device, options: options)
        do {
            try c.initialize(configuration.sequence)
        } catch {
            let report = FailureReport.render(controller: c, target: target, commands: configuration.commandsInReport)
            c.close()
            throw TestKitError.initFailed(target: target.description, error: "\(error)", report: report)
        }
        return TestFixture(target: target, controller: c, simulator: device as? SimulatedController, owner: owner)
    }

    /// The capability probe, read once.
    public func probe() throws -> CapabilityProbe {
        if let p = state.withLock({ $0.probe }) { return p }
        let p = try CapabilityProbe(controller, target: target)
        state.withLock { $0.probe = p }
        return p
    }

    /// Deletes the IO queue pairs fixtures created, then closes the controller.
    func close() {
        let queues = state.withLock { s in defer { s.ioQueues.removeAll() }; return s.ioQueues }
        for qp in queues.reversed() where controller.isPresent { try? controller.deleteIOQueuePair(qp) }
        controller.close()
    }

    /// A fresh IO queue pair on the first free qid; deleted when the fixture closes.
    func makeIOQueue(depth: Int, vector: VectorChoice) throws -> QueuePair {
        let used = Set(controller.ioQueues.map(\.qid))
        let limit = max(1, min(controller.grantedQueues.submission, controller.grantedQueues.completion))
        guard let qid = (1...UInt16(clamping: max(1, limit))).first(where: { !used.contains($0) }) else {
            throw TestKitError.noFreeQueue(granted: limit)
        }
        let v: UInt16?
        switch vector {
        case .automatic: v = controller.defaultVector(for: qid)
        case .polled: v = nil
        case .vector(let n): v = n
        }
        let qp = try controller.createIOQueuePair(qid: qid, depth: depth, vector: v)
        state.withLock { $0.ioQueues.append(qp) }
        return qp
    }
}

/// Which interrupt vector a fixture's IO queue uses.
public enum VectorChoice: Sendable, Hashable {
    /// The controller's default for the qid (MSI-X: vector = qid when armed; INTx: 0; polling: none).
    case automatic
    /// IEN = 0: the test polls.
    case polled
    case vector(UInt16)
}

/// Why a fixture accessor or trait could not give a test what it asked for.
public enum TestKitError: Error, Sendable, CustomStringConvertible {
    /// `NVMeTest.controller` was read in a test without a `.controller` (or `.needs`, `.ioQueue`) trait.
    case noFixture(String)
    case initFailed(target: String, error: String, report: String)
    case noFreeQueue(granted: Int)
    case noNamespace(UInt32?)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .noFixture(let what):
            return "\(what) needs a fixture: add the `.controller` trait to the test or its suite (`@Test(.controller)`)"
        case .initFailed(let t, let e, let r):
            return "cannot open the controller on \(t): \(e)\n\(r)"
        case .noFreeQueue(let g):
            return "no free IO queue id: the controller granted \(g) queue pairs and all are in use"
        case .noNamespace(let nsid):
            return nsid.map { "namespace \($0) is not active on this controller" } ?? "the controller has no active namespace"
        case .invalidArgument(let s): return s
        }
    }
}

/// What a test reaches through its fixture traits. Every accessor throws `TestKitError.noFixture` when the
/// test has no fixture trait, so a forgotten trait fails with the fix instead of crashing.
///
/// ```swift
/// @Test(.controller, .ioQueue(depth: 16))
/// func invalidFieldIsReported() throws {
///     var sqe = DriverCommand.read(nsid: 1, slba: 0, blocks: 1)
///     sqe.cdw13 = 0xFFFF_FFFF
///     let c = try NVMeTest.execute(sqe, buffer: NVMeTest.buffer(blocks: 1))
///     #expect(c.is(.invalidFieldInCommand))
/// }
/// ```
public enum NVMeTest {
    /// The fixture of the running test (task-local: set by the traits, visible in child tasks).
    @TaskLocal public static var fixture: TestFixture?

    static func requireFixture(_ what: String) throws(TestKitError) -> TestFixture {
        guard let f = fixture else { throw .noFixture(what) }
        return f
    }

    /// The test's controller, initialised (standard init sequence unless the trait chose another).
    public static var controller: Controller { get throws(TestKitError) { try requireFixture("NVMeTest.controller").controller } }

    /// The simulated controller behind `controller` when the target is the simulator, nil on a PCI target.
    public static var simulator: SimulatedController? { fixture?.simulator }

    /// The target the run uses (`NVMEKIT_TARGET`, default the simulator).
    public static var target: TestTarget { get throws { try fixture?.target ?? TestTarget.fromEnvironment() } }

    /// The namespace chosen with `.namespace(nsid)`, else the first active namespace.
    public static var namespace: Namespace {
        get throws(TestKitError) {
            let f = try requireFixture("NVMeTest.namespace")
            let want = f.state.withLock { $0.namespaceID }
            let active = f.controller.namespaces
            guard let ns = want.map({ w in active.first { $0.nsid == w } }) ?? active.first else {
                throw .noNamespace(want)
            }
            return ns
        }
    }

    /// The IO queue pair `.ioQueue` created for this test; without that trait, the controller's first IO queue
    /// (created by the standard init sequence).
    public static var ioQueue: QueuePair {
        get throws(TestKitError) {
            let f = try requireFixture("NVMeTest.ioQueue")
            if let q = f.state.withLock({ $0.ioQueues.last }) { return q }
            guard let q = f.controller.ioQueues.first else {
                throw .noFixture("NVMeTest.ioQueue (the init sequence created no IO queue; add `.ioQueue()`)")
            }
            return q
        }
    }

    /// A fresh IO queue pair (first free qid), deleted when the test's fixture closes.
    public static func makeIOQueue(depth: Int = 64, vector: VectorChoice = .automatic) throws -> QueuePair {
        let f = try requireFixture("NVMeTest.makeIOQueue")
        let mqes = Int(f.controller.cap.mqes) + 1
        guard depth >= 2 && depth <= mqes else {
            throw TestKitError.invalidArgument("IO queue depth \(depth) is outside 2...\(mqes) (CAP.MQES + 1)")
        }
        return try f.makeIOQueue(depth: depth, vector: vector)
    }

    /// A DMA buffer of `count` bytes filled with `pattern`, from the controller's allocator.
    public static func buffer(_ count: Int, pattern: Buffer.Pattern = .zeroes) throws -> Buffer {
        let f = try requireFixture("NVMeTest.buffer")
        guard count > 0 && count <= 1 << 30 else {
            throw TestKitError.invalidArgument("buffer size \(count) is outside 1...\(1 << 30) bytes")
        }
        let b = try Buffer(count: count, from: f.controller.allocator)
        try b.fill(pattern)
        return b
    }

    /// A DMA buffer of `blocks` logical blocks of `namespace` filled with `pattern`.
    public static func buffer(blocks: Int, pattern: Buffer.Pattern = .zeroes) throws -> Buffer {
        let ns = try namespace
        guard blocks > 0, ns.blockSize > 0, blocks <= (1 << 30) / ns.blockSize else {
            throw TestKitError.invalidArgument("\(blocks) blocks of \(ns.blockSize) bytes is outside 1...\((1 << 30) / max(1, ns.blockSize)) blocks")
        }
        return try buffer(blocks * ns.blockSize, pattern: pattern)
    }

    /// Submits `sqe` on `queue` (default `ioQueue`) with `buffer` as its data (PRPs; `sgl: true` for an SGL data
    /// block descriptor) and waits for the completion. The completion is returned whatever its status.
    public static func execute(_ sqe: SQE, buffer: Buffer? = nil, sgl: Bool = false, on queue: QueuePair? = nil,
                               timeout: CommandTimeout = .default) throws -> Completion {
        let c = try controller
        let qp = try queue ?? ioQueue
        var s = sqe
        var keep: [DMARegion] = []
        if let buffer {
            keep = sgl ? try DataPointer.attachSGL(buffer, to: &s, allocator: c.allocator)
                       : try DataPointer.attach(buffer, to: &s, pageSize: c.pageSize, allocator: c.allocator)
        }
        if qp.qid == 0 { return c.adminCommand(s, data: keep, timeout: timeout) }
        return qp.execute(s, data: keep, timeout: timeout)
    }

    /// Cancels (skips) the running test unless the controller has every capability, naming the field that
    /// rules each missing one out. Call it after opening a fixture; the `.needs` trait does it for you.
    public static func require(_ capabilities: Capability..., sourceLocation: SourceLocation = #_sourceLocation) throws {
        let f = try requireFixture("NVMeTest.require")
        if let reason = try missingReason(capabilities, on: f) {
            try Test.cancel(Comment(rawValue: reason), sourceLocation: sourceLocation)
        }
    }

    /// nil when `fixture`'s controller has every capability, else the reasons joined by `; `.
    public static func missingReason(_ capabilities: [Capability], on fixture: TestFixture) throws -> String? {
        let probe = try fixture.probe()
        let reasons = capabilities.compactMap { $0.missingReason(probe) }
        return reasons.isEmpty ? nil : reasons.joined(separator: "; ")
    }

    /// The record a failing test carries: identity, registers, the last `commands` commands of every queue.
    public static func failureReport(commands: Int = 32) -> String {
        guard let f = fixture else { return "no NVMeTestKit fixture" }
        return FailureReport.render(controller: f.controller, target: f.target, commands: commands)
    }
}
