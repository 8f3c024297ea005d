#!/usr/bin/env bash
# dbus: ulddctl against the real uldd-supervisor on a private dbus-daemon,
# every verb. list/status (tables and --json checked against /proc),
# restart (new driver pid, data still reads), stop (a read through the FUSE
# file is held) and start (it completes with the right bytes), reload,
# log-level, metrics, inject and events (live signals, human and JSON),
# a non-root caller refused for mutating verbs (exit 4) but allowed to read,
# an unknown device (exit 3), a serving device started (exit 6), and the
# daemon gone (exit 5). Never touches the host's system bus.
source "$(dirname "$0")/../e2e/lib.sh"
require_root_and_tools dbus-daemon setpriv python3 cmp
CTL="$BIN_DIR/ulddctl"
[ -x "$CTL" ] || fail "no $CTL (build the ulddctl target)"

BUS_DIR=""
DBUS_PID=""
BACKGROUND=()
dbus_cleanup() {
  local status=$?
  set +e
  local p
  for p in "${BACKGROUND[@]}"; do kill "$p" 2>/dev/null; done
  if [ -n "$SUPERVISOR_PID" ]; then
    kill -TERM "$SUPERVISOR_PID" 2>/dev/null
    wait "$SUPERVISOR_PID" 2>/dev/null
    SUPERVISOR_PID=""
  fi
  [ -n "$DBUS_PID" ] && kill "$DBUS_PID" 2>/dev/null && wait "$DBUS_PID" 2>/dev/null
  [ -n "$BUS_DIR" ] && rm -rf "$BUS_DIR"
  (exit $status)
  e2e_cleanup
}
trap dbus_cleanup EXIT

# The private bus: its own directory, open to every user (the test calls as
# nobody too), a config that lets anyone own and talk to any name.
BUS_DIR=$(mktemp -d /tmp/uldd-dbus.XXXXXX)
chmod 755 "$BUS_DIR"
BUS_ADDRESS="unix:path=$BUS_DIR/bus"
cat > "$BUS_DIR/bus.conf" <<XML
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>custom</type>
  <listen>$BUS_ADDRESS</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
XML
dbus-daemon --config-file="$BUS_DIR/bus.conf" --nofork --nopidfile 2>"$BUS_DIR/dbus.log" &
DBUS_PID=$!
for _ in $(seq 100); do [ -S "$BUS_DIR/bus" ] && break; sleep 0.1; done
[ -S "$BUS_DIR/bus" ] || { cat "$BUS_DIR/dbus.log" >&2; fail "private dbus-daemon did not start"; }

ctl() { "$CTL" --address "$BUS_ADDRESS" "$@"; }
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$CTL" --address "$BUS_ADDRESS" "$@"; }
# json_check JSON PYTHON-EXPRESSION [ARGS...]: the expression over `d` (the
# parsed document) and `a` (the extra arguments) must be true.
json_check() {
  python3 -c 'import json,sys; d=json.loads(sys.argv[1]); a=sys.argv[3:]; sys.exit(0 if eval(sys.argv[2]) else 1)' "$@"
}
# expect_status WANT DESC CMD...: runs CMD, keeps its stderr in $ERR, checks the exit status.
expect_status() {
  local want=$1 desc=$2 got=0
  shift 2
  "$@" >"$E2E_TMP/out" 2>"$E2E_TMP/err" || got=$?
  ERR=$(cat "$E2E_TMP/err")
  [ "$got" = "$want" ] || { cat "$E2E_TMP/out" "$E2E_TMP/err" >&2; fail "$desc: exit status $got, expected $want"; }
}
wait_until() {
  local desc=$1 i
  shift
  for i in $(seq 300); do "$@" && return 0; sleep 0.1; done
  fail "timed out waiting for: $desc"
}
# device_is PYTHON-EXPRESSION [ARGS...]: disk0's `status --json`, read afresh, satisfies it.
device_is() {
  local state
  state=$(ctl --json status disk0) || return 1
  json_check "$state" "$@"
}
driver_pid() { pgrep -f "uldd-nvme-driver --uio=emulated --device disk0" -P "$SUPERVISOR_PID"; }
serving_with_new_driver() {  # OLD_PID
  local now state
  now=$(driver_pid) || return 1
  [ "$now" != "$1" ] || return 1
  state=$(ctl --json status disk0) || return 1
  json_check "$state" 'd["state"] == "serving" and d["driver_pid"] == int(a[0])' "$now"
}

