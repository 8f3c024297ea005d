#!/usr/bin/env bash
# The NIC test rig: two network namespaces joined by a uldd NIC.
#
#   host side  ns A ($ULDD_RIG_NS_A): the shim's TAP      ($ULDD_RIG_TAP,  198.18.0.1/24)
#   wire side  ns B ($ULDD_RIG_NS_B): the model's wire TAP ($ULDD_RIG_WIRE, 198.18.0.2/24)
#
# Addresses are from 198.18.0.0/15 (RFC 2544 benchmarking); nothing here
# routes anywhere else. Used by the e2e-nic tests and by people:
#
#   scripts/netns-rig.sh up      create both namespaces (lo up); idempotent.
#                                Start the supervisor after this with
#                                tap_netns/wire_netns set to the two names, or
#                                without them and let `links` move the TAPs.
#   scripts/netns-rig.sh links   wait (<= 10 s) for the two TAPs, move them into
#                                their namespace if they are still in ours,
#                                assign the addresses, bring them up; idempotent.
#   scripts/netns-rig.sh down    delete both namespaces (and the TAPs left in
#                                them); idempotent, safe from a trap.
#   scripts/netns-rig.sh names   print the NS_A NS_B TAP WIRE in use.
#
# Environment: ULDD_RIG_SUFFIX (appended to the default namespace names so that
# parallel runs do not collide), ULDD_RIG_NS_A, ULDD_RIG_NS_B, ULDD_RIG_TAP
# (default uldd0), ULDD_RIG_WIRE (default uldd0w).
# Then e.g.:  ip netns exec uldd-a ping 198.18.0.2
set -euo pipefail

SUFFIX=${ULDD_RIG_SUFFIX:-}
NS_A=${ULDD_RIG_NS_A:-uldd-a$SUFFIX}
NS_B=${ULDD_RIG_NS_B:-uldd-b$SUFFIX}
TAP=${ULDD_RIG_TAP:-uldd0}
WIRE=${ULDD_RIG_WIRE:-uldd0w}
ADDR_A=198.18.0.1/24
ADDR_B=198.18.0.2/24

die() { echo "netns-rig: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root"

ns_exists() { [ -e "/run/netns/$1" ]; }

up() {
  for ns in "$NS_A" "$NS_B"; do
    ns_exists "$ns" || ip netns add "$ns"
    ip -n "$ns" link set lo up
  done
}

# place IFNAME NS ADDR: wait for IFNAME in NS (or in our namespace, then move
# it), then address it and bring it up.
place() {
  local ifname=$1 ns=$2 addr=$3 deadline=$((SECONDS + 10))
  until ip -n "$ns" link show "$ifname" >/dev/null 2>&1; do
    if ip link show "$ifname" >/dev/null 2>&1; then
      ip link set "$ifname" netns "$ns"
      continue
    fi
    [ $SECONDS -lt $deadline ] || die "interface $ifname did not appear (is the supervisor running?)"
    sleep 0.1
  done
  ip -n "$ns" addr replace "$addr" dev "$ifname"
  ip -n "$ns" link set "$ifname" up
}

links() {
  up
  place "$TAP" "$NS_A" "$ADDR_A"
  place "$WIRE" "$NS_B" "$ADDR_B"
}

down() {
  for ns in "$NS_A" "$NS_B"; do
    if ns_exists "$ns"; then
      # Kill whatever a test left running in there (iperf3 servers, echo servers).
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
      ip netns del "$ns" 2>/dev/null || true
    fi
  done
}

case "${1:-}" in
  up) up ;;
  links) links ;;
  down) down ;;
  names) echo "$NS_A $NS_B $TAP $WIRE" ;;
  *) die "usage: $0 up|links|down|names" ;;
esac
