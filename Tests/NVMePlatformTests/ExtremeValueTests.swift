import Foundation
import NVMeSpec
import Testing
@testable import NVMePlatform

/// Extreme values a test may pass to the platform's clock and register space. Each of these trapped before.
@Suite("Deadline and register offsets at extreme values")
struct ExtremeValueTests {
    @Test("a deadline farther than Int64.max nanoseconds reports a remaining time instead of trapping")
    func farDeadlineRemaining() {
        let far = Deadline(nanoseconds: .max)
        #expect(!far.hasPassed)
        #expect(far.remaining == .nanoseconds(Int64.max))
        #expect(Deadline.never.remaining == .nanoseconds(Int64.max))
    }

    @Test("Deadline.after a duration too long for UInt64 nanoseconds is the farthest deadline, not one in the past",
          arguments: [Duration.seconds(Int64.max), .seconds(20_000_000_000), .nanoseconds(Int64.max) * 3])
    func afterHugeDuration(_ d: Duration) {
        let deadline = Deadline.after(d)
        #expect(!deadline.hasPassed)
        #expect(deadline >= Deadline.after(.seconds(1_000_000)))
    }

    @Test("Deadline.after a negative duration has passed", arguments: [Duration.seconds(-1), .seconds(Int64.min)])
    func afterNegativeDuration(_ d: Duration) {
        #expect(Deadline.after(d).hasPassed)
        #expect(Deadline.after(d).remaining == .zero)
    }

    @Test("a BAR register at a negative or huge offset reads all ones and ignores writes (pread/pwrite path)",
          arguments: [-4, -1, Int.min, Int.max, Int.max - 3])
    func barOffsets(_ offset: Int) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bar-\(UUID().uuidString)").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data(repeating: 0x5A, count: 0x2000)))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let raw = open(path, O_RDWR)
        try #require(raw >= 0)
        let fd = OwnedDescriptor(raw, name: path)   // closed when the test ends
        let bar = MappedBAR(length: 0x2000, areas: [], fd: fd, fdOffset: 0x1000)
        #expect(bar.read32(at: offset) == 0xFFFF_FFFF)
        bar.write32(0x1234_5678, at: offset)
        _ = bar.read64(at: offset)
        bar.write64(0, at: offset)
        #expect(bar.read32(at: 0x100) == 0x5A5A_5A5A)   // (write64 at -4 writes its high dword at 0: a valid offset)
    }
}
