# Building and caching the guest's pieces: kernel + modules, initramfs layers, the vfio no-IOMMU module, Swift binaries.
# Sourced by tools/vm. Every artifact lives under $VM_CACHE and is named by a hash of its inputs; a layer is rebuilt
# only when that hash changes. The initramfs the guest boots is the concatenation of uncompressed cpio layers.

VM_CACHE=${NVMEKIT_VM_CACHE:-$REPO/.cache/vm}
LAYOUT_VERSION=1   # bump when the layout of a layer changes without its inputs changing

vm_note() { echo "tools/vm: $*" >&2; }
vm_die() { echo "tools/vm: error: $*" >&2; exit 125; }
short_hash() { sha256sum | cut -c1-16; }

# One builder at a time per cache (several `tools/vm run` may start together); booting happens outside the lock.
cache_lock() { mkdir -p "$VM_CACHE"; exec 9>"$VM_CACHE/.lock"; flock 9; }
cache_unlock() { flock -u 9; exec 9>&-; }

# ---- guest kernel ---------------------------------------------------------------------------------------------
# Modules the guest needs, by the path inside the kernel package. Load order lives in tools/vm.d/init.
GUEST_MODULES=(
    virt/lib/irqbypass drivers/vfio/vfio drivers/vfio/vfio_iommu_type1 drivers/vfio/vfio_virqfd
    drivers/vfio/pci/vfio-pci-core drivers/vfio/pci/vfio-pci drivers/uio/uio drivers/uio/uio_pci_generic
    crypto/crct10dif_common lib/crc-t10dif lib/crc64 lib/crc64-rocksoft block/t10-pi
    drivers/nvme/host/nvme-core drivers/nvme/host/nvme
)

guest_abi() {
    if [ -n "${NVMEKIT_GUEST_ABI:-}" ]; then echo "$NVMEKIT_GUEST_ABI"; return; fi
    local abi
    abi=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/.*Depends: linux-image-\(.*\)-amd64$/\1/p' | head -1)
    if [ -z "$abi" ]; then
        apt-get update -qq >/dev/null 2>&1
        abi=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/.*Depends: linux-image-\(.*\)-amd64$/\1/p' | head -1)
    fi
    if [ -z "$abi" ]; then   # offline: the newest kernel already in the cache
        abi=$(ls -1 "$VM_CACHE/kernel" 2>/dev/null | sort -V | tail -1)
    fi
    [ -n "$abi" ] || vm_die "cannot find the guest kernel: 'apt-cache depends linux-image-amd64' names none (run: apt-get update)"
    echo "$abi"
}