e2e_setup ulddctl isolated 16MiB
sed -i "/^\[supervisor\]/a dbus = \"$BUS_ADDRESS\"\ncontrol_group = \"\"" "$E2E_TMP/uldd.toml"
e2e_start_supervisor
wait_until "org.uldd.Supervisor1 on the private bus" ctl list --no-legend >/dev/null 2>&1
dd if=/dev/urandom of="$E2E_TMP/data.bin" bs=1M count=1 status=none
dd if="$E2E_TMP/data.bin" of="$FUSE_FILE" bs=1M oflag=direct conv=notrunc status=none || fail "write through FUSE"
read_back_ok() {
  dd if="$FUSE_FILE" of="$E2E_TMP/back.bin" bs=1M count=1 iflag=direct status=none && cmp -s "$E2E_TMP/back.bin" "$E2E_TMP/data.bin"
}

# ---- list / status -------------------------------------------------------------
pid=$(driver_pid) || fail "no driver process"
model=$(pgrep -f "uldd-hw nvme --backing $E2E_TMP" -P "$SUPERVISOR_PID") || fail "no device-model process"
out=$(ctl list)
[[ $out == *DEVICE*KIND*STATE*PID*RESTARTS*FAULTS*LAST-DOWNTIME* ]] || fail "list: no legend: $out"
[[ $out == *disk0*disk*serving*"$pid"* ]] || fail "list: no disk0 row with pid $pid: $out"
out=$(ctl --no-legend list)
[[ $out == disk0* && $out != *DEVICE* ]] || fail "list --no-legend: $out"
json_check "$(ctl --json list)" \
  'len(d) == 1 and d[0]["device"] == "disk0" and d[0]["kind"] == "disk" and d[0]["state"] == "serving" and d[0]["driver_pid"] == int(a[0])' \
  "$pid" || fail "list --json: $(ctl --json list)"
out=$(ctl status)
[[ $out == *uldd-supervisor*running* && $out == *disk0* ]] || fail "status: $out"
json_check "$(ctl --json status)" \
  'd["supervisor"]["state"] == "running" and [x["device"] for x in d["devices"]] == ["disk0"] and d["devices"][0]["driver_pid"] == int(a[0])' \
  "$pid" || fail "status --json: $(ctl --json status)"
out=$(ctl status disk0)
[[ $out == *"disk0 (disk): serving"* && $out == *"(pid $pid)"* && $out == *Restarts:* && $out == *Downtime:* && $out == *I/O:* ]] ||
  fail "status disk0: $out"
json_check "$(ctl --json status disk0)" \
  'd["device"] == "disk0" and d["state"] == "serving" and d["mode"] == "isolated" and d["driver_pid"] == int(a[0]) and d["model_pid"] == int(a[1]) and d["restarts"] == 0 and isinstance(d["io"], dict) and "downtime" in d' \
  "$pid" "$model" || fail "status disk0 --json: $(ctl --json status disk0)"
log "list/status: driver pid $pid, model pid $model"

# ---- restart --------------------------------------------------------------------
ctl restart disk0 || fail "restart disk0"
wait_until "a new serving driver after restart" serving_with_new_driver "$pid"
read_back_ok || fail "data differs after restart"
pid=$(driver_pid)
json_check "$(ctl --json status disk0)" 'd["restarts"] >= 1 and d["faults_by_cause"].get("operator", 0) >= 1' ||
  fail "restart not counted: $(ctl --json status disk0)"
