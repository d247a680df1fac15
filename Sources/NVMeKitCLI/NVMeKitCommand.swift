import ArgumentParser

@main
struct NVMeKitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nvmekit",
        abstract: "Talk to an NVMe controller below any driver: registers, queues, raw commands.",
        subcommands: [
            IdentifyCommand.self,
            ConformanceCommand.self,
            LogCommand.self,
            FeaturesCommand.self,
            CmdCommand.self,
            ResetCommand.self,
            CmdlogCommand.self,
            DemoCommand.self,
            QueueBenchCommand.self,
            IOCommand.self,
            FuzzCommand.self,
            ListCommand.self, BindCommand.self, UnbindCommand.self, RegsCommand.self, IrqCommand.self,
            DecodeCommand.self,
        ])

    /// Every error line starts with the tool's name, as `nvmekit: --qd must be 1…65535; got 0`.
    static var _errorPrefix: String { "nvmekit: " }
}
