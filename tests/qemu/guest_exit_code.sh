#!/usr/bin/env bash
# qemu.guest_exit_code: the harness cannot pass a failing guest, and the
# nvme's raw image is the host's to inspect after poweroff. The guest script
# hands the nvme to the kernel's own driver (uldd-guest-kernel-driver), writes
# a marker 1 MiB into the disk, and exits 3: run-guest.sh must exit 3, and the
# image the host kept must hold the marker next to the bytes the host put there.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib_qemu.sh
source "$HERE/lib_qemu.sh"
qemu_setup guest_exit_code
qemu_build_guest

cat > "$QEMU_TMP/fail.sh" <<'GUEST'
disk=$(uldd-guest-kernel-driver nvme) || exit 20
echo "kernel nvme driver: /dev/$disk"
printf 'ULDD-GUEST-WROTE-THIS' | dd of="/dev/$disk" bs=4096 seek=256 conv=sync 2>/dev/null || exit 21
sync
echo "guest script about to fail"
exit 3
GUEST
printf 'ULDD-HOST-MARK' > "$QEMU_TMP/disk.img"
truncate -s 16M "$QEMU_TMP/disk.img"
files=()
while read -r spec; do files+=(--file "$spec"); done < <(qemu_reference_driver_files nvme)
rc=0
bash "$HERE/run-guest.sh" --disk "$QEMU_TMP/disk.img" --timeout 240 "${files[@]}" \
  "$QEMU_TMP/fail.sh" > "$QEMU_TMP/run.out" 2>&1 || rc=$?
cat "$QEMU_TMP/run.out" >&2
[ $rc = 3 ] || qfail "run-guest.sh exited $rc for a guest script exiting 3"
grep -q "guest script about to fail" "$QEMU_TMP/run.out" || qfail "guest output not shown"
[ "$(head -c 14 "$QEMU_TMP/disk.img")" = ULDD-HOST-MARK ] || qfail "the host's bytes at 0 changed"
got=$(dd if="$QEMU_TMP/disk.img" bs=4096 skip=256 count=1 2>/dev/null | head -c 21)
[ "$got" = ULDD-GUEST-WROTE-THIS ] || qfail "the guest's write is not in the image (read '$got')"
[ "$(stat -c %s "$QEMU_TMP/disk.img")" = $((16 << 20)) ] || qfail "disk image size changed"
qlog "PASS: exit code 3 came back through run-guest.sh; the guest's write is in the kept image"