log "restart: driver now $pid, data reads back"

# ---- stop holds a read; start completes it --------------------------------------
ctl stop disk0 || fail "stop disk0"
wait_until "disk0 stopped" device_is 'd["state"] == "stopped" and d["driver_pid"] == 0'
dd if="$FUSE_FILE" of="$E2E_TMP/held.bin" bs=4k count=1 skip=7 iflag=direct status=none &
reader=$!
BACKGROUND+=("$reader")
# The read has reached the shim (it is held there, not merely not yet issued).
wait_until "the read to be held in the shim" device_is 'd["io"]["requests_open"] >= 1'
kill -0 "$reader" 2>/dev/null || fail "a read finished while disk0 was stopped (requests must be held)"
ctl start disk0 || fail "start disk0"
wait_until "the held read to complete after start" eval '! kill -0 "$reader" 2>/dev/null'
wait "$reader" || fail "held read failed after start"
cmp -s "$E2E_TMP/held.bin" <(dd if="$E2E_TMP/data.bin" bs=4k count=1 skip=7 status=none) || fail "held read returned wrong data"
wait_until "disk0 serving after start" device_is 'd["state"] == "serving" and d["driver_pid"] > 0'
expect_status 6 "start on a serving device" ctl start disk0
[[ $ERR == "ulddctl: cannot start disk0"* ]] || fail "start on serving: message '$ERR'"
log "stop/start: read held while stopped, completed with the right data"

# ---- reload, log-level, metrics ---------------------------------------------------
out=$(ctl reload) || fail "reload"
[ -n "$out" ] || fail "reload printed no summary"
ctl log-level debug || fail "log-level debug"
[ "$(ctl log-level)" = debug ] || fail "log level not debug: $(ctl log-level)"
ctl log-level info || fail "log-level info"
json_check "$(ctl --json log-level)" 'd["log_level"] == "info"' || fail "log-level --json"
expect_status 2 "log-level bogus" ctl log-level bogus
out=$(ctl metrics) || fail "metrics"
[[ $out == *uldd_* && $out == *"# EOF"* ]] || fail "metrics text: $out"

# ---- inject + events (human) -------------------------------------------------------
types=$(ctl fault-types) || fail "fault-types"
[[ $'\n'$types$'\n' == *$'\nsigkill\n'* ]] || fail "fault-types has no sigkill: $types"
[ "$(ctl inject --list)" = "$types" ] || fail "inject --list differs from fault-types"
# Started directly, not through the ctl function: a background subshell
# would ignore the SIGINT meant for ulddctl.
"$CTL" --address "$BUS_ADDRESS" events --timeout 120 >"$E2E_TMP/events.txt" 2>"$E2E_TMP/events.err" &
follower=$!
BACKGROUND+=("$follower")
wait_until "events subscribed" grep -q Following "$E2E_TMP/events.err"
pid=$(driver_pid)
ctl inject disk0 sigkill || fail "inject disk0 sigkill"
wait_until "a Recovered event line" grep -q "disk0 Recovered: " "$E2E_TMP/events.txt"
wait_until "a new serving driver after inject" serving_with_new_driver "$pid"
kill -INT "$follower"
status=0; wait "$follower" || status=$?
[ "$status" = 0 ] || fail "events after Ctrl-C: exit status $status"
grep -q "disk0 FaultInjected: sigkill" "$E2E_TMP/events.txt" || fail "no FaultInjected line: $(cat "$E2E_TMP/events.txt")"
read_back_ok || fail "data differs after inject"
log "inject sigkill: recovered; events: $(wc -l <"$E2E_TMP/events.txt") lines"
expect_status 2 "inject of an unknown fault type" ctl inject disk0 no-such-fault

