#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A detached OS thread for blocking work (polling eventfds) that must not occupy Swift's cooperative pool,
/// which has only as many threads as cores (two in the guest).
enum PlatformThread {
    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    static func detach(_ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        #if canImport(Glibc)
        var tid = pthread_t()
        #else
        var tid: pthread_t?
        #endif
        let rc = pthread_create(&tid, nil, { ctx in
            #if canImport(Glibc)
            let unmanaged = Unmanaged<Box>.fromOpaque(ctx!)
            #else
            let unmanaged = Unmanaged<Box>.fromOpaque(ctx)
            #endif
            unmanaged.takeRetainedValue().body()
            return nil
        }, box)
        precondition(rc == 0, "pthread_create failed: \(rc)")
        #if canImport(Glibc)
        pthread_detach(tid)
        #else
        if let tid { pthread_detach(tid) }
        #endif
    }
}
