#!/usr/bin/env bash
# The main command: installs what is missing, builds, and runs uldd-supervisor
# on its embedded default configuration (one emulated NVMe disk `disk0`,
# user-level NVMe driver process, FUSE file /run/uldd/disk0, NBD socket
# /run/uldd/disk0.nbd; one emulated e1000 `nic0`, user-level e1000 driver
# process, TAP uldd0). A small demo client writes and reads back data through
# both frontends so there is I/O to watch in the status lines, and a second one
# puts uldd0 and the device's wire into two network namespaces
# (scripts/netns-rig.sh: uldd-a 198.18.0.1 <-> uldd-b 198.18.0.2) and pings
# across the NIC. Both demos SIGKILL their driver now and then (every 10th
# disk round, every 5th ping round) to show recovery: the supervisor logs the
# restart and an "event" line, and the data still reads back equal.
# The kills go through the control plane, `ulddctl inject DEVICE sigkill`
# (the D-Bus API, docs/dbus-api.md), and every 15th disk round prints
# `ulddctl list`. Without a running system bus (a container, a CI machine)
# a private one is started for the demo and DBUS_SYSTEM_BUS_ADDRESS points
# the supervisor and ulddctl at it; a real system bus is used as it is (its
# policy must then allow root to own org.uldd.Supervisor1:
# packaging/dbus/org.uldd.Supervisor1.conf, installed by `cmake --install`).
# Ctrl-C stops everything cleanly and removes the namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "quickstart.sh: run as root (sudo $0)" >&2; exit 1; }
scripts/bootstrap.sh
scripts/build.sh

demo_client() {
  local file=/run/uldd/disk0 url="nbd+unix:///disk0?socket=/run/uldd/disk0.nbd"
  for _ in $(seq 100); do [ -S /run/uldd/disk0.nbd ] && break; sleep 0.1; done
  echo "[demo] $(nbdinfo --size "$url") bytes exported at $url"
  local tmp; tmp=$(mktemp -d)
  local round=0 pid
  while sleep 1; do
    round=$((round + 1))
    head -c 4M /dev/urandom > "$tmp/pattern"
    local off=$(( (round % 60) * 4 ))
    dd if="$tmp/pattern" of="$file" bs=1M seek="$off" oflag=direct conv=notrunc status=none || break
    # Every 10th round the driver is killed between the write and the
    # read-back: the supervisor restarts it (see its "event" line) and the
    # read-back still matches.
    local killed=""
    if [ $((round % 10)) = 0 ] && pid=$(pgrep -n -f "uldd-nvme-driver .*disk0"); then
      build/bin/ulddctl inject disk0 sigkill > /dev/null &&
        killed=" (NVMe driver pid $pid SIGKILLed in between: ulddctl inject disk0 sigkill)"
    fi
    if [ $((round % 15)) = 0 ]; then build/bin/ulddctl list | sed 's/^/[ulddctl] /' || true; fi
    dd if="$file" bs=1M skip="$off" count=4 iflag=direct status=none > "$tmp/back" || break
    if cmp -s "$tmp/pattern" "$tmp/back"; then
      echo "[demo] round $round: wrote 4 MiB at ${off} MiB through FUSE, read back: equal$killed"
    else
      echo "[demo] round $round: MISMATCH at ${off} MiB"
    fi
  done
  rm -rf "$tmp"
}

nic_demo() {
  # The TAPs exist once the supervisor is up; `links` waits for them.
  sleep 1
  scripts/netns-rig.sh links || { echo "[nic] rig not set up (is nic0 configured?)"; return; }
  echo "[nic] uldd0 in netns uldd-a (198.18.0.1), wire in uldd-b (198.18.0.2); try:"
  echo "[nic]   ip netns exec uldd-a ping 198.18.0.2"
  echo "[nic]   ip netns exec uldd-b iperf3 -s -D; ip netns exec uldd-a iperf3 -c 198.18.0.2"
  local round=0 pid
  while sleep 2; do
    round=$((round + 1))
    # Every 5th round the e1000 driver is killed during the pings: it is
    # restarted warm, and the pings go on (a lost one is possible: UDP/ICMP).
    if [ $((round % 5)) = 0 ] && pid=$(pgrep -n -f "uldd-e1000-driver .*nic0"); then
      (sleep 0.2; build/bin/ulddctl inject nic0 sigkill > /dev/null 2>&1 &&
        echo "[nic] e1000 driver pid $pid SIGKILLed during these pings (ulddctl inject nic0 sigkill)") &
    fi
    ip netns exec uldd-a ping -q -c 10 -i 0.05 -W 1 198.18.0.2 | sed -n 's/^/[nic] /; /packets transmitted/p' || break
  done
}

private_bus() {
  # A bus for the demo when the host runs none: a system-bus-like policy
  # plus uldd's own file, so ownership and access are as on a real host.
  if [ -S /run/dbus/system_bus_socket ] || [ -n "${DBUS_SYSTEM_BUS_ADDRESS:-}" ]; then return 0; fi
  mkdir -p /run/uldd
  cat > /run/uldd/demo-bus.conf <<BUSCONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=/run/uldd/demo-bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <allow send_destination="org.freedesktop.DBus"/>
    <allow send_type="signal"/><allow send_type="method_return"/><allow send_type="error"/>
    <allow receive_type="method_call"/><allow receive_type="signal"/><allow receive_type="method_return"/><allow receive_type="error"/>
  </policy>
  <include>$PWD/packaging/dbus/org.uldd.Supervisor1.conf</include>
</busconfig>
BUSCONF
  dbus-daemon --config-file=/run/uldd/demo-bus.conf --fork --print-pid > /run/uldd/demo-bus.pid
  export DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/uldd/demo-bus
  echo "[demo] no system bus running: started a private one for the D-Bus API; try:"
  echo "[demo]   DBUS_SYSTEM_BUS_ADDRESS=$DBUS_SYSTEM_BUS_ADDRESS build/bin/ulddctl status disk0"
}
stop_private_bus() {
  [ -f /run/uldd/demo-bus.pid ] || return 0
  kill "$(cat /run/uldd/demo-bus.pid)" 2>/dev/null || true
  rm -f /run/uldd/demo-bus.pid /run/uldd/demo-bus.conf /run/uldd/demo-bus
}

private_bus
scripts/netns-rig.sh up
demo_client &
demo=$!
nic_demo &
nicdemo=$!
trap 'kill $demo $nicdemo 2>/dev/null || true; scripts/netns-rig.sh down; stop_private_bus' EXIT
status=0
build/bin/uldd-supervisor "$@" || status=$?
kill $demo $nicdemo 2>/dev/null || true
exit $status
