import Foundation
import NVMeDriver
import NVMePlatform
import NVMeSpec

/// The part of the specifications a conformance test checks.
public enum ConformanceArea: String, Sendable, CaseIterable, Codable {
    case registers, queues, identify, features, logs, nvmIO = "nvm-io"
}

/// What a test's controller is initialised with before its body runs.
public enum ConformanceSetup: Sendable, Hashable {
    /// Admin queue and Identify Controller only: the body creates any IO queue itself.
    case adminOnly
    /// The standard init: one IO queue pair (qid 1), namespaces identified.
    case standard
}

/// A capability a test needs; `missing` returns the field and value that rule it out, or nil when it applies.
public struct ConformanceRequirement: Sendable {
    public var name: String
    public var missing: @Sendable (Controller) -> String?
    public init(_ name: String, missing: @escaping @Sendable (Controller) -> String?) {
        self.name = name
        self.missing = missing
    }
}

/// The result kinds of one test.
public enum ConformanceOutcome: Sendable, Hashable {
    case pass
    /// What the cited spec text requires and what the controller did.
    case fail(expected: String, observed: String)
    /// The capability field that makes the test not apply to this controller.
    case notApplicable(String)

    public var kind: String {
        switch self {
        case .pass: "pass"
        case .fail: "fail"
        case .notApplicable: "n/a"
        }
    }
}

/// One conformance test: a value with its spec citation and a body run against an open controller.
public struct ConformanceTest: Sendable, Identifiable {
    /// Stable identifier, `area.NNN-short-name`; the deviation lists refer to it.
    public var id: String
    public var title: String
    /// The section and field it checks, e.g. "NVMe Base 2.0c §3.1.4.1 CAP.MQES".
    public var citation: String
    public var area: ConformanceArea
    public var setup: ConformanceSetup
    public var requirement: ConformanceRequirement?
    public var body: @Sendable (ConformanceContext) throws -> ConformanceOutcome

    public init(id: String, title: String, citation: String, area: ConformanceArea, setup: ConformanceSetup = .adminOnly,
                requires requirement: ConformanceRequirement? = nil,
                body: @escaping @Sendable (ConformanceContext) throws -> ConformanceOutcome) {
        self.id = id
        self.title = title
        self.citation = citation
        self.area = area
        self.setup = setup
        self.requirement = requirement
        self.body = body
    }
}

/// What a test body works with: the controller and checking helpers that build outcomes.
public struct ConformanceContext: @unchecked Sendable {
    public let controller: Controller

    public init(controller: Controller) { self.controller = controller }

    public var registers: any RegisterSpace { controller.registers }
    public var cap: ControllerCapabilities { controller.registers.cap }
    public var identify: IdentifyController { IdentifyController(bytes: controller.identifyData) ?? IdentifyController() }

    /// The first active namespace, or nil.
    public var namespace: Namespace? { controller.namespaces.first }

    /// The first IO queue pair of the standard setup.
    public func ioQueue() throws -> QueuePair {
        guard let q = controller.ioQueues.first else {
            throw ConformanceError("the standard init created no IO queue pair")
        }
        return q
    }

    /// Sends an admin command, with a 4 KiB data buffer when `bytes` > 0.
    public func admin(_ sqe: SQE, bytes: Int = 0) throws -> (Completion, Buffer?) {
        guard bytes > 0 else { return (controller.adminCommand(sqe), nil) }
        let buf = try Buffer(count: bytes, from: controller.allocator)
        return (try controller.adminCommand(sqe, buffer: buf), buf)
    }

    /// Sends an IO command on `queue` (default the first IO queue) with `buffer` attached by PRPs.
    public func io(_ sqe: SQE, buffer: Buffer? = nil, on queue: QueuePair? = nil) throws -> Completion {
        let q = try queue ?? ioQueue()
        var s = sqe
        var keep: [DMARegion] = []
        if let buffer {
            keep = try DataPointer.attach(buffer, to: &s, pageSize: controller.pageSize, allocator: controller.allocator)
        }
        return q.execute(s, data: keep)
    }

    public func buffer(_ count: Int) throws -> Buffer { try Buffer(count: count, from: controller.allocator) }

    /// Pass when the completion's SCT/SC is one of `codes` (DNR and More are not compared).
    public func expect(_ c: Completion, _ codes: [any StatusCode], _ what: String = "") -> ConformanceOutcome {
        if c.origin == .device, c.status.is(any: codes) { return .pass }
        let names = codes.map { $0.status.codeDescription }
        return .fail(expected: (what.isEmpty ? "" : what + ": ") + names.joined(separator: " or "), observed: Self.observed(c))
    }

    public func expect(_ c: Completion, _ code: any StatusCode, _ what: String = "") -> ConformanceOutcome {
        expect(c, [code], what)
    }

    /// Pass on Successful Completion.
    public func expectSuccess(_ c: Completion, _ what: String = "") -> ConformanceOutcome {
        expect(c, GenericStatus.successfulCompletion, what)
    }

    /// Pass when `observed == expected`, else a failure that names `field`.
    public func expectEqual<T: Equatable>(_ field: String, _ observed: T, _ expected: T) -> ConformanceOutcome {
        observed == expected ? .pass : .fail(expected: "\(field) = \(expected)", observed: "\(field) = \(observed)")
    }

    /// Pass when `condition` holds.
    public func expectThat(_ condition: Bool, expected: String, observed: @autoclosure () -> String) -> ConformanceOutcome {
        condition ? .pass : .fail(expected: expected, observed: observed())
    }

    static func observed(_ c: Completion) -> String {
        if c.origin != .device { return "no completion from the controller (\(c.origin.rawValue))" }
        return c.status.codeDescription
    }
}

/// Combines the outcomes of several checks in one test: the first failure, else the first not-applicable, else pass.
public func allOf(_ outcomes: ConformanceOutcome...) -> ConformanceOutcome {
    for o in outcomes { if case .fail = o { return o } }
    for o in outcomes { if case .notApplicable = o { return o } }
    return .pass
}

/// An error a test body throws when it cannot run its check (not a controller failure in itself).
public struct ConformanceError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
