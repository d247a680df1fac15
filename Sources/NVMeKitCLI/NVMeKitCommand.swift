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
            PCIGroupCommand.self,
        ])

    /// Every error line starts with the tool's name, as `nvmekit: --qd must be 1…65535; got 0`.
    static var _errorPrefix: String { "nvmekit: " }

    /// Installs the SIGINT/SIGTERM handling before anything else runs (see `Interruption`): an interrupted command
    /// returns through its normal path, closing its controllers, and `nvmekit` then exits 130.
    static func main() {
        Interruption.shared.install()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            Interruption.shared.exitIfInterrupted()
            exit(withError: error)
        }
        Interruption.shared.exitIfInterrupted()
    }
}
