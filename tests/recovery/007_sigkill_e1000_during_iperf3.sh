#!/usr/bin/env bash
# recovery 007: SIGKILL the e1000 driver 20 times during an iperf3 TCP run
# through the NIC (two namespaces, scripts/netns-rig.sh, 198.18.0.0/15): the
# connection must survive and iperf3 complete. Then a UDP echo run
# (uldd-udp-echo: sequence numbers + crc32c of every payload) during 5 more
# kills: datagrams may be lost (it is UDP), none may come back corrupted.
# The supervisor must log every restart and an "event" line per recovery,
# and its stats file must count them. Prints the per-kill recovery figures
# (detected -> serving -> first completion) and iperf3 throughput without
# and with kills; nothing about time is asserted.
# Usage: 007_sigkill_e1000_during_iperf3.sh [cold|warm] [standby]   (warm:
# every restart adopts the running device and the dead driver's buffers from
# the checkpoint, no reset, nothing quarantined, no refusal;
# standby: a hot-standby driver is promoted instead of spawning)
#        007_sigkill_e1000_during_iperf3.sh never   (restart = "never": the
# first kill fails the device: TAP without carrier, pings fail at once, no
# hang, the supervisor stays up and stops cleanly)
source "$(dirname "$0")/lib_recovery.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
MODE=${1:-cold}
STANDBY=false
[ "${2:-}" != standby ] || STANDBY=true
IPERF_KILLS=20
UDP_KILLS=5
command -v iperf3 >/dev/null || fail "missing iperf3 (run scripts/bootstrap.sh)"

cleanup_007() {
  local status=$?
  set +e
  [ -z "${KILLER_PID:-}" ] || kill "$KILLER_PID" 2>/dev/null
  [ -z "${ECHO_SERVER_PID:-}" ] || kill "$ECHO_SERVER_PID" 2>/dev/null
  [ -z "${E2E_TMP:-}" ] || [ ! -f "$E2E_TMP/iperf3.pid" ] || kill "$(cat "$E2E_TMP/iperf3.pid")" 2>/dev/null
  (exit $status)
  nic_cleanup
}
trap cleanup_007 EXIT
nic_setup "r007$MODE${2:-}" isolated

# The rig's config plus a policy that restarts at once, as often as needed.
mkdir -p "$E2E_TMP/policies"
cat > "$E2E_TMP/policies/nic-recovery.toml" <<TOML
[restart]
mode = "$([ "$MODE" = never ] && echo never || echo always)"
intensity = 10000
period = "1m"
[backoff]
initial = "1ms"
max = "1ms"
jitter = 0.0
[heartbeat]
interval = "20ms"
timeout = "1s"
[recovery]
mode = "$([ "$MODE" = warm ] && echo warm || echo cold)"
nic_tx_inflight = "reissue"
hot_standby = $STANDBY
[exhausted]
action = "fail-device"
TOML
sed -i "s|^status_interval_ms = 1000|status_interval_ms = 1000\npolicy_dir = \"$E2E_TMP/policies\"|" "$E2E_TMP/uldd.toml"
echo 'policy = "nic-recovery"' >> "$E2E_TMP/uldd.toml"
nic_start

