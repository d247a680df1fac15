# Runs INSIDE the guest (kernel backend) for `tools/vm capture-fixtures`: nvme-cli's raw (-b) and JSON outputs of
# QEMU's Identify data and log pages, and each controller's PCI config space, written under $NVMEKIT_OUTBOX.
set -u
fail=0
cap() { # file command... : run, keep stdout in $NVMEKIT_OUTBOX/file, count failures
    out="$NVMEKIT_OUTBOX/$1"; shift
    mkdir -p "$(dirname "$out")"
    if "$@" > "$out" 2> /tmp/err && [ -s "$out" ]; then echo "captured $(basename "$(dirname "$out")")/$(basename "$out") ($(wc -c < "$out") bytes): $*"
    else echo "FAILED: $* ($(cat /tmp/err))"; rm -f "$out"; fail=$((fail + 1)); fi
}
i=0
for bdf in $NVMEKIT_DEVICES; do
    name=controller-$(echo abcdefgh | cut -c$((i + 1))); i=$((i + 1))
    ctrl=/dev/$(ls /sys/bus/pci/devices/$bdf/nvme)
    cap "$name/pci-config.bin" cat /sys/bus/pci/devices/$bdf/config
    cap "$name/id-ctrl.bin" nvme id-ctrl "$ctrl" -b
    cap "$name/id-ctrl.json" nvme id-ctrl "$ctrl" -o json
    for log in smart-log error-log fw-log; do
        cap "$name/$log.bin" nvme $log "$ctrl" -b
        cap "$name/$log.json" nvme $log "$ctrl" -o json
    done
    # nvme-cli 2.3's effects-log prints nothing for QEMU's controller: read LID 05h raw.
    cap "$name/effects-log.bin" nvme get-log "$ctrl" --log-id=5 --log-len=4096 -b
    cap "$name/list-ns.json" nvme list-ns "$ctrl" -o json
    for ns in $(ls -d /sys/bus/pci/devices/$bdf/nvme/nvme*/nvme*n* 2>/dev/null | sed 's/.*n//' | sort -n); do
        cap "$name/id-ns-$ns.bin" nvme id-ns "$ctrl" -n "$ns" -b
        cap "$name/id-ns-$ns.json" nvme id-ns "$ctrl" -n "$ns" -o json
        cap "$name/ns-descs-$ns.bin" nvme ns-descs "$ctrl" -n "$ns" -b
        if [ "$(cat /sys/block/$(basename "$ctrl")n$ns/queue/zoned 2>/dev/null)" = host-managed ]; then
            cap "$name/zns-id-ns-$ns.bin" nvme zns id-ns "$ctrl" -n "$ns" -o binary
            cap "$name/zns-id-ns-$ns.json" nvme zns id-ns "$ctrl" -n "$ns" -o json
            cap "$name/zns-id-ctrl.bin" nvme zns id-ctrl "$ctrl" -o binary
            cap "$name/zns-id-ctrl.json" nvme zns id-ctrl "$ctrl" -o json
        fi
    done
done
nvme version > "$NVMEKIT_OUTBOX/nvme-cli-version.txt"
exit $fail
