#!/usr/bin/env bash
# e2e-disk: the supervisor stops on SIGTERM even while an application's FUSE
# request can never finish. The driver is SIGSTOPped under a policy that
# declares neither a hang (10 min) nor a stuck request (request_timeout 0),
# so a write through the FUSE file waits in a FUSE worker thread that waits on
# the shim. Stopping must abort the FUSE connection (fusectl; mounted
# privately for the moment if the host has none), fail that write promptly,
# exit 0 and leave nothing behind.
source "$(dirname "$0")/lib.sh"
require_root_and_tools
trap e2e_cleanup EXIT
e2e_setup stuckstop isolated 16MiB
e2e_policy patient <<TOML
[heartbeat]
interval = "50ms"
timeout = "10m"
request_timeout = "0s"
TOML
e2e_start_supervisor
dd if=/dev/urandom of="$FUSE_FILE" bs=4k count=1 oflag=direct conv=notrunc status=none || fail "write before"
driver=$(pgrep -f "uldd-nvme-driver --uio=emulated --device disk0" -P "$SUPERVISOR_PID") || fail "no driver"
kill -STOP "$driver"
(dd if=/dev/zero of="$FUSE_FILE" bs=4k count=1 oflag=direct conv=notrunc status=none 2>"$E2E_TMP/stuck.err"
 echo $? >"$E2E_TMP/stuck.rc") &
writer=$!
sleep 1
[ ! -e "$E2E_TMP/stuck.rc" ] || fail "the write finished although the driver is stopped"
start=$SECONDS
kill -TERM "$SUPERVISOR_PID"
for _ in $(seq 200); do kill -0 "$SUPERVISOR_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$SUPERVISOR_PID" 2>/dev/null && fail "the supervisor did not stop within 20 s with a FUSE request outstanding"
status=0
wait "$SUPERVISOR_PID" || status=$?
SUPERVISOR_PID=""
[ "$status" = 0 ] || { tail -20 "$E2E_TMP/supervisor.log" >&2; fail "supervisor exit status $status"; }
wait "$writer" || true
[ "$(cat "$E2E_TMP/stuck.rc" 2>/dev/null)" != 0 ] || fail "the stuck write reported success"
grep -q "aborted the connection via" "$E2E_TMP/supervisor.log" || fail "no connection abort logged"
if grep -q " $E2E_TMP/run/" /proc/mounts; then fail "FUSE mount left behind"; fi
if grep -q "uldd-fusectl" /proc/mounts; then fail "private fusectl mount left behind"; fi
pgrep -f "uldd-nvme-driver --uio=emulated --device disk0" -P 1 >/dev/null && fail "stray driver"
log "SIGTERM with a stuck FUSE write: stopped in $((SECONDS - start)) s, the write failed ($(cat "$E2E_TMP/stuck.err"))"
echo "PASS"
