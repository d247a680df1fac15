#define _GNU_SOURCE
#include "nvmekit_shim.h"
#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

int nvmekit_eventfd_create(int nonblocking) {
    int fd = eventfd(0, EFD_CLOEXEC | (nonblocking ? EFD_NONBLOCK : 0));
    return fd < 0 ? -errno : fd;
}

int nvmekit_eventfd_signal(int fd) {
    uint64_t one = 1;
    ssize_t n = write(fd, &one, sizeof one);
    return n == (ssize_t)sizeof one ? 0 : -errno;
}

int nvmekit_eventfd_read(int fd, uint64_t *value) {
    ssize_t n = read(fd, value, sizeof *value);
    return n == (ssize_t)sizeof *value ? 0 : -errno;
}

int nvmekit_poll_readable(int fd, int64_t timeout_ns) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    struct timespec ts, *tsp = NULL;
    if (timeout_ns >= 0) {
        ts.tv_sec = timeout_ns / 1000000000;
        ts.tv_nsec = timeout_ns % 1000000000;
        tsp = &ts;
    }
    for (;;) {
        int r = ppoll(&p, 1, tsp, NULL);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -errno;
        return r > 0 ? 1 : 0;
    }
}

int nvmekit_poll_readable_or_stop(int fd, int stop_fd, int64_t timeout_ns) {
    struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = stop_fd, .events = POLLIN}};
    struct timespec ts, *tsp = NULL;
    if (timeout_ns >= 0) {
        ts.tv_sec = timeout_ns / 1000000000;
        ts.tv_nsec = timeout_ns % 1000000000;
        tsp = &ts;
    }
    for (;;) {
        int r = ppoll(p, 2, tsp, NULL);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -errno;
        if (r == 0) return 0;
        if (p[1].revents) return 2;
        return 1;
    }
}

uint64_t nvmekit_rdtsc(void) {
#if defined(__x86_64__)
    uint32_t lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
#else
    return nvmekit_monotonic_ns();
#endif
}

uint64_t nvmekit_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
