#!/usr/bin/env python3
"""Builds the constructed fixtures byte by byte from the NVMe specifications' offset tables.

These blobs were NOT captured from a device: every field below is placed at the offset the spec's figure gives,
independently of NVMeKit's Swift decoders, so decoding them tests the decoders' offsets. Run from this directory:
    python3 make-fixtures.py
"""
import struct

def put(buf, off, fmt, *v):
    struct.pack_into("<" + fmt, buf, off, *v)

def ascii_field(buf, off, length, s, pad=b" "):
    b = s.encode()[:length]
    buf[off:off + length] = b + pad * (length - len(b))

def u128(buf, off, v):
    put(buf, off, "QQ", v & (2**64 - 1), v >> 64)

# Identify Controller — NVMe Base 2.0c Figure 275 (values resemble QEMU 7.2's controller).
c = bytearray(4096)
put(c, 0, "H", 0x1B36)            # VID
put(c, 2, "H", 0x1AF4)            # SSVID
ascii_field(c, 4, 20, "NVMEKIT0")  # SN, space padded
ascii_field(c, 24, 40, "QEMU NVMe Ctrl")
ascii_field(c, 64, 8, "7.2.22")
c[72] = 6                          # RAB
c[73:76] = bytes([0x00, 0x54, 0x52])   # IEEE OUI 525400h, least significant byte first
c[76] = 0x02                       # CMIC
c[77] = 7                          # MDTS
put(c, 78, "H", 0x0041)            # CNTLID
put(c, 80, "I", 0x00010400)        # VER 1.4.0
put(c, 84, "I", 100000)            # RTD3R
put(c, 88, "I", 200000)            # RTD3E
put(c, 92, "I", 0x00000100)        # OAES
put(c, 96, "I", 0x00000010)        # CTRATT
c[111] = 1                         # CNTRLTYPE
put(c, 128, "H", 11); put(c, 130, "H", 22); put(c, 132, "H", 33)   # CRDT1-3
put(c, 256, "H", 0x000A)           # OACS
c[258] = 3; c[259] = 3; c[260] = 0x03; c[261] = 0x07; c[262] = 63; c[263] = 1   # ACL AERL FRMW LPA ELPE NPSS
put(c, 266, "H", 343); put(c, 268, "H", 373)   # WCTEMP CCTEMP
u128(c, 280, (1 << 64) + 4096)     # TNVMCAP: needs more than 64 bits
u128(c, 296, 12345)                # UNVMCAP
put(c, 320, "H", 100)              # KAS
put(c, 328, "I", 0)                # SANICAP
c[512] = 0x66; c[513] = 0x44       # SQES CQES
put(c, 514, "H", 0)                # MAXCMD
put(c, 516, "I", 256)              # NN
put(c, 520, "H", 0x015D)           # ONCS
put(c, 522, "H", 0x0001)           # FUSES
c[524] = 0x00; c[525] = 0x07       # FNA VWC
put(c, 526, "H", 7)                # AWUN
put(c, 536, "I", 0x00000001)       # SGLS
ascii_field(c, 768, 256, "nqn.2019-08.org.qemu:NVMEKIT0", pad=b"\0")
# PSD0 at 2048: MP 25.00 W, ENLAT 16 us, EXLAT 4 us, RRT/RRL/RWT/RWL 0,1,2,3, IDLP 500, IPS 2, ACTP 800, APW 2 APS 1
put(c, 2048, "H", 2500); put(c, 2052, "I", 16); put(c, 2056, "I", 4)
c[2060] = 0; c[2061] = 1; c[2062] = 2; c[2063] = 3
put(c, 2064, "H", 500); c[2066] = 2 << 6; put(c, 2068, "H", 800); c[2070] = (1 << 6) | 2
# PSD1 at 2080: non-operational, MP 0.05 W
put(c, 2080, "H", 5); c[2083] = 0x02; put(c, 2084, "I", 1000); put(c, 2088, "I", 2000)
c[3072] = 0xEE; c[4095] = 0xEF     # vendor specific bytes must survive a round trip
open("id-ctrl.bin", "wb").write(c)

