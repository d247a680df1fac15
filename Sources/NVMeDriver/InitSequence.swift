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
/// any step by name. Editing a name that does not exist is a programming error that names the existing steps.
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
        s.remove("createIOQueues"); s.remove("armAsyncEvents"); s.remove("doorbellBufferConfig")
        return s
    }

    public var names: [String] { steps.map(\.name) }

    func index(_ name: String) -> Int {
        guard let i = steps.firstIndex(where: { $0.name == name }) else {
            preconditionFailure("no init step named '\(name)'; steps are: \(names.joined(separator: ", "))")
        }
        return i
    }

    public mutating func replace(_ name: String, with step: InitStep) { steps[index(name)] = step }
    public mutating func replace(_ name: String, run: @escaping @Sendable (Controller) throws -> Void) {
        steps[index(name)] = InitStep(name, run: run)
    }
    public mutating func insert(_ step: InitStep, before name: String) { steps.insert(step, at: index(name)) }
    public mutating func insert(_ step: InitStep, after name: String) { steps.insert(step, at: index(name) + 1) }
    public mutating func remove(_ name: String) { steps.remove(at: index(name)) }
    public mutating func move(_ name: String, before other: String) {
        let step = steps.remove(at: index(name)); steps.insert(step, at: index(other))
    }
    public mutating func move(_ name: String, after other: String) {
        let step = steps.remove(at: index(name)); steps.insert(step, at: index(other) + 1)
    }
    public mutating func append(_ step: InitStep) { steps.append(step) }
}
