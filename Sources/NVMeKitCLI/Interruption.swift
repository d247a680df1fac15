import Foundation
import NVMeDriver
import NVMePlatform
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The write end of the self-pipe: the only thing the asynchronous signal handler touches.
nonisolated(unsafe) private var interruptionPipeWrite: Int32 = -1

/// SIGINT and SIGTERM for every subcommand, so an interrupted run leaves the device safe.
///
/// The signal handler only writes the signal number to a pipe; a dedicated thread reads it and does the work.
/// - First signal: the stop actions run (`nvmekit io` stops submitting, `nvmekit fuzz` ends after the current case)
///   and the command finishes its normal way — outstanding commands are waited for, the integrity map and the
///   results are saved, the controller is closed (`Controller.close()`: CC.EN = 0, Bus Master Enable cleared on
///   uio/noiommu) — and `nvmekit` exits 130. A command that has not finished within `grace` is cut short: every
///   device it opened gets CC.EN = 0 and BME = 0 written at once, and the process exits 130.
/// - Second signal: the same immediate CC.EN = 0 / BME = 0 and exit 130.
final class Interruption: @unchecked Sendable {
    static let shared = Interruption()
    /// 128 + SIGINT, what shells report for an interrupted command.
    static let exitStatus: Int32 = 130

    private struct State {
        var signals = 0
        var installed = false
        var stopActions: [Int: @Sendable () -> Void] = [:]
        var nextID = 0
        var devices: [ObjectIdentifier: WeakDevice] = [:]
    }
    private struct WeakDevice { weak var device: (any NVMeDevice)? }

    private let state = Mutex(State())
    /// How long the command may take to stop after the first signal.
    let grace: Duration

    init(grace: Duration = .seconds(10)) { self.grace = grace }

    /// Installs the handlers (idempotent). Called first thing by `nvmekit`'s `main`.
    func install() {
        let first = state.withLock { s in defer { s.installed = true }; return !s.installed }
        guard first else { return }
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        interruptionPipeWrite = fds[1]
        let reader = fds[0]
        let thread = Thread { [self] in
            var b: UInt8 = 0
            while true {
                let n = read(reader, &b, 1)
                if n == 1 { received(Int32(b)) } else if n < 0 && errno == EINTR { continue } else { return }
            }
        }
        thread.name = "nvmekit-signals"
        thread.start()
        var set = sigset_t()
        sigemptyset(&set)
        for sig in [SIGINT, SIGTERM] {
            _ = signal(sig) { s in
                var b = UInt8(truncatingIfNeeded: s)
                _ = write(interruptionPipeWrite, &b, 1)
            }
            sigaddset(&set, sig)
        }
        // A parent may have started us with the signals blocked (the mask is inherited): take delivery here.
        _ = pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// Whether a SIGINT or SIGTERM arrived.
    var isInterrupted: Bool { state.withLock { $0.signals > 0 } }

    /// Runs `action` on the first signal (at once when it already came). Keep it short: set a flag.
    func onStop(_ action: @escaping @Sendable () -> Void) {
        let now = state.withLock { s -> Bool in
            if s.signals > 0 { return true }
            s.stopActions[s.nextID] = action
            s.nextID += 1
            return false
        }
        if now { action() }
    }

    /// Registers a device for the immediate quiesce (CC.EN = 0, BME = 0) a second signal or the grace expiry does.
    func protect(_ device: any NVMeDevice) {
        state.withLock { $0.devices[ObjectIdentifier(device)] = WeakDevice(device: device) }
    }

    /// Exits 130 when a signal arrived (after the command returned and closed its controllers).
    func exitIfInterrupted() {
        if isInterrupted {
            FileHandle.standardOutput.synchronizeFile()
            exit(Self.exitStatus)
        }
    }

    /// Handles one signal on the reader thread (never inside the signal handler).
    func received(_ signal: Int32) {
        let (count, actions) = state.withLock { s -> (Int, [@Sendable () -> Void]) in
            s.signals += 1
            return (s.signals, s.signals == 1 ? Array(s.stopActions.values) : [])
        }
        let name = signal == SIGTERM ? "SIGTERM" : "SIGINT"
        if count == 1 {
            FileHandle.standardError.write(Data(("\nnvmekit: \(name): stopping — waiting for outstanding commands, saving, "
                + "disabling the controller (again to exit at once)\n").utf8))
            for a in actions { a() }
            let seconds = Double(grace.components.seconds) + Double(grace.components.attoseconds) / 1e18
            DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [self] in
                FileHandle.standardError.write(Data("nvmekit: not stopped within \(grace): disabling the controller now\n".utf8))
                quiesceNow()
                _exit(Self.exitStatus)
            }
        } else {
            FileHandle.standardError.write(Data("nvmekit: \(name) again: disabling the controller and exiting\n".utf8))
            quiesceNow()
            _exit(Self.exitStatus)
        }
    }

    /// CC.EN = 0 and PCI COMMAND.BME = 0 on every registered device still open, without waiting: after this the
    /// controller fetches no command and the function issues no DMA. Register writes on a closed device reach
    /// nothing (its BAR mapping was replaced), so racing `close()` is harmless.
    func quiesceNow() {
        let devices = state.withLock { $0.devices.values.compactMap(\.device) }
        for d in devices {
            var cc = d.bar0.cc
            if cc.rawValue != .max && cc.en {
                cc.en = false
                d.bar0.setCC(cc)
            }
            _ = try? d.config?.disableBusMaster()
        }
    }
}
