import ArgumentParser
import Foundation
import NVMeDriver
import NVMePlatform
import NVMeSpec

/// `nvmekit log`: Get Log Page by identifier, printed as a hexdump (or raw bytes to a file).
struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Get Log Page (01h error, 02h SMART / health, 03h firmware slot, 05h commands supported, ...).")

    @OptionGroup var target: TargetOptions
    @Option(help: "Log page identifier.") var lid: Number<UInt8> = Number(2)
    @Option(help: "Bytes to read.") var length: Int = 512
    @Option(help: "Namespace ID.") var nsid: Number<UInt32> = Number(0xFFFF_FFFF)
    @Option(help: "Log page offset in bytes (LPO).") var offset: UInt64 = 0
    @Option(help: "Log specific field (LSP).") var lsp: Number<UInt8> = Number(0)
    @Flag(help: "Retain asynchronous event (RAE).") var rae = false
    @Option(name: .long, help: "Write the raw bytes to this file instead of a hexdump.") var output: String?

    func validate() throws {
        try target.validate()
        try Check.range("--length", length, 4...(16 << 20), "bytes, a multiple of 4: NUMD counts dwords")
        if length % 4 != 0 { throw Check.outOfRange("--length", length, 4...(16 << 20), "bytes, a multiple of 4: NUMD counts dwords") }
        if offset % 4 != 0 { throw Check.invalid("--offset", offset, mustBe: "a multiple of 4 (LPO is dword aligned)") }
        try Check.range("--lsp", lsp.value, 0...127, "LSP is 7 bits")
        if let output { try Check.writablePath("--output", output) }
    }

    /// --length against the controller's MDTS (one Get Log Page command moves it all).
    func validate(against c: Controller) throws {
        let mdts = c.identifyData.count > 77 ? Int(c.identifyData[77]) : 0
        guard mdts > 0 && mdts < 32 else { return }
        try Check.within("--length", length, 4, c.cap.minimumPageSize << mdts, "bytes: MDTS·MPSMIN on \(c.device.address)")
    }

    func run() throws {
        try target.withController(run(on:))
    }

    /// Get Log Page on an open controller.
    func run(on c: Controller) throws {
        try validate(against: c)
        do {
            let bytes = try c.getLogPage(lid: lid.value, nsid: nsid.value, length: length, offset: offset, rae: rae, lsp: lsp.value)
            if let output {
                try Data(bytes).write(to: URL(fileURLWithPath: output))
                print("wrote \(bytes.count) bytes of log page \(hexString(lid.value))h to \(output)")
            } else {
                print("log page \(hexString(lid.value))h, \(bytes.count) bytes:")
                print(Hexdump.format(bytes))
            }
        } catch let e as CommandError {
            printError(e.description); throw ExitCode(2)
        }
    }
}
