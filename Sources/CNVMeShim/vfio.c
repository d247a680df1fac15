#define _GNU_SOURCE
#include "nvmekit_sys.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

// The kernel ABI we rely on (include/uapi/linux/vfio.h, stable since 3.6; caps since 4.x).
_Static_assert(sizeof(struct vfio_group_status) == 8, "vfio_group_status");
_Static_assert(offsetof(struct vfio_group_status, flags) == 4, "vfio_group_status.flags");
_Static_assert(offsetof(struct vfio_device_info, num_regions) == 8, "vfio_device_info.num_regions");
_Static_assert(offsetof(struct vfio_device_info, num_irqs) == 12, "vfio_device_info.num_irqs");
_Static_assert(sizeof(struct vfio_region_info) == 32, "vfio_region_info");
_Static_assert(offsetof(struct vfio_region_info, cap_offset) == 12, "vfio_region_info.cap_offset");
_Static_assert(offsetof(struct vfio_region_info, size) == 16, "vfio_region_info.size");
_Static_assert(offsetof(struct vfio_region_info, offset) == 24, "vfio_region_info.offset");
_Static_assert(sizeof(struct vfio_info_cap_header) == 8, "vfio_info_cap_header");
_Static_assert(sizeof(struct vfio_region_sparse_mmap_area) == 16, "vfio_region_sparse_mmap_area");
_Static_assert(offsetof(struct vfio_region_info_cap_sparse_mmap, areas) == 16, "sparse_mmap.areas");
_Static_assert(sizeof(struct vfio_irq_info) == 16, "vfio_irq_info");
_Static_assert(offsetof(struct vfio_irq_info, count) == 12, "vfio_irq_info.count");
_Static_assert(sizeof(struct vfio_irq_set) == 20, "vfio_irq_set header");
_Static_assert(offsetof(struct vfio_irq_set, data) == 20, "vfio_irq_set.data");
_Static_assert(sizeof(struct vfio_iommu_type1_dma_map) == 32, "vfio_iommu_type1_dma_map");
_Static_assert(offsetof(struct vfio_iommu_type1_dma_map, iova) == 16, "dma_map.iova");
_Static_assert(sizeof(struct vfio_iommu_type1_dma_unmap) == 24, "vfio_iommu_type1_dma_unmap");
_Static_assert(offsetof(struct vfio_iommu_type1_info, iova_pgsizes) == 8, "type1_info.iova_pgsizes");
_Static_assert(sizeof(struct vfio_iova_range) == 16, "vfio_iova_range");
_Static_assert(sizeof(struct vfio_pci_hot_reset) == 12, "vfio_pci_hot_reset header");
_Static_assert(sizeof(struct vfio_pci_dependent_device) == 8, "vfio_pci_dependent_device");
_Static_assert(VFIO_TYPE1_IOMMU == NVMEKIT_VFIO_TYPE1_IOMMU, "type1");
_Static_assert(VFIO_TYPE1v2_IOMMU == NVMEKIT_VFIO_TYPE1v2_IOMMU, "type1v2");
_Static_assert(VFIO_NOIOMMU_IOMMU == NVMEKIT_VFIO_NOIOMMU_IOMMU, "noiommu");
_Static_assert(VFIO_GROUP_FLAGS_VIABLE == NVMEKIT_VFIO_GROUP_FLAGS_VIABLE, "viable");
_Static_assert(VFIO_PCI_CONFIG_REGION_INDEX == NVMEKIT_VFIO_PCI_CONFIG_REGION_INDEX, "config index");
_Static_assert(VFIO_PCI_MSIX_IRQ_INDEX == NVMEKIT_VFIO_PCI_MSIX_IRQ_INDEX, "msix index");
_Static_assert(VFIO_REGION_INFO_FLAG_MMAP == NVMEKIT_VFIO_REGION_FLAG_MMAP, "mmap flag");
_Static_assert(VFIO_IRQ_INFO_EVENTFD == NVMEKIT_VFIO_IRQ_INFO_EVENTFD, "irq eventfd flag");

static int rc(int r) { return r < 0 ? -errno : r; }

int nvmekit_vfio_open_container(void) {
    int fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}
