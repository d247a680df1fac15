import Foundation
import NVMeDriver
import NVMePlatform
import NVMeSpec

/// One test's result, with the controller's last commands for the report.
public struct ConformanceResult: Sendable {
    public var test: ConformanceTest
    public var outcome: ConformanceOutcome
    public var seconds: Double
    /// The last commands of every queue (`Controller.commandLog`), one line each.
    public var recentCommands: [String]
}

/// Runs conformance tests, each on a freshly opened controller, each with a deadline.
public struct ConformanceRunner: Sendable {
    /// Opens and initialises a controller with the given setup. Called once per test.
    public var open: @Sendable (ConformanceSetup) throws -> Controller
    /// How long one test may take before it fails as hung and the run moves on.
    public var deadline: Duration
    /// How many of the last commands go in each result.
    public var commandsInReport: Int
    /// After a test missed its deadline, how long to wait for its thread to give up (its commands time out locally)
    /// and close the controller, so the next test can open the device again.
    public var grace: Duration

    public init(deadline: Duration = .seconds(30), commandsInReport: Int = 16, grace: Duration = .seconds(30),
                open: @escaping @Sendable (ConformanceSetup) throws -> Controller) {
        self.open = open
        self.deadline = deadline
        self.commandsInReport = commandsInReport
        self.grace = grace
    }

    /// Runs `tests` in order; `progress` sees each result as it is made.
    public func run(_ tests: [ConformanceTest], progress: (ConformanceResult) -> Void = { _ in }) -> [ConformanceResult] {
        var results: [ConformanceResult] = []
        for t in tests {
            let r = run(t)
            progress(r)
            results.append(r)
        }
        return results
    }

    /// Runs one test on its own thread. A test that does not finish by the deadline fails; its thread and controller
    /// are abandoned so the next test starts on a fresh one.
    public func run(_ test: ConformanceTest) -> ConformanceResult {
        let box = ResultBox()
        let done = DispatchSemaphore(value: 0)
        let start = DispatchTime.now()
        let open = self.open
        let keep = commandsInReport
        let thread = Thread {
            box.set(Self.execute(test, open: open, keep: keep))
            done.signal()
        }
        thread.stackSize = 4 << 20
        thread.start()
        let seconds = { Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9 }
        if done.wait(timeout: .now() + Self.nanoseconds(deadline)) == .timedOut {
            let elapsed = seconds()
            _ = done.wait(timeout: .now() + Self.nanoseconds(grace))
            return ConformanceResult(test: test, outcome: .fail(expected: "the test finishes within \(deadline)",
                                                                 observed: "no result after \(deadline): the controller hung"),
                                     seconds: elapsed, recentCommands: box.get()?.recentCommands ?? [])
        }
        var r = box.get() ?? ConformanceResult(test: test, outcome: .fail(expected: "a result", observed: "none"),
                                               seconds: 0, recentCommands: [])
        r.seconds = seconds()
        return r
    }

    static func nanoseconds(_ d: Duration) -> DispatchTimeInterval {
        let c = d.components
        let s = min(max(c.seconds, 0), 1 << 32)
        return .nanoseconds(Int(s) * 1_000_000_000 + Int(max(c.attoseconds, 0) / 1_000_000_000))
    }

    static func execute(_ test: ConformanceTest, open: @Sendable (ConformanceSetup) throws -> Controller,
                        keep: Int) -> ConformanceResult {
        let c: Controller
        do {
            c = try open(test.setup)
        } catch {
            return ConformanceResult(test: test, outcome: .fail(expected: "the controller initialises (\(test.setup))",
                                                                observed: "\(error)"),
                                     seconds: 0, recentCommands: [])
        }
        defer { c.close() }
        let outcome: ConformanceOutcome
        if let req = test.requirement, let why = req.missing(c) {
            outcome = .notApplicable("needs \(req.name): \(why)")
        } else {
            do {
                outcome = try test.body(ConformanceContext(controller: c))
            } catch {
                outcome = .fail(expected: "the test runs to its check", observed: "error: \(error)")
            }
        }
        let lines = CommandLog.render(Array(c.commandLog.suffix(keep))).split(separator: "\n").map(String.init)
        return ConformanceResult(test: test, outcome: outcome, seconds: 0, recentCommands: lines)
    }
}

final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var result: ConformanceResult?
    func set(_ r: ConformanceResult) { lock.lock(); result = r; lock.unlock() }
    func get() -> ConformanceResult? { lock.lock(); defer { lock.unlock() }; return result }
}

extension ConformanceResult {
    /// Tests whose id or title matches `pattern` (a regular expression).
    public static func filter(_ tests: [ConformanceTest], regex pattern: String?) throws -> [ConformanceTest] {
        guard let pattern else { return tests }
        let re = try NSRegularExpression(pattern: pattern)
        return tests.filter { t in
            [t.id, t.title, t.area.rawValue].contains { s in
                re.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil
            }
        }
    }
}
