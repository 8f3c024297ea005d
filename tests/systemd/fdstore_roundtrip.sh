#!/bin/bash
# The fd store round trip (docs/fd-store.md): uldd-fdstore-launcher plays
# systemd's fd store and restarts the supervisor after each SIGKILL with
# LISTEN_FDS. A writer writes through the FUSE file while the SUPERVISOR (not
# the driver) is killed 3 times: no write may fail, every acknowledged write
# must read back equal through the FUSE file after the restarts and from the
# backing file at the end, and the log must show each adoption (fd store,
# device model reattached, driver restarted cold, FUSE requests resent).
# A clean stop (SIGTERM) must empty the store and leave nothing behind.
source "$(dirname "$0")/../e2e/lib.sh"
e2e_private_mounts "$@"
require_root_and_tools python3
HERE=$(cd "$(dirname "$0")" && pwd)
KILLS=3
LAUNCHER_PID=""

cleanup() {
  local status=$?
  set +e
  if [ -n "$LAUNCHER_PID" ] && kill -0 "$LAUNCHER_PID" 2>/dev/null; then
    kill -TERM "$LAUNCHER_PID"
    for _ in $(seq 100); do kill -0 "$LAUNCHER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$LAUNCHER_PID" 2>/dev/null
  fi
  [ -n "${WRITER_PID:-}" ] && kill -KILL "$WRITER_PID" 2>/dev/null
  umount -l "$E2E_TMP/run/disk0" 2>/dev/null
  pkill -KILL -f "uldd-hw nvme --backing $E2E_TMP" 2>/dev/null
  if [ $status -ne 0 ] && [ -f "$E2E_TMP/supervisor.log" ]; then
    log "last 60 lines of the log:"; tail -60 "$E2E_TMP/supervisor.log" >&2
  fi
  rm -rf "$E2E_TMP"
  exit $status
}
trap cleanup EXIT

e2e_setup fdstore isolated 256MiB
# Device latency: requests spend their time in the device, so a kill finds
# several read by the supervisor and not yet answered (the resend case).
sed -i 's/^size = .*/&\nmodel_latency_us = 2000/' "$E2E_TMP/uldd.toml"
LOG="$E2E_TMP/supervisor.log"
"$BIN_DIR/uldd-fdstore-launcher" --max-restarts $KILLS --pid-file "$E2E_TMP/supervisor.pid" -- \
  "$BIN_DIR/uldd-supervisor" --config "$E2E_TMP/uldd.toml" >"$LOG" 2>&1 &
LAUNCHER_PID=$!

# wait_serving N: until the log says "all devices serving" N times.
wait_serving() {
  local deadline=$((SECONDS + 60)) n
  for (( ; ; )); do
    n=$(grep -c "all devices serving" "$LOG" || true)
    [ "$n" -ge "$1" ] && return 0
    kill -0 "$LAUNCHER_PID" 2>/dev/null || fail "launcher exited (supervisor start $1)"
    [ $SECONDS -lt $deadline ] || fail "supervisor start $1 not serving after 60 s"
    sleep 0.1
  done
}
wait_serving 1
FUSE_FILE="$E2E_TMP/run/disk0"
STORED=$(grep -c "stored 1 fd(s) as 'disk0\." "$LOG" || true)
log "supervisor $(cat "$E2E_TMP/supervisor.pid") serving, $STORED fds in the launcher's store"
[ "$STORED" -ge 13 ] || fail "expected 13 disk0 fds in the store, saw $STORED"

python3 "$HERE/fdstore_writer.py" write "$FUSE_FILE" "$E2E_TMP/acked.json" "$E2E_TMP/stop" &
WRITER_PID=$!
for k in $(seq $KILLS); do
  sleep 2
  kill -0 "$WRITER_PID" 2>/dev/null || fail "writer ended early"
  pid=$(cat "$E2E_TMP/supervisor.pid")
  log "kill $k: SIGKILL to supervisor pid $pid"
  kill -KILL "$pid"
  wait_serving $((k + 1))
  new=$(cat "$E2E_TMP/supervisor.pid")
  [ "$new" != "$pid" ] || fail "supervisor pid unchanged after the kill"
done
sleep 2  # adoption summary lines come 1 s after each adoption
touch "$E2E_TMP/stop"
status=0
wait "$WRITER_PID" || status=$?
WRITER_PID=""
[ $status -eq 0 ] || fail "writer failed (status $status): an I/O error or a mismatch through FUSE"

restarts=$(grep -c "restart [0-9]* with LISTEN_FDS=[1-9]" "$LOG" || true)
adopted=$(grep -c "disk0: adopted from the fd store" "$LOG" || true)
reattached=$(grep -c "disk0: device model reattached" "$LOG" || true)
cold=$(grep -cE "disk0: (killed the previous driver|the previous driver \(pid -?[0-9]+\) is gone).*starts cold" "$LOG" || true)
resent=$(awk '/disk0: adoption done: [0-9]+ FUSE request/ { for (i = 1; i < NF; i++) if ($i == "done:") s += $(i + 1) }
              END { print s + 0 }' "$LOG")
log "restarts with LISTEN_FDS: $restarts, adopted: $adopted, model reattached: $reattached, driver cold: $cold," \
    "FUSE requests resent in all: $resent"
[ "$restarts" -eq $KILLS ] || fail "launcher restarted with LISTEN_FDS $restarts times, expected $KILLS"
[ "$adopted" -eq $KILLS ] || fail "device adopted $adopted times, expected $KILLS"
[ "$reattached" -eq $KILLS ] || fail "device model reattached $reattached times, expected $KILLS"
[ "$cold" -eq $KILLS ] || fail "driver restarted cold $cold times, expected $KILLS"
[ "$resent" -gt 0 ] || fail "no FUSE request came back resent (writers were blocked in the device at each kill)"
if grep -q "cannot adopt" "$LOG"; then fail "an adoption fell back to a fresh start"; fi

# Clean stop: SIGTERM reaches the supervisor, which empties the store.
kill -TERM "$LAUNCHER_PID"
status=0
wait "$LAUNCHER_PID" || status=$?
LAUNCHER_PID=""
[ $status -eq 0 ] || fail "launcher/supervisor exit status $status after SIGTERM"
grep -q "0 fds left in the store" "$LOG" || fail "fds left in the store after a clean stop"
if grep -q " $E2E_TMP/run/" /proc/mounts; then fail "FUSE mount left behind"; fi
for _ in $(seq 50); do pgrep -f "uldd-hw nvme --backing $E2E_TMP" >/dev/null || break; sleep 0.1; done
if pgrep -f "uldd-hw nvme --backing $E2E_TMP" >/dev/null; then fail "device model left running"; fi

python3 "$HERE/fdstore_writer.py" verify "$E2E_TMP/disk0.img" "$E2E_TMP/acked.json" ||
  fail "the backing file lacks acknowledged writes"
log "PASS: $KILLS supervisor kills, no write failed, every acknowledged write read back (FUSE and backing file)"
