#!/usr/bin/env bash
# recovery 004: a crash loop beyond the policy's intensity. With at most 3
# restarts per minute, the 4th SIGKILL exhausts the policy, and the policy's
# [exhausted] action is what happens:
#   fail-device (default):  "giving up on the driver", the device is FAILED,
#       reads and writes through FUSE and NBD get EIO promptly (no hang), the
#       supervisor stays alive and still stops cleanly with status 0;
#   stop-supervisor (argument "stop-supervisor"): the supervisor exits with
#       the policy's exit_code (7), leaving nothing behind.
source "$(dirname "$0")/lib_recovery.sh"
require_root_and_tools python3 nbdcopy
action=${1:-fail-device}
trap recovery_cleanup EXIT
e2e_setup "r004-$action" isolated 16MiB
if [ "$action" = stop-supervisor ]; then
  exhausted_toml=$'action = "stop-supervisor"\nexit_code = 7'
else
  exhausted_toml='action = "fail-device"'
fi
e2e_policy crashloop <<TOML
[restart]
mode = "always"
intensity = 3
period = "1m"
[backoff]
initial = "1ms"
max = "5ms"
jitter = 0.0
[exhausted]
$exhausted_toml
TOML
e2e_start_supervisor
dd if=/dev/urandom of="$FUSE_FILE" bs=1M count=1 oflag=direct conv=notrunc status=none || fail "write before"

# Kills 1-3 are restarted; the 4th needs a 4th restart within the minute.
for k in 1 2 3 4; do
  pid=$(serving_driver_pid) || fail "no serving driver before kill $k"
  kill -KILL "$pid"
  wait_log "driver \(pid $pid\) killed by signal KILL" 10
  [ $k -eq 4 ] || wait_log_count "driver restarted (warm|cold)" "$k" 15
  log "kill $k: driver $pid"
done
wait_log "giving up on the driver: .*policy 'crashloop' says $action" 10
[ "$(log_count "driver restarted (warm|cold)")" -eq 3 ] || fail "expected exactly 3 restarts before giving up"

if [ "$action" = stop-supervisor ]; then
  status=0
  for _ in $(seq 100); do kill -0 "$SUPERVISOR_PID" 2>/dev/null || break; sleep 0.1; done
  wait "$SUPERVISOR_PID" || status=$?
  SUPERVISOR_PID=""
  [ "$status" = 7 ] || fail "supervisor exit status $status, the policy says 7"
  grep -q "policy says stop the supervisor: exiting with status 7" "$E2E_TMP/supervisor.log" || fail "exit not logged"
  if grep -q " $E2E_TMP/run/" /proc/mounts; then fail "FUSE mount left behind"; fi
  [ ! -S "$NBD_SOCKET" ] || fail "NBD socket left behind"
  if pgrep -f "uldd-hw nvme --backing $E2E_TMP" >/dev/null; then fail "device model left running"; fi
  log "crash loop: policy exhausted, supervisor exited with status 7"
  echo "PASS"
  exit 0
fi

wait_log "device FAILED" 5
start=$SECONDS
if timeout 10 dd if="$FUSE_FILE" of=/dev/null bs=4k count=1 iflag=direct status=none 2>"$E2E_TMP/dd.err"; then
  fail "read through FUSE succeeded on a failed device"
fi
grep -q "Input/output error" "$E2E_TMP/dd.err" || { cat "$E2E_TMP/dd.err"; fail "FUSE read: expected EIO"; }
if timeout 10 dd if=/dev/zero of="$FUSE_FILE" bs=4k count=1 oflag=direct conv=notrunc status=none 2>"$E2E_TMP/dd.err"; then
  fail "write through FUSE succeeded on a failed device"
fi
grep -q "Input/output error" "$E2E_TMP/dd.err" || { cat "$E2E_TMP/dd.err"; fail "FUSE write: expected EIO"; }
if timeout 10 nbdcopy "$NBD_URL" "$E2E_TMP/out.img" 2>/dev/null; then fail "nbdcopy succeeded on a failed device"; fi
elapsed=$((SECONDS - start))
[ $elapsed -lt 5 ] || fail "errors were not prompt ($elapsed s for three failed I/Os)"
sleep 1.5  # a further status line or two: the supervisor keeps running its loop
kill -0 "$SUPERVISOR_PID" || fail "supervisor died"
grep -q "disk0: FAILED" "$E2E_TMP/supervisor.log" || fail "status line does not say FAILED"
[ -z "$(e2e_driver_pid || true)" ] || fail "a driver was started after the policy gave up"
e2e_stop_supervisor
log "crash loop: 3 restarts, then the device failed with EIO in $elapsed s; supervisor healthy, clean stop"
echo "PASS"
