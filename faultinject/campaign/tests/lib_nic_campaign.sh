# Helpers of the NIC campaign tests (on top of lib_campaign.sh): the tun
# device, a short udp-echo campaign file over nic0, and a check that a run
# left no network namespace or TAP of its own behind.

nic_campaign_setup() {
  campaign_setup
  [ -c /dev/net/tun ] || { echo "SKIP: no /dev/net/tun"; exit 77; }
  command -v ip >/dev/null || fail "missing tool ip (iproute2)"
}

# write_nic_campaign FILE NAME FAULTS LOST_BUDGET TYPE[|PARAMS]...: nic0 under
# the udp-echo workload, 400 ms between faults; PARAMS is a TOML inline table.
write_nic_campaign() {
  local file=$1 name=$2 faults=$3 lost=$4
  shift 4
  {
    printf '[campaign]\nname = "%s"\nseed = 5\nfaults = %s\ninterval_ms = 400\nsettle_ms = 2000\n\n' \
      "$name" "$faults"
    printf '[[device]]\nname = "nic0"\nkind = "nic"\npolicy = "policies/campaign.toml"\n'
    local t
    for t in "$@"; do
      printf '\n[[fault]]\ntype = "%s"\n' "${t%%|*}"
      [ "${t#*|}" = "$t" ] || printf 'params = %s\n' "${t#*|}"
    done
    printf '\n[workload]\nnic = "udp-echo"\necho_size = 512\necho_rate = 2000\necho_window = 32\n'
    printf '\n[invariants]\nlost_datagrams = %s\ncorrupted_datagrams = 0\nreordered_datagrams = %s\n' \
      "$lost" "${REORDERED_BUDGET:-0}"
    printf 'supervisor_survives = true\nmin_recovered_percent = 99.9\n'
  } >"$file"
}

# Nothing of a NIC run is left: what nothing_left checks, no orphaned e1000
# driver, no campaign network namespace (uldd-campaign-*), no campaign TAP
# (uc*) in our namespace.
nic_nothing_left() {
  nothing_left
  local p
  for p in $(pgrep -f "^$BIN_DIR/uldd-e1000-driver " || true); do
    if [ "$(ps -o ppid= -p "$p" | tr -d ' ')" = 1 ] && [ "$(ps -o stat= -p "$p")" != Z ]; then
      fail "orphaned e1000 driver left behind (pid $p)"
    fi
  done
  # Namespaces and TAPs carry their run's id (the temp dir's suffix); those
  # of runs that were there before the test are not its leftovers.
  local ns id
  for ns in $(ip netns list | grep -o '^uldd-campaign-[A-Za-z0-9]\{6\}' || true); do
    id=${ns#uldd-campaign-}
    [[ "$PRE_RUNS" == *" /tmp/uldd-campaign.$id "* ]] || fail "network namespace $ns left behind"
  done
  for id in $(ip -o link show | grep -Eo '^[0-9]+: uc[A-Za-z0-9]{6}[tw][0-9]+' | sed -E 's/^[0-9]+: uc(.{6}).*/\1/' || true); do
    [[ "$PRE_RUNS" == *" /tmp/uldd-campaign.$id "* ]] || fail "TAP of run $id left behind"
  done
  return 0
}
