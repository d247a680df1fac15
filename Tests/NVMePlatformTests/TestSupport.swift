import CNVMeShim
import NVMePlatform

/// Writes 1 to an eventfd, as the kernel does when a VFIO-routed interrupt fires.
func nvmekitTestSignal(_ fd: Int32) -> Int32 { nvmekit_eventfd_signal(fd) }

/// `Fixtures/` at the package root, found from this file's path (tests run from the build tree).
let fixturesDirectory: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)   // TestSupport.swift, NVMePlatformTests, Tests
    return parts.joined(separator: "/") + "/Fixtures"
}()

func fixture(_ relative: String) -> [UInt8]? {
    try? HostFiles().read(fixturesDirectory + "/" + relative)
}
