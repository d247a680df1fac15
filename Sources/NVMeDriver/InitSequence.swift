import NVMeSpec

/// One named step of controller initialisation.
public struct InitStep: Sendable {
    public var name: String
    public var run: @Sendable (Controller) throws -> Void
    public init(_ name: String, run: @escaping @Sendable (Controller) throws -> Void) {
        self.name = name; self.run = run
    }
}

/// Controller initialisation as an editable list of steps (pynvme's `nvme_init_func`, one level finer). The standard
/// sequence follows NVMe Base 2.0c §3.5.1 and the ordering traps of real devices; replace, insert, remove or move
/// any step by name. Editing a name that does not exist throws `InvalidArgument` naming the existing steps.
public struct InitSequence: Sendable {
    public var steps: [InitStep]
    public init(_ steps: [InitStep]) { self.steps = steps }

    public static let standardStepNames = [
        "disable", "enableBusMaster", "configureAdminQueue", "configureController", "enableInterrupts", "enable",
        "identifyController", "setNumberOfQueues", "doorbellBufferConfig", "createIOQueues", "identifyNamespaces",
        "armAsyncEvents",
    ]

    /// The standard sequence; each step is the `Controller` method of the same name.
    public static var standard: InitSequence {
        InitSequence([
            InitStep("disable") { try $0.disable() },
            InitStep("enableBusMaster") { try $0.enableBusMaster() },
            InitStep("configureAdminQueue") { try $0.configureAdminQueue() },
            InitStep("configureController") { $0.configureController() },
            InitStep("enableInterrupts") { try $0.enableInterrupts() },
            InitStep("enable") { try $0.enable() },
            InitStep("identifyController") { try $0.identifyController() },
            InitStep("setNumberOfQueues") { try $0.setNumberOfQueues() },
            InitStep("doorbellBufferConfig") { try $0.doorbellBufferConfig() },
            InitStep("createIOQueues") { try $0.createIOQueues() },
            InitStep("identifyNamespaces") { try $0.identifyNamespaces() },
            InitStep("armAsyncEvents") { try $0.armAsyncEvents() },
        ])
    }

    /// Only what is needed to send admin commands (no IO queues, no AERs).
    public static var adminOnly: InitSequence {
        var s = standard
        s.steps.removeAll { ["createIOQueues", "armAsyncEvents", "doorbellBufferConfig"].contains($0.name) }
        return s
    }

    public var names: [String] { steps.map(\.name) }

    /// The index of the step called `name`; throws `InvalidArgument` naming the existing steps when there is none.
    public func index(of name: String) throws -> Int {
        guard let i = steps.firstIndex(where: { $0.name == name }) else {
            throw InvalidArgument(name: "step name", value: "'\(name)'", valid: names.joined(separator: ", "))
        }
        return i
    }

    public mutating func replace(_ name: String, with step: InitStep) throws { steps[try index(of: name)] = step }
    public mutating func replace(_ name: String, run: @escaping @Sendable (Controller) throws -> Void) throws {
        steps[try index(of: name)] = InitStep(name, run: run)
    }
    public mutating func insert(_ step: InitStep, before name: String) throws { steps.insert(step, at: try index(of: name)) }
    public mutating func insert(_ step: InitStep, after name: String) throws {
        steps.insert(step, at: try index(of: name) + 1)
    }
    public mutating func remove(_ name: String) throws { steps.remove(at: try index(of: name)) }
    /// Moves step `name` before step `other`; throws (changing nothing) when either does not exist.
    public mutating func move(_ name: String, before other: String) throws {
        let i = try index(of: name)
        _ = try index(of: other)
        guard name != other else { return }
        let step = steps.remove(at: i); steps.insert(step, at: try index(of: other))
    }
    /// Moves step `name` after step `other`; throws (changing nothing) when either does not exist.
    public mutating func move(_ name: String, after other: String) throws {
        let i = try index(of: name)
        _ = try index(of: other)
        guard name != other else { return }
        let step = steps.remove(at: i); steps.insert(step, at: try index(of: other) + 1)
    }
    public mutating func append(_ step: InitStep) { steps.append(step) }
}
