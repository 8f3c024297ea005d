#!/usr/bin/env bash
# systemd label: the real supervisor speaks the sd_notify protocol as a
# Type=notify service with WatchdogSec= would see it. The test plays the
# service manager: its notify socket (notify_listener.py, which also reads
# the FUSE file the moment READY=1 arrives), WATCHDOG_USEC=2 s and
# WATCHDOG_PID = the supervisor's pid (a wrapper exec()s it). Checks:
#   - READY=1 arrives, and at that moment the FUSE file already answers a read
#   - every datagram comes from the supervisor's pid (NotifyAccess=main)
#   - STATUS= lines name the device
#   - WATCHDOG=1 is repeated (>= 2 within 6 s of READY; it is due every 1 s)
#   - SIGTERM: STOPPING=1, then exit status 0
# Needs the supervisor's integration of supervisor/systemd (ServiceNotifier).
source "$(dirname "$0")/../e2e/lib.sh"
e2e_private_mounts "$@"
require_root_and_tools /usr/bin/python3
HERE=$(cd "$(dirname "$0")" && pwd)
LISTENER=""
cleanup() {
  local status=$?
  set +e
  [ -n "$LISTENER" ] && kill "$LISTENER" 2>/dev/null && wait "$LISTENER" 2>/dev/null
  [ -n "${ULDD_NOTIFY_LOG_COPY:-}" ] && cp "$E2E_TMP/notify.log" "$ULDD_NOTIFY_LOG_COPY"
  if [ "$status" != 0 ] && [ -f "$E2E_TMP/notify.log" ]; then
    echo "--- notify datagrams ---" >&2
    cat "$E2E_TMP/notify.log" >&2
  fi
  (exit $status)
  e2e_cleanup
}
trap cleanup EXIT

E2E_TMP=$(mktemp -d /tmp/uldd-e2e-notify.XXXXXX)
cat > "$E2E_TMP/uldd.toml" <<TOML
[supervisor]
runtime_dir = "$E2E_TMP/run"
log_level = "info"
status_interval_ms = 500
driver_user = "nobody"
policy_dir = "$E2E_TMP/policies"
dbus = "none"
metrics_file = ""

[[disk]]
name = "disk0"
mode = "isolated"
backing_file = "$E2E_TMP/disk0.img"
size = "16MiB"
fuse_path = "$E2E_TMP/run/disk0"
nbd_socket = ""
TOML
FUSE_FILE=$E2E_TMP/run/disk0
NOTIFY_LOG=$E2E_TMP/notify.log

/usr/bin/python3 "$HERE/notify_listener.py" "$E2E_TMP/notify.sock" "$NOTIFY_LOG" "$FUSE_FILE" &
LISTENER=$!
for i in $(seq 100); do [ -S "$E2E_TMP/notify.sock" ] && break; sleep 0.05; done
[ -S "$E2E_TMP/notify.sock" ] || fail "notify listener did not start"

# WATCHDOG_PID must be the supervisor's pid: the wrapper shell's $$, which
# the supervisor keeps through exec.
NOTIFY_SOCKET=$E2E_TMP/notify.sock WATCHDOG_USEC=2000000 \
  bash -c 'export WATCHDOG_PID=$$; exec "$0" --config "$1"' "$BIN_DIR/uldd-supervisor" "$E2E_TMP/uldd.toml" \
  > "$E2E_TMP/supervisor.log" 2>&1 &
SUPERVISOR_PID=$!

# notify_count PATTERN: datagrams whose text matches (grep -E on the JSON).
notify_count() { grep -cE "$1" "$NOTIFY_LOG" || true; }

deadline=$((SECONDS + 60))
until [ "$(notify_count '"msg": "READY=1')" -ge 1 ]; do
  kill -0 "$SUPERVISOR_PID" 2>/dev/null || fail "supervisor exited before READY=1"
  [ $SECONDS -lt $deadline ] || fail "no READY=1 within 60 s"
  sleep 0.1
done
ready_at=$SECONDS
for i in $(seq 50); do grep -q '"fuse_read"' "$NOTIFY_LOG" && break; sleep 0.1; done
fuse_read=$(grep -o '"fuse_read": [^}]*' "$NOTIFY_LOG" || true)
[ "$fuse_read" = '"fuse_read": 4096' ] || fail "at READY=1 the FUSE file did not answer a 4 KiB read: $fuse_read"
log "READY=1 received; the FUSE file answered a read at that moment"
[[ $(grep '"msg": "READY=1' "$NOTIFY_LOG") == *'STATUS='*disk0* ]] || fail "READY=1 without a STATUS= naming disk0"

# Watchdog pings: due every 1 s (half of WATCHDOG_USEC). What is checked is
# that they repeat; the 30 s bound only keeps a broken run from hanging.
while [ $((SECONDS - ready_at)) -lt 30 ]; do
  [ "$(notify_count '"msg": "WATCHDOG=1"')" -ge 2 ] && break
  kill -0 "$SUPERVISOR_PID" 2>/dev/null || fail "supervisor died after READY=1"
  sleep 0.2
done
pings=$(notify_count '"msg": "WATCHDOG=1"')
[ "$pings" -ge 2 ] || fail "$pings WATCHDOG=1 within 30 s of READY=1 (expected >= 2)"
log "$pings WATCHDOG=1 pings"
status_lines=$(notify_count 'STATUS=[^"]*disk0')
[ "$status_lines" -ge 1 ] || fail "no STATUS= naming disk0"

kill -TERM "$SUPERVISOR_PID"
status=0; wait "$SUPERVISOR_PID" || status=$?; pid=$SUPERVISOR_PID; SUPERVISOR_PID=""
[ "$status" = 0 ] || fail "exit status $status after SIGTERM"
sleep 0.2  # the listener logs the last datagram
grep -q '"msg": "STOPPING=1' "$NOTIFY_LOG" || fail "no STOPPING=1 before the exit"
last_ready=$(grep -n '"msg": "READY=1' "$NOTIFY_LOG" | cut -d: -f1 | tail -1)
stopping=$(grep -n '"msg": "STOPPING=1' "$NOTIFY_LOG" | cut -d: -f1 | tail -1)
[ "$stopping" -gt "$last_ready" ] || fail "STOPPING=1 before READY=1"
# NotifyAccess=main: every datagram from the supervisor itself.
others=$(grep '"pid"' "$NOTIFY_LOG" | grep -vc "\"pid\": $pid," || true)
[ "$others" = 0 ] || fail "$others datagram(s) from a process other than the supervisor ($pid)"
log "SIGTERM: STOPPING=1, exit 0; $(notify_count '"msg"') datagrams, all from pid $pid"
echo "PASS"
