import CPCIAccess
import Synchronization

/// PCI enumeration and config access through libpciaccess (the library X.org and DPDK tools use). Its global state
/// is not thread-safe, so every call holds one lock and runs between `pci_system_init` and `pci_system_cleanup`.
/// This file is the only one that touches libpciaccess pointers.
public enum LibPCIAccess {
    /// One function as libpciaccess reports it.
    public struct Entry: Sendable, Hashable {
        public var address: PCIAddress
        public var vendorID: UInt16, deviceID: UInt16
        public var subsystemVendorID: UInt16, subsystemDeviceID: UInt16
        public var classCode: UInt32
        public var revision: UInt8
        /// From pci.ids, when installed.
        public var vendorName: String?, deviceName: String?
    }

    private static let lock = Mutex(())

    /// Functions whose 24-bit class code matches `classCode` under `mask` (default: NVMe, 0x010802).
    public static func functions(classCode: UInt32 = PCIConfigHeader.nvmeClassCode,
                                 mask: UInt32 = 0xFF_FFFF) throws -> [Entry] {
        try lock.withLock { _ in
            let rc = pci_system_init()
            guard rc == 0 else { throw PlatformError.system(what: "libpciaccess pci_system_init", errno: .init(rawValue: rc)) }
            defer { pci_system_cleanup() }
            let any: UInt32 = 0xFFFF_FFFF   // PCI_MATCH_ANY
            var match = pci_id_match(vendor_id: any, device_id: any, subvendor_id: any, subdevice_id: any,
                                     device_class: classCode, device_class_mask: mask, match_data: 0)
            guard let it = pci_id_match_iterator_create(&match) else { return [] }
            defer { pci_iterator_destroy(it) }
            var out: [Entry] = []
            while let d = pci_device_next(it) {
                let dev = d.pointee
                out.append(Entry(
                    address: PCIAddress(domain: dev.domain, bus: dev.bus, device: dev.dev, function: dev.func),
                    vendorID: dev.vendor_id, deviceID: dev.device_id,
                    subsystemVendorID: dev.subvendor_id, subsystemDeviceID: dev.subdevice_id,
                    classCode: dev.device_class & 0xFF_FFFF, revision: dev.revision,
                    vendorName: pci_device_get_vendor_name(d).map { String(cString: $0) },
                    deviceName: pci_device_get_device_name(d).map { String(cString: $0) }))
            }
            return out.sorted { $0.address < $1.address }
        }
    }

    /// Reads `count` bytes of config space from `offset` (root sees all 4096 bytes; others see 64).
    public static func readConfig(_ address: PCIAddress, offset: Int, count: Int) throws -> [UInt8] {
        try lock.withLock { _ in
            let rc = pci_system_init()
            guard rc == 0 else { throw PlatformError.system(what: "libpciaccess pci_system_init", errno: .init(rawValue: rc)) }
            defer { pci_system_cleanup() }
            guard let d = pci_device_find_by_slot(address.domain, UInt32(address.bus), UInt32(address.device),
                                                  UInt32(address.function)) else {
                throw PlatformError.deviceNotFound(address: address.description)
            }
            var buf = [UInt8](repeating: 0, count: count)
            var got: pciaddr_t = 0
            let r = pci_device_cfg_read(d, &buf, pciaddr_t(offset), pciaddr_t(count), &got)
            guard r == 0 else {
                throw PlatformError.system(what: "libpciaccess config read of \(address)", errno: .init(rawValue: r))
            }
            return Array(buf.prefix(Int(got)))
        }
    }
}
