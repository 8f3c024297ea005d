# Guest half of qemu.kernel_e1000_recovery (busybox sh, run as /payload/run.sh;
# the host half is kernel_e1000_recovery.sh, which packs /payload/params.env).
#
# The supervisor brings up nic0 on QEMU's e1000 through kernel UIO with its TAP
# uldd0; uldd-frame-probe sends COUNT verified frames through uldd0 in the
# background (they leave QEMU's e1000 to uldd-frame-echo on the host and come
# back); the e1000 driver is SIGKILLed KILLS times while frames are flowing
# (uldd0's rx_packets grow), each after the previous recovery's event line,
# and after each recovery frames must flow again while the probe still runs. The probe's line (lost, corrupt, max_gap_ms) is checked by the host.
# Prints GUEST-FAIL <why> and exits non-zero on the first failure; prints the
# supervisor's recovery event lines as EVENT-LINE for the host.
. /etc/uldd-guest.env
. /payload/params.env
R=/run/uldd
mkdir -p $R /payload/policies
gfail() {
  echo "GUEST-FAIL $*"
  [ -f /tmp/probe.out ] && cat /tmp/probe.out
  grep -E 'warn|error|FAILED|restarted' $R/sup.log 2>/dev/null | tail -40 | sed 's/^/SUP: /'
  kill -TERM "$SUP" 2>/dev/null
  exit 1
}
now_ms() { awk '{printf "%d\n", $1 * 1000}' /proc/uptime; }
events() { grep -c '"event":"recovered","device":"nic0"' $R/sup.log; }
rx() { cat /sys/class/net/uldd0/statistics/rx_packets; }
wait_events() {
  local i=0
  while [ "$(events)" -lt "$1" ]; do
    [ $i -lt $(($2 * 10)) ] || return 1
    sleep 0.1; i=$((i + 1))
  done
}

cat > /payload/policies/qemu.toml <<EOF
[restart]
mode = "always"
intensity = 1000
period = "1m"
[backoff]
initial = "1ms"
max = "1ms"
jitter = 0.0
[heartbeat]
# TCG on a loaded host: a 250 ms heartbeat would kill drivers that merely
# were not scheduled.
interval = "50ms"
timeout = "2s"
[recovery]
mode = "$MODE"
nic_tx_inflight = "reissue"
EOF
cat > $R/uldd.toml <<EOF
[supervisor]
runtime_dir = "$R"
log_level = "info"
status_interval_ms = 1000
driver_user = ""
policy_dir = "/payload/policies"
dbus = "none"
metrics_file = ""
[[nic]]
name = "nic0"
uio = "kernel:8086:100e"
tap = "uldd0"
buffers = 256
policy = "qemu"
EOF
uldd-supervisor --config $R/uldd.toml > $R/sup.log 2>&1 &
SUP=$!
i=0
while ! grep -q "nic0: up" $R/sup.log; do
  kill -0 $SUP 2>/dev/null || { cat $R/sup.log; gfail "supervisor exited during start"; }
  [ $i -lt 600 ] || { cat $R/sup.log; gfail "nic0 not up after 60 s"; }
  sleep 0.1; i=$((i + 1))
done
grep -m1 "nic0: up" $R/sup.log | sed 's/^/SUP: /'
echo "nic0 up after $((i / 10)).$((i % 10)) s"
ip link set uldd0 up || gfail "ip link set uldd0 up"
i=0
while [ "$(cat /sys/class/net/uldd0/carrier 2>/dev/null)" != 1 ]; do
  [ $i -lt 100 ] || gfail "uldd0 has no carrier"
  sleep 0.1; i=$((i + 1))
done

t0=$(now_ms)
uldd-frame-probe --ifname uldd0 --count "$COUNT" --size 0 --window "$WINDOW" \
  --timeout-ms "$TIMEOUT_MS" --max-lost "$MAX_LOST" --max-seconds "$PROBE_SECONDS" \
  > /tmp/probe.out 2>&1 &
PROBE=$!
sleep "$FIRST_KILL_AFTER"
# flowing: until uldd0's rx_packets grow (frames come back), at most
# TIMEOUT_MS + 3 s (a cold reset loses the frames in flight: the probe resends
# only when they time out). Prints the ms it waited.
flowing() {
  local a b w=0
  a=$(rx)
  while [ $w -lt $((TIMEOUT_MS + 3000)) ]; do
    sleep 0.1; w=$((w + 100))
    b=$(rx)
    [ "$b" -gt "$a" ] && { echo $w; return 0; }
  done
  return 1
}
LAST_KILLED=""
n=0
while [ $n -lt "$KILLS" ]; do
  # Mid-stream: frames are coming back.
  flowing > /dev/null || gfail "no frames flowing before kill $((n + 1)) (rx_packets $(rx))"
  kill -0 $PROBE 2>/dev/null || gfail "the probe finished before kill $((n + 1)) (raise COUNT)"
  p=$(pidof uldd-e1000-driver | cut -d' ' -f1)
  [ -n "$p" ] && [ "$p" != "$LAST_KILLED" ] || { sleep 0.1; continue; }
  kill -KILL "$p" || continue
  k=$(now_ms)
  LAST_KILLED=$p
  n=$((n + 1))
  echo "killed e1000 driver pid $p at $((k - t0)) ms into the stream (rx_packets $(rx))"
  wait_events $n 30 || gfail "no recovery event after kill $n"
  # Traffic resumed: frames come back again.
  flowing > /dev/null || gfail "no frames flow after recovery $n"
  echo "kill $n: frames coming back again $(($(now_ms) - k)) ms after the kill (0.1 s polls)"
  kill -0 $PROBE 2>/dev/null || gfail "the probe finished before traffic resumed after kill $n"
done
rc=0
wait $PROBE || rc=$?
cat /tmp/probe.out
echo "probe exited $rc after $(($(now_ms) - t0)) ms"
grep -q "nic0: device FAILED" $R/sup.log && gfail "device failed"
grep "nic0: driver restarted" $R/sup.log | sed 's/^/SUP: /'
grep -o 'event {"event":"recovered".*}' $R/sup.log | sed 's/^event /EVENT-LINE /'
kill -TERM $SUP
wait $SUP
src=$?
echo "SUPERVISOR-EXIT $src"
[ $src = 0 ] || { tail -20 $R/sup.log; gfail "supervisor exited $src"; }
[ $rc = 0 ] || gfail "the probe failed (corrupt frames or more than $MAX_LOST lost)"
echo "GUEST-DONE"
exit 0
