import CNVMeShim

/// Writes 1 to an eventfd, as the kernel does when a VFIO-routed interrupt fires.
func nvmekitTestSignal(_ fd: Int32) -> Int32 { nvmekit_eventfd_signal(fd) }
