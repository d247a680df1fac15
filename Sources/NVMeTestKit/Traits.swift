import NVMeDriver
import NVMePlatform
import NVMeSimulator
import NVMeSpec
import Synchronization
import Testing

/// Opens a controller for a test (`@Test(.controller)`) or for a whole suite (`@Suite(.controller(.perSuite))`),
/// makes it reachable as `NVMeTest.controller`, and closes it when the test or suite ends.
///
/// When a test fails — an `#expect` or `#require` records an issue, or the test throws — the failing issue's
/// comments carry `NVMeTest.failureReport()` (controller identity, register dump, last commands of every queue),
/// and the same text is attached to the test as `nvmekit-failure.txt` (saved with `swift test --attachments-path DIR`).
public struct ControllerTrait: TestTrait, SuiteTrait, TestScoping {
    /// How long one controller lives.
    public enum Lifetime: Sendable, Hashable {
        /// Every test function (every case of a parameterized one) gets a freshly initialised controller.
        case perTest
        /// On a suite: one controller shared by all of its tests, opened before the first and closed after the last.
        /// The suite's tests then run one at a time (they share the queues).
        case perSuite
    }

    /// How the controller is opened.
    public struct Configuration: Sendable {
        public var sequence: InitSequence = .standard
        public var options: ControllerOptions
        /// nil: the target's mode (MSI-X; INTx for UIO). Set to force one.
        public var interrupts: InterruptMode?
        /// The simulated controller's configuration (ignored on a PCI target).
        public var simulator = SimulatorConfiguration()
        /// Commands per queue in the failure record.
        public var commandsInReport = 32

        public init(sequence: InitSequence = .standard, options: ControllerOptions? = nil,
                    simulator: SimulatorConfiguration = SimulatorConfiguration(), commandsInReport: Int = 32) {
            self.sequence = sequence
            var o = options ?? ControllerOptions()
            if options == nil { o.defaultTimeout = .seconds(10) }
            self.options = o
            self.interrupts = options?.interrupts
            self.simulator = simulator
            self.commandsInReport = commandsInReport
        }
    }

    public var lifetime: Lifetime
    public var configuration: Configuration

    public init(_ lifetime: Lifetime = .perTest, configuration: Configuration = .init()) {
        self.lifetime = lifetime; self.configuration = configuration
    }

    public var isRecursive: Bool { lifetime == .perTest }

    public func scopeProvider(for test: Test, testCase: Test.Case?) -> ControllerTrait? {
        switch lifetime {
        case .perTest: return !test.isSuite && testCase != nil ? self : nil
        case .perSuite: return test.isSuite || testCase != nil ? self : nil
        }
    }

    public func provideScope(for test: Test, testCase: Test.Case?,
                             performing function: @Sendable () async throws -> Void) async throws {
        // A second fixture trait of the same test reuses the controller the first opened.
        if let f = NVMeTest.fixture, f.owner == test.id { return try await function() }
        try await FixtureScope.withFixture(configuration, for: test, testCase: testCase, body: function)
    }
}

extension Trait where Self == ControllerTrait {
    /// A fresh controller per test: the target's device, standard init sequence, 10 s command timeout.
    public static var controller: ControllerTrait { ControllerTrait() }

    /// A controller with a chosen lifetime, init sequence, driver options or simulator configuration:
    /// `.controller(.perSuite)`, `.controller(sequence: .adminOnly)`,
    /// `.controller(simulator: { $0.namespaces = [.init(nsid: 1, blockCount: 1024)] })`.
    public static func controller(_ lifetime: ControllerTrait.Lifetime = .perTest, sequence: InitSequence = .standard,
                                  options: ControllerOptions? = nil,
                                  simulator configure: @Sendable (inout SimulatorConfiguration) -> Void = { _ in },
                                  commandsInReport: Int = 32) -> ControllerTrait {
        var sim = SimulatorConfiguration()
        configure(&sim)
        return ControllerTrait(lifetime, configuration: .init(sequence: sequence, options: options, simulator: sim,
                                                              commandsInReport: commandsInReport))
    }
}

/// Skips (cancels) a test unless the controller has every capability, with the field that rules it out:
/// `needs SGL: Identify Controller SGLS bits 1:0 = 00b on this controller`. Opens a per-test controller when the
/// test has none yet, so `@Test(.needs(.zns))` alone is enough.
public struct NeedsTrait: TestTrait, SuiteTrait, TestScoping {
    public var capabilities: [Capability]
    public var isRecursive: Bool { true }

    public func scopeProvider(for test: Test, testCase: Test.Case?) -> NeedsTrait? {
        !test.isSuite && testCase != nil ? self : nil
    }

    public func provideScope(for test: Test, testCase: Test.Case?,
                             performing function: @Sendable () async throws -> Void) async throws {
        let caps = capabilities
        @Sendable func check() async throws {
            guard let f = NVMeTest.fixture else { return }
            if let reason = try NVMeTest.missingReason(caps, on: f) { try Test.cancel(Comment(rawValue: reason)) }
            try await function()
        }
        if NVMeTest.fixture != nil { return try await check() }
        try await FixtureScope.withFixture(.init(), for: test, testCase: testCase, body: check)
    }
}

