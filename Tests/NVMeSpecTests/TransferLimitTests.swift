import Testing
@testable import NVMeSpec

@Suite("PRP: a transfer longer than any command can move throws instead of running for hours")
struct TransferLimitTests {
    @Test("runs adding up to more than 2^34 bytes throw transferTooLong (Int.max looped over 2^51 pages)",
          .timeLimit(.minutes(1)),
          arguments: [Int.max, PRP.maximumTransferBytes + 1, 1 << 40])
    func tooLong(_ length: Int) {
        #expect(throws: PRPError.transferTooLong(bytes: length, limit: PRP.maximumTransferBytes)) {
            try PRP.pageEntries([DMARun(busAddress: 0, length: length)], pageSize: 4096)
        }
        #expect(throws: PRPError.transferTooLong(bytes: length, limit: PRP.maximumTransferBytes)) {
            try PRP.build(busAddress: 0x1000, length: length, pageSize: 4096) { _ in 0x8000_0000 }
        }
    }

    @Test("runs whose sum overflows Int report the limit, not a wrapped total", .timeLimit(.minutes(1)))
    func sumOverflows() {
        let runs = [DMARun(busAddress: 0, length: 1 << 62), DMARun(busAddress: (1 << 62) + 4096, length: 1 << 62)]
        #expect(throws: PRPError.transferTooLong(bytes: .max, limit: PRP.maximumTransferBytes)) {
            try PRP.pageEntries(runs, pageSize: 4096)
        }
    }

    @Test("exactly 2^34 bytes is still described (4M page entries)", .timeLimit(.minutes(1)))
    func atTheLimit() throws {
        #expect(try PRP.pageEntries([DMARun(busAddress: 0, length: PRP.maximumTransferBytes)], pageSize: 1 << 20).count
                == PRP.maximumTransferBytes >> 20)
    }
}
