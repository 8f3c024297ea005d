#!/usr/bin/env bash
# e2e-nic: a flood of 60-byte frames (18-byte UDP payloads) from both sides
# at well above what the path takes. During it the control plane still
# answers: the supervisor keeps rewriting the device's stats file (its sequence
# advances within a generous bound) and the counters move; afterwards the
# supervisor, driver and model are alive and ping passes again.
# Usage: nic_flood.sh [isolated|colocated]
source "$(dirname "$0")/lib.sh"
mode=${1:-isolated}
trap nic_cleanup EXIT
nic_setup "flood-$mode" "$mode"
nic_start
# Nothing listens on 9: the floods are one-way load.
in_b "$UDP_ECHO" flood --to 198.18.0.1 --port 9 --size 18 --duration-ms 6000 > "$E2E_TMP/flood-b.txt" &
fb=$!
in_a "$UDP_ECHO" flood --to 198.18.0.2 --port 9 --size 18 --duration-ms 6000 > "$E2E_TMP/flood-a.txt" &
fa=$!
sleep 1
seq0=$(nic_stat sequence); rx0=$(nic_stat rx_frames); tx0=$(nic_stat tx_frames)
worst=0
for _ in $(seq 8); do
  before=$(nic_stat sequence); t0=$(date +%s%N)
  until [ "$(nic_stat sequence)" != "$before" ]; do
    [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 5000 ] || fail "stats not updated for 5 s during the flood"
    sleep 0.05
  done
  ms=$(( ($(date +%s%N) - t0) / 1000000 )); [ $ms -gt $worst ] && worst=$ms
done
wait $fa $fb
[ "$(nic_stat rx_frames)" -gt "$rx0" ] && [ "$(nic_stat tx_frames)" -gt "$tx0" ] || fail "counters did not move during the flood"
kill -0 "$SUPERVISOR_PID" || fail "supervisor died"
grep -q "device FAILED" "$E2E_TMP/supervisor.log" && fail "device failed under the flood"
for _ in $(seq 5); do in_a ping -c 20 -i 0.01 -W 2 -q 198.18.0.2 >/dev/null && break; sleep 0.5; done
# (grep -q in a pipe under pipefail fails when the writer gets SIGPIPE: test a string)
out=$(in_a ping -c 50 -i 0.01 -W 2 -w 20 -q 198.18.0.2) || true
[[ $out == *" 0% packet loss"* ]] || { echo "$out"; fail "traffic does not pass after the flood"; }
log "flood ($mode): $(cat "$E2E_TMP/flood-a.txt") / $(cat "$E2E_TMP/flood-b.txt"); stats answered within $worst ms (worst of 8, tick 1000 ms, seq $seq0 -> $(nic_stat sequence)); drops rx $(nic_stat rx_dropped); ping passes after"
e2e_stop_supervisor
echo "PASS"
