#!/usr/bin/env bash
# e2e-disk: the supervisor's life cycle as a user sees it. It refuses a bad
# configuration with file:line:column and exit status 2; it starts, serves,
# and on SIGTERM (and on SIGINT) unmounts FUSE, removes the NBD socket and
# leaves no driver or device-model process behind. The driver runs as an
# unprivileged user with no capabilities, no_new_privs, and only its fds.
source "$(dirname "$0")/lib.sh"
require_root_and_tools
trap e2e_cleanup EXIT
e2e_setup lifecycle isolated 16MiB

printf '[supervisor]\nruntime_dir = "/tmp/x"\n[[disk]]\nname = "disk0"\nqueue_dept = 64\n' > "$E2E_TMP/bad.toml"
status=0; "$BIN_DIR/uldd-supervisor" --config "$E2E_TMP/bad.toml" 2> "$E2E_TMP/bad.err" || status=$?
[ "$status" = 2 ] || fail "bad config: exit status $status, expected 2"
grep -q "bad.toml:5:1" "$E2E_TMP/bad.err" || { cat "$E2E_TMP/bad.err"; fail "bad config: no file:line:column"; }
grep -q "queue_dept" "$E2E_TMP/bad.err" || fail "bad config: the key is not named"
"$BIN_DIR/uldd-supervisor" --check-config --config "$E2E_TMP/uldd.toml" >/dev/null || fail "--check-config on a good file"

for sig in TERM INT; do
  e2e_start_supervisor
  driver=$(pgrep -f "uldd-nvme-driver --uio=emulated --device disk0" -P "$SUPERVISOR_PID") || fail "no driver process"
  model=$(pgrep -f "uldd-hw nvme --backing $E2E_TMP" -P "$SUPERVISOR_PID") || fail "no device-model process"
  [ "$(stat -c %s "$FUSE_FILE")" = $((16 << 20)) ] || fail "FUSE file size"
  [ -S "$NBD_SOCKET" ] || fail "no NBD socket"
  # The driver runs with only its fds: stdio plus 3..11.
  fds=$(ls /proc/"$driver"/fd | sort -n | tr '\n' ' ')
  [ "$fds" = "0 1 2 3 4 5 6 7 8 9 10 11 " ] || fail "driver fds: $fds"
  grep -q "NoNewPrivs:.1" /proc/"$driver"/status || fail "driver without no_new_privs"
  [ "$(stat -c %U /proc/"$driver")" = nobody ] || fail "driver not running as nobody"
  grep -q "^CapEff:.0000000000000000" /proc/"$driver"/status || fail "driver has capabilities"
  kill -"$sig" "$SUPERVISOR_PID"
  status=0; wait "$SUPERVISOR_PID" || status=$?; SUPERVISOR_PID=""
  [ "$status" = 0 ] || fail "SIG$sig: exit status $status"
  ! grep -q " $FUSE_FILE " /proc/mounts || fail "SIG$sig: FUSE still mounted"
  [ ! -S "$NBD_SOCKET" ] || fail "SIG$sig: NBD socket left behind"
  ! kill -0 "$driver" 2>/dev/null || fail "SIG$sig: driver $driver still running"
  ! kill -0 "$model" 2>/dev/null || fail "SIG$sig: device model $model still running"
  log "SIG$sig: clean stop"
done
echo "PASS"
