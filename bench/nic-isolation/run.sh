#!/usr/bin/env bash
# bench/nic-isolation: the seed paper's Fig. 4 (Leslie et al. 2005, §4.2) our
# way. UDP echo of 1024-byte payloads, offered load swept from low to beyond
# saturation, achieved echo throughput and CPU time of every process of the
# stack, for three configurations up at once on this machine:
#
#   isolated   uldd-supervisor + uldd-e1000-driver process + uldd-hw e1000
#   colocated  uldd-supervisor (driver inside the shim) + uldd-hw e1000
#   veth       a plain veth pair: the in-kernel reference
#
# Each configuration gets its own pair of network namespaces from
# scripts/netns-rig.sh (ns A: client at 198.18.0.1, ns B: echo server at
# 198.18.0.2), so the three are the same topology and traffic never leaves
# them. The load is uldd-bench-nic-echo-load (nic_echo_load.cc: paced sender
# and receiver threads); sweep.py measures, plot.py draws (gnuplot), and the
# analysis is in docs/benchmarks/README.md. Points are measured interleaved
# (load, repeat, configuration) so that background noise hits all three
# alike; medians of the repeats are kept.
#
# Writes bench/results/nic-isolation-<stamp>.{json,txt,png} and prints the
# SUMMARY line last. Options (everything else goes to sweep.py):
#   --quick              smoke run (< 1 min): 4 loads, 1 repeat, 1 s each
#   --loads A,B,...      offered loads in Mb/s of echo payload
#   --repeats N          repeats per point (default 3, median kept)
#   --seconds S          offered duration per point (default 2)
# Environment: ULDD_BIN_DIR (prebuilt bin/ directory; default: build with
# scripts/build.sh and use build/bin), ULDD_NICBENCH_ITR_US (e1000 interrupt
# hold-off of both uldd NICs, default 50 as in packaging/uldd.toml).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
[ "$(id -u)" = 0 ] || { echo "run as root (network namespaces, TAPs)" >&2; exit 1; }
[ -c /dev/net/tun ] || { echo "no /dev/net/tun" >&2; exit 1; }
for t in ip python3 gnuplot; do
  command -v "$t" >/dev/null || { echo "missing $t (run scripts/bootstrap.sh)" >&2; exit 1; }
done

if [ -z "${ULDD_BIN_DIR:-}" ]; then
  scripts/build.sh >/dev/null
  ULDD_BIN_DIR=$ROOT/build/bin
fi
BIN=$ULDD_BIN_DIR
for b in uldd-supervisor uldd-hw uldd-e1000-driver uldd-udp-echo uldd-bench-nic-echo-load; do
  [ -x "$BIN/$b" ] || { echo "missing $BIN/$b" >&2; exit 1; }
done
ITR_US=${ULDD_NICBENCH_ITR_US:-50}

RIG=$ROOT/scripts/netns-rig.sh
TMP=$(mktemp -d /tmp/uldd-nicbench.XXXXXX)
CONFIGS=(isolated colocated veth)
declare -A SUP_PID=()
declare -A SERVER_PID=()

# rig_env CONFIG: the rig's names for one configuration (unique per run, so a
# parallel run or a leftover of a killed one never collides).
rig_env() {
  export ULDD_RIG_SUFFIX="-nb$1-$$" ULDD_RIG_TAP="nb${1:0:3}$$" ULDD_RIG_WIRE="nw${1:0:3}$$"
}

