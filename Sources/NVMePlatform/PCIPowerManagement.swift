#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// PCI power management through configuration space (PCI Bus Power Management Interface Specification 1.2, "PCI PM
// 1.2" below; PCIe Base 6.0 §5.3.1 and §7.5.2 carry the same registers). Everything here is config-space access, so it
// works on every backend: the vfio config region, the uio sysfs `config` file and the simulator's function.

/// The PMCSR PowerState field (PCI PM 1.2 §3.2.4, bits 1:0).
public enum PCIPowerState: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case d0 = 0, d1 = 1, d2 = 2, d3hot = 3
    public var description: String { self == .d3hot ? "D3hot" : "D\(rawValue)" }

    /// Parses `d0`, `d1`, `d2`, `d3hot` (case-insensitive, `d3` too); nil for anything else.
    public init?(name: String) {
        switch name.lowercased() {
        case "d0": self = .d0
        case "d1": self = .d1
        case "d2": self = .d2
        case "d3hot", "d3": self = .d3hot
        default: return nil
        }
    }

    /// Time the function may take after a PowerState write before software touches it again (PCI PM 1.2 §5.6.1,
    /// Table 18): 10 ms for D3hot in either direction, 200 µs for D2, none for D1 and D0 from D1.
    public static func transitionDelay(from: PCIPowerState, to: PCIPowerState) -> Duration {
        if from == .d3hot || to == .d3hot { return .milliseconds(10) }
        if from == .d2 || to == .d2 { return .microseconds(200) }
        return .zero
    }
}

extension PowerManagementCapability {
    /// PMC offset within the capability.
    public static let pmcOffset = 2
    /// PMCSR offset within the capability.
    public static let pmcsrOffset = 4

    // PMC, Power Management Capabilities (PCI PM 1.2 §3.2.3).
    /// PMC bits 2:0, Version: 011b = PCI PM 1.2.
    public var version: Int { Int(pmc & 7) }
    /// PMC bit 3, PME Clock.
    public var pmeClock: Bool { pmc & (1 << 3) != 0 }
    /// PMC bit 4 (PCIe: Immediate_Readiness_on_Return_to_D0; reserved in PCI PM 1.2).
    public var immediateReadinessOnReturnToD0: Bool { pmc & (1 << 4) != 0 }
    /// PMC bit 5, DSI: the function needs device specific initialisation after D0.
    public var dsi: Bool { pmc & (1 << 5) != 0 }
    /// PMC bits 8:6, Aux_Current (encoding; 0 = self powered / none).
    public var auxCurrent: Int { Int((pmc >> 6) & 7) }
    /// PMC bit 9, D1_Support.
    public var d1Support: Bool { pmc & (1 << 9) != 0 }
    /// PMC bit 10, D2_Support.
    public var d2Support: Bool { pmc & (1 << 10) != 0 }
    /// PMC bits 15:11, PME_Support: bit 0 = D0, 1 = D1, 2 = D2, 3 = D3hot, 4 = D3cold.
    public var pmeSupport: UInt8 { UInt8(pmc >> 11) }

    // PMCSR, Power Management Control/Status (PCI PM 1.2 §3.2.4).
    /// PMCSR bits 1:0 as a state.
    public var state: PCIPowerState { PCIPowerState(rawValue: powerState) ?? .d0 }
    /// PMCSR bit 8, PME_En.
    public var pmeEnable: Bool { pmcsr & (1 << 8) != 0 }
    /// PMCSR bits 12:9, Data_Select.
    public var dataSelect: Int { Int((pmcsr >> 9) & 0xF) }
    /// PMCSR bits 14:13, Data_Scale.
    public var dataScale: Int { Int((pmcsr >> 13) & 3) }
    /// PMCSR bit 15, PME_Status (RW1C).
    public var pmeStatus: Bool { pmcsr & (1 << 15) != 0 }

    /// Whether PowerState may be set to `state` (D0 and D3hot always; D1/D2 only with D1_Support/D2_Support).
    public func supports(_ state: PCIPowerState) -> Bool {
        switch state {
        case .d0, .d3hot: true
        case .d1: d1Support
        case .d2: d2Support
        }
    }

    /// `PMC 0x0003 (v3 = PM 1.2, D1- D2-, PME from none) PMCSR 0x0008 (D0, NoSoftReset+, PME_En-, PME_Status-)`.
    public var summary: String {
        let pme = (0..<5).filter { pmeSupport & (1 << $0) != 0 }.map { ["D0", "D1", "D2", "D3hot", "D3cold"][$0] }
        func pm(_ b: Bool) -> String { b ? "+" : "-" }
        return "PMC 0x\(hex(pmc, width: 4)) (v\(version)\(version == 3 ? " = PM 1.2" : ""), D1\(pm(d1Support)) D2\(pm(d2Support)), "
            + "PME from \(pme.isEmpty ? "none" : pme.joined(separator: "/")), DSI\(pm(dsi)), Aux_Current \(auxCurrent)) "
            + "PMCSR 0x\(hex(pmcsr, width: 4)) (\(state), NoSoftReset\(pm(noSoftReset)), PME_En\(pm(pmeEnable)), "
            + "PME_Status\(pm(pmeStatus)))"
    }
}

