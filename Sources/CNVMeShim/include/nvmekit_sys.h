// NVMeKit C shim, system side: typed wrappers for every VFIO ioctl NVMeKit issues, UIO, mmap, pagemap and the
// small file helpers sysfs needs. Every function returns a non-negative value on success and -errno on failure
// (pointer-returning ones fill *err), so Swift turns failures into `Errno` without touching the C errno.
#ifndef NVMEKIT_SYS_H
#define NVMEKIT_SYS_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

// ---- Files (sysfs, procfs, device nodes) ----------------------------------------------------------------------
// Opens `path` (flags: 0 read-only, 1 write-only, 2 read-write; always O_CLOEXEC). Returns fd or -errno.
int nvmekit_open(const char *path, int flags);
int nvmekit_close(int fd);
// Opens a block device O_RDONLY|O_EXCL (O_CLOEXEC): fails with -EBUSY while it is mounted (in any mount namespace),
// active swap, an md/dm member or otherwise claimed exclusively, and keeps others from claiming it while held.
// Returns fd or -errno.
int nvmekit_open_exclusive(const char *path);
// Reads up to `cap` bytes of a small file from offset 0. Returns the byte count or -errno.
ssize_t nvmekit_read_file(const char *path, char *buf, size_t cap);
// Writes `len` bytes to `path` in one write(2) (sysfs attributes need one write). Returns 0 or -errno.
int nvmekit_write_file(const char *path, const char *data, size_t len);
// Creates or truncates `path` (mode 0644) and writes `data`; creates the parent directory (one level) if missing.
int nvmekit_create_file(const char *path, const char *data, size_t len);
int nvmekit_unlink(const char *path);
// Target of a symlink, NUL-terminated. Returns its length or -errno.
ssize_t nvmekit_readlink(const char *path, char *buf, size_t cap);
// Names in a directory (without . and ..), each followed by '\n'. Returns the byte count, -ERANGE if `cap` is
// too small, or -errno.
ssize_t nvmekit_list_dir(const char *path, char *buf, size_t cap);
// 0 when `path` is accessible with `mode` (R_OK=4, W_OK=2, F_OK=0) by the effective user, else -errno.
int nvmekit_access(const char *path, int mode);
// Positional I/O on a device fd (VFIO regions, sysfs config, resource files). Return the byte count or -errno.
ssize_t nvmekit_pread(int fd, void *buf, size_t len, uint64_t offset);
ssize_t nvmekit_pwrite(int fd, const void *buf, size_t len, uint64_t offset);
uint32_t nvmekit_geteuid(void);

// ---- Memory ---------------------------------------------------------------------------------------------------
// Maps `len` bytes of `fd` at `offset`, shared, read-write (BARs). NULL on failure with *err = errno.
void *nvmekit_mmap_device(int fd, size_t len, uint64_t offset, int *err);
// Anonymous memory, populated and locked. `huge_shift` 0: normal pages; 21: 2 MiB hugepages; 30: 1 GiB.
// NULL on failure with *err = errno.
void *nvmekit_mmap_anonymous(size_t len, int huge_shift, int *err);
// Reserves `len` bytes of address space with no access (guard pages around hugepage mappings).
void *nvmekit_mmap_reserve(size_t len, int *err);
// Maps anonymous memory exactly at `addr` inside a reservation (MAP_FIXED). NULL on failure with *err.
// With populate 0 nothing is faulted in, so a NUMA policy (mbind) can be applied before nvmekit_mlock.
void *nvmekit_mmap_anonymous_at(void *addr, size_t len, int huge_shift, int populate, int *err);
int nvmekit_munmap(void *addr, size_t len);
// Locks (and so faults in) [addr, addr+len). Returns 0 or -errno.
int nvmekit_mlock(void *addr, size_t len);
long nvmekit_page_size(void);
// Reads the /proc/self/pagemap entry of the page holding `vaddr` from an open pagemap fd. Returns 0 or -errno.
int nvmekit_pagemap_entry(int pagemap_fd, uintptr_t vaddr, uint64_t *entry);
// Address of a pointer as an integer and back (Swift keeps raw addresses as integers in Sendable state).
static inline uintptr_t nvmekit_address(const void *p) { return (uintptr_t)p; }
static inline void *nvmekit_pointer(uintptr_t a) { return (void *)a; }

// ---- BAR access by integer base address (Swift keeps mapped BARs as integers) ---------------------------------
static inline uint32_t nvmekit_bar_read32(uintptr_t base, size_t off) {
    return *(const volatile uint32_t *)(base + off);
}
static inline void nvmekit_bar_write32(uintptr_t base, size_t off, uint32_t v) {
    *(volatile uint32_t *)(base + off) = v;
}