int nvmekit_vfio_get_api_version(int container) { return rc(ioctl(container, VFIO_GET_API_VERSION)); }
int nvmekit_vfio_check_extension(int container, uint32_t type) {
    return rc(ioctl(container, VFIO_CHECK_EXTENSION, (unsigned long)type));
}
int nvmekit_vfio_set_iommu(int container, uint32_t type) {
    return rc(ioctl(container, VFIO_SET_IOMMU, (unsigned long)type));
}
int nvmekit_vfio_group_status(int group, uint32_t *flags) {
    struct vfio_group_status s = {.argsz = sizeof s};
    int r = ioctl(group, VFIO_GROUP_GET_STATUS, &s);
    if (r < 0) return -errno;
    *flags = s.flags;
    return 0;
}
int nvmekit_vfio_group_set_container(int group, int container) {
    return rc(ioctl(group, VFIO_GROUP_SET_CONTAINER, &container));
}
int nvmekit_vfio_group_unset_container(int group) { return rc(ioctl(group, VFIO_GROUP_UNSET_CONTAINER)); }
int nvmekit_vfio_group_get_device_fd(int group, const char *bdf) {
    return rc(ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf));
}

int nvmekit_vfio_device_info(int device, struct nvmekit_vfio_device_info *out) {
    struct vfio_device_info i = {.argsz = sizeof i};
    if (ioctl(device, VFIO_DEVICE_GET_INFO, &i) < 0) return -errno;
    out->flags = i.flags; out->num_regions = i.num_regions; out->num_irqs = i.num_irqs;
    return 0;
}

int nvmekit_vfio_region_info(int device, uint32_t index, struct nvmekit_vfio_region_info *out) {
    struct vfio_region_info head = {.argsz = sizeof head, .index = index};
    if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &head) < 0) return -errno;
    memset(out, 0, sizeof *out);
    out->flags = head.flags; out->index = index; out->size = head.size; out->offset = head.offset;
    out->sparse_count = -1;
    if (!(head.flags & VFIO_REGION_INFO_FLAG_CAPS) || head.argsz <= sizeof head) return 0;
    // Capabilities follow the struct: ask again with the size the kernel asked for.
    struct vfio_region_info *full = calloc(1, head.argsz);
    if (!full) return -ENOMEM;
    full->argsz = head.argsz; full->index = index;
    if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, full) < 0) { int e = errno; free(full); return -e; }
    uint32_t off = full->cap_offset;
    while (off >= sizeof *full && off + sizeof(struct vfio_info_cap_header) <= full->argsz) {
        struct vfio_info_cap_header *h = (void *)((char *)full + off);
        if (h->id == VFIO_REGION_INFO_CAP_SPARSE_MMAP) {
            struct vfio_region_info_cap_sparse_mmap *s = (void *)h;
            uint32_t n = s->nr_areas < NVMEKIT_MAX_SPARSE_AREAS ? s->nr_areas : NVMEKIT_MAX_SPARSE_AREAS;
            out->sparse_count = (int32_t)n;
            for (uint32_t k = 0; k < n; k++) { out->sparse_offset[k] = s->areas[k].offset; out->sparse_size[k] = s->areas[k].size; }
        } else if (h->id == VFIO_REGION_INFO_CAP_MSIX_MAPPABLE) {
            out->msix_mappable = 1;
        }
        if (h->next == 0 || h->next <= off) break;
        off = h->next;
    }
    free(full);
    return 0;
}

uint64_t nvmekit_vfio_region_sparse_offset(const struct nvmekit_vfio_region_info *r, int i) { return r->sparse_offset[i]; }
uint64_t nvmekit_vfio_region_sparse_size(const struct nvmekit_vfio_region_info *r, int i) { return r->sparse_size[i]; }

int nvmekit_vfio_irq_info(int device, uint32_t index, uint32_t *flags, uint32_t *count) {
    struct vfio_irq_info i = {.argsz = sizeof i, .index = index};
    if (ioctl(device, VFIO_DEVICE_GET_IRQ_INFO, &i) < 0) return -errno;
    *flags = i.flags; *count = i.count;
    return 0;
}

