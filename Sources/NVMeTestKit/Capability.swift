import NVMeDriver
import NVMePlatform
import NVMeSpec

/// Something a test needs from the controller. A test that lacks it is skipped (cancelled) with the field that
/// says so: `needs SGL: Identify Controller SGLS bits 1:0 = 00b on this controller`.
///
/// ```swift
/// @Test(.controller, .needs(.sgl)) func sglRead() throws { … }
/// ```
public struct Capability: Sendable, Hashable, CustomStringConvertible {
    /// Short name used in the skip message (`SGL`, `ZNS`).
    public var name: String
    let check: @Sendable (CapabilityProbe) -> String?

    /// A capability of your own: `missing` returns nil when the probe shows it, else the field and value that
    /// rule it out.
    public init(_ name: String, missing: @escaping @Sendable (CapabilityProbe) -> String?) {
        self.name = name; self.check = missing
    }

    public var description: String { name }
    public static func == (a: Capability, b: Capability) -> Bool { a.name == b.name }
    public func hash(into h: inout Hasher) { h.combine(name) }

    /// nil when `probe` has it, else the skip reason: `needs SGL: Identify Controller SGLS bits 1:0 = 00b …`.
    public func missingReason(_ probe: CapabilityProbe) -> String? {
        check(probe).map { "needs \(name): \($0) on this controller" }
    }

    /// Scatter Gather Lists for NVM commands: Identify Controller SGLS bits 1:0 (SGLS, bytes 539:536) ≠ 00b.
    public static let sgl = Capability("SGL") { p in
        let s = p.identify.sgls & 3
        return s == 0 ? "Identify Controller SGLS bits 1:0 = 00b" : nil
    }

    /// Controller Memory Buffer: CAP.CMBS (bit 57) = 1.
    public static let cmb = Capability("CMB") { p in p.cap.cmbs ? nil : "CAP.CMBS (bit 57) = 0" }

    /// Persistent Memory Region: CAP.PMRS (bit 56) = 1.
    public static let pmr = Capability("PMR") { p in p.cap.pmrs ? nil : "CAP.PMRS (bit 56) = 0" }

    /// NVM Subsystem Reset: CAP.NSSRS (bit 36) = 1.
    public static let nssr = Capability("NVM Subsystem Reset") { p in p.cap.nssrs ? nil : "CAP.NSSRS (bit 36) = 0" }

    /// A namespace formatted with metadata: Identify Namespace LBAF[FLBAS].MS > 0 on some active namespace.
    public static let metadata = Capability("metadata") { p in
        p.namespaces.contains { $0.metadataSize > 0 } ? nil
            : "Identify Namespace LBAF[FLBAS].MS = 0 on every active namespace (\(p.namespaces.map { "nsid \($0.nsid)" }.joined(separator: ", ")))"
    }

    /// End-to-end protection information: Identify Namespace DPS bits 2:0 ≠ 0 on some active namespace.
    public static let protectionInformation = Capability("protection information") { p in
        p.namespaces.contains { $0.dps & 7 != 0 } ? nil : "Identify Namespace DPS bits 2:0 = 000b on every active namespace"
    }

    /// Zoned Namespace Command Set: CAP.CSS bit 6 (I/O Command Sets) = 1 and a namespace whose Identify
    /// Namespace for CSI 02h (CNS 05h) succeeds.
    public static let zns = Capability("ZNS") { p in
        if p.cap.css & 0x40 == 0 { return "CAP.CSS bit 6 (I/O Command Set support) = 0" }
        return p.zonedNamespaces.isEmpty ? "no active namespace answers Identify CNS 05h CSI 02h (Zoned Namespace Command Set)" : nil
    }

    /// MSI-X with more than one vector (one per queue).
    public static let msix = Capability("MSI-X") { p in
        if p.interruptKind != .msix { return "the function's interrupts are \(p.interruptKind.rawValue), not MSI-X (MSI-X capability absent or backend \(p.backend))" }
        return p.supportedVectors > 1 ? nil : "MSI-X Table Size = \(p.supportedVectors) vector (needs 2 or more)"
    }

    /// Namespace Management: Identify Controller OACS bit 3 = 1.
    public static let namespaceManagement = Capability("Namespace Management") { p in
        p.identify.oacs & 0x8 != 0 ? nil : "Identify Controller OACS bit 3 = 0"
    }

    /// A second controller to talk to (`NVMEKIT_DEVICES` lists more than one function); the simulator target
    /// has one controller.
    public static let secondController = Capability("a second controller") { p in
        if p.target.isSimulator { return "the simulator target has one controller (set NVMEKIT_TARGET and NVMEKIT_DEVICES)" }
        return p.target.otherDevices.isEmpty ? "NVMEKIT_DEVICES lists no function besides \(p.target)" : nil
    }

    /// The in-process simulator: for tests that inject faults or configure the controller (`NVMeTest.simulator`).
    public static let simulator = Capability("the simulator") { p in
        p.target.isSimulator ? nil : "the target is \(p.target), not the simulator (unset NVMEKIT_TARGET)"
    }

    /// A PCI function (not the simulator): for tests of config space, FLR, real DMA.
    public static let pciFunction = Capability("a PCI function") { p in
        p.target.isSimulator ? "the target is the simulator (set NVMEKIT_TARGET=<BDF>)" : nil
    }
}

/// What capability checks read: registers, Identify data and the target, gathered once from an open controller.
public struct CapabilityProbe: Sendable {
    public var cap: ControllerCapabilities
    public var identify: IdentifyController
    public var namespaces: [Namespace]
    /// Active namespaces that answered Identify CNS 05h for CSI 02h.
    public var zonedNamespaces: [UInt32]
    public var interruptKind: InterruptKind
    public var supportedVectors: Int
    public var backend: String
    public var target: TestTarget

    public init(cap: ControllerCapabilities, identify: IdentifyController, namespaces: [Namespace],
                zonedNamespaces: [UInt32] = [], interruptKind: InterruptKind, supportedVectors: Int, backend: String,
                target: TestTarget) {
        self.cap = cap; self.identify = identify; self.namespaces = namespaces; self.zonedNamespaces = zonedNamespaces
        self.interruptKind = interruptKind; self.supportedVectors = supportedVectors; self.backend = backend
        self.target = target
    }

    /// Reads the probe from `controller` (Identify Controller is re-read when the init sequence skipped it).
    public init(_ controller: Controller, target: TestTarget) throws {
        var id = IdentifyController()
        let bytes = controller.identifyData.count == 4096 ? controller.identifyData
            : try controller.identify(cns: 1)
        id.bytes = bytes
        var zoned: [UInt32] = []
        if controller.cap.css & 0x40 != 0 {
            for ns in controller.namespaces {
                if let r = try? controller.identifyWithCompletion(cns: 0x05, nsid: ns.nsid, csi: 2), r.isSuccess {
                    zoned.append(ns.nsid)
                }
            }
        }
        self.init(cap: controller.cap, identify: id, namespaces: controller.namespaces, zonedNamespaces: zoned,
                  interruptKind: controller.interrupts.kind, supportedVectors: controller.interrupts.supportedVectors,
                  backend: controller.device.backend, target: target)
    }
}
