import ArgumentParser
import NVMeDriver
import NVMeSpec

/// `nvmekit features get|set`.
struct FeaturesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features", abstract: "Get or set a feature.", subcommands: [Get.self, Set.self])

    struct Get: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Get Features: prints DW0 of the completion.")
        @OptionGroup var target: TargetOptions
        @Option(help: "Feature identifier (07h number of queues, 04h temperature threshold, 0Bh async event config, ...).")
        var fid: Number<UInt8>
        @Option(help: "Select: 0 current, 1 default, 2 saved, 3 supported capabilities.") var sel: Number<UInt8> = Number(0)
        @Option(help: "CDW11 (feature specific).") var cdw11: Number<UInt32> = Number(0)
        @Option(help: "Namespace ID.") var nsid: Number<UInt32> = Number(0)

        func validate() throws {
            try target.validate()
            try Check.range("--sel", sel.value, 0...3, "SEL is 3 bits: 0 current, 1 default, 2 saved, 3 supported capabilities; 4-7 are reserved")
        }

        func run() throws {
            try target.withController(run(on:))
        }

        /// Get Features on an open controller.
        func run(on c: Controller) throws {
            let r = c.adminCommand(DriverCommand.getFeatures(fid: fid.value, sel: sel.value, cdw11: cdw11.value, nsid: nsid.value))
            if !r.isSuccess { printError(r.statusLine); throw ExitCode(2) }
            print("get-feature:0x\(hexString(fid.value)) (sel \(sel.value)), Current value:0x\(hexString(r.dw0))")
        }
    }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set Features: prints DW0 of the completion.")
        @OptionGroup var target: TargetOptions
        @Option(help: "Feature identifier.") var fid: Number<UInt8>
        @Option(help: "Value (CDW11).") var value: Number<UInt32>
        @Option(help: "CDW12 (feature specific).") var cdw12: Number<UInt32> = Number(0)
        @Option(help: "Namespace ID.") var nsid: Number<UInt32> = Number(0)
        @Flag(help: "Save across power cycles (SV).") var save = false

        func run() throws {
            try target.withController(run(on:))
        }

        /// Set Features on an open controller.
        func run(on c: Controller) throws {
            let r = c.adminCommand(DriverCommand.setFeatures(fid: fid.value, cdw11: value.value, cdw12: cdw12.value,
                                                             save: save, nsid: nsid.value))
            if !r.isSuccess { printError(r.statusLine); throw ExitCode(2) }
            print("set-feature:0x\(hexString(fid.value)), value:0x\(hexString(value.value)), cdw12:0x\(hexString(cdw12.value)), save:\(save ? 1 : 0)")
            print("result: 0x\(hexString(r.dw0))")
        }
    }
}