extension Trait where Self == NeedsTrait {
    /// `@Test(.controller, .needs(.sgl, .metadata))`: skipped, naming the field, on a controller without them.
    public static func needs(_ capabilities: Capability...) -> NeedsTrait { NeedsTrait(capabilities: capabilities) }
}

/// Creates a fresh IO queue pair for each test (first free qid, `depth` entries), reachable as `NVMeTest.ioQueue`,
/// deleted after the test. Opens a per-test controller when the test has none yet.
public struct IOQueueTrait: TestTrait, SuiteTrait, TestScoping {
    public var depth: Int
    public var vector: VectorChoice
    public var isRecursive: Bool { true }

    public func scopeProvider(for test: Test, testCase: Test.Case?) -> IOQueueTrait? {
        !test.isSuite && testCase != nil ? self : nil
    }

    public func provideScope(for test: Test, testCase: Test.Case?,
                             performing function: @Sendable () async throws -> Void) async throws {
        let (depth, vector) = (self.depth, self.vector)
        @Sendable func body() async throws {
            let qp = try NVMeTest.makeIOQueue(depth: depth, vector: vector)
            defer {
                if let f = NVMeTest.fixture {
                    f.state.withLock { s in s.ioQueues.removeAll { $0 === qp } }
                    if f.controller.isPresent { try? f.controller.deleteIOQueuePair(qp) }
                }
            }
            try await function()
        }
        if NVMeTest.fixture != nil { return try await body() }
        try await FixtureScope.withFixture(.init(), for: test, testCase: testCase, body: body)
    }
}

extension Trait where Self == IOQueueTrait {
    /// A fresh IO queue pair per test: `@Test(.controller, .ioQueue(depth: 16))`, `.ioQueue(vector: .polled)`.
    public static func ioQueue(depth: Int = 64, vector: VectorChoice = .automatic) -> IOQueueTrait {
        IOQueueTrait(depth: depth, vector: vector)
    }
}

/// Chooses the namespace `NVMeTest.namespace` returns (default: the first active one).
public struct NamespaceTrait: TestTrait, SuiteTrait, TestScoping {
    public var nsid: UInt32
    public var isRecursive: Bool { true }

    public func scopeProvider(for test: Test, testCase: Test.Case?) -> NamespaceTrait? {
        !test.isSuite && testCase != nil ? self : nil
    }

    public func provideScope(for test: Test, testCase: Test.Case?,
                             performing function: @Sendable () async throws -> Void) async throws {
        let nsid = self.nsid
        @Sendable func body() async throws {
            guard let f = NVMeTest.fixture else { return }
            let before = f.state.withLock { s in defer { s.namespaceID = nsid }; return s.namespaceID }
            defer { f.state.withLock { $0.namespaceID = before } }
            guard f.controller.namespaces.contains(where: { $0.nsid == nsid }) else {
                throw TestKitError.noNamespace(nsid)
            }
            try await function()
        }
        if NVMeTest.fixture != nil { return try await body() }
        try await FixtureScope.withFixture(.init(), for: test, testCase: testCase, body: body)
    }
}

extension Trait where Self == NamespaceTrait {
    /// `@Test(.controller, .namespace(2))`: `NVMeTest.namespace` is namespace 2 (the test fails if it is not active).
    public static func namespace(_ nsid: UInt32) -> NamespaceTrait { NamespaceTrait(nsid: nsid) }
}

/// Opens a fixture around a body, captures failures into the record, closes the fixture.
enum FixtureScope {
    static func withFixture(_ configuration: ControllerTrait.Configuration, for test: Test, testCase: Test.Case?,
                            body: @Sendable () async throws -> Void) async throws {
        let fixture = try TestFixture.open(configuration, owner: test.id)
        defer { fixture.close() }
        // The first failing issue of each test (each test of a suite sharing the controller) carries the record.
        let annotated = Mutex(Set<String>())
        let commands = configuration.commandsInReport
        let capture = IssueHandlingTrait.compactMapIssues { issue in
            let key = Test.current.map { "\($0.id)" } ?? ""
            guard issue.severity >= .error, annotated.withLock({ $0.insert(key).inserted }) else { return issue }
            var i = issue
            let report = FailureReport.render(controller: fixture.controller, target: fixture.target, commands: commands)
            i.comments.append(Comment(rawValue: report))
            return i
        }
        var thrown: (any Error)?
        do {
            try await capture.provideScope(for: test, testCase: testCase) {
                try await NVMeTest.$fixture.withValue(fixture) { try await body() }
            }
        } catch {
            thrown = error
        }
        let report = FailureReport.render(controller: fixture.controller, target: fixture.target, commands: commands)
        if let thrown, !isTestingControlFlow(thrown) {
            // Record the error here, with the record, instead of letting it leave the scope bare.
            Issue.record(thrown, Comment(rawValue: report))
            Attachment.record(report, named: "nvmekit-failure.txt")
            return
        }
        if !annotated.withLock({ $0.isEmpty }) { Attachment.record(report, named: "nvmekit-failure.txt") }
        if let thrown { throw thrown }
    }

    /// Errors Swift Testing throws to steer a test (cancel/skip, `#require` already recorded): passed on as they are.
    static func isTestingControlFlow(_ error: any Error) -> Bool {
        if error is CancellationError { return true }
        let type = String(reflecting: Swift.type(of: error))
        return type.hasPrefix("Testing.")
    }
}
