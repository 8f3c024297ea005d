#!/bin/bash
# The fd store round trip for a NIC (docs/fd-store.md, "NIC"):
# uldd-fdstore-launcher plays systemd's fd store and restarts the supervisor
# after each SIGKILL with LISTEN_FDS. One NIC between two test netns
# (198.18.0.1 <-> 198.18.0.2); the SUPERVISOR is killed twice. After each
# restart pings must get through again (some may be lost during the restart,
# not all), the host-side TAP must be the same netdev (same ifindex, its
# address kept: nobody sets it again) and the log must show nic0 adopted from
# the store, its model reattached and its driver restarted cold. A clean stop
# (SIGTERM) must empty the store.
source "$(dirname "$0")/../e2e/lib.sh"
KILLS=2
LAUNCHER_PID=""
trap nic_cleanup EXIT
nic_setup fdstore-nic isolated
LOG="$E2E_TMP/supervisor.log"
mkdir -p "$E2E_TMP/run"
NIC_STATS="$E2E_TMP/run/nic0.stats"
"$BIN_DIR/uldd-fdstore-launcher" --max-restarts $KILLS --pid-file "$E2E_TMP/supervisor.pid" -- \
  "$BIN_DIR/uldd-supervisor" --config "$E2E_TMP/uldd.toml" >"$LOG" 2>&1 &
LAUNCHER_PID=$!
SUPERVISOR_PID=$LAUNCHER_PID  # nic_cleanup's SIGTERM: the launcher passes it on

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
ifindex() { in_a cat "/sys/class/net/$NIC_TAP/ifindex" 2>/dev/null || echo none; }
# pings_through WHAT: 20 pings within 15 s; at least one answered.
pings_through() {
  local out
  out=$(in_a ping -c 20 -i 0.2 -w 15 198.18.0.2 2>&1) || true
  local got
  got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' <<<"$out")
  log "$1: ${got:-0}/20 pings answered"
  [ "${got:-0}" -gt 0 ] || fail "$1: no ping answered: $out"
}

wait_serving 1
"$RIG" links
for _ in $(seq 20); do in_a ping -c1 -W1 198.18.0.2 >/dev/null 2>&1 && break; done
STORED=$(grep -c "stored 1 fd(s) as 'nic0\." "$LOG" || true)
[ "$STORED" -ge 12 ] || fail "expected 12 nic0 fds in the store (regions, eventfds, lifeline, tap), saw $STORED"
IFINDEX=$(ifindex)
log "supervisor $(cat "$E2E_TMP/supervisor.pid") serving, $STORED nic0 fds stored, TAP $NIC_TAP ifindex $IFINDEX"
pings_through "before the kills"

for k in $(seq $KILLS); do
  pid=$(cat "$E2E_TMP/supervisor.pid")
  log "kill $k: SIGKILL to supervisor pid $pid"
  kill -KILL "$pid"
  wait_serving $((k + 1))
  new=$(cat "$E2E_TMP/supervisor.pid")
  [ "$new" != "$pid" ] || fail "supervisor pid unchanged after the kill"
  # No `$RIG links` here: the TAP's address must have survived.
  pings_through "after kill $k"
  now=$(ifindex)
  [ "$now" = "$IFINDEX" ] || fail "TAP $NIC_TAP ifindex $now after kill $k, was $IFINDEX (a new TAP)"
done

restarts=$(grep -c "restart [0-9]* with LISTEN_FDS=[1-9]" "$LOG" || true)
adopted=$(grep -c "nic0: adopted from the fd store" "$LOG" || true)
reattached=$(grep -c "nic0: device model reattached" "$LOG" || true)
cold=$(grep -cE "nic0: (killed the previous driver|the previous driver \(pid -?[0-9]+\) is gone).*starts cold" "$LOG" || true)
log "restarts with LISTEN_FDS: $restarts, nic0 adopted: $adopted, model reattached: $reattached, driver cold: $cold"
[ "$restarts" -eq $KILLS ] || fail "launcher restarted with LISTEN_FDS $restarts times, expected $KILLS"
[ "$adopted" -eq $KILLS ] || fail "nic0 adopted $adopted times, expected $KILLS"
[ "$reattached" -eq $KILLS ] || fail "nic0 device model reattached $reattached times, expected $KILLS"
[ "$cold" -eq $KILLS ] || fail "nic0 driver restarted cold $cold times, expected $KILLS"
if grep -q "cannot adopt" "$LOG"; then fail "an adoption fell back to a fresh start"; fi

# Clean stop: the store is emptied, the TAP and the model go.
kill -TERM "$LAUNCHER_PID"
status=0
wait "$LAUNCHER_PID" || status=$?
LAUNCHER_PID=""
SUPERVISOR_PID=""
[ $status -eq 0 ] || fail "launcher/supervisor exit status $status after SIGTERM"
grep -q "0 fds left in the store" "$LOG" || fail "fds left in the store after a clean stop"
[ "$(ifindex)" = none ] || fail "TAP $NIC_TAP left behind after a clean stop"
for _ in $(seq 50); do pgrep -f "uldd-hw e1000 .*--wire-tap $NIC_WIRE" >/dev/null || break; sleep 0.1; done
if pgrep -f "uldd-hw e1000 .*--wire-tap $NIC_WIRE" >/dev/null; then fail "device model left running"; fi
log "PASS: $KILLS supervisor kills, pings resumed after each, TAP ifindex $IFINDEX kept"
