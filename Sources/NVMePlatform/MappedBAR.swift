import CNVMeShim
import Synchronization
import SystemPackage

/// A BAR mapped into this process: 32-bit volatile accesses through the C shim (the base is kept as an integer,
/// never dereferenced in Swift). Where the kernel refuses to map part of the BAR (VFIO sparse mmap around the MSI-X
/// table), accesses fall back to pread/pwrite on the backing fd, so every offset works.
final class MappedBAR: RegisterSpace, @unchecked Sendable {
    struct Area { var offset: Int; var length: Int; var base: UInt }
    let length: Int
    private let areas: [Area]
    private let fd: OwnedDescriptor?
    private let fdOffset: UInt64
    private let revoked = Atomic<Bool>(false)

    /// `areas` are mapped parts; `fd`/`fdOffset` serve everything else (nil: nothing else is accessible).
    init(length: Int, areas: [Area], fd: OwnedDescriptor?, fdOffset: UInt64) {
        self.length = length; self.areas = areas; self.fd = fd; self.fdOffset = fdOffset
    }

    deinit { for a in areas { _ = nvmekit_munmap(nvmekit_pointer(a.base), a.length) } }

    /// Detaches the BAR from the device without unmapping the addresses: each mapped area is replaced in place by
    /// anonymous memory filled with ones, so a register access after the device was closed — from a thread that
    /// still holds the `Controller` — reads FFFFFFFFh (as from a removed device) and its writes reach nothing,
    /// instead of faulting. The mapping no longer holds the device file, so closing the descriptors releases the
    /// function. Idempotent.
    func revoke() {
        guard !revoked.exchange(true, ordering: .acquiringAndReleasing) else { return }
        for a in areas {
            var err: Int32 = 0
            if nvmekit_mmap_anonymous_at(nvmekit_pointer(a.base), a.length, 0, 0, &err) != nil {
                for o in stride(from: 0, to: a.length, by: 4) { nvmekit_bar_write32(a.base, o, 0xFFFF_FFFF) }
            }
            // When the replacement fails the device mapping stays: a late access must never fault.
        }
    }

    var isRevoked: Bool { revoked.load(ordering: .acquiring) }

    @inline(__always) private func area(_ offset: Int) -> Area? {
        for a in areas where offset >= a.offset && offset <= a.offset + a.length - 4 { return a }
        return nil
    }

    func read32(at offset: Int) -> UInt32 {
        if let a = area(offset) { return nvmekit_bar_read32(a.base, offset - a.offset) }
        var v: UInt32 = 0xFFFF_FFFF
        // Any offset may come from a test (a doorbell offset set for fuzzing): one outside the file reads all ones.
        if let at = fileOffset(offset) { _ = try? fd?.withDescriptor { d in nvmekit_pread(d, &v, 4, at) } }
        return v
    }

    func write32(_ value: UInt32, at offset: Int) {
        if let a = area(offset) { nvmekit_bar_write32(a.base, offset - a.offset, value); return }
        var v = value
        if let at = fileOffset(offset) { _ = try? fd?.withDescriptor { d in nvmekit_pwrite(d, &v, 4, at) } }
    }

    /// The fd offset of BAR offset `offset`, nil when it is negative or past what a file offset can say.
    private func fileOffset(_ offset: Int) -> UInt64? {
        guard offset >= 0 else { return nil }
        let (at, overflow) = fdOffset.addingReportingOverflow(UInt64(offset))
        return overflow || at > UInt64(Int64.max) ? nil : at
    }

    func read64(at offset: Int) -> UInt64 {
        UInt64(read32(at: offset)) | UInt64(read32(at: offset &+ 4)) << 32
    }

    func write64(_ value: UInt64, at offset: Int) {
        write32(UInt32(truncatingIfNeeded: value), at: offset)
        write32(UInt32(truncatingIfNeeded: value >> 32), at: offset &+ 4)
    }

    /// True when `offset` is reached through the mapping (not the pread fallback).
    func isMapped(_ offset: Int) -> Bool { area(offset) != nil }
}

extension RegisterSpace {
    /// Throws `deviceGone` when CAP reads all ones (the device does not answer memory reads).
    public func checkPresent(address: String) throws {
        let cap = read64(at: 0)
        if cap == 0xFFFF_FFFF_FFFF_FFFF { throw PlatformError.deviceGone(address: address, register: "CAP", value: cap) }
    }
}
