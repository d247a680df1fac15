import ArgumentParser

@main
struct NVMeKitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nvmekit",
        abstract: "Talk to an NVMe controller below any driver: registers, queues, raw commands.",
        subcommands: [DecodeCommand.self])
}
