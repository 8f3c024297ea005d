#!/usr/bin/env bash
# e2e-disk: a driver that dies (SIGKILL) is noticed at once through its pidfd.
# Under a restart policy of `never` the first failure exhausts the policy and
# the device is failed cleanly: I/O through FUSE and NBD gets EIO promptly
# instead of hanging, the supervisor stays up and reports it, and it still
# stops cleanly. (Restarts are the recovery suites' business: tests/recovery/.)
source "$(dirname "$0")/lib.sh"
require_root_and_tools nbdcopy
trap e2e_cleanup EXIT
e2e_setup death isolated 16MiB
e2e_policy never <<TOML
[restart]
mode = "never"
intensity = 0
TOML
e2e_start_supervisor
dd if=/dev/urandom of="$FUSE_FILE" bs=1M count=1 oflag=direct conv=notrunc status=none || fail "write before"
driver=$(pgrep -f "uldd-nvme-driver --uio=emulated --device disk0" -P "$SUPERVISOR_PID") || fail "no driver"
kill -KILL "$driver"
for _ in $(seq 50); do grep -q "device FAILED" "$E2E_TMP/supervisor.log" && break; sleep 0.1; done
grep -q "driver (pid $driver) killed by signal KILL" "$E2E_TMP/supervisor.log" || fail "death not logged"
grep -q "giving up on the driver: .*policy 'never' says fail-device" "$E2E_TMP/supervisor.log" ||
  fail "policy exhaustion not logged"
grep -q "driver restarted" "$E2E_TMP/supervisor.log" && fail "restarted under a 'never' policy"
start=$SECONDS
if timeout 10 dd if="$FUSE_FILE" of=/dev/null bs=4k count=1 iflag=direct status=none 2>"$E2E_TMP/dd.err"; then
  fail "read through FUSE succeeded on a failed device"
fi
grep -q "Input/output error" "$E2E_TMP/dd.err" || { cat "$E2E_TMP/dd.err"; fail "FUSE read: expected EIO"; }
if timeout 10 nbdcopy "$NBD_URL" "$E2E_TMP/out.img" 2>"$E2E_TMP/nbd.err"; then fail "nbdcopy succeeded on a failed device"; fi
[ $((SECONDS - start)) -lt 10 ] || fail "errors were not prompt"
kill -0 "$SUPERVISOR_PID" || fail "supervisor died with its driver"
e2e_stop_supervisor
log "driver SIGKILL: device failed, EIO through FUSE and NBD, clean stop"
echo "PASS"