int nvmekit_vfio_set_irq_eventfds(int device, uint32_t index, uint32_t start, uint32_t count, const int32_t *fds) {
    size_t sz = sizeof(struct vfio_irq_set) + sizeof(int32_t) * count;
    struct vfio_irq_set *s = calloc(1, sz);
    if (!s) return -ENOMEM;
    s->argsz = (uint32_t)sz;
    s->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
    s->index = index; s->start = start; s->count = count;
    memcpy(s->data, fds, sizeof(int32_t) * count);
    int r = ioctl(device, VFIO_DEVICE_SET_IRQS, s);
    int e = errno;
    free(s);
    return r < 0 ? -e : 0;
}

int nvmekit_vfio_disable_irqs(int device, uint32_t index) {
    struct vfio_irq_set s = {.argsz = sizeof s, .flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
                             .index = index, .start = 0, .count = 0};
    return rc(ioctl(device, VFIO_DEVICE_SET_IRQS, &s));
}

int nvmekit_vfio_mask_irq(int device, uint32_t index, uint32_t start, uint32_t count, int mask) {
    struct vfio_irq_set s = {.argsz = sizeof s,
                             .flags = VFIO_IRQ_SET_DATA_NONE | (mask ? VFIO_IRQ_SET_ACTION_MASK : VFIO_IRQ_SET_ACTION_UNMASK),
                             .index = index, .start = start, .count = count};
    return rc(ioctl(device, VFIO_DEVICE_SET_IRQS, &s));
}

int nvmekit_vfio_device_reset(int device) { return rc(ioctl(device, VFIO_DEVICE_RESET)); }

int nvmekit_vfio_hot_reset(int device, const int32_t *group_fds, uint32_t count) {
    size_t sz = sizeof(struct vfio_pci_hot_reset) + sizeof(int32_t) * count;
    struct vfio_pci_hot_reset *h = calloc(1, sz);
    if (!h) return -ENOMEM;
    h->argsz = (uint32_t)sz; h->count = count;
    memcpy(h->group_fds, group_fds, sizeof(int32_t) * count);
    int r = ioctl(device, VFIO_DEVICE_PCI_HOT_RESET, h);
    int e = errno;
    free(h);
    return r < 0 ? -e : 0;
}

int nvmekit_vfio_dma_map(int container, uintptr_t vaddr, uint64_t iova, uint64_t size) {
    struct vfio_iommu_type1_dma_map m = {.argsz = sizeof m, .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
                                         .vaddr = vaddr, .iova = iova, .size = size};
    return rc(ioctl(container, VFIO_IOMMU_MAP_DMA, &m));
}

int nvmekit_vfio_dma_unmap(int container, uint64_t iova, uint64_t size) {
    struct vfio_iommu_type1_dma_unmap u = {.argsz = sizeof u, .iova = iova, .size = size};
    return rc(ioctl(container, VFIO_IOMMU_UNMAP_DMA, &u));
}

int nvmekit_vfio_iommu_info(int container, uint64_t *pgsizes, uint64_t *starts, uint64_t *ends, uint32_t cap,
                            uint32_t *count) {
    struct vfio_iommu_type1_info head = {.argsz = sizeof head};
    *count = 0;
    if (ioctl(container, VFIO_IOMMU_GET_INFO, &head) < 0) return -errno;
    *pgsizes = head.iova_pgsizes;
    if (!(head.flags & VFIO_IOMMU_INFO_CAPS) || head.argsz <= sizeof head) return 0;
    struct vfio_iommu_type1_info *full = calloc(1, head.argsz);
    if (!full) return -ENOMEM;
    full->argsz = head.argsz;
    if (ioctl(container, VFIO_IOMMU_GET_INFO, full) < 0) { int e = errno; free(full); return -e; }
    uint32_t off = full->cap_offset;
    while (off >= sizeof *full && off + sizeof(struct vfio_info_cap_header) <= full->argsz) {
        struct vfio_info_cap_header *h = (void *)((char *)full + off);
        if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
            struct vfio_iommu_type1_info_cap_iova_range *r = (void *)h;
            uint32_t n = r->nr_iovas < cap ? r->nr_iovas : cap;
            for (uint32_t k = 0; k < n; k++) { starts[k] = r->iova_ranges[k].start; ends[k] = r->iova_ranges[k].end; }
            *count = n;
        }
        if (h->next == 0 || h->next <= off) break;
        off = h->next;
    }
    free(full);
    return 0;
}
