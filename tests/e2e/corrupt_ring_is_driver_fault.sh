#!/usr/bin/env bash
# e2e-disk: a corrupt ring is a driver fault, not a supervisor crash. The test
# scribbles an impossible completion-ring tail into the live ring region (the
# driver's memfd, reached through /proc/PID/fd as root), as a hostile driver
# could. The shim must notice and name it; the restart engine must kill the
# driver ("protocol violation") and start a new one on emptied rings, which
# serves the request that woke the shim and everything after; the supervisor
# stays healthy and data written before the fault is intact. (Bogus
# completions in a well-formed ring: tests/recovery/006.)
source "$(dirname "$0")/lib.sh"
require_root_and_tools python3
trap e2e_cleanup EXIT
e2e_setup corrupt isolated 16MiB
e2e_start_supervisor
head -c $((1 << 20)) /dev/urandom > "$E2E_TMP/before.bin"
dd if="$E2E_TMP/before.bin" of="$FUSE_FILE" bs=1M oflag=direct conv=notrunc status=none
driver=$(e2e_driver_pid) || fail "no driver"

python3 - "/proc/$driver/fd/4" <<'PY'
import mmap, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDWR)
m = mmap.mmap(fd, 4096)
magic, version, capacity = struct.unpack_from("<III", m, 0)
assert magic == 0x52444c55, hex(magic)            # abi/abi_version.h kRingRegionMagic
completion_indices = struct.unpack_from("<Q", m, 24)[0]  # RingRegionHeader.completion_indices_offset
head = struct.unpack_from("<I", m, completion_indices + 64)[0]  # consumer line: head
struct.pack_into("<I", m, completion_indices, (head + capacity * 1000) & 0xFFFFFFFF)  # producer tail
print(f"completion tail set {capacity * 1000} past head {head} (capacity {capacity})")
PY
# Any request wakes the shim, which then looks at the ring; the request is
# held while the driver is replaced and then served by the new one.
timeout 10 dd if="$FUSE_FILE" of=/dev/null bs=4k count=1 iflag=direct status=none 2>"$E2E_TMP/dd.err" ||
  { cat "$E2E_TMP/dd.err"; fail "the request that met the fault was not served after the restart"; }
for _ in $(seq 100); do grep -q "driver restarted" "$E2E_TMP/supervisor.log" && break; sleep 0.1; done
grep -q "driver fault: impossible ring index" "$E2E_TMP/supervisor.log" || fail "fault not named"
grep -q "driver (pid $driver) protocol violation: impossible ring index.*killed \[protocol-violation\]" \
  "$E2E_TMP/supervisor.log" || fail "driver not killed for the violation"
grep -q "driver restarted" "$E2E_TMP/supervisor.log" || fail "driver not restarted"
new=$(e2e_driver_pid) || fail "no driver after the restart"
[ "$new" != "$driver" ] || fail "the faulty driver ($driver) still serves"
# The new driver serves: earlier data reads back, new data round-trips.
dd if="$FUSE_FILE" of="$E2E_TMP/back.bin" bs=1M count=1 iflag=direct status=none || fail "read after restart"
cmp -s "$E2E_TMP/back.bin" "$E2E_TMP/before.bin" || fail "data written before the fault reads back changed"
head -c $((1 << 20)) /dev/urandom > "$E2E_TMP/after.bin"
dd if="$E2E_TMP/after.bin" of="$FUSE_FILE" bs=1M seek=1 oflag=direct conv=notrunc status=none || fail "write after restart"
grep -q "device FAILED" "$E2E_TMP/supervisor.log" && fail "device failed"
kill -0 "$SUPERVISOR_PID" || fail "supervisor died"
e2e_stop_supervisor
head -c $((1 << 20)) "$E2E_TMP/disk0.img" | cmp - "$E2E_TMP/before.bin" || fail "data written before the fault changed"
dd if="$E2E_TMP/disk0.img" bs=1M skip=1 count=1 status=none | cmp - "$E2E_TMP/after.bin" ||
  fail "data written after the restart not on the backing file"
log "corrupt ring: named, driver killed and restarted ($driver -> $new), data intact, I/O works after"
echo "PASS"