/// The part of a function's configuration that a D3hot → D0 transition with NoSoftReset = 0 loses and software
/// restores (PCI PM 1.2 §5.4.1: the function returns to D0uninitialized; the BARs and COMMAND are among the
/// "Configuration Context" the operating system saved before D3hot and writes back).
public struct PCIConfigContext: Sendable, Hashable {
    public var command: UInt16
    /// BAR0 … BAR5 as read (for a 64-bit BAR the following dword is its upper half).
    public var bars: [UInt32]
    public var cacheLineSize: UInt8
    public var interruptLine: UInt8
    /// MSI-X Message Control, nil without MSI-X.
    public var msixMessageControl: UInt16?

    public init(command: UInt16, bars: [UInt32], cacheLineSize: UInt8, interruptLine: UInt8, msixMessageControl: UInt16?) {
        self.command = command; self.bars = bars; self.cacheLineSize = cacheLineSize
        self.interruptLine = interruptLine; self.msixMessageControl = msixMessageControl
    }

    /// Names of the fields that differ from `other` (`COMMAND`, `BAR0` …, `MSI-X Message Control`).
    public func differences(from other: PCIConfigContext) -> [String] {
        var out: [String] = []
        if command != other.command { out.append("COMMAND") }
        for i in 0..<min(bars.count, other.bars.count) where bars[i] != other.bars[i] { out.append("BAR\(i)") }
        if cacheLineSize != other.cacheLineSize { out.append("Cache Line Size") }
        if interruptLine != other.interruptLine { out.append("Interrupt Line") }
        if msixMessageControl != other.msixMessageControl { out.append("MSI-X Message Control") }
        return out
    }
}

extension ConfigSpace {
    /// The Power Management capability with PMC and PMCSR read now; nil when the function has none.
    public func powerManagement() throws -> PowerManagementCapability? {
        guard let c = try capabilities().first(PCICapability.powerManagement) else { return nil }
        return PowerManagementCapability(offset: c.offset,
                                         pmc: try read16(at: c.offset + PowerManagementCapability.pmcOffset),
                                         pmcsr: try read16(at: c.offset + PowerManagementCapability.pmcsrOffset))
    }

    /// Writes PMCSR.PowerState = `state`, waits the transition delay of PCI PM 1.2 §5.6.1, and returns the capability
    /// as read back. PME_En and Data_Select are written back unchanged and PME_Status (RW1C) is written 0, so nothing
    /// else changes. The function's memory space must not be touched while it is in D3hot (PCIe Base 6.0 §5.3.1.4.1: only
    /// configuration accesses are accepted; vfio-pci even refuses BAR access then). Throws when the function has no
    /// PM capability or does not support `state` (D1/D2).
    @discardableResult
    public func setPowerState(_ state: PCIPowerState) throws -> PowerManagementCapability {
        guard let pm = try powerManagement() else {
            throw PlatformError.unsupported("the function has no PCI Power Management capability")
        }
        guard pm.supports(state) else {
            throw PlatformError.unsupported("the function does not support \(state) (PMC 0x\(hex(pm.pmc, width: 4)): D1_Support/D2_Support clear); use d0 or d3hot")
        }
        let value = (pm.pmcsr & ~UInt16(0x8003)) | UInt16(state.rawValue)
        try write16(value, at: pm.offset + PowerManagementCapability.pmcsrOffset)
        let delay = PCIPowerState.transitionDelay(from: pm.state, to: state)
        if delay > .zero { pauseFor(delay) }
        return try powerManagement() ?? pm
    }

    /// COMMAND, the BARs, Cache Line Size, Interrupt Line and MSI-X Message Control as they are now.
    public func captureContext() throws -> PCIConfigContext {
        let h = try header()
        let msix = try capabilities().msix
        return PCIConfigContext(command: h.command, bars: h.bars, cacheLineSize: try read8(at: 0x0C),
                                interruptLine: h.interruptLine, msixMessageControl: msix?.messageControl)
    }

    /// Writes back every field of `context` that differs from what the function holds now (BARs first, COMMAND last,
    /// so memory decoding is enabled only once the BARs are in place). Returns the names of the fields written.
    @discardableResult
    public func restoreContext(_ context: PCIConfigContext) throws -> [String] {
        let now = try captureContext()
        let differ = Set(context.differences(from: now))
        for i in 0..<min(6, context.bars.count) where differ.contains("BAR\(i)") {
            try write32(context.bars[i], at: 0x10 + 4 * i)
        }
        if differ.contains("Cache Line Size") { try write8(context.cacheLineSize, at: 0x0C) }
        if differ.contains("Interrupt Line") { try write8(context.interruptLine, at: 0x3C) }
        if differ.contains("MSI-X Message Control"), let mc = context.msixMessageControl, let msix = try capabilities().msix {
            try write16(mc, at: msix.offset + 2)
        }
        if differ.contains("COMMAND") { try write16(context.command, at: PCICommand.offset) }
        return context.differences(from: now)
    }
}

/// Sleeps for a delay the PCI PM specification requires (not a wait on an event: the spec gives only the time).
func pauseFor(_ d: Duration) {
    let (s, atto) = d.components
    var request = timespec(tv_sec: Int(s), tv_nsec: Int(atto / 1_000_000_000))
    var remaining = timespec()
    while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
}
