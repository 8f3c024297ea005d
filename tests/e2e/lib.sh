# Shared helpers of the end-to-end suites: start a real uldd-supervisor on a
# configuration written for the test, wait until its frontends serve, and tear
# everything down (mounts, loop devices, processes, files) whatever happens.
#
# Usage: source lib.sh; then e2e_setup NAME [MODE]; e2e_start_supervisor; ...
# The caller's EXIT trap is e2e_cleanup.
set -euo pipefail

BIN_DIR=${ULDD_BIN_DIR:?ULDD_BIN_DIR must point at the build tree bin/ directory}
E2E_TMP=""
SUPERVISOR_PID=""
E2E_LOOPS=()
E2E_MOUNTS=()

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }

require_root_and_tools() {
  [ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
  [ -c /dev/fuse ] || { echo "SKIP: no /dev/fuse"; exit 77; }
  for t in "$@"; do command -v "$t" >/dev/null || fail "missing tool $t (run scripts/bootstrap.sh)"; done
}

# e2e_setup NAME [MODE] [SIZE]: a fresh runtime dir and a config for one disk.
e2e_setup() {
  local name=$1 mode=${2:-isolated} size=${3:-256MiB}
  E2E_MODE=$mode
  E2E_SIZE=$size
  E2E_TMP=$(mktemp -d "/tmp/uldd-e2e-$name.XXXXXX")
  mkdir -p "$E2E_TMP/policies"
  write_config "$mode" "$size"
}

write_config() {
  local mode=$1 size=$2
  cat > "$E2E_TMP/uldd.toml" <<TOML
[supervisor]
runtime_dir = "$E2E_TMP/run"
log_level = "info"
status_interval_ms = 1000
driver_user = "nobody"
policy_dir = "$E2E_TMP/policies"

[[disk]]
name = "disk0"
mode = "$mode"
policy = "${E2E_POLICY:-default}"
backing_file = "$E2E_TMP/disk0.img"
size = "$size"
fuse_path = "$E2E_TMP/run/disk0"
nbd_socket = "$E2E_TMP/run/disk0.nbd"
TOML
}

# e2e_policy NAME <<TOML: writes a restart policy file and makes disk0 use it
# (call after e2e_setup, before e2e_start_supervisor).
e2e_policy() {
  cat > "$E2E_TMP/policies/$1.toml"
  E2E_POLICY=$1
  write_config "${E2E_MODE:-isolated}" "${E2E_SIZE:-256MiB}"
}

# Pid of the current disk0 driver process, from the supervisor's log (a
# promoted hot standby still has --standby on its command line), or fails.
e2e_driver_pid() {
  local pid
  pid=$(grep -oE "disk0: (up: .*driver process pid|driver restarted [a-z]+ \(pid) [0-9]+" "$E2E_TMP/supervisor.log" \
        | tail -1 | grep -oE "[0-9]+$") || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

e2e_start_supervisor() {
  "$BIN_DIR/uldd-supervisor" --config "$E2E_TMP/uldd.toml" >"$E2E_TMP/supervisor.log" 2>&1 &
  SUPERVISOR_PID=$!
  local deadline=$((SECONDS + 30))
  until grep -q "all devices serving" "$E2E_TMP/supervisor.log" 2>/dev/null; do
    if ! kill -0 "$SUPERVISOR_PID" 2>/dev/null; then
      cat "$E2E_TMP/supervisor.log" >&2
      fail "supervisor exited during start-up"
    fi
    [ $SECONDS -lt $deadline ] || { cat "$E2E_TMP/supervisor.log" >&2; fail "supervisor not serving after 30 s"; }
    sleep 0.1
  done
  FUSE_FILE="$E2E_TMP/run/disk0"
  NBD_SOCKET="$E2E_TMP/run/disk0.nbd"
  NBD_URL="nbd+unix:///disk0?socket=$NBD_SOCKET"
  log "supervisor $SUPERVISOR_PID serving: $FUSE_FILE, $NBD_URL"
}

# Stops the supervisor with SIGTERM and checks it left nothing behind.
e2e_stop_supervisor() {
  [ -n "$SUPERVISOR_PID" ] || return 0
  kill -TERM "$SUPERVISOR_PID"
  local status=0
  wait "$SUPERVISOR_PID" || status=$?
  SUPERVISOR_PID=""
  [ "$status" = 0 ] || { tail -20 "$E2E_TMP/supervisor.log" >&2; fail "supervisor exit status $status"; }
  if grep -q " $E2E_TMP/run/" /proc/mounts; then fail "FUSE mount left behind"; fi
  [ ! -S "$E2E_TMP/run/disk0.nbd" ] || fail "NBD socket left behind"
  if pgrep -f "uldd-hw nvme --backing $E2E_TMP" >/dev/null || pgrep -f "uldd-nvme-driver" -P 1 >/dev/null 2>&1; then
    pgrep -af "uldd-(hw|nvme-driver)" >&2 || true
    fail "stray driver or device-model process"
  fi
}

# e2e_private_mounts "$@": re-runs the calling script in a private mount
# namespace (first line after sourcing). Why: a process that enters a new
# mount namespace (ip netns exec, unshare -m, containers; any test running
# beside ours) copies every mount of ours into it, and a copy of our ext4
# mount keeps the file system alive after our umount: its final writes (the
# journal checkpoint, group descriptors, superblock) then never reach the
# device before fsck reads it, and fsck reports bitmap damage. Mounts made in
# a private namespace are not copied, and vanish with it if the script dies.
e2e_private_mounts() {
  [ -n "${ULDD_E2E_PRIVATE_MOUNTS:-}" ] && return 0
  [ "$(id -u)" = 0 ] || return 0  # the script skips itself later
  command -v unshare >/dev/null || fail "missing tool unshare (util-linux)"
  ULDD_E2E_PRIVATE_MOUNTS=1 exec unshare --mount --propagation private bash "$0" "$@"
}

# e2e_attach_loop FILE: attaches FILE to a free loop device, sets E2E_LOOP to
# it and remembers it for cleanup (no command substitution: the list must
# live in this shell).
e2e_attach_loop() {
  E2E_LOOP=$(losetup --find --show "$1")
  E2E_LOOPS+=("$E2E_LOOP")
}
e2e_detach_loop() {
  losetup -d "$1"
  # losetup -d only marks a device still in use for auto-clear: wait until it
  # is really detached, i.e. every user (an ext4 whose umount did not end it)
  # is gone, or the next attach would read the disk without its last writes.
  local sys="/sys/block/${1#/dev/}/loop/backing_file" i
  for i in $(seq 200); do [ -e "$sys" ] || break; sleep 0.1; done
  [ ! -e "$sys" ] || fail "$1 still in use 20 s after umount + losetup -d (file system pinned elsewhere)"
  local keep=() l
  for l in "${E2E_LOOPS[@]}"; do [ "$l" = "$1" ] || keep+=("$l"); done
  E2E_LOOPS=("${keep[@]}")
}

e2e_cleanup() {
  local status=$?
  set +e
  for m in "${E2E_MOUNTS[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
  for l in "${E2E_LOOPS[@]}"; do losetup -d "$l" 2>/dev/null; done
  if [ -n "$SUPERVISOR_PID" ]; then
    kill -TERM "$SUPERVISOR_PID" 2>/dev/null
    wait "$SUPERVISOR_PID" 2>/dev/null
  fi
  if [ -n "$E2E_TMP" ]; then
    grep " $E2E_TMP/" /proc/mounts | awk '{print $2}' | while read -r m; do umount -l "$m"; done
    if [ $status -ne 0 ] && [ -f "$E2E_TMP/supervisor.log" ]; then
      echo "--- supervisor log (last 40 lines) ---" >&2
      tail -40 "$E2E_TMP/supervisor.log" >&2
    fi
    # Repeated runs hunting a rare failure (tests/recovery/repeat_scenario.sh)
    # keep the logs of a failed run (of every run with ULDD_E2E_KEEP_ALL=1);
    # the disk image is not kept (hundreds of MiB).
    if [ -n "${ULDD_E2E_KEEP:-}" ] && { [ $status -ne 0 ] || [ "${ULDD_E2E_KEEP_ALL:-0}" = 1 ]; }; then
      mkdir -p "$ULDD_E2E_KEEP" && find "$E2E_TMP" -maxdepth 1 -type f ! -name '*.img' -exec cp {} "$ULDD_E2E_KEEP/" \;
    fi
    rm -rf "$E2E_TMP"
  fi
  exit $status
}

# ---- NIC rig (e2e-nic) ---------------------------------------------------------
# nic_setup NAME MODE: a fresh runtime dir, two namespaces from
# scripts/netns-rig.sh with a per-test suffix, and a config with one [[nic]]
# whose TAP and wire are created inside them. The EXIT trap must be
# nic_cleanup (it takes the rig down, then runs e2e_cleanup).
RIG=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/netns-rig.sh
UDP_ECHO=$BIN_DIR/uldd-udp-echo
nic_setup() {
  local name=$1 mode=${2:-isolated}
  [ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
  [ -c /dev/net/tun ] || { echo "SKIP: no /dev/net/tun"; exit 77; }
  for t in ip ping; do command -v "$t" >/dev/null || fail "missing tool $t (run scripts/bootstrap.sh)"; done
  E2E_TMP=$(mktemp -d "/tmp/uldd-e2e-$name.XXXXXX")
  export ULDD_RIG_SUFFIX="-$name-$$" ULDD_RIG_TAP="ut$$" ULDD_RIG_WIRE="uw$$"
  read -r NS_A NS_B NIC_TAP NIC_WIRE < <("$RIG" names)
  "$RIG" up
  write_nic_config "$mode"
}

write_nic_config() {
  cat > "$E2E_TMP/uldd.toml" <<TOML
[supervisor]
runtime_dir = "$E2E_TMP/run"
log_level = "info"
status_interval_ms = 1000
driver_user = "nobody"

[[nic]]
name = "nic0"
mode = "$1"
tap = "$NIC_TAP"
tap_netns = "$NS_A"
wire_tap = "$NIC_WIRE"
wire_netns = "$NS_B"
TOML
}

# Starts the supervisor and addresses the rig: 198.18.0.1 (ns A, host side)
# <-> 198.18.0.2 (ns B, the device's wire).
nic_start() {
  e2e_start_supervisor
  "$RIG" links
  NIC_STATS="$E2E_TMP/run/nic0.stats"
  # ARP resolves on the first ping; a few tries cover a slow start-up.
  local i
  for i in $(seq 20); do ip netns exec "$NS_A" ping -c1 -W1 198.18.0.2 >/dev/null 2>&1 && return 0; done
  fail "no ping across the rig after start-up"
}

in_a() { ip netns exec "$NS_A" "$@"; }
in_b() { ip netns exec "$NS_B" "$@"; }
# stat KEY: one counter from the stats file the supervisor writes.
nic_stat() { sed -n "s/^$1=//p" "$NIC_STATS"; }

nic_cleanup() {
  local status=$?
  set +e
  if [ "$status" != 0 ] && [ "$status" != 77 ]; then
    # Where a frame went missing: every drop counter of both netdevs, the
    # kernel's per-CPU backlog drops, and the device's counters as last seen.
    echo "--- failure diagnostics: ip -s link ($NS_A / $NS_B), softnet_stat, stats file" >&2
    ip netns exec "$NS_A" ip -s link show "$NIC_TAP" >&2 2>/dev/null
    ip netns exec "$NS_B" ip -s link show "$NIC_WIRE" >&2 2>/dev/null
    cat /proc/net/softnet_stat >&2
    local ns
    for ns in "$NS_A" "$NS_B"; do
      echo "--- $ns: non-zero IP/ICMP/UDP/TCP counters" >&2
      ip netns exec "$ns" nstat -az 2>/dev/null | awk '$2 != 0 && $1 ~ /^(Ip|Icmp|Udp|Tcp)/' >&2
    done
    [ -n "$NIC_STATS" ] && cat "$NIC_STATS" >&2 2>/dev/null
  fi
  # The supervisor first (it closes the TAPs and stops the model), then the
  # namespaces with anything a test left running in them.
  if [ -n "$SUPERVISOR_PID" ]; then
    kill -TERM "$SUPERVISOR_PID" 2>/dev/null
    wait "$SUPERVISOR_PID" 2>/dev/null
    SUPERVISOR_PID=""
  fi
  "$RIG" down
  (exit $status)
  e2e_cleanup
}
