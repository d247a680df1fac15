# The guest's fixed topology and one boot: QEMU command line, output/exit-status channels, deadline, logs.
# Sourced by tools/vm.
#
# Topology (q35, TCG, 2 vCPUs, 1 GiB; BDFs are found by class code in the guest, never hard-coded):
#   intel-iommu (intremap=on, caching-mode=on)   guest: intel_iommu=on for vfio, intel_iommu=off for the others
#   pcie-root-port rp0 (chassis 1) -> nvme id=nvme0 "controller A" in nvme-subsys subsys-a, serial NVMEKIT0,
#        64 IO queue pairs, 65 MSI-X vectors
#        nsid 1: 64 MiB, 512-byte LBAs            nsid 2: 64 MiB, 4096-byte LBAs + 8 bytes metadata (separate buffer)
#   pcie-root-port rp1 (chassis 2) -> nvme id=nvme1 "controller B" alone in nvme-subsys subsys-b, serial NVMEKIT1
#        nsid 1: 256 MiB zoned (ZNS), 4096-byte LBAs, 16 MiB zones
#   ttyS0 console log, ttyS1 command output, ttyS2 control (exit status, files), ttyS3 QMP relay for the guest
#   QMP socket on the host: $run/qmp.sock (or --qmp PATH): system_reset, device_del, device_add, ...
# Controllers sit behind root ports so device_del/device_add work (q35's root bus does not hot-plug). Namespaces use
# -blockdev (not -drive) so their backing survives a device_del. QEMU 7.2 cannot hot-plug an nvme-ns, but a namespace
# of an nvme-subsys outlives its controller and is attached again to a controller device_add'ed into that subsystem.

VM_MEM=${NVMEKIT_VM_MEM:-1G}
# How QEMU reads and writes the namespace images: threads (QEMU's default thread pool) or io_uring.
VM_AIO=${NVMEKIT_VM_AIO:-threads}
case $VM_AIO in threads|io_uring) ;; *) die "NVMEKIT_VM_AIO=$VM_AIO: use threads or io_uring" ;; esac
# Extra properties for both NVMe controllers, e.g. ioeventfd=on (doorbell writes become eventfd signals).
VM_NVME_OPTS=${NVMEKIT_VM_NVME_OPTS:+,$NVMEKIT_VM_NVME_OPTS}
QEMU=${NVMEKIT_QEMU:-qemu-system-x86_64}

# qemu_args RUN_DIR BACKEND CONTROLLERS -> the QEMU argument vector in QARGS
qemu_args() {
    local run=$1 backend=$2 ctrls=$3
    local iommu=off; [ "$backend" = vfio ] && iommu=on
    local append="console=ttyS0 quiet panic=-1 no_timer_check intel_iommu=$iommu NVMEKIT_BACKEND=$backend"
    [ -n "${NVMEKIT_HUGEPAGES:-}" ] && append+=" NVMEKIT_HUGEPAGES=$NVMEKIT_HUGEPAGES"
    QARGS=(-machine q35,kernel-irqchip=split -accel tcg -cpu qemu64,+rdrand -m "$VM_MEM" -smp 2
           -nodefaults -display none -no-reboot
           -kernel "$KDIR/vmlinux" -initrd "$run/initrd" -append "$append"
           -serial "file:$run/console.log" -serial "file:$run/output" -serial "file:$run/control"
           -chardev "socket,id=guestqmp,path=$run/guest-serial.sock,server=on,wait=off" -serial chardev:guestqmp
           -qmp "unix:$run/qmp.sock,server=on,wait=off" -qmp "unix:$run/relay-qmp.sock,server=on,wait=off"
           -device intel-iommu,intremap=on,caching-mode=on
           -device pcie-root-port,id=rp0,chassis=1,slot=1 -device pcie-root-port,id=rp1,chassis=2,slot=2)
    if [[ $ctrls == *a* ]]; then
        QARGS+=(-blockdev "driver=raw,node-name=a-ns1,file.driver=file,file.aio=$VM_AIO,file.filename=$run/a-ns1.img"
                -blockdev "driver=raw,node-name=a-ns2,file.driver=file,file.aio=$VM_AIO,file.filename=$run/a-ns2.img"
                -device nvme-subsys,id=subsys-a,nqn=nvmekit-subsys-a
                -device nvme,id=nvme0,bus=rp0,subsys=subsys-a,serial=NVMEKIT0,max_ioqpairs=64,msix_qsize=65$VM_NVME_OPTS
                -device nvme-ns,id=a1,bus=nvme0,drive=a-ns1,nsid=1,logical_block_size=512,physical_block_size=512
                -device nvme-ns,id=a2,bus=nvme0,drive=a-ns2,nsid=2,logical_block_size=4096,physical_block_size=4096,ms=8)
    fi
    if [[ $ctrls == *b* ]]; then
        QARGS+=(-blockdev "driver=raw,node-name=b-ns1,file.driver=file,file.aio=$VM_AIO,file.filename=$run/b-ns1.img"
                -device nvme-subsys,id=subsys-b,nqn=nvmekit-subsys-b
                -device nvme,id=nvme1,bus=rp1,subsys=subsys-b,serial=NVMEKIT1,max_ioqpairs=64,msix_qsize=65$VM_NVME_OPTS
                -device nvme-ns,id=b1,bus=nvme1,drive=b-ns1,nsid=1,logical_block_size=4096,physical_block_size=4096,zoned=on,zoned.zone_size=16M)
    fi
}