# ---- a device fault: media-error in the model, repaired by a write -------------------
# Blocks 8..15 (512 bytes each) = the second 4 KiB of the disk.
ctl inject disk0 media-error lba=8 count=8 >"$E2E_TMP/out" || fail "inject disk0 media-error"
grep -q "media-error (lba=8 count=8) armed" "$E2E_TMP/out" || fail "media-error detail: $(cat "$E2E_TMP/out")"
read_4k() { dd if="$FUSE_FILE" of=/dev/null bs=4k count=1 skip="$1" iflag=direct status=none 2>/dev/null; }
media_read_fails() { ! read_4k 1; }
# The model takes the arming within its fault poll interval (50 ms).
wait_until "a read of blocks 8..15 failing with the media error" media_read_fails
read_4k 2 || fail "a read next to the media-error range failed"
media_read_fails || fail "the media error did not persist"
dd if="$E2E_TMP/data.bin" of="$FUSE_FILE" bs=4k count=1 skip=1 seek=1 oflag=direct conv=notrunc \
  status=none || fail "rewrite of the media-error range"
read_4k 1 || fail "the media-error range still fails after it was rewritten"
read_back_ok || fail "data differs after the media-error range was rewritten"
expect_status 2 "a media-error without lba" ctl inject disk0 media-error count=1
log "inject media-error: reads of the range failed, a write repaired it"

# ---- a ring corruption by the supervisor: an impossible completion tail --------------
pid=$(driver_pid)
ctl inject disk0 corrupt-ring ring=completion field=index bit=20 >"$E2E_TMP/out" ||
  fail "inject disk0 corrupt-ring"
grep -q "completion ring producer tail: bit 20 flipped" "$E2E_TMP/out" || fail "corrupt-ring detail: $(cat "$E2E_TMP/out")"
# The next request wakes the shim, which finds the tail impossible: the driver
# is replaced and the request served by the new one.
read_back_ok || fail "data differs after the ring corruption"
wait_until "a new serving driver after corrupt-ring" serving_with_new_driver "$pid"
log "inject corrupt-ring: the driver was replaced, data intact"

# ---- a checkpoint corruption: the next restart may not resume warm --------------------
refused_before=$(ctl --json status disk0 | python3 -c 'import json,sys; print(json.load(sys.stdin)["warm_refused"])') ||
  fail "status before corrupt-checkpoint"
pid=$(driver_pid)
ctl inject disk0 corrupt-checkpoint seed=7 >"$E2E_TMP/out" || fail "inject disk0 corrupt-checkpoint"
grep -q "payload bit .* flipped" "$E2E_TMP/out" || fail "corrupt-checkpoint detail: $(cat "$E2E_TMP/out")"
ctl inject disk0 sigkill >/dev/null || fail "inject sigkill after corrupt-checkpoint"
wait_until "a new serving driver after corrupt-checkpoint + sigkill" serving_with_new_driver "$pid"
state=$(ctl --json status disk0) || fail "status after corrupt-checkpoint"
json_check "$state" 'd["warm_refused"] > int(a[0])' "$refused_before" ||
  fail "the damaged checkpoint was not refused: $state"
read_back_ok || fail "data differs after the cold restart"
log "inject corrupt-checkpoint: warm resume refused, cold restart, data intact"

# ---- SWIFI through ptrace: a bad rip crashes the driver; jmp $ hangs it ---------------
pid=$(driver_pid)
ctl inject disk0 swifi-register reg=rip bit=62 at=0 >"$E2E_TMP/out" || fail "inject disk0 swifi-register"
grep -q "rip bit 62" "$E2E_TMP/out" || fail "swifi-register detail: $(cat "$E2E_TMP/out")"
wait_until "a new serving driver after swifi-register rip" serving_with_new_driver "$pid"
read_back_ok || fail "data differs after the SWIFI crash"
log "inject swifi-register rip bit 62: crashed, restarted, data intact ($(cat "$E2E_TMP/out"))"
hung_before=$(ctl --json status disk0 | python3 -c 'import json,sys; print(json.load(sys.stdin)["faults_by_cause"].get("hung", 0))') ||
  fail "status before busy-loop"
