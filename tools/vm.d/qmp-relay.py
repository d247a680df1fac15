#!/usr/bin/env python3
"""Host side of the guest's QMP channel: joins the guest's ttyS3 (a QEMU socket chardev) to a QMP monitor socket.

qmp-relay.py SERIAL_SOCKET QMP_SOCKET. Negotiates QMP capabilities itself, then copies bytes both ways until QEMU
exits. Lets a device test inside the guest ask for device_del / device_add / system_reset (see nvmekit-qmp)."""
import select, socket, sys, time


def connect(path, deadline):
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def main():
    serial_path, qmp_path = sys.argv[1], sys.argv[2]
    deadline = time.monotonic() + 30
    qmp = connect(qmp_path, deadline)
    buf = b""
    while b"\n" not in buf:                             # greeting
        buf += qmp.recv(4096)
    buf = buf.split(b"\n", 1)[1]
    qmp.sendall(b'{"execute":"qmp_capabilities"}\n')
    while b'"return"' not in buf.split(b"\n")[0]:      # {"return": {}}
        buf += qmp.recv(4096)
    buf = buf.split(b"\n", 1)[1] if b"\n" in buf else b""
    guest = connect(serial_path, deadline)
    if buf:
        guest.sendall(buf)
    while True:
        r, _, _ = select.select([guest, qmp], [], [])
        for src in r:
            data = src.recv(65536)
            if not data:
                return
            (qmp if src is guest else guest).sendall(data)


if __name__ == "__main__":
    try:
        main()
    except (OSError, KeyboardInterrupt):
        pass