// ---- VFIO (linux/vfio.h; struct layouts pinned by _Static_assert in vfio.c) -----------------------------------
#define NVMEKIT_VFIO_TYPE1_IOMMU 1
#define NVMEKIT_VFIO_TYPE1v2_IOMMU 3
#define NVMEKIT_VFIO_NOIOMMU_IOMMU 8
#define NVMEKIT_VFIO_GROUP_FLAGS_VIABLE 1u
#define NVMEKIT_VFIO_GROUP_FLAGS_CONTAINER_SET 2u
#define NVMEKIT_VFIO_DEVICE_FLAGS_RESET 1u
#define NVMEKIT_VFIO_REGION_FLAG_READ 1u
#define NVMEKIT_VFIO_REGION_FLAG_WRITE 2u
#define NVMEKIT_VFIO_REGION_FLAG_MMAP 4u
#define NVMEKIT_VFIO_PCI_BAR0_REGION_INDEX 0u
#define NVMEKIT_VFIO_PCI_CONFIG_REGION_INDEX 7u
#define NVMEKIT_VFIO_PCI_INTX_IRQ_INDEX 0u
#define NVMEKIT_VFIO_PCI_MSI_IRQ_INDEX 1u
#define NVMEKIT_VFIO_PCI_MSIX_IRQ_INDEX 2u
#define NVMEKIT_VFIO_IRQ_INFO_EVENTFD 1u
#define NVMEKIT_VFIO_IRQ_INFO_MASKABLE 2u
#define NVMEKIT_VFIO_IRQ_INFO_AUTOMASKED 4u
#define NVMEKIT_VFIO_IRQ_INFO_NORESIZE 8u
#define NVMEKIT_VFIO_API_VERSION 0
#define NVMEKIT_MAX_SPARSE_AREAS 8
#define NVMEKIT_MAX_IOVA_RANGES 16

int nvmekit_vfio_open_container(void);
int nvmekit_vfio_get_api_version(int container);
// > 0 when the container supports IOMMU type `type`.
int nvmekit_vfio_check_extension(int container, uint32_t type);
int nvmekit_vfio_set_iommu(int container, uint32_t type);
int nvmekit_vfio_group_status(int group, uint32_t *flags);
int nvmekit_vfio_group_set_container(int group, int container);
int nvmekit_vfio_group_unset_container(int group);
// Returns the device fd or -errno.
int nvmekit_vfio_group_get_device_fd(int group, const char *bdf);

struct nvmekit_vfio_device_info { uint32_t flags, num_regions, num_irqs; };
int nvmekit_vfio_device_info(int device, struct nvmekit_vfio_device_info *out);

// One region with its mmap-able sub-areas (sparse mmap capability) if the kernel reports them.
struct nvmekit_vfio_region_info {
    uint32_t flags, index;
    uint64_t size, offset;
    // -1: no sparse capability (the whole region may be mapped when MMAP is set); else the number of areas.
    int32_t sparse_count;
    uint64_t sparse_offset[NVMEKIT_MAX_SPARSE_AREAS];
    uint64_t sparse_size[NVMEKIT_MAX_SPARSE_AREAS];
    // 1 when the kernel says the MSI-X table may be mapped (VFIO_REGION_INFO_CAP_MSIX_MAPPABLE).
    int32_t msix_mappable;
};
int nvmekit_vfio_region_info(int device, uint32_t index, struct nvmekit_vfio_region_info *out);
uint64_t nvmekit_vfio_region_sparse_offset(const struct nvmekit_vfio_region_info *r, int i);
uint64_t nvmekit_vfio_region_sparse_size(const struct nvmekit_vfio_region_info *r, int i);

int nvmekit_vfio_irq_info(int device, uint32_t index, uint32_t *flags, uint32_t *count);
// Routes vectors start..start+count-1 of `index` to `fds` (-1 de-assigns a vector). ACTION_TRIGGER|DATA_EVENTFD.
int nvmekit_vfio_set_irq_eventfds(int device, uint32_t index, uint32_t start, uint32_t count, const int32_t *fds);
// Disables every vector of `index` (ACTION_TRIGGER|DATA_NONE, count 0).
int nvmekit_vfio_disable_irqs(int device, uint32_t index);
// ACTION_MASK (mask=1) or ACTION_UNMASK (mask=0) with DATA_NONE, e.g. to re-enable INTx after it fired.
int nvmekit_vfio_mask_irq(int device, uint32_t index, uint32_t start, uint32_t count, int mask);
int nvmekit_vfio_device_reset(int device);
// Secondary bus reset of every device sharing the slot/bus: needs the fds of all affected groups.
int nvmekit_vfio_hot_reset(int device, const int32_t *group_fds, uint32_t count);

int nvmekit_vfio_dma_map(int container, uintptr_t vaddr, uint64_t iova, uint64_t size);
int nvmekit_vfio_dma_unmap(int container, uint64_t iova, uint64_t size);
// Valid IOVA ranges of the type1 container (VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) and the supported page sizes.
// *count is set to the number of ranges (0 if the kernel reports none).
int nvmekit_vfio_iommu_info(int container, uint64_t *pgsizes, uint64_t *starts, uint64_t *ends, uint32_t cap,
                            uint32_t *count);

// ---- UIO --------------------------------------------------------------------------------------------------------
// Blocks until the UIO device's interrupt counter changes or timeout_ns passes (negative: forever).
// Returns 1 with *count set, 0 on timeout, -errno.
int nvmekit_uio_wait(int uio_fd, int64_t timeout_ns, uint32_t *count);
// Re-enables the interrupt (uio_pci_generic masks INTx through PCI COMMAND.INTx_DISABLE when it fires).
int nvmekit_uio_irq_control(int uio_fd, int enable);

#endif
