import Testing
import NVMeSpec
@testable import NVMePlatform

/// A BAR that reads all ones, as a removed device does.
final class AllOnesBAR: RegisterSpace, @unchecked Sendable {
    let length = 0x4000
    func read32(at offset: Int) -> UInt32 { 0xFFFF_FFFF }
    func write32(_ value: UInt32, at offset: Int) {}
    func read64(at offset: Int) -> UInt64 { .max }
    func write64(_ value: UInt64, at offset: Int) {}
}

@Suite("PlatformError messages say what happened and the command that fixes it")
struct PlatformErrorTests {
    @Test func capReadingAllOnesMeansDeviceGone() {
        let error = #expect(throws: PlatformError.self) { try AllOnesBAR().checkPresent(address: "0000:01:00.0") }
        #expect(error == .deviceGone(address: "0000:01:00.0", register: "CAP", value: .max))
        #expect(error?.description == "CAP of 0000:01:00.0 reads all ones (0xffffffffffffffff): the device is not answering "
            + "(removed, stuck in reset, or memory space disabled in PCI COMMAND). Check `lspci -vv -s 0000:01:00.0`; "
            + "after a removal, rescan: `echo 1 > /sys/bus/pci/rescan`.")
    }

    @Test func twoMiBHugepageShortageGivesTheNrHugepagesCommand() {
        let text = PlatformError.noHugepages(bytes: 2 << 20, pageSize: 2 << 20, free: 0, total: 0).description
        #expect(text == "Could not allocate 2 MiB of DMA memory in 2 MiB hugepages: 0 of 0 free. "
            + "Reserve some as root: `echo 64 > /proc/sys/vm/nr_hugepages`; check with `grep Huge /proc/meminfo`.")
    }

    @Test func largeHugepageRequestReservesEnoughPages() {
        let text = PlatformError.noHugepages(bytes: 256 << 20, pageSize: 2 << 20, free: 3, total: 64).description
        #expect(text.contains("3 of 64 free"))
        #expect(text.contains("`echo 128 > /proc/sys/vm/nr_hugepages`"))
    }

    @Test func unsafeBackendsNeedTheOptIn() {
        let text = PlatformError.unsafeBackendNotAllowed(backend: "noiommu").description
        #expect(text.contains("The noiommu backend lets the device DMA to any physical memory"))
        #expect(text.contains("--unsafe"))
        #expect(text.contains("--backend vfio"))
    }

    @Test func boundToAnotherDriverNamesBindAndUnbind() {
        let text = PlatformError.boundToOtherDriver(address: "0000:01:00.0", driver: "nvme", needed: "vfio-pci").description
        #expect(text == "0000:01:00.0 is bound to nvme, not vfio-pci. Bind it first: `nvmekit bind --driver vfio 0000:01:00.0` "
            + "(`nvmekit unbind 0000:01:00.0` gives it back to nvme).")
        let uio = PlatformError.boundToOtherDriver(address: "0000:01:00.0", driver: "vfio-pci", needed: "uio_pci_generic")
        #expect(uio.description.contains("`nvmekit bind --driver uio 0000:01:00.0`"))
    }

    @Test func noIOMMUModeOffNamesTheModuleParameter() {
        let text = PlatformError.noIOMMUModeDisabled.description
        #expect(text.contains("echo 1 > /sys/module/vfio/parameters/enable_unsafe_noiommu_mode"))
        #expect(text.contains("CONFIG_VFIO_NOIOMMU"))
    }

    @Test func hiddenPhysicalAddressesNeedRoot() {
        #expect(PlatformError.physicalAddressesHidden.description.contains("CAP_SYS_ADMIN"))
        #expect(PlatformError.physicalAddressesHidden.description.contains("sudo"))
    }

    @Test func vectorOutOfRangeStatesTheTableSize() {
        #expect(PlatformError.vectorOutOfRange(vector: 70, supported: 65).description
            == "Interrupt vector 70 does not exist: the function supports 65 (MSI-X Table Size + 1, or 1 for INTx).")
    }

    @Test func unsafeBackendIsRefusedBeforeTouchingTheDevice() throws {
        // openDevice checks the opt-in right after the address, so this fails the same way on any machine
        // that has the function; with an absent function the address check comes first.
        let error = #expect(throws: PlatformError.self) {
            try openDevice(address: "0000:ff:1f.7", backend: .uio)
        }
        #expect(error == .deviceNotFound(address: "0000:ff:1f.7"))
    }

    @Test func malformedAddressIsRefusedByTheFactory() {
        #expect(throws: PlatformError.invalidAddress("nvme0")) { try openDevice(address: "nvme0", backend: .vfio) }
    }
}
