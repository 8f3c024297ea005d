#!/usr/bin/env bash
# recovery 002: ext4 on a loop device over the FUSE file. A tree (~50 MiB,
# ~1400 files) is copied in and synced, again into a fresh directory each
# round, while the NVMe driver is SIGKILLed 20 times (warm restarts). Then:
# unmount, fsck -fn clean, mount again, and every file of every copy has the
# checksum of its source. The loop device is attached anew before fsck and
# before the remount, so what is checked is read back from the device.
source "$(dirname "$0")/lib_recovery.sh"
e2e_private_mounts "$@"
require_root_and_tools losetup mkfs.ext4 fsck.ext4 sha256sum unshare
trap recovery_cleanup EXIT
e2e_setup r002 isolated 384MiB
e2e_recovery_policy warm false
e2e_start_supervisor

SRC=/usr/lib/python3.11
[ -d "$SRC" ] || SRC=/usr/include/linux
(cd "$SRC" && find . -type f -print0 | sort -z | xargs -0 sha256sum) > "$E2E_TMP/src.sums"
files=$(wc -l < "$E2E_TMP/src.sums")
[ "$files" -gt 100 ] || fail "source tree too small ($files files)"

e2e_attach_loop "$FUSE_FILE"; loop=$E2E_LOOP
mkfs.ext4 -q -F "$loop"
mnt="$E2E_TMP/mnt"; mkdir -p "$mnt"
mount "$loop" "$mnt"; E2E_MOUNTS+=("$mnt")

kill_driver_repeatedly 20 0.05 KILL
rounds=0
# At most 5 copies (~270 MiB of a 384 MiB file system): a kill comes 50 ms
# after each restart, so in practice they are done within the first few.
while [ "$(kills_done)" -lt 20 ]; do
  [ $rounds -lt 5 ] || fail "copies exhausted before 20 kills ($(kills_done) done)"
  rounds=$((rounds + 1))
  cp -a "$SRC" "$mnt/tree-$rounds" || fail "copy $rounds failed"
  sync -f "$mnt" || fail "sync after copy $rounds failed"
  log "copy $rounds synced, $(kills_done) kills so far"
done
wait "$KILLER_PID"; KILLER_PID=""
umount "$mnt"
reattach() { e2e_detach_loop "$loop"; e2e_attach_loop "$FUSE_FILE"; loop=$E2E_LOOP; }
reattach
fsck.ext4 -fn "$loop" > "$E2E_TMP/fsck.out" 2>&1 || { cat "$E2E_TMP/fsck.out"; fail "fsck.ext4 -fn not clean"; }
reattach
mount "$loop" "$mnt"
for r in $(seq "$rounds"); do
  (cd "$mnt/tree-$r" && find . -type f -print0 | sort -z | xargs -0 sha256sum) > "$E2E_TMP/dst-$r.sums"
  cmp -s "$E2E_TMP/src.sums" "$E2E_TMP/dst-$r.sums" ||
    { diff "$E2E_TMP/src.sums" "$E2E_TMP/dst-$r.sums" | head; fail "checksums of copy $r differ"; }
done
umount "$mnt"
e2e_detach_loop "$loop"
restarts=$(restarts_logged)
[ "$restarts" -ge 20 ] || fail "expected >= 20 restarts, saw $restarts"
grep -q "device FAILED" "$E2E_TMP/supervisor.log" && fail "device failed"
no_request_failed
e2e_stop_supervisor
log "ext4: $rounds copies of $files files under 20 kills ($restarts restarts), fsck clean, checksums equal"
echo "PASS"