# Identify Namespace (NVM) — NVM Command Set 1.0c Figure 97.
n = bytearray(4096)
put(n, 0, "Q", 0x200000); put(n, 8, "Q", 0x1F0000); put(n, 16, "Q", 0x1000)   # NSZE NCAP NUSE
n[24] = 0x14                       # NSFEAT: DAE | OPTPERF
n[25] = 7                          # NLBAF (8 formats)
n[26] = 0x12                       # FLBAS: format 2, metadata at end of LBA
n[27] = 0x03                       # MC
n[28] = 0x1F                       # DPC
n[29] = 0x09                       # DPS: PI type 1, PI first
n[30] = 0x01; n[31] = 0xFF; n[32] = 0x80; n[33] = 0x09   # NMIC RESCAP FPI DLFEAT
put(n, 34, "H", 1); put(n, 36, "H", 2); put(n, 38, "H", 3); put(n, 40, "H", 4); put(n, 42, "H", 5)
put(n, 44, "H", 6); put(n, 46, "H", 8)   # NABSPF NOIOB
u128(n, 48, 0x40000000)            # NVMCAP
put(n, 64, "H", 7); put(n, 66, "H", 7); put(n, 68, "H", 7); put(n, 70, "H", 7); put(n, 72, "H", 15)  # NPWG..NOWS
put(n, 74, "H", 128); put(n, 76, "I", 128); n[80] = 127   # MSSRL MCL MSRC
n[82] = 0                          # NULBAF
put(n, 92, "I", 1)                 # ANAGRPID
n[99] = 0x01                       # NSATTR
put(n, 100, "H", 1); put(n, 102, "H", 1)
n[104:120] = bytes(range(0x10, 0x20))   # NGUID
n[120:128] = bytes([0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x78, 0x9A])   # EUI64
lbafs = [(0, 9, 0), (8, 9, 0), (16, 9, 1), (64, 9, 2), (0, 12, 0), (8, 12, 0), (16, 12, 0), (64, 12, 3)]
for i, (ms, lbads, rp) in enumerate(lbafs):
    put(n, 128 + 4 * i, "HBB", ms, lbads, rp)
n[384] = 0xAB                      # vendor specific
open("id-ns.bin", "wb").write(n)

# ZNS I/O Command Set specific Identify Namespace — ZNS 1.1 Figure 51.
z = bytearray(4096)
put(z, 0, "H", 0x0001); put(z, 2, "H", 0x0001)   # ZOC OZCS
put(z, 4, "I", 13); put(z, 8, "I", 11)           # MAR MOR
put(z, 12, "I", 60); put(z, 16, "I", 70)         # RRL FRL
put(z, 2816, "Q", 0x8000); z[2816 + 8] = 2       # LBAFE0: ZSZE, ZDES
put(z, 2832, "Q", 0x1000)                        # LBAFE1
open("zns-id-ns.bin", "wb").write(z)

# SMART / Health Information — Base 2.0c Figure 207.
s = bytearray(512)
s[0] = 0x02                        # critical warning: temperature
put(s, 1, "H", 323)                # composite temperature (K)
s[3] = 100; s[4] = 10; s[5] = 3; s[6] = 0
u128(s, 32, (1 << 64) + 5)         # data units read (needs > 64 bits)
u128(s, 48, 77); u128(s, 64, 1000); u128(s, 80, 2000); u128(s, 96, 9); u128(s, 112, 42)
u128(s, 128, 1234); u128(s, 144, 5); u128(s, 160, 1); u128(s, 176, 2)
put(s, 192, "I", 11); put(s, 196, "I", 12)
put(s, 200, "H", 300); put(s, 202, "H", 301)     # temperature sensors 1 and 2
put(s, 216, "I", 1); put(s, 220, "I", 2); put(s, 224, "I", 3); put(s, 228, "I", 4)
open("smart.bin", "wb").write(s)

# Error Information log: two 64-byte entries — Base 2.0c Figure 205.
e = bytearray(128)
put(e, 0, "Q", 7); put(e, 8, "H", 1); put(e, 10, "H", 0x1234)
status = (1 << 14) | 0x02          # DNR, SCT 0, SC 02h
put(e, 12, "H", (status << 1) | 1) # phase tag 1
put(e, 14, "H", (3 << 8) | 40)     # byte 40 bit 3
put(e, 16, "Q", 0x1000); put(e, 24, "I", 1); e[28] = 0; e[29] = 0
put(e, 32, "Q", 0xDEADBEEF); put(e, 40, "H", 0)
put(e, 64, "Q", 6); put(e, 72, "H", 0); put(e, 74, "H", 0x0042)
put(e, 76, "H", ((1 << 8) | 0x01) << 1)   # Invalid Queue Identifier (01/01), phase 0
open("error-log.bin", "wb").write(e)

# Firmware Slot Information — Base 2.0c Figure 209.
f = bytearray(512)
f[0] = 0x21                        # active slot 1, next reset slot 2
ascii_field(f, 8, 8, "7.2.22")
ascii_field(f, 16, 8, "8.0.0")
open("fw-slot.bin", "wb").write(f)

# Commands Supported and Effects — Base 2.0c Figures 212-213.
x = bytearray(4096)
put(x, 4 * 0x06, "I", 0x00000001)  # Identify: CSUPP
put(x, 4 * 0x80, "I", 0x0001001F)  # Format NVM: CSUPP LBCC NCC NIC CCC, CSE 1
put(x, 1024 + 4 * 0x01, "I", 0x00000003)   # Write: CSUPP LBCC
put(x, 1024 + 4 * 0x02, "I", 0x00000001)   # Read: CSUPP
open("effects.bin", "wb").write(x)

# Changed Namespace List — Base 2.0c Figure 211.
l = bytearray(4096)
put(l, 0, "I", 1); put(l, 4, "I", 3)
open("changed-ns.bin", "wb").write(l)
