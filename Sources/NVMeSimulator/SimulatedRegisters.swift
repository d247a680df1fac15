import NVMeSpec
import NVMePlatform

/// Controller register file of the simulated controller (replaced by the simulator's full model).
public enum SimulatorDefaults {
    /// CAP as QEMU 7.2 reports it: MQES 2047, CQR 1, TO 15, DSTRD 0, CSS NVM + I/O command sets, MPSMAX 4.
    public static let cap = ControllerCapabilities(rawValue: 0x0040_1820_0F01_07FF)
}
