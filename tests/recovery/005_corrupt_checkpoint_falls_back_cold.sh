#!/usr/bin/env bash
# recovery 005: a damaged checkpoint must not be believed. While fio writes
# and verifies through the FUSE file, the driver is frozen (SIGSTOP), one bit
# of the payload of its newest checkpoint slot is flipped (the checkpoint
# memfd is the driver's fd 5; abi/checkpoint.h: two 16 KiB slots, epoch at
# +8, payload at +64), and the driver is SIGKILLed. The successor must refuse
# the warm resume (the crc32c fails on the newest epoch, and the older slot is
# stale), the engine must fall back to a cold start (device reset, every
# outstanding request reissued), and no data may be lost: fio verifies every
# block. Two rounds, with a different bit each.
source "$(dirname "$0")/lib_recovery.sh"
require_root_and_tools fio python3
trap recovery_cleanup EXIT
e2e_setup r005 isolated 64MiB
# A long heartbeat timeout: the test's SIGKILL, not hang detection, ends the
# frozen driver.
e2e_policy checkpoint <<TOML
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
[recovery]
mode = "warm"
TOML
e2e_start_supervisor

start_fio_verify r005 48M 3000
for round in 1 2; do
  sleep 0.7
  fio_running || fail "fio finished before round $round: no load to corrupt under"
  pid=$(serving_driver_pid) || fail "no serving driver"
  kill -STOP "$pid"
  python3 - "/proc/$pid/fd/5" "$round" <<'PY' || fail "could not corrupt the checkpoint"
import mmap, os, struct, sys
SLOT, PAYLOAD = 16384, 64                  # abi/checkpoint.h CheckpointSlot
fd = os.open(sys.argv[1], os.O_RDWR)
m = mmap.mmap(fd, 2 * SLOT)
slots = []
for i in range(2):
    magic, version, epoch, checksum, size = struct.unpack_from("<IIQII", m, i * SLOT)
    assert magic in (0, 0x43444C55), hex(magic)   # abi/abi_version.h kCheckpointMagic
    slots.append((epoch, i, size))
epoch, i, size = max(slots)
assert epoch > 0 and 0 < size <= SLOT - PAYLOAD, f"no checkpoint written yet: {slots}"
# A different byte and bit each round, inside the part the checksum covers.
byte = (int(sys.argv[2]) * 37) % size
bit = int(sys.argv[2]) % 8
at = i * SLOT + PAYLOAD + byte
m[at] ^= 1 << bit
print(f"checkpoint slot {i} (epoch {epoch}, {size} payload bytes): flipped bit {bit} of payload byte {byte}")
PY
  kill -KILL "$pid"
  wait_log_count "warm resume refused" "$round" 15
  wait_log_count "driver restarted cold" "$round" 15
  log "round $round: refused: $(grep "warm resume refused" "$E2E_TMP/supervisor.log" | tail -1 | sed 's/.*refused (//; s/); falling back.*//')"
done
check_fio r005
grep "warm resume refused" "$E2E_TMP/supervisor.log" | grep -vE "damaged|validates" >/dev/null &&
  fail "a warm resume was refused for another reason than the damaged checkpoint"
[ "$(log_count "driver restarted warm")" -eq 0 ] || fail "a damaged checkpoint was resumed warm"
grep -q "device FAILED" "$E2E_TMP/supervisor.log" && fail "device failed"
no_request_failed
e2e_stop_supervisor
log "2 damaged checkpoints refused, cold fallbacks, fio verified"
echo "PASS"
