import NVMePlatform
import Synchronization

/// The simulated function's PCI configuration space, laid out as QEMU 7.2's NVMe function
/// (Fixtures/qemu/controller-a/pci-config.bin): a 4 KiB space with MSI-X at 40h, Power Management at 60h and PCI
/// Express (v2, endpoint, FLR, 2.5 GT/s x1) at 80h, no extended capabilities.
///
/// Behaviour modelled: COMMAND and the BARs (with BAR0's size mask) are writable, MSI-X Enable/Function Mask, and
/// PMCSR.PowerState. In D3hot the controller's registers read all ones and it fetches nothing (PCIe Base 6.0 §5.3.1.4.1);
/// on the write back to D0 with NoSoftReset = 0 (`SimulatorConfiguration.pciNoSoftReset` false) the function returns
/// to D0uninitialized: COMMAND and the BARs go back to their reset values and the controller is reset (§5.4.1).
final class SimulatedConfigSpace: ConfigSpace, @unchecked Sendable {
    unowned let controller: SimulatedController
    let length = 4096
    private let bytes: Mutex<[UInt8]>
    private let reset: [UInt8]
    private let bar0Size: Int

    static let msixOffset = 0x40, pmOffset = 0x60, pcieOffset = 0x80

    init(controller: SimulatedController) {
        self.controller = controller
        let c = controller.configuration
        bar0Size = ControllerState.barLength(c)
        var b = [UInt8](repeating: 0, count: 4096)
        func put16(_ v: UInt16, _ o: Int) { b[o] = UInt8(v & 0xFF); b[o + 1] = UInt8(v >> 8) }
        func put32(_ v: UInt32, _ o: Int) { put16(UInt16(v & 0xFFFF), o); put16(UInt16(v >> 16), o + 2) }
        put16(0x1B36, 0x00); put16(0x0010, 0x02)          // Red Hat / QEMU NVMe
        put16(0x0010, 0x06)                                // Status: Capabilities List
        b[0x08] = 0x02; b[0x09] = 0x02; b[0x0A] = 0x08; b[0x0B] = 0x01   // revision 2, class 010802h
        put32(0x0000_0004, 0x10)                           // BAR0: 64-bit memory, unassigned
        put16(0x1AF4, 0x2C); put16(0x1100, 0x2E)
        b[0x34] = UInt8(Self.msixOffset)
        b[0x3D] = 1                                        // INTA#
        // MSI-X: table BAR0+2000h, PBA BAR0+3000h (as QEMU), Table Size N-1.
        let o = Self.msixOffset
        b[o] = PCICapability.msix; b[o + 1] = UInt8(Self.pcieOffset)
        put16(UInt16(max(1, min(2048, c.interruptVectors)) - 1), o + 2)
        put32(0x2000, o + 4); put32(0x3000, o + 8)
        // PCI Express v2, endpoint; Device Capabilities FLR + Role-Based Error Reporting; link 2.5 GT/s x1.
        let e = Self.pcieOffset
        b[e] = PCICapability.pciExpress; b[e + 1] = UInt8(Self.pmOffset)
        put16(0x0002, e + 2); put32(0x1000_8000, e + 4)
        put32(0x0000_0411, e + 0xC); put16(0x0011, e + 0x12)
        // Power Management: PMC version 3 (PM 1.2), no D1/D2, no PME; PMCSR D0 with NoSoftReset as configured.
        let p = Self.pmOffset
        b[p] = PCICapability.powerManagement; b[p + 1] = 0
        put16(0x0003, p + 2); put16(c.pciNoSoftReset ? 0x0008 : 0, p + 4)
        reset = b
        bytes = Mutex(b)
    }

    private func check(_ o: Int, _ n: Int) throws {
        guard o >= 0, o + n <= length else {
            throw PlatformError.unsupported("config access at 0x\(String(o, radix: 16)) (+\(n)) beyond \(length) bytes")
        }
    }

