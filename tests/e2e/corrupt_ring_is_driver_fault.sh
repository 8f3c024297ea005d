#!/usr/bin/env bash
# e2e-disk: a corrupt ring is a driver fault, not a supervisor crash. The test
# scribbles an impossible completion-ring tail into the live ring region (the
# driver's memfd, reached through /proc/PID/fd as root), as a hostile driver
# could. The shim must notice, name it, have the driver killed, fail the
# device cleanly (EIO, no hang) and keep the supervisor healthy; data written
# before the fault must be intact on the backing file.
source "$(dirname "$0")/lib.sh"
require_root_and_tools python3
trap e2e_cleanup EXIT
e2e_setup corrupt isolated 16MiB
e2e_start_supervisor
head -c $((1 << 20)) /dev/urandom > "$E2E_TMP/before.bin"
dd if="$E2E_TMP/before.bin" of="$FUSE_FILE" bs=1M oflag=direct conv=notrunc status=none
driver=$(pgrep -f "uldd-nvme-driver --uio=emulated --device disk0" -P "$SUPERVISOR_PID") || fail "no driver"

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
# Any request wakes the shim, which then looks at the ring.
timeout 10 dd if="$FUSE_FILE" of=/dev/null bs=4k count=1 iflag=direct status=none 2>/dev/null || true
for _ in $(seq 50); do grep -q "device FAILED" "$E2E_TMP/supervisor.log" && break; sleep 0.1; done
grep -q "driver fault: impossible ring index" "$E2E_TMP/supervisor.log" || fail "fault not named"
grep -q "driver (pid $driver) killed by signal KILL" "$E2E_TMP/supervisor.log" || fail "driver not killed"
if timeout 10 dd if="$FUSE_FILE" of=/dev/null bs=4k count=1 iflag=direct status=none 2>/dev/null; then
  fail "I/O succeeded on a failed device"
fi
kill -0 "$SUPERVISOR_PID" || fail "supervisor died"
e2e_stop_supervisor
head -c $((1 << 20)) "$E2E_TMP/disk0.img" | cmp - "$E2E_TMP/before.bin" || fail "data written before the fault changed"
log "corrupt ring: named, driver killed, device failed cleanly, earlier data intact"
echo "PASS"
