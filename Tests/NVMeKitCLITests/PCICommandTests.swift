import ArgumentParser
import Testing
@testable import NVMeKitCLI

@Suite("nvmekit pci pm options")
struct PCICommandTests {
    @Test("an unknown --state is refused naming the valid states", arguments: ["d4", "D3cold", "on", ""])
    func unknownState(state: String) {
        #expect(throws: (any Error).self) { try PCIPowerCommand.parse(["--state", state]) }
        let message = PCIPowerCommand.message(for: ValidationError("x"))
        #expect(!message.isEmpty)
        do { _ = try PCIPowerCommand.parse(["--state", state]) } catch {
            #expect(PCIPowerCommand.message(for: error).contains("use d0, d1, d2 or d3hot"))
        }
    }

    @Test("--state and --cycle together are refused")
    func stateAndCycle() {
        do { _ = try PCIPowerCommand.parse(["--state", "d3hot", "--cycle"]); Issue.record("accepted") } catch {
            #expect(PCIPowerCommand.message(for: error).contains("exclude each other"))
        }
        #expect((try? PCIPowerCommand.parse(["--state", "D3hot"])) != nil)
        #expect((try? PCIPowerCommand.parse(["--cycle"])) != nil)
    }
}