    func read8(at o: Int) throws -> UInt8 { try check(o, 1); return bytes.withLock { $0[o] } }
    func read16(at o: Int) throws -> UInt16 {
        try check(o, 2); return bytes.withLock { UInt16($0[o]) | UInt16($0[o + 1]) << 8 }
    }
    func read32(at o: Int) throws -> UInt32 {
        try check(o, 4)
        return bytes.withLock { b in (0..<4).reduce(UInt32(0)) { $0 | UInt32(b[o + $1]) << (8 * UInt32($1)) } }
    }
    func write8(_ v: UInt8, at o: Int) throws { try check(o, 1); write(o, [v]) }
    func write16(_ v: UInt16, at o: Int) throws { try check(o, 2); write(o, [UInt8(v & 0xFF), UInt8(v >> 8)]) }
    func write32(_ v: UInt32, at o: Int) throws {
        try check(o, 4); write(o, (0..<4).map { UInt8(($0 == 0 ? v : v >> (8 * UInt32($0))) & 0xFF) })
    }

    /// Applies a write byte by byte through the write masks, then acts on a PowerState change.
    private func write(_ o: Int, _ values: [UInt8]) {
        let pmcsr = Self.pmOffset + 4
        let devctlHigh = Self.pcieOffset + 9
        if (o..<(o + values.count)).contains(devctlHigh), values[devctlHigh - o] & 0x80 != 0 {
            // Device Control Initiate Function Level Reset (PCIe 6.0 §6.6.2): the same reset as `reset(.flr)`.
            controller.withState { $0.functionReset(powerCycle: false) }
        }
        let transition: (from: UInt8, to: UInt8)? = bytes.withLock { b in
            let oldState = b[pmcsr] & 3
            for (k, v) in values.enumerated() {
                let at = o + k
                let mask = writeMask(at)
                b[at] = (b[at] & ~mask) | (v & mask)
            }
            let newState = b[pmcsr] & 3
            return oldState == newState ? nil : (oldState, newState)
        }
        guard let t = transition else { return }
        let softReset = t.from == 3 && t.to == 0 && (reset[pmcsr] & 0x8) == 0
        if softReset {
            // D3hot → D0 with NoSoftReset = 0: D0uninitialized, configuration context lost (PCI PM 1.2 §5.4.1).
            bytes.withLock { b in
                for at in [0x04, 0x05, 0x0C, 0x3C] { b[at] = reset[at] }
                for at in 0x10..<0x28 { b[at] = reset[at] }
                for at in (Self.msixOffset + 2)...(Self.msixOffset + 3) { b[at] = reset[at] }
            }
        }
        controller.withState { s in
            s.inD3hot = t.to == 3
            if softReset { s.functionReset(powerCycle: false) }
        }
    }

    /// Which bits of byte `at` software may write (the rest are read-only or reserved).
    private func writeMask(_ at: Int) -> UInt8 {
        switch at {
        case 0x04: return 0x46                           // Memory Space, Bus Master, Parity Error Response
        case 0x05: return 0x05                           // SERR# Enable, Interrupt Disable
        case 0x0C, 0x3C: return 0xFF                     // Cache Line Size, Interrupt Line
        case 0x10..<0x18:                                // BAR0 (64-bit): size-aligned address bits
            let addressMask = ~UInt64(bar0Size - 1)
            let shift = UInt64(8 * (at - 0x10))
            return UInt8(truncatingIfNeeded: addressMask >> shift)
        case Self.msixOffset + 3: return 0xC0            // MSI-X Enable, Function Mask
        case Self.pmOffset + 4: return 0x03              // PMCSR PowerState (PME_En is read-only without PME)
        case Self.pcieOffset + 8: return 0xFF            // Device Control
        case Self.pcieOffset + 9: return 0x7F            // bit 15 (Initiate FLR) always reads 0
        default: return 0
        }
    }
}
