// NVMeKit C shim: the only place with volatile access, barriers and raw ioctl numbers.
// Every function is prefixed nvmekit_ and typed; Swift never spells an ioctl request or a volatile access.
#ifndef NVMEKIT_SHIM_H
#define NVMEKIT_SHIM_H

#include <stdint.h>
#include <stddef.h>
#include "nvmekit_sys.h"

// ---- Volatile MMIO --------------------------------------------------------------------------------------------
static inline uint32_t nvmekit_mmio_read32(const void *base, size_t off) {
    return *(const volatile uint32_t *)((const char *)base + off);
}
static inline void nvmekit_mmio_write32(void *base, size_t off, uint32_t v) {
    *(volatile uint32_t *)((char *)base + off) = v;
}
// 64-bit registers (CAP, ASQ, ACQ) are read as two 32-bit halves, low first, as NVMe allows and as devices that
// reject 8-byte accesses require.
static inline uint64_t nvmekit_mmio_read64(const void *base, size_t off) {
    uint64_t lo = nvmekit_mmio_read32(base, off);
    uint64_t hi = nvmekit_mmio_read32(base, off + 4);
    return lo | (hi << 32);
}
static inline void nvmekit_mmio_write64(void *base, size_t off, uint64_t v) {
    nvmekit_mmio_write32(base, off, (uint32_t)v);
    nvmekit_mmio_write32(base, off + 4, (uint32_t)(v >> 32));
}

// ---- Barriers (x86-64 and arm64) ------------------------------------------------------------------------------
// wmb: order normal-memory stores (an SQE) before a later MMIO store (the doorbell).
static inline void nvmekit_wmb(void) {
#if defined(__x86_64__)
    __asm__ __volatile__("sfence" ::: "memory");
#elif defined(__aarch64__)
    __asm__ __volatile__("dsb st" ::: "memory");
#else
    __sync_synchronize();
#endif
}
// rmb: order an earlier load before later loads.
static inline void nvmekit_rmb(void) {
#if defined(__x86_64__)
    __asm__ __volatile__("lfence" ::: "memory");
#elif defined(__aarch64__)
    __asm__ __volatile__("dsb ld" ::: "memory");
#else
    __sync_synchronize();
#endif
}
// dma_rmb: after seeing a CQE's phase tag flip, order that load before the loads of the rest of the CQE.
static inline void nvmekit_dma_rmb(void) {
#if defined(__x86_64__)
    __asm__ __volatile__("" ::: "memory"); // x86 does not reorder loads with loads
#elif defined(__aarch64__)
    __asm__ __volatile__("dmb oshld" ::: "memory");
#else
    __sync_synchronize();
#endif
}
// Full fence for host memory shared with another thread (the simulator's processing thread).
static inline void nvmekit_mb(void) { __sync_synchronize(); }

// Volatile loads/stores on DMA memory that a device (or the simulator thread) writes behind our back.
static inline uint32_t nvmekit_load32(const void *p) { return *(const volatile uint32_t *)p; }
static inline void nvmekit_store32(void *p, uint32_t v) { *(volatile uint32_t *)p = v; }
static inline uint16_t nvmekit_load16(const void *p) { return *(const volatile uint16_t *)p; }

// ---- eventfd --------------------------------------------------------------------------------------------------
// Returns the fd or -errno.
int nvmekit_eventfd_create(int nonblocking);
// Adds 1 to the counter. Returns 0 or -errno.
int nvmekit_eventfd_signal(int fd);
// Reads and clears the counter into *value. Returns 0, -EAGAIN when nothing is pending (nonblocking fd), or -errno.
int nvmekit_eventfd_read(int fd, uint64_t *value);
// Waits until fd is readable or timeout_ns passes (negative: forever). Returns 1 readable, 0 timeout, -errno.
int nvmekit_poll_readable(int fd, int64_t timeout_ns);
// Waits until fd or stop_fd is readable or timeout_ns passes (negative: forever).
// Returns 1 when fd is readable, 2 when stop_fd is (stop wins), 0 on timeout, -errno.
int nvmekit_poll_readable_or_stop(int fd, int stop_fd, int64_t timeout_ns);

// ---- TSC ------------------------------------------------------------------------------------------------------
// Cycle counter for hot loops (the guest's clocksource traps); calibrate against CLOCK_MONOTONIC once.
uint64_t nvmekit_rdtsc(void);
uint64_t nvmekit_monotonic_ns(void);

#endif
