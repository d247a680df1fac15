#!/usr/bin/env python3
"""Writes constructed-nvme.bin: a 4096-byte PCIe config space built byte by byte from the PCI/PCIe specs, laid out
like QEMU 7.2's NVMe controller (1b36:0010) plus AER and SR-IOV extended capabilities that QEMU only adds with
sriov_* options. It is NOT a capture; the real capture from the guest lives under Fixtures/qemu/."""
import struct, sys

b = bytearray(4096)
def w8(o, v): b[o] = v
def w16(o, v): struct.pack_into("<H", b, o, v)
def w32(o, v): struct.pack_into("<I", b, o, v)

# Type 0 header (PCI Local Bus 3.0 §6.1)
w16(0x00, 0x1B36); w16(0x02, 0x0010)       # Red Hat / QEMU NVMe
w16(0x04, 0x0006)                          # COMMAND: memory space + bus master
w16(0x06, 0x0010)                          # STATUS: capability list present
w8(0x08, 0x02)                             # revision
w8(0x09, 0x02); w8(0x0A, 0x08); w8(0x0B, 0x01)   # class 01/08/02: mass storage, NVM, NVMe
w32(0x10, 0xFEBD0004); w32(0x14, 0x00000000)     # BAR0: 64-bit memory, non-prefetchable, at 0xfebd0000
w16(0x2C, 0x1AF4); w16(0x2E, 0x1100)       # subsystem vendor/device (QEMU's defaults)
w8(0x34, 0x40)                             # capabilities pointer
w8(0x3C, 0x0B); w8(0x3D, 0x01)             # interrupt line 11, pin INTA

# 0x40 MSI-X (PCI 3.0 §6.8.2): 65 vectors (Table Size field 64), table BAR0+0x2000, PBA BAR0+0x3000
w8(0x40, 0x11); w8(0x41, 0x60); w16(0x42, 0x0040); w32(0x44, 0x00002000); w32(0x48, 0x00003000)
# 0x60 Power Management (PCI PM 1.2 §3.2): PMC version 3, PMCSR D0 + No_Soft_Reset
w8(0x60, 0x01); w8(0x61, 0x80); w16(0x62, 0x0003); w16(0x64, 0x0008)
# 0x80 PCI Express v2 endpoint (PCIe 6.0 §7.5.3): DevCap FLR (bit 28) + role-based errors, link 2.5 GT/s x1
w8(0x80, 0x10); w8(0x81, 0x00); w16(0x82, 0x0002)
w32(0x84, 0x10008000); w16(0x88, 0x2810); w16(0x8A, 0x0000)
w32(0x8C, 0x00000011); w16(0x90, 0x0000); w16(0x92, 0x0011)

# 0x100 AER v2 (PCIe 6.0 §7.8.4), next 0x148; default uncorrectable severity
w32(0x100, (0x148 << 20) | (2 << 16) | 0x0001)
w32(0x10C, 0x00462030)
# 0x148 SR-IOV v1 (PCIe 6.0 §9.3.3), last: 4 initial/total VFs, 0 enabled, first VF offset 1, stride 1, VF device 0x0010
w32(0x148, (0x000 << 20) | (1 << 16) | 0x0010)
w16(0x154, 4); w16(0x156, 4); w16(0x158, 0)
w16(0x15C, 1); w16(0x15E, 1); w16(0x162, 0x0010)
w32(0x164, 0x00000553); w32(0x168, 0x00000001)

out = sys.argv[1] if len(sys.argv) > 1 else "constructed-nvme.bin"
open(out, "wb").write(b)