# Pid of the current nic0 driver from the supervisor's log, or fails.
nic_driver_pid() {
  local pid
  pid=$(grep -oE "nic0: (up: .*driver process pid|driver restarted [a-z]+ \(pid) [0-9]+" \
        "$E2E_TMP/supervisor.log" | tail -1 | grep -oE "[0-9]+$") || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

# kill_nic_driver COUNT INTERVAL_S: in the background, each kill on a new pid.
kill_nic_driver() {
  local count=$1 interval=$2
  (
    n=0
    last=""
    while [ "$n" -lt "$count" ]; do
      sleep "$interval"
      pid=$(nic_driver_pid) || continue
      [ "$pid" != "$last" ] || continue
      kill -KILL "$pid" 2>/dev/null || continue
      last=$pid
      n=$((n + 1))
      echo "$n" > "$E2E_TMP/kills"
    done
  ) &
  KILLER_PID=$!
}

if [ "$MODE" = never ]; then
  kill -KILL "$(nic_driver_pid)"
  wait_log "nic0: giving up on the driver" 10
  wait_log "nic0: device FAILED" 5
  [[ $(ip -n "$NS_A" link show "$NIC_TAP") == *NO-CARRIER* ]] || fail "TAP still has carrier"
  start=$SECONDS
  ! in_a timeout 10 ping -c 2 -W 1 198.18.0.2 >/dev/null 2>&1 || fail "ping crossed a failed NIC"
  [ $((SECONDS - start)) -lt 8 ] || fail "ping hung on the failed NIC"
  sleep 1.2
  [ "$(nic_stat state)" = failed ] || fail "stats state $(nic_stat state), not failed"
  kill -0 "$SUPERVISOR_PID" || fail "supervisor died"
  e2e_stop_supervisor
  echo "PASS"
  exit 0
fi

mbps() { python3 -c "import json,sys;print(round(json.load(open(sys.argv[1]))['end']['sum_received']['bits_per_second']/1e6,1))" "$1"; }

in_b iperf3 -s -B 198.18.0.2 -D --pidfile "$E2E_TMP/iperf3.pid"
sleep 0.3
in_a iperf3 -c 198.18.0.2 -t 5 -J > "$E2E_TMP/base.json" || fail "iperf3 without kills failed"
base=$(mbps "$E2E_TMP/base.json")

# 20 kills within the 20 s run, one every ~0.8 s once the previous one's
# successor is serving.
echo 0 > "$E2E_TMP/kills"
kill_nic_driver "$IPERF_KILLS" 0.8
in_a iperf3 -c 198.18.0.2 -t 20 -J > "$E2E_TMP/kills.json" \
  || { cat "$E2E_TMP/kills.json" >&2; fail "iperf3 under kills failed: the connection did not survive"; }
withkills=$(mbps "$E2E_TMP/kills.json")
kill "$KILLER_PID" 2>/dev/null || true  # no kill after iperf3 is done
wait "$KILLER_PID" 2>/dev/null || true
KILLER_PID=""
iperf_kills=$(kills_done)
log "iperf3 TCP host->wire: $base Mb/s without kills (5 s), $withkills Mb/s with $iperf_kills kills (20 s)"
[ "$iperf_kills" -ge 15 ] || fail "only $iperf_kills kills landed during iperf3"
kill "$(cat "$E2E_TMP/iperf3.pid")" 2>/dev/null || true

# UDP echo at a fixed rate (the window is the whole run, so a lost datagram
# never stalls the sender), kills meanwhile.
in_b "$UDP_ECHO" server --bind 198.18.0.2 --port 7007 &
ECHO_SERVER_PID=$!
sleep 0.3
echo 0 > "$E2E_TMP/kills"
kill_nic_driver "$UDP_KILLS" 0.8
in_a "$UDP_ECHO" client --to 198.18.0.2 --port 7007 --count 40000 --size 1024 --rate 8000 \
  --window 40000 --timeout-ms 3000 --json "$E2E_TMP/echo.json" || true  # lost > 0 is allowed
wait "$KILLER_PID" 2>/dev/null || true
KILLER_PID=""
udp_kills=$(kills_done)
python3 - "$E2E_TMP/echo.json" "$udp_kills" <<'PY' || fail "UDP echo under kills: corrupted or no payloads"
import json, sys
d = json.load(open(sys.argv[1]))
print(f"udp echo: sent {d['sent']} echoed intact {d['echoed']} lost {d['lost']} corrupt {d['corrupt']} "
      f"duplicate {d['duplicate']} foreign {d['foreign']} with {sys.argv[2]} kills")
assert d["corrupt"] == 0, "corrupted payloads"
assert d["foreign"] == 0, "datagrams nobody sent"
assert d["echoed"] >= d["count"] // 2, "the NIC did not carry the load"
PY
[ "$udp_kills" -ge "$UDP_KILLS" ] || fail "only $udp_kills kills landed during the UDP run"

# A recovery's event is logged at the successor's first returned buffer: a
# little traffic settles the last one. Then a status tick writes the stats.
in_a ping -c 3 -W 1 198.18.0.2 >/dev/null || fail "no ping after the run"
# An outage's event needs a returned buffer before the next kill: a kill that
# lands in a lull (the end of a run) ends its predecessor's outage without
# one. Up to two such lulls are allowed.
total=$((iperf_kills + udp_kills))
wait_log_count '"event":"recovered","device":"nic0"' $((total - 2)) 10
sleep 1.2
events=$(log_count '"event":"recovered","device":"nic0"')
restarts=$(grep -c "nic0: driver restarted" "$E2E_TMP/supervisor.log" || true)
cold=$(nic_stat restarts_cold)
warm=$(nic_stat restarts_warm)
log "$total kills; log: $restarts restarts, $events event lines; engine: restarts_cold=$cold warm=$warm refused=$(nic_stat warm_refused); shim: tx_reissued=$(nic_stat tx_reissued) rx_reclaimed=$(nic_stat rx_reclaimed_on_restart) resent_for_adoption=$(nic_stat resent_for_adoption) quarantined=$(nic_stat quarantined)"
[ "$restarts" -ge "$total" ] || fail "expected >= $total restarts logged, saw $restarts"
[ "$(nic_stat violations)" = 0 ] || fail "violations counted"
[ "$(nic_stat state)" = serving ] || fail "state $(nic_stat state) after the run"
if [ "$MODE" = warm ]; then
  warm_lines=$(grep -c "nic0: driver restarted warm" "$E2E_TMP/supervisor.log" || true)
  [ "$warm_lines" -ge "$total" ] || fail "warm policy: $warm_lines warm restarts logged for $total kills"
  [ "$warm" -ge "$total" ] || fail "engine counted $warm warm restarts for $total kills"
  [ "$(nic_stat warm_refused)" = 0 ] || fail "warm policy: $(nic_stat warm_refused) warm start(s) refused"
  [ "$(nic_stat quarantined)" = 0 ] || fail "warm restarts quarantined buffers"
  [ "$(nic_stat resent_for_adoption)" -gt 0 ] || fail "no buffer was resent for adoption"
else
  [ "$cold" -ge "$total" ] || fail "engine counted $cold cold restarts for $total kills"
fi
# Every buffer quarantined at a restart is released once its successor reset
# the device: none may stay out of use (the pool would shrink at each kill).
[ "$(nic_stat quarantined)" = 0 ] || fail "$(nic_stat quarantined) buffers still quarantined after the run"
if $STANDBY; then
  # A standby must really be promoted (not a plain spawn every time): at
  # least half the kills (the next standby starts 20 ms after a promotion
  # and a kill may come before it attached).
  promoted=$(log_count 'nic0: promoting hot standby')
  [ "$promoted" -ge $((total / 2)) ] || fail "standby policy: $promoted promotions for $total kills"
  log "hot standby promoted at $promoted of $total kills"
fi
grep -q "nic0: device FAILED" "$E2E_TMP/supervisor.log" && fail "device failed"

# Per-kill figures from the event lines.
grep -oE 'event \{"event":"recovered","device":"nic0".*\}' "$E2E_TMP/supervisor.log" | sed 's/^event //' \
  > "$E2E_TMP/events.jsonl"
python3 - "$E2E_TMP/events.jsonl" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
serve = sorted((e["serving_ns"] - e["detected_ns"]) / 1e6 for e in ev)
first = sorted((e["first_completion_ns"] - e["detected_ns"]) / 1e6 for e in ev)
pct = lambda v, p: v[min(len(v) - 1, int(p * len(v)))]
print(f"{len(ev)} recoveries (mode {ev[-1]['mode']}, resent {sum(e['resent'] for e in ev)} {'buffers to adopt' if ev[-1]['mode'] == 'warm' else 'TX frames'}): "
      f"detected->serving p50 {pct(serve, .5):.2f} max {serve[-1]:.2f} ms; "
      f"detected->first completion p50 {pct(first, .5):.2f} p90 {pct(first, .9):.2f} max {first[-1]:.2f} ms")
PY
e2e_stop_supervisor
echo "PASS"
