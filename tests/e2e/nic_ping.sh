#!/usr/bin/env bash
# e2e-nic: 1000 pings of mixed sizes (0 B .. a full 1500-byte frame) across
# the rig, both directions of the device, nothing lost; the stats file and the
# driver's counters show the frames went through the user-level driver.
# Usage: nic_ping.sh [isolated|colocated]
source "$(dirname "$0")/lib.sh"
mode=${1:-isolated}
trap nic_cleanup EXIT
nic_setup "ping-$mode" "$mode"
nic_start
total=0
# -w: wait (up to 20 s) until every probe is answered. Without it iputils
# waits only two RTTs for the last replies once some came back, and with
# -s 0 (no room for a timestamp) it knows no RTT and waits ~1 ms: a reply
# still in flight then was counted lost although the stack got it.
for size in 0 56 512 1000 1472; do
  out=$(in_a ping -q -c 200 -i 0.002 -W 2 -w 20 -s "$size" 198.18.0.2) || { echo "$out"; fail "ping -s $size lost packets"; }
  [[ $out == *" 0% packet loss"* ]] || { echo "$out"; fail "ping -s $size: loss"; }
  total=$((total + 200))
done
sleep 1.2  # one status tick: the stats file catches up
tx=$(nic_stat tx_frames); rx=$(nic_stat rx_frames)
[ "$tx" -ge 1000 ] && [ "$rx" -ge 1000 ] || fail "stats file shows tx $tx rx $rx frames for $total pings"
[ "$(nic_stat violations)" = 0 ] || fail "violations counted"
e2e_stop_supervisor
log "ping ($mode): $total echo requests of 0..1472 B, 0 lost; tx $tx rx $rx frames through the driver"
echo "PASS"