make_disks() { # fresh sparse images per boot: every run starts from zeroed media
    local run=$1
    truncate -s 64M "$run/a-ns1.img" "$run/a-ns2.img"
    truncate -s 256M "$run/b-ns1.img"
}

# The QEMU command line, one option per line, shell-quoted only where needed (for logs and docs).
qemu_cmdline_pretty() {
    local a out="$QEMU"
    for a in "${QARGS[@]}"; do
        [[ $a == -* ]] && out+=$' \\\n   '
        if [[ $a =~ [[:space:]\'\"] ]]; then out+=" '$a'"; else out+=" $a"; fi
    done
    echo "$out"
}

# Quote each word for the guest's sh (POSIX single quotes).
sh_quote() { local a out=""; for a in "$@"; do out+="'${a//\'/\'\\\'\'}' "; done; echo "$out"; }

# vm_boot BACKEND CONTROLLERS TIMEOUT OUTBOX_DIR WITH_TESTS QMP_PATH CMD...
# Streams the command's output to stdout; returns the guest command's exit status (124: deadline, 125: harness).
vm_boot() {
    local backend=$1 ctrls=$2 timeout=$3 outbox=$4 with_tests=$5 qmp_path=$6; shift 6
    local with_nvmekit=${VM_WITH_NVMEKIT:-1}
    case "$backend" in vfio|noiommu|uio|kernel) ;; *) vm_die "unknown backend '$backend' (vfio|noiommu|uio|kernel)";; esac
    case "$ctrls" in a|b|ab|ba) ;; *) vm_die "--controllers must be a, b or ab (got '$ctrls')";; esac
    command -v "$QEMU" >/dev/null || vm_die "$QEMU not found (apt-get install qemu-system-x86)"

    local t0=$SECONDS layers=()
    # Swift builds first (SwiftPM locks .build itself), then the cache under its lock.
    [ "$with_nvmekit" = 1 ] && ensure_nvmekit
    [ "$with_tests" = 1 ] && ensure_test_binary
    cache_lock
    ensure_kernel
    layers+=("$(base_layer)")
    [ "${VM_WITH_FIO:-0}" = 1 ] && layers+=("$(fio_layer)")   # any backend: tools/bench switches drivers in one boot
    if [ "$backend" = noiommu ]; then ensure_noiommu_vfio; layers+=("$(noiommu_layer)"); fi
    [ "$with_nvmekit" = 1 ] && layers+=("$(nvmekit_layer)")
    [ "$with_tests" = 1 ] && layers+=("$(tests_layer)")
    cache_unlock
    local l; for l in "${layers[@]}"; do [ -f "$l" ] || vm_die "an initramfs layer failed to build (see above)"; done
    local prep=$((SECONDS - t0))

    mkdir -p "$VM_CACHE/runs" "$VM_CACHE/logs"
    local run; run=$(mktemp -d "$VM_CACHE/runs/$(date +%Y%m%d-%H%M%S)-$backend.XXXX")
    make_disks "$run"
    local st="$run/layer"; mkdir -p "$st/nvmekit"
    if [ $# -eq 1 ]; then printf '%s\n' "$1" > "$st/nvmekit/cmd"; else sh_quote "$@" > "$st/nvmekit/cmd"; fi
    printf 'NVMEKIT_CWD=%q\nNVMEKIT_CONTROLLERS=%q\n' "$REPO" "$ctrls" > "$st/nvmekit/run.env"
    make_cpio "$st" "$run/run.cpio"
    cat "${layers[@]}" "$run/run.cpio" > "$run/initrd"
    : > "$run/output"; : > "$run/control"; : > "$run/console.log"

    qemu_args "$run" "$backend" "$ctrls"
    qemu_cmdline_pretty > "$run/qemu-cmdline"
    local tb=$SECONDS
    timeout -k 5 "$timeout" "$QEMU" "${QARGS[@]}" > "$run/qemu.stderr" 2>&1 &
    local qpid=$!
    python3 "$VMD/qmp-relay.py" "$run/guest-serial.sock" "$run/relay-qmp.sock" 2>/dev/null &
    local rpid=$!
    [ -n "$qmp_path" ] && { ( for _ in $(seq 100); do [ -S "$run/qmp.sock" ] && break; sleep 0.1; done
                              ln -sfn "$run/qmp.sock" "$qmp_path" ) & }
    tail -s 0.2 -n +1 -f --pid=$qpid "$run/output" &
    local tpid=$!
    # --stall S: a guest whose command output stops growing for S seconds is taken as hung (QEMU's main loop stuck in
    # the device model, or the guest dead) and QEMU is killed. tools/vm fuzz uses it to power-cycle and resume.
    local wpid=""
    if [ -n "${VM_STALL:-}" ]; then
        ( last=-1; quiet=0
          while kill -0 $qpid 2>/dev/null; do
              sleep 2; size=$(stat -c %s "$run/output" 2>/dev/null || echo 0)
              if [ "$size" = "$last" ]; then quiet=$((quiet + 2)); else quiet=0; last=$size; fi
              if [ "$quiet" -ge "$VM_STALL" ]; then
                  echo "stalled after $size bytes of output" > "$run/stalled"; pkill -KILL -P $qpid 2>/dev/null; kill -KILL $qpid 2>/dev/null; break
              fi
          done ) &
        wpid=$!
    fi
    wait $qpid; local qrc=$?
    [ -n "$wpid" ] && { kill $wpid 2>/dev/null; wait $wpid 2>/dev/null; }
    wait $tpid 2>/dev/null
    kill $rpid 2>/dev/null; wait $rpid 2>/dev/null
    local boot=$((SECONDS - tb))

    tr -d '\r' < "$run/control" > "$run/control.txt"
    local rc status msg=""
    status=$(sed -n 's/^NVMEKIT_EXIT \([0-9]*\)$/\1/p' "$run/control.txt" | tail -1)
    VM_LAST_QEMU_RC=$qrc VM_LAST_STALLED=0
    if [ -f "$run/stalled" ]; then
        VM_LAST_STALLED=1
        rc=124; msg="guest command output stalled for ${VM_STALL} s: QEMU killed ($(cat "$run/stalled"))"
    elif [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
        rc=124; msg="guest did not finish within ${timeout} s: QEMU killed (raise --timeout, or look for a hang below)"
    elif grep -q '^NVMEKIT_SETUP_FAILED' "$run/control.txt"; then
        rc=125; msg="guest setup failed: $(sed -n 's/^NVMEKIT_SETUP_FAILED //p' "$run/control.txt" | head -1)"
    elif [ -z "$status" ]; then
        rc=125; msg="guest stopped without reporting an exit status (QEMU exit $qrc; kernel panic or crash? see log)"
        [ "$qrc" -gt 128 ] && [ "$qrc" -lt 160 ] && msg="QEMU died of signal $((qrc - 128)) ($(kill -l $((qrc - 128)) 2>/dev/null)) before the guest reported an exit status; its stderr is in the log"
    else
        rc=$status
    fi
    if [ -n "$outbox" ]; then
        mkdir -p "$outbox"
        awk -v dir="$outbox" '
            /^NVMEKIT_FILE_END$/ { if (f) close(f); f = ""; next }
            /^NVMEKIT_FILE / { f = dir "/" $2 ".b64"; d = f; sub(/\/[^\/]*$/, "", d)
                               system("mkdir -p \"" d "\""); printf "" > f; next }
            f { print >> f }' "$run/control.txt"
        local b
        find "$outbox" -name '*.b64' -type f | while read -r b; do base64 -d "$b" > "${b%.b64}" && rm -f "$b"; done
    fi

    local log; log="$VM_CACHE/logs/$(basename "$run").log"
    { echo "# tools/vm $backend controllers=$ctrls status=$rc qemu-exit=$qrc stalled=$VM_LAST_STALLED prep=${prep}s boot-to-result=${boot}s"
      echo "# qemu command line:"; sed 's/^/#   /' "$run/qemu-cmdline"
      sed -n 's/^\(NVMEKIT_\(START\|DONE\|EXIT\|SETUP_FAILED\).*\)/# \1/p' "$run/control.txt"
      echo "# ---- console (ttyS0) + dmesg ----"; tr -d '\r' < "$run/console.log"
      echo "# ---- qemu stderr ----"; cat "$run/qemu.stderr"; } > "$log"
    ls -1t "$VM_CACHE"/logs/*.log 2>/dev/null | tail -n +41 | xargs -r rm -f
    VM_LAST_LOG=$log VM_LAST_BOOT=$boot VM_LAST_PREP=$prep
    if [ "$rc" -ne 0 ] && [ "${VM_QUIET_FAILURE:-0}" != 1 ] || [ -n "$msg" ]; then
        # The whole log is in the file; here: everything but the kernel's boot messages before /init started.
        { echo; echo "tools/vm: ---- guest log ($log; kernel boot messages before /init omitted) ----"
          awk '/^--- dmesg ---$/ { d = 1; print; next } d && /Run \/init as init process/ { d = 2 } d != 1 { print }' "$log"
          echo "tools/vm: ---- end of guest log ----"; } >&2
    fi
    [ -n "$msg" ] && vm_note "$msg"
    [ "$rc" -ne 0 ] && vm_note "guest command exited with status $rc (backend $backend; log: $log)"
    [ "${NVMEKIT_VM_KEEP:-0}" = 1 ] || rm -rf "$run"
    return "$rc"
}

vm_run_cli() {
    local backend=vfio ctrls=ab timeout=300 outbox="" with_tests=0 qmp=""
    while [ $# -gt 0 ]; do
        case "$1" in
            --backend) backend=$2; shift 2 ;;
            --controllers) ctrls=$2; shift 2 ;;
            --timeout) timeout=$2; shift 2 ;;
            --outbox) outbox=$2; shift 2 ;;
            --with-tests) with_tests=1; shift ;;
            --with-fio) VM_WITH_FIO=1; shift ;;
            --qmp) qmp=$2; shift 2 ;;
            --stall) VM_STALL=$2; shift 2
                     [[ $VM_STALL =~ ^[0-9]+$ ]] && [ "$VM_STALL" -ge 4 ] || vm_die "--stall takes whole seconds, at least 4 (got '$VM_STALL')" ;;
            --) shift; break ;;
            *) vm_die "tools/vm run: unknown option '$1' (usage: tools/vm run [--backend B] [--controllers a|b|ab] [--timeout S] -- CMD)" ;;
        esac
    done
    [ $# -gt 0 ] || vm_die "tools/vm run: no command (usage: tools/vm run --backend B -- CMD ...)"
    [[ "$*" == *.xctest* ]] && with_tests=1
    # fio and its libraries (ceph, gluster, ICU: 85 MB, ~8 s more to unpack under TCG) only when asked for.
    [[ "$*" == *fio* ]] && VM_WITH_FIO=1
    ensure_host_packages
    vm_boot "$backend" "$ctrls" "$timeout" "$outbox" "$with_tests" "$qmp" "$@"
}

vm_build_cli() {
    local backend=vfio
    [ "${1:-}" = --backend ] && backend=$2
    ensure_host_packages; cache_lock; ensure_kernel; base_layer >/dev/null; fio_layer >/dev/null
    [ "$backend" = noiommu ] && { ensure_noiommu_vfio; noiommu_layer >/dev/null; }
    ensure_nvmekit; nvmekit_layer >/dev/null; ensure_test_binary; tests_layer >/dev/null
    cache_unlock; ls -la "$VM_CACHE/layers"
}

vm_topology_cli() {
    local backend=vfio
    [ "${1:-}" = --backend ] && backend=$2
    KDIR='<cache>/kernel/<abi>'; qemu_args '<run>' "$backend" ab; qemu_cmdline_pretty
}

# tools/vm test: the Swift Testing tests of Tests/DeviceTests, inside the guest, on one backend.
vm_test_cli() {
    local backend=vfio filter="" skip="" xunit="" timeout=900 build=1 ctrls=ab keep=""
    while [ $# -gt 0 ]; do
        case "$1" in
            --backend) backend=$2; shift 2 ;;
            --outbox) keep=$2; shift 2 ;;
            --filter) filter=$2; shift 2 ;;
            --skip) skip=$2; shift 2 ;;
            --xunit) xunit=$2; shift 2 ;;
            --timeout) timeout=$2; shift 2 ;;
            --controllers) ctrls=$2; shift 2 ;;
            --no-build) build=0; shift ;;
            *) vm_die "tools/vm test: unknown option '$1' (usage: tools/vm test --backend B [--filter REGEX] [--skip REGEX] [--xunit FILE])" ;;
        esac
    done
    ensure_host_packages
    [ "$build" = 1 ] && ensure_test_binary
    [ "$build" = 0 ] && export VM_NO_BUILD=1
    [ -x "$TEST_BINARY" ] || vm_die "no test binary at $TEST_BINARY (run: swift build --build-tests)"
    # Only the device tests run in the guest. Swift Testing ignores unknown flags silently, so every flag used here
    # is checked below by its effect: the xUnit file must come back and must contain at least one test case.
    local re='^DeviceTests\.'
    [ -n "$filter" ] && re="^DeviceTests\\..*(?:$filter)"
    local args=(--testing-library swift-testing --no-parallel --xunit-output /outbox/device.xunit.xml --filter "$re")
    [ -n "$skip" ] && args+=(--skip "$skip")
    local outbox; outbox=$(mktemp -d)
    local q; q=$(sh_quote "$TEST_BINARY" "${args[@]}")
    # Test knobs travel into the guest: NVMEKIT_FUZZ_CASES, NVMEKIT_FUZZ_SEED, ...
    local v; for v in $(compgen -e | grep '^NVMEKIT_FUZZ_'); do q="env $(sh_quote "$v=${!v}") $q"; done
    # The device tests call the libraries directly: no need for the (release, static) nvmekit build here.
    # On the kernel backend (the baselines backend) fio is there too.
    [ "$backend" = kernel ] && VM_WITH_FIO=1
    VM_WITH_NVMEKIT=${NVMEKIT_VM_WITH_NVMEKIT:-0} vm_boot "$backend" "$ctrls" "$timeout" "$outbox" 1 "" "$q 2>&1"
    local rc=$?
    local x="$outbox/device.xunit.xml"
    if [ ! -s "$x" ]; then
        vm_note "no xUnit file came back from the guest (test binary did not run, or rejected --xunit-output)"
        rm -rf "$outbox"; [ "$rc" -eq 0 ] && rc=125; return "$rc"
    fi
    [ -n "$xunit" ] && { mkdir -p "$(dirname "$xunit")"; cp "$x" "$xunit"; }
    # Files the tests left in /outbox (fuzz repros, reports) when asked for.
    [ -n "$keep" ] && { mkdir -p "$keep"; cp -r "$outbox"/. "$keep"/; }
    local p f
    read -r p f < <(xunit_counts "$x" /dev/null)
    rm -rf "$outbox"
    if [ $((p + f)) -eq 0 ]; then
        vm_note "no device test matched (filter '$re'): nothing was tested"; return 125
    fi
    echo "device tests ($backend): $p passed, $f failed (boot-to-result ${VM_LAST_BOOT}s, log $VM_LAST_LOG)"
    [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && { vm_note "test binary exited with $rc although no test failed"; }
    return "$rc"
}

# tools/vm capture-fixtures: QEMU's Identify data, log pages and PCI config space, as nvme-cli reads them on the
# kernel backend, saved under Fixtures/qemu/ with PROVENANCE.md.
vm_capture_fixtures() {
    local dest=$REPO/Fixtures/qemu
    ensure_host_packages
    local outbox; outbox=$(mktemp -d)
    VM_WITH_NVMEKIT=0 vm_boot kernel ab 300 "$outbox" 0 "" "$(cat "$VMD/capture-fixtures.sh")" || {
        rm -rf "$outbox"; vm_die "fixture capture failed in the guest (see above)"; }
    mkdir -p "$dest"
    rm -rf "$dest/controller-a" "$dest/controller-b"
    cp -r "$outbox"/. "$dest/"; rm -rf "$outbox"
    qemu_args '<run>' kernel ab
    local qver; qver=$("$QEMU" -version | head -1)
    { echo "# Provenance of Fixtures/qemu"
      echo
      echo "Captured by \`tools/vm capture-fixtures\` on $(date -u +%Y-%m-%d) (UTC): nvme-cli's raw (\`-b\`) and JSON (\`-o json\`)"
      echo "output of QEMU's emulated NVMe controllers, read through the guest's in-kernel nvme driver (kernel backend),"
      echo "plus each controller's PCI configuration space from sysfs (\`config\`, 4096 bytes read as root)."
      echo "Every boot starts from zeroed sparse media, so the log pages show a controller that only the kernel's probe and"
      echo "these commands have touched."
      echo
      echo "- QEMU: $qver (Debian package qemu-system-x86 $(dpkg-query -W -f='${Version}' qemu-system-x86))"
      echo "- nvme-cli: $(tr '\n' ' ' < "$dest/nvme-cli-version.txt")(Debian package nvme-cli $(dpkg-query -W -f='${Version}' nvme-cli))"
      echo "- guest kernel: linux-image-$ABI-amd64 $(cat "$KDIR/version")"
      echo "- controller-a: serial NVMEKIT0, nsid 1 = 512-byte LBAs, nsid 2 = 4096-byte LBAs + 8 bytes metadata"
      echo "- controller-b: serial NVMEKIT1, nsid 1 = zoned (ZNS), 4096-byte LBAs, 16 MiB zones"
      echo
      echo "Files per controller: \`id-ctrl\` (Identify Controller, CNS 01h), \`id-ns-N\` (Identify Namespace, CNS 00h),"
      echo "\`ns-descs-N\` (Namespace Identification Descriptor list, CNS 03h), \`smart-log\` (LID 02h), \`error-log\`"
      echo "(LID 01h), \`fw-log\` (LID 03h), \`effects-log\` (Commands Supported and Effects, LID 05h), \`zns-id-ctrl\` /"
      echo "\`zns-id-ns-N\` (I/O Command Set specific Identify, CSI 02h), \`pci-config.bin\`; \`.bin\` is the raw data,"
      echo "\`.json\` nvme-cli's decoding of the same command."
      echo
      echo "QEMU command line (\`<run>\` is a per-boot scratch directory):"
      echo
      echo '```'
      qemu_cmdline_pretty | sed "s|$KDIR|<cache>/kernel/$ABI|g"
      echo '```'
    } > "$dest/PROVENANCE.md"
    find "$dest" -type f | sort | sed "s|^$REPO/||"
}