cleanup() {
  local status=$?
  set +e
  for c in "${!SERVER_PID[@]}"; do kill -KILL "${SERVER_PID[$c]}" 2>/dev/null; done
  for c in "${!SUP_PID[@]}"; do kill -TERM "${SUP_PID[$c]}" 2>/dev/null; done
  for c in "${!SUP_PID[@]}"; do wait "${SUP_PID[$c]}" 2>/dev/null; done
  for c in "${CONFIGS[@]}"; do (rig_env "$c"; "$RIG" down); done
  if [ $status -ne 0 ]; then
    for f in "$TMP"/*/supervisor.log; do
      [ -f "$f" ] && { echo "--- $f (last 20 lines) ---" >&2; tail -20 "$f" >&2; }
    done
  fi
  rm -rf "$TMP"
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_uldd() {  # CONFIG: supervisor with one [[nic]] in that mode, rig addressed
  local c=$1 dir=$TMP/$1
  mkdir -p "$dir"
  rig_env "$c"
  read -r ns_a ns_b tap wire < <("$RIG" names)
  "$RIG" up
  cat > "$dir/uldd.toml" <<TOML
[supervisor]
runtime_dir = "$dir/run"
log_level = "info"
status_interval_ms = 1000
driver_user = "nobody"

[[nic]]
name = "nic0"
mode = "$c"
tap = "$tap"
tap_netns = "$ns_a"
wire_tap = "$wire"
wire_netns = "$ns_b"
itr_us = $ITR_US
TOML
  "$BIN/uldd-supervisor" --config "$dir/uldd.toml" >"$dir/supervisor.log" 2>&1 &
  SUP_PID[$c]=$!
  local deadline=$((SECONDS + 30))
  until grep -q "all devices serving" "$dir/supervisor.log" 2>/dev/null; do
    kill -0 "${SUP_PID[$c]}" 2>/dev/null || { echo "$c: supervisor exited during start-up" >&2; exit 1; }
    [ $SECONDS -lt $deadline ] || { echo "$c: supervisor not serving after 30 s" >&2; exit 1; }
    sleep 0.1
  done
  "$RIG" links
}

start_veth() {  # the in-kernel reference: a veth pair across the same topology
  rig_env veth
  read -r ns_a ns_b tap wire < <("$RIG" names)
  "$RIG" up
  ip link add "$tap" netns "$ns_a" type veth peer name "$wire" netns "$ns_b"
  ip -n "$ns_a" addr add 198.18.0.1/24 dev "$tap"
  ip -n "$ns_b" addr add 198.18.0.2/24 dev "$wire"
  ip -n "$ns_a" link set "$tap" up
  ip -n "$ns_b" link set "$wire" up
}

# The echo server in ns B, then ARP resolved by a ping (a few tries cover a
# slow start-up).
start_server() {
  local c=$1
  rig_env "$c"
  read -r ns_a ns_b _ _ < <("$RIG" names)
  ip netns exec "$ns_b" "$BIN/uldd-udp-echo" server --bind 198.18.0.2 --port 7007 &
  SERVER_PID[$c]=$!
  local i
  for i in $(seq 20); do
    ip netns exec "$ns_a" ping -c1 -W1 198.18.0.2 >/dev/null 2>&1 && return 0
  done
  echo "$c: no ping across the rig" >&2
  exit 1
}

start_uldd isolated
start_uldd colocated
start_veth
for c in "${CONFIGS[@]}"; do start_server "$c"; done

# What sweep.py needs per configuration: client namespace, pids to account.
args=()
for c in "${CONFIGS[@]}"; do
  rig_env "$c"
  read -r ns_a _ _ _ < <("$RIG" names)
  spec="$c:netns=$ns_a:server=${SERVER_PID[$c]}"
  [ -n "${SUP_PID[$c]:-}" ] && spec+=":supervisor=${SUP_PID[$c]}:stats=$TMP/$c/run/nic0.stats"
  args+=(--config "$spec")
done

mkdir -p bench/results
stamp=$(date +%Y%m%d-%H%M%S)
out=bench/results/nic-isolation-$stamp
python3 bench/nic-isolation/sweep.py --bin "$BIN" --itr-us "$ITR_US" --json "$out.json" \
  "${args[@]}" "$@" | tee "$out.txt" | grep -v '^SUMMARY'
for c in isolated colocated; do
  kill -0 "${SUP_PID[$c]}" 2>/dev/null || { echo "$c: supervisor died during the sweep" >&2; exit 1; }
  grep -q "FAILED" "$TMP/$c/supervisor.log" && { echo "$c: device FAILED during the sweep" >&2; exit 1; }
done
python3 bench/nic-isolation/plot.py "$out.json" "$out.png"
grep '^SUMMARY' "$out.txt"
