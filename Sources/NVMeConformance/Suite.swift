import Foundation

/// Every conformance test, in run order.
public enum ConformanceSuite {
    public static var all: [ConformanceTest] {
        RegisterTests.all + QueueTests.all + IdentifyTests.all + FeatureTests.all + LogTests.all + NVMTests.all
    }

    /// Tests whose id, title or area matches `pattern` (a regular expression); all tests when it is nil.
    public static func select(_ pattern: String?) throws -> [ConformanceTest] {
        try ConformanceResult.filter(all, regex: pattern)
    }
}

/// A checked-in list of known deviations of one controller model from the spec.
public struct ConformanceDeviation: Codable, Sendable, Hashable {
    /// The conformance test id.
    public var id: String
    /// The spec text the controller breaks.
    public var spec: String
    /// What the controller does instead.
    public var observed: String

    public init(id: String, spec: String, observed: String) {
        self.id = id
        self.spec = spec
        self.observed = observed
    }
}

public enum ConformanceDeviations {
    /// Decodes a deviation list: a JSON object with `deviations: [{id, spec, observed}]`.
    public static func decode(_ data: Data) throws -> [ConformanceDeviation] {
        struct File: Codable { var deviations: [ConformanceDeviation] }
        return try JSONDecoder().decode(File.self, from: data).deviations
    }

    /// The differences between the failed tests of a run and a deviation list: failures not in the list
    /// (new nonconformance or a regression) and listed deviations that now pass (the list is stale).
    public static func compare(failed: [String], deviations: [ConformanceDeviation], ran: [String])
        -> (unexpected: [String], fixed: [String]) {
        let listed = Set(deviations.map(\.id))
        let ranSet = Set(ran)
        return (failed.filter { !listed.contains($0) }.sorted(),
                listed.filter { ranSet.contains($0) && !failed.contains($0) }.sorted())
    }
}
