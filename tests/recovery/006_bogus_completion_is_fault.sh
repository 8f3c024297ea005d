#!/usr/bin/env bash
# recovery 006: a driver that posts a bogus completion is faulty. While fio
# writes and verifies through the FUSE file, the driver is frozen (SIGSTOP)
# and the test, playing a hostile driver, writes one completion into the
# completion ring at the producer tail and publishes it (ring region = the
# driver's fd 4; abi/ring_region.h, abi/spsc_ring.h, abi/block_descriptor.h):
#   round 1  an unknown tag (a slot beyond the in-flight table),
#   round 2  a duplicate: the completion most recently posted, posted again,
#   round 3  an out-of-range IOVA on that completion.
# The shim must drop it without touching any buffer, name a driver fault, and
# the engine must kill and restart the driver ("protocol violation") with the
# outstanding requests handed over: no request fails, fio verifies every
# block, the supervisor stays healthy.
source "$(dirname "$0")/lib_recovery.sh"
require_root_and_tools fio python3
trap recovery_cleanup EXIT
e2e_setup r006 isolated 64MiB
# A long heartbeat timeout: the shim's check (it looks at the ring at least
# every 100 ms), not hang detection, must end the frozen driver.
e2e_policy bogus <<TOML
[restart]
mode = "always"
intensity = 100
[backoff]
initial = "1ms"
max = "1ms"
jitter = 0.0
[heartbeat]
interval = "20ms"
timeout = "10s"
TOML
e2e_start_supervisor

start_fio_verify r006 48M 3000
round=0
for kind in unknown-tag duplicate bad-iova; do
  round=$((round + 1))
  sleep 0.6
  fio_running || fail "fio finished before round $round: no load"
  pid=$(serving_driver_pid) || fail "no serving driver"
  kill -STOP "$pid"
  python3 - "/proc/$pid/fd/4" "$kind" <<'PY' || fail "could not write the bogus completion"
import mmap, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDWR)
size = os.fstat(fd).st_size
m = mmap.mmap(fd, size)
magic, version, capacity, desc_size = struct.unpack_from("<IIII", m, 0)
assert magic == 0x52444C55 and desc_size == 32, hex(magic)  # abi/abi_version.h kRingRegionMagic
completion_indices, _, completion_slots = struct.unpack_from("<QQQ", m, 24)  # RingRegionHeader
tail = struct.unpack_from("<I", m, completion_indices)[0]        # RingProducerLine.tail
slot = lambda index: completion_slots + (index & (capacity - 1)) * 32
kind = sys.argv[2]
# BlockDescriptor: tag u32, op u16, status u16, len u32, flags u32, iova u64, lba u64
last = list(struct.unpack_from("<IHHIIQQ", m, slot(tail - 1)))
assert last[1] in (1, 2, 3), f"no completion posted yet: {last}"
if kind == "unknown-tag":
    bogus = [0xFFFFFFFF, 1, 0, 4096, 0, 0, 0]
elif kind == "duplicate":
    bogus = last
else:  # bad-iova
    bogus = last[:5] + [1 << 40] + last[6:]
struct.pack_into("<IHHIIQQ", m, slot(tail), *bogus)
struct.pack_into("<I", m, completion_indices, (tail + 1) & 0xFFFFFFFF)
print(f"{kind}: completion {bogus} posted at tail {tail} (capacity {capacity})")
PY
  wait_log_count "driver fault: completion tag=" "$round" 10
  kill -CONT "$pid" 2>/dev/null || true
  wait_log_count "driver \(pid $pid\) protocol violation: completion tag=.*killed \[protocol-violation\]" 1 10
  wait_log_count "driver restarted (warm|cold)" "$round" 15
  log "round $round ($kind): driver $pid faulted, killed and restarted"
done
check_fio r006
[ "$(log_count "driver fault:")" -eq 3 ] || fail "expected exactly 3 driver faults"
[ "$(log_count "driver restarted (warm|cold)")" -eq 3 ] || fail "expected exactly 3 restarts"
grep -q "device FAILED" "$E2E_TMP/supervisor.log" && fail "device failed"
no_request_failed
line=$(grep "disk0: serving" "$E2E_TMP/supervisor.log" | tail -1)
if ! [[ "$line" =~ violations\ ([0-9]+) ]] || [ "${BASH_REMATCH[1]}" -lt 3 ]; then
  fail "violations not counted: $line"
fi
# The supervisor and the new driver still serve: a fresh pattern written and read back.
head -c $((4 << 20)) /dev/urandom > "$E2E_TMP/after.bin"
dd if="$E2E_TMP/after.bin" of="$FUSE_FILE" bs=1M oflag=direct conv=notrunc status=none
dd if="$FUSE_FILE" of="$E2E_TMP/back.bin" bs=1M count=4 iflag=direct status=none
cmp -s "$E2E_TMP/after.bin" "$E2E_TMP/back.bin" || fail "read-back after the faults differs"
e2e_stop_supervisor
log "3 bogus completions (unknown tag, duplicate, bad IOVA) rejected; driver restarted each time; fio verified"
echo "PASS"