pid=$(driver_pid)
ctl inject disk0 busy-loop at=0 >"$E2E_TMP/out" || fail "inject disk0 busy-loop"
wait_until "a new serving driver after busy-loop" serving_with_new_driver "$pid"
state=$(ctl --json status disk0) || fail "status after busy-loop"
json_check "$state" 'd["faults_by_cause"].get("hung", 0) > int(a[0])' "$hung_before" ||
  fail "busy-loop was not seen as a hang: $state"
read_back_ok || fail "data differs after the busy-loop hang"
log "inject busy-loop: declared hung, restarted, data intact"

# ---- events --count 2 --json while the driver is killed -----------------------------
"$CTL" --address "$BUS_ADDRESS" --json events --count 2 --timeout 120 >"$E2E_TMP/events.json" 2>"$E2E_TMP/events.err" &
follower=$!
BACKGROUND+=("$follower")
wait_until "events subscribed" grep -q Following "$E2E_TMP/events.err"
pid=$(driver_pid)
kill -KILL "$pid"
status=0; wait "$follower" || status=$?
[ "$status" = 0 ] || { cat "$E2E_TMP/events.err" >&2; fail "events --count 2: exit status $status"; }
[ "$(wc -l <"$E2E_TMP/events.json")" = 2 ] || fail "events --count 2 printed: $(cat "$E2E_TMP/events.json")"
while read -r line; do
  json_check "$line" 'd["device"] == "disk0" and d["signal"] in ("DeviceStateChanged", "Recovered") and d["time_us"] > 0' ||
    fail "event line: $line"
done <"$E2E_TMP/events.json"
wait_until "a new serving driver after SIGKILL" serving_with_new_driver "$pid"
# The downtime histogram (read from the metrics) is there and cumulative.
device_is '(d["downtime"]["recoveries"] >= 2 and d["downtime"]["histogram"] is not None and
  all(x["count"] <= y["count"] for x, y in zip(d["downtime"]["histogram"], d["downtime"]["histogram"][1:])) and
  d["downtime"]["histogram"][-1]["count"] == d["downtime"]["recoveries"])' ||
  fail "status disk0 --json downtime: $(ctl --json status disk0)"
out=$(ctl status disk0)
[[ $out == *"Histogram: <=500us"* ]] || fail "status disk0 shows no histogram: $out"

# ---- access control: nobody reads, but may not change anything ----------------------
out=$(as_nobody list --no-legend) || fail "list as nobody"
[[ $out == disk0* ]] || fail "list as nobody: $out"
as_nobody --json status disk0 >/dev/null || fail "status disk0 as nobody"
expect_status 4 "restart as nobody" as_nobody restart disk0
[[ $ERR == "ulddctl: access denied: restart needs root"* ]] || fail "restart as nobody: message '$ERR'"
expect_status 4 "log-level as nobody" as_nobody log-level debug
expect_status 4 "inject as nobody" as_nobody inject disk0 sigkill

# ---- unknown device ---------------------------------------------------------------
expect_status 3 "status of an unknown device" ctl status disk9
[ "$ERR" = "ulddctl: no such device 'disk9'" ] || fail "unknown device: message '$ERR'"
expect_status 3 "restart of an unknown device" ctl restart disk9

# ---- the daemon not running ---------------------------------------------------------
e2e_stop_supervisor
expect_status 5 "list with the supervisor stopped" ctl list
[[ $ERR == "ulddctl: uldd-supervisor is not running (no owner of org.uldd.Supervisor1"* ]] || fail "not running: message '$ERR'"
kill "$DBUS_PID"; wait "$DBUS_PID" 2>/dev/null; DBUS_PID=""
expect_status 5 "list with no bus" ctl list
[[ $ERR == "ulddctl: uldd-supervisor is not running (cannot connect"* ]] || fail "no bus: message '$ERR'"
echo "PASS"
