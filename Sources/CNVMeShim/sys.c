#define _GNU_SOURCE
#include "nvmekit_sys.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/mman.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int nvmekit_open(const char *path, int flags) {
    int f = flags == 2 ? O_RDWR : flags == 1 ? O_WRONLY : O_RDONLY;
    int fd = open(path, f | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int nvmekit_close(int fd) { return close(fd) < 0 ? -errno : 0; }

int nvmekit_open_exclusive(const char *path) {
    int fd;
    do { fd = open(path, O_RDONLY | O_EXCL | O_CLOEXEC); } while (fd < 0 && errno == EINTR);
    return fd < 0 ? -errno : fd;
}

ssize_t nvmekit_read_file(const char *path, char *buf, size_t cap) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    size_t got = 0;
    while (got < cap) {
        ssize_t n = read(fd, buf + got, cap - got);
        if (n < 0) { if (errno == EINTR) continue; int e = errno; close(fd); return -e; }
        if (n == 0) break;
        got += (size_t)n;
    }
    close(fd);
    return (ssize_t)got;
}

int nvmekit_write_file(const char *path, const char *data, size_t len) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    ssize_t n = write(fd, data, len);
    int e = n < 0 ? errno : 0;
    close(fd);
    if (n < 0) return -e;
    return (size_t)n == len ? 0 : -EIO;
}

int nvmekit_create_file(const char *path, const char *data, size_t len) {
    char dir[4096];
    size_t n = strlen(path);
    if (n >= sizeof dir) return -ENAMETOOLONG;
    memcpy(dir, path, n + 1);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) { *slash = 0; if (mkdir(dir, 0755) < 0 && errno != EEXIST) return -errno; }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return -errno;
    ssize_t w = write(fd, data, len);
    int e = w < 0 ? errno : 0;
    close(fd);
    if (w < 0) return -e;
    return (size_t)w == len ? 0 : -EIO;
}

int nvmekit_unlink(const char *path) { return unlink(path) < 0 ? -errno : 0; }

ssize_t nvmekit_readlink(const char *path, char *buf, size_t cap) {
    if (cap == 0) return -ERANGE;
    ssize_t n = readlink(path, buf, cap - 1);
    if (n < 0) return -errno;
    buf[n] = 0;
    return n;
}

ssize_t nvmekit_list_dir(const char *path, char *buf, size_t cap) {
    DIR *d = opendir(path);
    if (!d) return -errno;
    size_t used = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        size_t n = strlen(e->d_name);
        if (used + n + 1 > cap) { closedir(d); return -ERANGE; }
        memcpy(buf + used, e->d_name, n);
        buf[used + n] = '\n';
        used += n + 1;
    }
    closedir(d);
    return (ssize_t)used;
}

int nvmekit_access(const char *path, int mode) { return eaccess(path, mode) < 0 ? -errno : 0; }

ssize_t nvmekit_pread(int fd, void *buf, size_t len, uint64_t offset) {
    ssize_t n;
    do { n = pread(fd, buf, len, (off_t)offset); } while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
}

ssize_t nvmekit_pwrite(int fd, const void *buf, size_t len, uint64_t offset) {
    ssize_t n;
    do { n = pwrite(fd, buf, len, (off_t)offset); } while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
}

uint32_t nvmekit_geteuid(void) { return (uint32_t)geteuid(); }

void *nvmekit_mmap_device(int fd, size_t len, uint64_t offset, int *err) {
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)offset);
    if (p == MAP_FAILED) { *err = errno; return NULL; }
    *err = 0;
    return p;
}

static int huge_flags(int huge_shift) {
    if (huge_shift == 0) return 0;
    return MAP_HUGETLB | (huge_shift << MAP_HUGE_SHIFT);
}

void *nvmekit_mmap_anonymous(size_t len, int huge_shift, int *err) {
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE | huge_flags(huge_shift), -1, 0);
    if (p == MAP_FAILED) { *err = errno; return NULL; }
    if (mlock(p, len) < 0) { *err = errno; munmap(p, len); return NULL; }
    *err = 0;
    return p;
}

void *nvmekit_mmap_reserve(size_t len, int *err) {
    void *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) { *err = errno; return NULL; }
    *err = 0;
    return p;
}

void *nvmekit_mmap_anonymous_at(void *addr, size_t len, int huge_shift, int populate, int *err) {
    void *p = mmap(addr, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | (populate ? MAP_POPULATE : 0) | huge_flags(huge_shift), -1, 0);
    if (p == MAP_FAILED) { *err = errno; return NULL; }
    *err = 0;
    return p;
}

int nvmekit_mlock(void *addr, size_t len) { return mlock(addr, len) < 0 ? -errno : 0; }

int nvmekit_munmap(void *addr, size_t len) { return munmap(addr, len) < 0 ? -errno : 0; }

long nvmekit_page_size(void) { return sysconf(_SC_PAGESIZE); }

int nvmekit_pagemap_entry(int pagemap_fd, uintptr_t vaddr, uint64_t *entry) {
    long ps = sysconf(_SC_PAGESIZE);
    ssize_t n = nvmekit_pread(pagemap_fd, entry, sizeof *entry, (uint64_t)(vaddr / (uintptr_t)ps) * 8u);
    if (n < 0) return (int)n;
    return n == (ssize_t)sizeof *entry ? 0 : -EIO;
}

int nvmekit_uio_wait(int uio_fd, int64_t timeout_ns, uint32_t *count) {
    struct pollfd p = {.fd = uio_fd, .events = POLLIN};
    struct timespec ts, *tsp = NULL;
    if (timeout_ns >= 0) { ts.tv_sec = timeout_ns / 1000000000; ts.tv_nsec = timeout_ns % 1000000000; tsp = &ts; }
    for (;;) {
        int r = ppoll(&p, 1, tsp, NULL);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -errno;
        if (r == 0) return 0;
        ssize_t n = read(uio_fd, count, sizeof *count);
        if (n < 0) return -errno;
        return n == (ssize_t)sizeof *count ? 1 : -EIO;
    }
}

int nvmekit_uio_irq_control(int uio_fd, int enable) {
    uint32_t v = enable ? 1 : 0;
    ssize_t n = write(uio_fd, &v, sizeof v);
    return n == (ssize_t)sizeof v ? 0 : -errno;
}