# Sets KDIR (vmlinux, modules/*.ko, version).
ensure_kernel() {
    ABI=$(guest_abi)
    KDIR=$VM_CACHE/kernel/$ABI
    [ -f "$KDIR/.done" ] && return 0
    vm_note "fetching guest kernel linux-image-$ABI-amd64 (downloaded and unpacked, not installed)"
    local tmp; tmp=$(mktemp -d "$VM_CACHE/tmp.XXXXXX")
    (cd "$tmp" && apt-get download -q "linux-image-$ABI-amd64" >/dev/null 2>"$tmp/apt.err") \
        || { cat "$tmp/apt.err" >&2; rm -rf "$tmp"; vm_die "apt-get download linux-image-$ABI-amd64 failed"; }
    local deb; deb=$(ls "$tmp"/linux-image-*.deb)
    mkdir -p "$tmp/x" "$tmp/k/modules"
    local pats=("./boot/vmlinuz-*")
    for m in "${GUEST_MODULES[@]}"; do pats+=("./lib/modules/*/kernel/$m.ko"); done
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp/x" --wildcards "${pats[@]}" \
        || { rm -rf "$tmp"; vm_die "unpacking $deb failed"; }
    # Boot the uncompressed vmlinux (PVH entry): ~4 s faster per boot under TCG than the xz-compressed vmlinuz.
    local vmlinuz off; vmlinuz=$(ls "$tmp"/x/boot/vmlinuz-*)
    off=$(LC_ALL=C grep -obUaP '\xfd\x37\x7a\x58\x5a\x00' "$vmlinuz" | head -1 | cut -d: -f1)
    [ -n "$off" ] || { rm -rf "$tmp"; vm_die "no xz stream in $vmlinuz"; }
    tail -c +$((off + 1)) "$vmlinuz" | unxz -q > "$tmp/k/vmlinux" 2>/dev/null
    [ "$(head -c 4 "$tmp/k/vmlinux" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] \
        || { rm -rf "$tmp"; vm_die "vmlinux extracted from $vmlinuz is not an ELF file"; }
    for m in "${GUEST_MODULES[@]}"; do
        cp "$tmp"/x/lib/modules/*/kernel/$m.ko "$tmp/k/modules/" || { rm -rf "$tmp"; vm_die "module $m.ko missing"; }
    done
    dpkg-deb -f "$deb" Version > "$tmp/k/version"
    echo "$ABI" > "$tmp/k/abi"
    mkdir -p "$VM_CACHE/kernel"; rm -rf "$KDIR"; mv "$tmp/k" "$KDIR"; rm -rf "$tmp"
    touch "$KDIR/.done"
}

# ---- vfio with CONFIG_VFIO_NOIOMMU ----------------------------------------------------------------------------
# Debian's vfio.ko lacks no-IOMMU mode. Rebuild only vfio.ko from linux-source of the same version, against the
# matching headers (downloaded and unpacked, not installed). Sets NOIOMMU_KO.
ensure_noiommu_vfio() {
    NOIOMMU_KO=$KDIR/noiommu/vfio.ko
    [ -f "$NOIOMMU_KO" ] && return 0
    vm_note "building vfio.ko with CONFIG_VFIO_NOIOMMU for $ABI (once; cached)"
    local tmp; tmp=$(mktemp -d "$VM_CACHE/tmp.XXXXXX")
    local ver; ver=$(cat "$KDIR/version")
    local series; series=$(echo "$ABI" | cut -d. -f1-2)   # 6.1
    (cd "$tmp" && apt-get download -q "linux-source-$series=$ver" "linux-headers-$ABI-amd64=$ver" \
        "linux-headers-$ABI-common=$ver" "linux-kbuild-$series=$ver" >/dev/null 2>"$tmp/apt.err") \
        || { cat "$tmp/apt.err" >&2; rm -rf "$tmp"; vm_die "apt-get download of linux-source-$series/headers $ver failed"; }
    mkdir -p "$tmp/root" "$tmp/src"
    for d in "$tmp"/linux-headers-*.deb "$tmp"/linux-kbuild-*.deb; do dpkg -x "$d" "$tmp/root"; done
    dpkg-deb --fsys-tarfile "$tmp"/linux-source-*.deb | tar -x -C "$tmp/root" --wildcards './usr/src/linux-source-*.tar.xz'
    tar -xJf "$tmp"/root/usr/src/linux-source-*.tar.xz -C "$tmp/src" --wildcards '*/drivers/vfio/*.c' '*/drivers/vfio/*.h' \
        || { rm -rf "$tmp"; vm_die "unpacking linux-source failed"; }
    local hdr="$tmp/root/usr/src/linux-headers-$ABI-amd64"
    # The arch headers' Makefile includes the common headers by absolute path (/usr/src/...): point it at our copy.
    sed -i "s|/usr/src/linux-headers-$ABI-common|$tmp/root/usr/src/linux-headers-$ABI-common|g" "$hdr/Makefile"
    # The kbuild scripts are symlinked by absolute path (/usr/lib/linux-kbuild-6.1/...): repoint those too.
    find "$tmp/root/usr/src" -maxdepth 3 -type l | while read -r l; do
        t=$(readlink "$l"); case "$t" in /*) [ -e "$tmp/root$t" ] && ln -sfn "$tmp/root$t" "$l";; esac
    done
    local m="$tmp/mod"; mkdir -p "$m"
    cp "$tmp"/src/*/drivers/vfio/{vfio_main.c,container.c,iova_bitmap.c,vfio.h} "$m/"
    cat > "$m/Kbuild" <<'KB'
ccflags-y += -DCONFIG_VFIO_NOIOMMU=1
obj-m += vfio.o
vfio-y := vfio_main.o container.o iova_bitmap.o
KB
    make -s -C "$hdr" M="$m" modules > "$tmp/make.log" 2>&1 \
        || { tail -30 "$tmp/make.log" >&2; rm -rf "$tmp"; vm_die "building vfio.ko (no-IOMMU) failed; log above"; }
    grep -q "noiommu" "$m/vfio.ko" 2>/dev/null || strings "$m/vfio.ko" | grep -q enable_unsafe_noiommu_mode \
        || { rm -rf "$tmp"; vm_die "rebuilt vfio.ko has no enable_unsafe_noiommu_mode parameter"; }
    mkdir -p "$KDIR/noiommu"; strip --strip-debug -o "$NOIOMMU_KO" "$m/vfio.ko"
    rm -rf "$tmp"
}

# ---- initramfs layers -----------------------------------------------------------------------------------------
# copy_with_libs STAGING FILE...: FILE and every library ldd names, at the same absolute paths, stripped copies.
copy_with_libs() {
    local st=$1; shift
    local f lib
    for f in "$@"; do
        install -D -m 0755 "$f" "$st$f"
        ldd "$f" 2>/dev/null | grep -oE '(=> )?/[^ ]+ \(' | sed -E 's/^=> //; s/ \($//' | while read -r lib; do
            [ -e "$st$lib" ] && continue
            install -D -m 0755 "$(readlink -f "$lib")" "$st$lib"
            strip --strip-unneeded "$st$lib" 2>/dev/null || true
        done
    done
}

# lib_stamp FILE...: path, size and mtime of each file and of every library it loads (cheap change detection).
lib_stamp() {
    local f
    for f in "$@"; do
        stat -L -c '%n %s %Y' "$f"
        ldd "$f" 2>/dev/null | grep -oE '/[^ ]+ \(' | sed 's/ ($//' | xargs -r stat -L -c '%n %s %Y'
    done
}

# make_cpio STAGING OUT: an uncompressed newc archive (boots ~4 s faster than gzip under TCG).
make_cpio() {
    (cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) > "$2.tmp" && mv "$2.tmp" "$2"
}

# layer NAME KEY BUILDER: prints the cached cpio for NAME/KEY, building it with BUILDER STAGING when missing.
layer() {
    local name=$1 key=$2 builder=$3
    local out=$VM_CACHE/layers/$name-$key.cpio
    if [ ! -f "$out" ]; then
        mkdir -p "$VM_CACHE/layers"
        local st; st=$(mktemp -d "$VM_CACHE/tmp.XXXXXX")
        "$builder" "$st" || { rm -rf "$st"; vm_die "building initramfs layer '$name' failed"; }
        make_cpio "$st" "$out"; rm -rf "$st"
        find "$VM_CACHE/layers" -name "$name-*.cpio" ! -name "$name-$key.cpio" -delete
    fi
    echo "$out"
}

build_base() {
    local st=$1
    install -D -m 0755 /bin/busybox "$st/bin/busybox"
    busybox --list-full | while read -r a; do
        [ -e "$st/$a" ] || { mkdir -p "$st/$(dirname "$a")"; ln -s /bin/busybox "$st/$a"; }
    done
    install -m 0755 "$VMD/init" "$st/init"
    install -D -m 0755 "$VMD/nvmekit-qmp" "$st/usr/local/bin/nvmekit-qmp"
    mkdir -p "$st/lib/modules/nvmekit" "$st/etc" "$st/root" "$st/nvmekit" "$st/proc" "$st/sys" "$st/dev" "$st/tmp" "$st/run"
    cp "$KDIR"/modules/*.ko "$st/lib/modules/nvmekit/"
    printf 'root:x:0:0:root:/root:/bin/sh\n' > "$st/etc/passwd"
    printf 'root:x:0:\n' > "$st/etc/group"
    copy_with_libs "$st" /usr/sbin/nvme
}
base_layer() {
    local key
    key=$( { echo "$LAYOUT_VERSION $ABI"; cat "$VMD/init" "$VMD/nvmekit-qmp" "$VMD/build.sh" "$KDIR/version";
             dpkg-query -W -f='${Package} ${Version}\n' busybox-static nvme-cli; lib_stamp /usr/sbin/nvme; } | short_hash)
    layer base "$key" build_base
}

build_fio() { copy_with_libs "$1" /usr/bin/fio; }
fio_layer() { layer fio "$( { echo $LAYOUT_VERSION; lib_stamp /usr/bin/fio; } | short_hash)" build_fio; }

build_noiommu() { install -D -m 0644 "$NOIOMMU_KO" "$1/lib/modules/nvmekit/noiommu/vfio.ko"; }
noiommu_layer() { layer noiommu "$(cat "$NOIOMMU_KO" | short_hash)" build_noiommu; }

# ---- Swift binaries -------------------------------------------------------------------------------------------
TEST_BINARY=$REPO/.build/debug/NVMeKitPackageTests.xctest
STATIC_SCRATCH=$REPO/.build/vm-static
NVMEKIT_CONFIG=${NVMEKIT_VM_CONFIG:-release}   # NVMEKIT_VM_CONFIG=debug: faster incremental builds, slower code
NVMEKIT_STATIC=$STATIC_SCRATCH/$NVMEKIT_CONFIG/nvmekit

# A stamp of everything that goes into a Swift build; builds are skipped when it did not change.
sources_stamp() {
    (cd "$REPO" && { cat Package.swift; find Sources Tests -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum; } | short_hash)
}

# The debug test binary (Swift Testing and XCTest exist only as shared libraries, so it cannot be static).
ensure_test_binary() {
    [ "${VM_NO_BUILD:-0}" = 1 ] && [ -x "$TEST_BINARY" ] && return 0
    local stamp=$VM_CACHE/stamps/test-binary s; s=$(sources_stamp)
    if [ -x "$TEST_BINARY" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$s" ]; then return 0; fi
    vm_note "swift build --build-tests (test binary for the guest)"
    local log; log=$(mktemp)
    if ! (cd "$REPO" && swift build --build-tests > "$log" 2>&1); then
        grep -E "error" "$log" | head -30 >&2; rm -f "$log"; vm_die "swift build --build-tests failed"
    fi
    rm -f "$log"; mkdir -p "$VM_CACHE/stamps"; echo "$s" > "$stamp"
}

# nvmekit with the Swift runtime linked in statically (release); only libc & co. travel with it.
ensure_nvmekit() {
    local stamp=$VM_CACHE/stamps/nvmekit-static-$NVMEKIT_CONFIG s; s=$(sources_stamp)
    if [ -x "$NVMEKIT_STATIC" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$s" ]; then return 0; fi
    vm_note "swift build -c $NVMEKIT_CONFIG --static-swift-stdlib --product nvmekit (for the guest)"
    local log; log=$(mktemp)
    if ! (cd "$REPO" && swift build -c "$NVMEKIT_CONFIG" --product nvmekit --static-swift-stdlib -Xlinker -lz \
            --scratch-path "$STATIC_SCRATCH" > "$log" 2>&1); then
        grep -E "error" "$log" | head -30 >&2; rm -f "$log"; vm_die "static build of nvmekit failed"
    fi
    rm -f "$log"; mkdir -p "$VM_CACHE/stamps"; echo "$s" > "$stamp"
}

# The test binary, plus what device tests may call: the debug nvmekit beside it (built by --build-tests) and the
# captured fixtures (Fixtures/qemu), all at their absolute host paths.
DEBUG_NVMEKIT=$REPO/.build/debug/nvmekit
build_tests() {
    copy_with_libs "$1" "$TEST_BINARY"
    strip --strip-debug "$1$TEST_BINARY" 2>/dev/null || true
    if [ -x "$DEBUG_NVMEKIT" ]; then
        copy_with_libs "$1" "$DEBUG_NVMEKIT"; strip --strip-debug "$1$DEBUG_NVMEKIT" 2>/dev/null || true
    fi
    [ -d "$REPO/Fixtures/qemu" ] && { mkdir -p "$1$REPO/Fixtures"; cp -r "$REPO/Fixtures/qemu" "$1$REPO/Fixtures/"; }
    return 0
}
tests_layer() {
    local key
    key=$( { echo $LAYOUT_VERSION; lib_stamp "$TEST_BINARY"; [ -x "$DEBUG_NVMEKIT" ] && lib_stamp "$DEBUG_NVMEKIT"
             find "$REPO/Fixtures/qemu" -type f -print0 2>/dev/null | LC_ALL=C sort -z | xargs -0 -r sha256sum; } | short_hash)
    layer tests "$key" build_tests
}

build_nvmekit() {
    copy_with_libs "$1" "$NVMEKIT_STATIC"
    install -D -m 0755 "$NVMEKIT_STATIC" "$1/usr/local/bin/nvmekit"
    strip --strip-all "$1/usr/local/bin/nvmekit"; rm -f "$1$NVMEKIT_STATIC"
}
nvmekit_layer() { layer nvmekit "$( { echo $LAYOUT_VERSION; lib_stamp "$NVMEKIT_STATIC"; } | short_hash)" build_nvmekit; }
