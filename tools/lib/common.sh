# Shared shell helpers for tools/*. Sourced, not run.

step() { printf '\n== %s\n' "$*"; }
die() { echo "error: $*" >&2; exit 1; }

# Debian packages the host needs to build and to run the guest. Installed only when missing.
HOST_PACKAGES=(libpciaccess-dev libnuma-dev zlib1g-dev pkg-config qemu-system-x86 busybox-static kmod fio nvme-cli
               cpio xz-utils socat python3 binutils gcc make)   # gcc, make: vfio.ko for the noiommu backend
# Headless Chromium renders the IOWorker's HTML report in its test.
HOST_PACKAGES+=(chromium)

ensure_host_packages() {
    local missing=()
    for p in "${HOST_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        [ "$(id -u)" -eq 0 ] || die "missing packages: ${missing[*]} — run as root, or: sudo apt-get install ${missing[*]}"
        step "installing ${missing[*]}"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
            || die "apt-get install ${missing[*]} failed"
    fi
    command -v swift >/dev/null || { [ -x /opt/swift/usr/bin/swift ] && export PATH=/opt/swift/usr/bin:$PATH; }
    command -v swift >/dev/null || die "no Swift toolchain on PATH (expected /opt/swift/usr/bin/swift)"
}

# Prints "passed failed" from an xUnit file, falling back to Swift Testing's summary line in a log.
xunit_counts() {
    local xml=$1 log=$2
    if [ -s "$xml" ]; then
        python3 - "$xml" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
cases = root.iter("testcase")
p = f = 0
for c in cases:
    if c.find("failure") is not None or c.find("error") is not None: f += 1
    elif c.find("skipped") is not None: pass
    else: p += 1
print(p, f)
PY
    elif [ -s "$log" ] && grep -qE "Test run with [0-9]+ tests?" "$log"; then
        local line n fails
        line=$(grep -E "Test run with [0-9]+ tests?" "$log" | tail -1)
        n=$(echo "$line" | sed -E 's/.*with ([0-9]+) tests?.*/\1/')
        fails=$(echo "$line" | grep -oE '[0-9]+ issues?' | grep -oE '^[0-9]+' || echo 0)
        if echo "$line" | grep -q "failed"; then echo "$((n > 0 ? n - 1 : 0)) ${fails:-1}"; else echo "$n 0"; fi
    else
        echo "0 0"
    fi
}
