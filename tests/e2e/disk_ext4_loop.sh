#!/usr/bin/env bash
# e2e-disk (b): ext4 on a loop device over the FUSE file. Copy a tree in,
# unmount, fsck -fn must be clean, remount, every file's checksum equal. The
# loop device is detached and attached anew before fsck and before the
# remount, so what is checked is read back from the device, not from a cache.
source "$(dirname "$0")/lib.sh"
e2e_private_mounts "$@"
require_root_and_tools losetup mkfs.ext4 fsck.ext4 sha256sum unshare
trap e2e_cleanup EXIT
e2e_setup ext4 isolated 256MiB
e2e_start_supervisor

# ~1400 files, ~54 MiB, from a few bytes to megabytes (python3 is a dependency).
SRC=/usr/lib/python3.11
[ -d "$SRC" ] || SRC=/usr/include
e2e_attach_loop "$FUSE_FILE"; loop=$E2E_LOOP
mkfs.ext4 -q -F "$loop"
mnt="$E2E_TMP/mnt"; mkdir -p "$mnt"
mount "$loop" "$mnt"; E2E_MOUNTS+=("$mnt")
cp -a "$SRC" "$mnt/tree"
(cd "$SRC" && find . -type f -print0 | sort -z | xargs -0 sha256sum) > "$E2E_TMP/src.sums"
umount "$mnt"
reattach() { e2e_detach_loop "$loop"; e2e_attach_loop "$FUSE_FILE"; loop=$E2E_LOOP; }
reattach
fsck.ext4 -fn "$loop" > "$E2E_TMP/fsck.out" 2>&1 || { cat "$E2E_TMP/fsck.out"; fail "fsck.ext4 -fn not clean"; }
reattach
mount "$loop" "$mnt"
(cd "$mnt/tree" && find . -type f -print0 | sort -z | xargs -0 sha256sum) > "$E2E_TMP/dst.sums"
umount "$mnt"
files=$(wc -l < "$E2E_TMP/src.sums")
[ "$files" -gt 100 ] || fail "source tree too small ($files files)"
cmp -s "$E2E_TMP/src.sums" "$E2E_TMP/dst.sums" || { diff "$E2E_TMP/src.sums" "$E2E_TMP/dst.sums" | head; fail "checksums differ"; }
log "ext4: $files files copied, fsck clean, checksums equal"
e2e_detach_loop "$loop"
e2e_stop_supervisor
echo "PASS"
