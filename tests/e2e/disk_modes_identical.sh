#!/usr/bin/env bash
# e2e-disk (d): isolated and colocated modes give identical bytes. Data written
# through one mode is read back through the other (same backing file), in both
# directions: written through FUSE, read back whole through NBD.
source "$(dirname "$0")/lib.sh"
require_root_and_tools nbdcopy
trap e2e_cleanup EXIT
e2e_setup modes isolated 64MiB
head -c $((32 << 20)) /dev/urandom > "$E2E_TMP/a.bin"
head -c $((32 << 20)) /dev/urandom > "$E2E_TMP/b.bin"

# isolated: write a at 0, read the whole device.
e2e_start_supervisor
dd if="$E2E_TMP/a.bin" of="$FUSE_FILE" bs=1M oflag=direct conv=notrunc status=none
nbdcopy "$NBD_URL" "$E2E_TMP/isolated-1.bin"
e2e_stop_supervisor

# colocated: the whole device reads the same; write b at 32 MiB.
write_config colocated 64MiB
e2e_start_supervisor
nbdcopy "$NBD_URL" "$E2E_TMP/colocated-1.bin"
cmp "$E2E_TMP/isolated-1.bin" "$E2E_TMP/colocated-1.bin" || fail "colocated reads differ from isolated"
dd if="$E2E_TMP/b.bin" of="$FUSE_FILE" bs=1M seek=32 oflag=direct conv=notrunc status=none
nbdcopy "$NBD_URL" "$E2E_TMP/colocated-2.bin"
e2e_stop_supervisor

# isolated again: what colocated wrote reads the same.
write_config isolated 64MiB
e2e_start_supervisor
nbdcopy "$NBD_URL" "$E2E_TMP/isolated-2.bin"
e2e_stop_supervisor
cmp "$E2E_TMP/colocated-2.bin" "$E2E_TMP/isolated-2.bin" || fail "isolated reads differ from colocated"
cat "$E2E_TMP/a.bin" "$E2E_TMP/b.bin" | cmp - "$E2E_TMP/isolated-2.bin" || fail "device does not hold a+b"
log "modes: 64 MiB identical through isolated and colocated, both directions"
echo "PASS"
