#!/usr/bin/env bash
# qemu.guest_boots: the Debian guest boots under qemu-system-x86_64 (q35,
# QEMU's e1000 and nvme), uio_pci_generic is bound to both and the kernel's
# own e1000/nvme drivers are not loaded; /dev/uio0 and /dev/uio1 are the two
# devices; their BAR0 registers read through uio/kernel_uio.h
# (uldd-uio-probe) are the values QEMU's models hold (the e1000's MAC in
# RAL0/RAH0, link up in STATUS; NVMe version 1.4, CAP.MQES), and a hugetlb DMA
# region gets bus addresses from pagemap. Prints boot time and image size.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib_qemu.sh
source "$HERE/lib_qemu.sh"

qemu_setup guest_boots
[ -x "$BIN_DIR/uldd-uio-probe" ] || qfail "uldd-uio-probe not built"
qemu_build_guest
# shellcheck disable=SC1091
source "$QEMU_GUEST_DIR/guest.env"

cat > "$QEMU_TMP/run.sh" <<'EOF'
. /etc/uldd-guest.env
for m in e1000 e1000e nvme nvme_core; do
  if grep -q "^$m " /proc/modules; then echo "kernel driver $m is loaded"; exit 10; fi
done
[ -c /dev/uio0 ] && [ -c /dev/uio1 ] || { ls -l /dev/uio*; exit 11; }
[ -e /dev/fuse ] && [ -e /dev/net/tun ] && [ -e /dev/loop-control ] || { echo "missing fuse/tun/loop"; exit 12; }
grep -q ext4 /proc/filesystems || { echo "no ext4"; exit 13; }
# e1000: CTRL, STATUS, RAL0, RAH0 (Intel 8254x SDM 13.4.1, 13.4.2, 13.5.2)
uldd-uio-probe --id 8086:100e --read 0x0 --read 0x8 --read 0x5400 --read 0x5404 > e1000.out || exit 14
# NVMe: CAP (low, high), VS (NVMe 1.4 3.1.1, 3.1.2)
uldd-uio-probe --id 1b36:0010 --read 0x0 --read 0x4 --read 0x8 > nvme.out || exit 15
sed 's/^/PROBE e1000 /' e1000.out
sed 's/^/PROBE nvme /' nvme.out
exit 0
EOF
qemu_pack_payload "$QEMU_TMP/run.sh"
rc=0
qemu_boot || rc=$?
log=${QEMU_LOG:-$QEMU_TMP/serial.log}
[ $rc = 0 ] || qfail "guest script exited $rc"
qlog "summary: $QEMU_SUMMARY"

# /dev/uio0 and /dev/uio1 are the e1000 and the nvme, in either order.
ids="$(qemu_guest_value uio0 | cut -d: -f4-) $(qemu_guest_value uio1 | cut -d: -f4-)"
case "$ids" in
  "8086:100e 1b36:0010" | "1b36:0010 8086:100e") ;;
  *) qfail "uio0/uio1 are '$ids', want the e1000 (8086:100e) and the nvme (1b36:0010)" ;;
esac
[ "$(qemu_guest_value hugepages)" = 32 ] || qfail "hugepages: $(qemu_guest_value hugepages), want 32"

reg() {  # reg DEVICE OFFSET -> value
  tr -d '\r' < "$log" | awk -v d="$1" -v o="reg $2=" '$1 == "PROBE" && $2 == d && index($0, o) {
    sub(".*=", "", $0); print; exit }'
}
dma_first() { tr -d '\r' < "$log" | awk -v d="$1" '$1 == "PROBE" && $2 == d && $3 == "dma" {
    for (i = 4; i <= NF; i++) if ($i ~ /^first=/) { sub("first=", "", $i); print $i } }'; }

ral=$(reg e1000 0x5400) rah=$(reg e1000 0x5404) status=$(reg e1000 0x0008)
[ "$ral" = 0x12005452 ] || qfail "e1000 RAL0 $ral, want 0x12005452 (MAC 52:54:00:12:34:56)"
[ "$rah" = 0x80005634 ] || qfail "e1000 RAH0 $rah, want 0x80005634 (MAC high bytes, Address Valid)"
[ -n "$status" ] && (( status & 0x2 )) || qfail "e1000 STATUS $status: link not up"
vs=$(reg nvme 0x0008) cap_lo=$(reg nvme 0x0000)
[ "$vs" = 0x00010400 ] || qfail "NVMe VS $vs, want 0x00010400 (1.4, QEMU 7.2)"
[ -n "$cap_lo" ] && (( (cap_lo & 0xffff) > 0 && cap_lo != 0xffffffff )) || qfail "NVMe CAP $cap_lo"
for d in e1000 nvme; do
  first=$(dma_first $d)
  [ -n "$first" ] && (( first != 0 )) || qfail "$d: no DMA bus address from pagemap ('$first')"
done

qlog "PASS: guest ready (uio bound) after $QEMU_READY_S s, powered off after $QEMU_TOTAL_S s" \
     "(${ULDD_GUEST_KERNEL}, initramfs $((ULDD_GUEST_INITRAMFS_BYTES / 1024)) KiB," \
     "$((ULDD_GUEST_UNPACKED_KIB / 1024)) MiB unpacked); e1000 STATUS $status, NVMe CAP $cap_lo VS $vs"
