#!/usr/bin/env bash
# e2e-nic: our UDP echo load (sequence numbers + crc32c payload check) of
# 100k datagrams of 1024 B through the NIC, every echo verified; then
# iperf3 TCP 10 s in each direction completes.
# Usage: nic_udp_echo.sh [isolated|colocated] [--no-iperf]
source "$(dirname "$0")/lib.sh"
mode=${1:-isolated}
trap nic_cleanup EXIT
nic_setup "udp-$mode" "$mode"
nic_start
in_b "$UDP_ECHO" server --bind 198.18.0.2 --port 7007 &
sleep 0.3
in_a "$UDP_ECHO" client --to 198.18.0.2 --port 7007 --count 100000 --size 1024 --window 64 \
  --json "$E2E_TMP/echo.json" || fail "UDP echo: not every datagram came back intact"
if [ "${2:-}" != "--no-iperf" ]; then
  command -v iperf3 >/dev/null || fail "missing iperf3 (run scripts/bootstrap.sh)"
  in_b iperf3 -s -B 198.18.0.2 -D --pidfile "$E2E_TMP/iperf3.pid"
  sleep 0.3
  in_a iperf3 -c 198.18.0.2 -t 10 -J > "$E2E_TMP/up.json" || fail "iperf3 host -> wire failed"
  in_a iperf3 -c 198.18.0.2 -t 10 -R -J > "$E2E_TMP/down.json" || fail "iperf3 wire -> host failed"
  up=$(python3 -c "import json;print(round(json.load(open('$E2E_TMP/up.json'))['end']['sum_received']['bits_per_second']/1e6,1))")
  down=$(python3 -c "import json;print(round(json.load(open('$E2E_TMP/down.json'))['end']['sum_received']['bits_per_second']/1e6,1))")
  log "iperf3 ($mode): host->wire $up Mb/s, wire->host $down Mb/s (10 s each)"
  kill "$(cat "$E2E_TMP/iperf3.pid")" 2>/dev/null || true
fi
[ "$(nic_stat violations)" = 0 ] || fail "violations counted"
e2e_stop_supervisor
log "udp echo ($mode): $(python3 -c "import json;d=json.load(open('$E2E_TMP/echo.json'));print(d['echoed'],'of',d['count'],'echoed intact,',round(d['echo_mbps'],1),'Mb/s')")"
echo "PASS"
