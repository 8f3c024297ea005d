#!/usr/bin/env bash
# run-guest.sh: boots the qemu test guest (QEMU's e1000 and nvme, bound to
# uio_pci_generic) with a test script, and exits with the script's exit code
# (124: qemu timed out, 125: the guest printed no exit line).
#
#   ULDD_BIN_DIR=build/bin tests/qemu/run-guest.sh [options] SCRIPT
#     --file SRC[:DEST]   extra file in the guest (default /payload/<name>); repeatable
#     --disk IMG          raw image behind the nvme (created with --disk-size if
#                         missing; kept after poweroff for the host to inspect)
#     --disk-size SIZE    size of a new image (default 64M)
#     --udp-peer PORT     send the e1000's frames to 127.0.0.1:PORT (uldd-frame-echo)
#     --timeout SEC       hard timeout for qemu (default 180)
#     --append ARGS       extra kernel parameters (uldd.hugepages=N, ...)
#     --log FILE          keep the serial console log here
# SCRIPT runs under busybox sh as root in /payload after /init has loaded the
# modules and bound uio_pci_generic; it can source /etc/uldd-guest.env
# (ULDD_E1000_UIO, ULDD_E1000_BDF, ULDD_NVME_UIO, ULDD_NVME_BDF,
# ULDD_GUEST_HUGEPAGES). uldd's binaries are on PATH.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib_qemu.sh
source "$HERE/lib_qemu.sh"

files=()
disk="" disk_size=64M log_keep=""
while [ $# -gt 1 ]; do
  case "$1" in
    --file) files+=("$2"); shift 2 ;;
    --disk) disk=$2; shift 2 ;;
    --disk-size) disk_size=$2; shift 2 ;;
    --udp-peer) QEMU_UDP_PEER=$2; shift 2 ;;
    --timeout) QEMU_TIMEOUT=$2; shift 2 ;;
    --append) QEMU_APPEND=$2; shift 2 ;;
    --log) log_keep=$2; shift 2 ;;
    *) echo "run-guest.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ $# = 1 ] && [ -f "$1" ] || { sed -n '2,20p' "$0" >&2; exit 2; }
script=$(realpath "$1")

qemu_setup run-guest
qemu_build_guest
qemu_pack_payload "$script" "${files[@]}"
if [ -n "$disk" ]; then
  [ -e "$disk" ] || truncate -s "$disk_size" "$disk"
  QEMU_DISK=$(realpath "$disk")
else
  QEMU_DISK=$QEMU_TMP/disk.img
  truncate -s "$disk_size" "$QEMU_DISK"
fi
[ -n "$log_keep" ] && QEMU_LOG=$(realpath -m "$log_keep")
rc=0
qemu_boot || rc=$?
exit "$rc"
