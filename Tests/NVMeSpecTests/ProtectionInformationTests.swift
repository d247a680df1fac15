import Testing
@testable import NVMeSpec

/// The guard CRCs against published check values: the CRC catalogue's "123456789" check and the NVM Command Set
/// specification's test cases (§5.3.1.4: 32-byte buffers for the 16b Guard, 4096-byte buffers for the 64b Guard).
@Suite struct ProtectionInformationTests {
    static let check = Array("123456789".utf8)

    @Test func crc16T10DIFMatchesCatalogueCheck() {
        #expect(CRC16T10DIF.checksum(Self.check) == 0xD0DB)
    }

    @Test(arguments: [
        ([UInt8](repeating: 0x00, count: 32), UInt16(0x0000)),
        ([UInt8](repeating: 0xFF, count: 32), UInt16(0xA293)),
        ((0..<32).map { UInt8($0) }, UInt16(0x0224)),
    ])
    func crc16SpecTestCases(data: [UInt8], expected: UInt16) {
        #expect(CRC16T10DIF.checksum(data) == expected)
    }

    @Test func crc64NVMeMatchesCatalogueCheck() {
        #expect(CRC64NVMe.checksum(Self.check) == 0xAE8B_1486_0A79_9888)
    }

    @Test(arguments: [
        ([UInt8](repeating: 0x00, count: 4096), UInt64(0x6482_D367_EB22_B64E)),
        ([UInt8](repeating: 0xFF, count: 4096), UInt64(0xC0DD_BA73_02EC_A3AC)),
        ((0..<4096).map { UInt8(truncatingIfNeeded: $0) }, UInt64(0x3E72_9F5F_6750_449C)),
        ((0..<4096).map { UInt8(truncatingIfNeeded: 0xFF - $0) }, UInt64(0x9A2D_F64B_8E9E_517E)),
    ])
    func crc64SpecTestCases(data: [UInt8], expected: UInt64) {
        #expect(CRC64NVMe.checksum(data) == expected)
    }

    @Test func crcsContinueAcrossPieces() {
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        #expect(CRC16T10DIF.update(CRC16T10DIF.update(0, data[..<333]), data[333...]) == CRC16T10DIF.checksum(data))
        let running = CRC64NVMe.update(CRC64NVMe.update(CRC64NVMe.initial, data[..<511]), data[511...])
        #expect(CRC64NVMe.finish(running) == CRC64NVMe.checksum(data))
    }

    @Test func tuple16IsBigEndianAndRoundTrips() {
        let pi = ProtectionInformation16(guardTag: 0x1234, applicationTag: 0xABCD, referenceTag: 0x0102_0304)
        #expect(pi.bytes == [0x12, 0x34, 0xAB, 0xCD, 0x01, 0x02, 0x03, 0x04])
        #expect(ProtectionInformation16(bytes: pi.bytes) == pi)
        #expect(ProtectionInformation16(bytes: [1, 2, 3]) == nil)
        #expect(ProtectionInformation16.size == pi.bytes.count)
    }

    @Test func tuple64IsBigEndianAndRoundTrips() {
        let pi = ProtectionInformation64(guardTag: 0x0102_0304_0506_0708, applicationTag: 0x0A0B,
                                         storageAndReferenceTag: 0xFFFF_1122_3344_5566)
        #expect(pi.storageAndReferenceTag == 0x1122_3344_5566)   // 48 bits kept
        #expect(pi.bytes == [1, 2, 3, 4, 5, 6, 7, 8, 0x0A, 0x0B, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66])
        #expect(ProtectionInformation64(bytes: pi.bytes) == pi)
        #expect(ProtectionInformation64.size == pi.bytes.count)
        #expect(pi.referenceTag(storageTagSize: 16) == 0x3344_5566)
        #expect(pi.referenceTag(storageTagSize: 0) == 0x1122_3344_5566)
    }

    @Test func guardIsComputedOverTheBlock() {
        let block = [UInt8](repeating: 0xFF, count: 32)
        #expect(ProtectionInformation16(data: block, applicationTag: 0, referenceTag: 7).guardTag == 0xA293)
    }
}
