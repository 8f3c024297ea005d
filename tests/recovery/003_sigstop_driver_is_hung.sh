#!/usr/bin/env bash
# recovery 003: a hung driver. SIGSTOP freezes the NVMe driver while fio
# writes and verifies through the FUSE file; the heartbeat stops, and the
# engine must call it hung within the policy's heartbeat timeout, kill it and
# restart it, with the requests it held handed over. Three hangs in one run;
# fio must finish with no error and every block verified.
source "$(dirname "$0")/lib_recovery.sh"
require_root_and_tools fio python3
trap recovery_cleanup EXIT
e2e_setup r003 isolated 64MiB
# Heartbeat 20 ms / timeout 200 ms (e2e_recovery_policy); the log line gives
# the silence the engine measured, which must not exceed the timeout by more
# than a generous scheduling allowance (the loop looks every interval).
e2e_recovery_policy warm false
e2e_start_supervisor
timeout_ms=200
allowance_ms=1000

start_fio_verify r003 48M 3000
for round in 1 2 3; do
  sleep 0.5
  fio_running || fail "fio finished before hang $round: nothing to hang under"
  pid=$(serving_driver_pid) || fail "no serving driver"
  kill -STOP "$pid"
  log "hang $round: driver $pid stopped"
  wait_log_count "driver \(pid $pid\) hung: no heartbeat" 1 10
  wait_log_count "driver restarted (warm|cold)" "$round" 15
  silence=$(grep -oE "driver \(pid $pid\) hung: no heartbeat for [0-9]+ ms" "$E2E_TMP/supervisor.log" |
            head -1 | grep -oE "[0-9]+ ms" | grep -oE "[0-9]+")
  log "hang $round: detected after $silence ms of silence (timeout $timeout_ms ms), restarted"
  [ "$silence" -ge "$timeout_ms" ] || fail "called hung after only $silence ms (< timeout $timeout_ms ms)"
  [ "$silence" -le $((timeout_ms + allowance_ms)) ] || fail "hang noticed late: $silence ms"
  grep -qE "driver \(pid $pid\) hung: .*killed \[hung\]" "$E2E_TMP/supervisor.log" || fail "cause not 'hung'"
done
check_fio r003
[ "$(log_count "driver restarted (warm|cold)")" -eq 3 ] || fail "expected exactly 3 restarts"
grep -q "device FAILED" "$E2E_TMP/supervisor.log" && fail "device failed"
no_request_failed
# I/O still works after the last restart: a fresh pattern written and read back.
head -c $((4 << 20)) /dev/urandom > "$E2E_TMP/after.bin"
dd if="$E2E_TMP/after.bin" of="$FUSE_FILE" bs=1M oflag=direct conv=notrunc status=none
dd if="$FUSE_FILE" of="$E2E_TMP/back.bin" bs=1M count=4 iflag=direct status=none
cmp -s "$E2E_TMP/after.bin" "$E2E_TMP/back.bin" || fail "read-back after the hangs differs"
e2e_stop_supervisor
log "3 hangs detected by heartbeat and recovered; fio verified"
echo "PASS"
