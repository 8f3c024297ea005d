#!/usr/bin/env bash
# systemd label: packaging/dbus/org.uldd.Supervisor1.conf enforced by a real,
# private dbus-daemon whose configuration is Debian's system-bus policy plus
# that file (make_bus_config.py): root may own org.uldd.Supervisor1; nobody
# (setpriv to uid/gid 65534, no groups) may not own it but may call a
# method on it. Then the same checks without the file, so the test can tell
# a policy that works from a bus that allows everything: nobody's call and
# root's ownership are refused there. Never touches the host's system bus.
set -euo pipefail
BIN_DIR=${ULDD_BIN_DIR:?ULDD_BIN_DIR must point at the build tree bin/ directory}
HERE=$(cd "$(dirname "$0")" && pwd)
POLICY=$HERE/../../packaging/dbus/org.uldd.Supervisor1.conf
PROBE=$BIN_DIR/uldd-dbus-policy-probe

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (setpriv to nobody)"; exit 77; }
for t in dbus-daemon setpriv /usr/bin/python3; do
  command -v "$t" >/dev/null || { echo "FAIL: missing $t (scripts/bootstrap.sh)"; exit 1; }
done

TMP=$(mktemp -d /tmp/uldd-dbus-policy.XXXXXX)
chmod 755 "$TMP"  # nobody must reach the socket
DAEMON=""
OWNER=""
cleanup() {
  local status=$?
  [ -n "$OWNER" ] && kill "$OWNER" 2>/dev/null && wait "$OWNER" 2>/dev/null
  [ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null && wait "$DAEMON" 2>/dev/null
  rm -rf "$TMP"
  exit $status
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }

# start_bus NAME POLICY_FILE|-: a dbus-daemon on $TMP/NAME.sock; sets ADDRESS.
start_bus() {
  local sock=$TMP/$1.sock
  /usr/bin/python3 "$HERE/make_bus_config.py" "$sock" "$2" > "$TMP/$1.conf"
  dbus-daemon --config-file="$TMP/$1.conf" --nofork --nopidfile 2> "$TMP/$1.log" &
  DAEMON=$!
  local i
  for i in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
  [ -S "$sock" ] || { cat "$TMP/$1.log" >&2; fail "dbus-daemon did not start"; }
  chmod 666 "$sock"
  ADDRESS=unix:path=$sock
}
stop_bus() { kill "$DAEMON"; wait "$DAEMON" 2>/dev/null || true; DAEMON=""; }

# own_in_background: root owns the name; waits for "owned".
own_in_background() {
  mkfifo "$TMP/owner.in"
  "$PROBE" own "$ADDRESS" < "$TMP/owner.in" > "$TMP/owner.out" 2>&1 &
  OWNER=$!
  exec 7> "$TMP/owner.in"  # keeps the owner serving until closed
  local i
  for i in $(seq 100); do [[ $(cat "$TMP/owner.out") == *owned* ]] && return 0; kill -0 "$OWNER" 2>/dev/null || break; sleep 0.05; done
  cat "$TMP/owner.out" >&2
  fail "root could not own org.uldd.Supervisor1"
}
stop_owner() { exec 7>&-; wait "$OWNER" 2>/dev/null || true; OWNER=""; rm -f "$TMP/owner.in"; }

# --- with the policy file -----------------------------------------------------
start_bus with "$POLICY"
grep -q "org.uldd.Supervisor1" "$TMP/with.conf" || fail "the policy file is not included"
out=$(as_nobody "$PROBE" own "$ADDRESS") && fail "nobody could own org.uldd.Supervisor1"
[[ $out == *org.freedesktop.DBus.Error.AccessDenied* ]] || fail "nobody owning: expected AccessDenied, got: $out"
echo "with policy: nobody may not own the name ($out)"
own_in_background
echo "with policy: root owns the name"
out=$(as_nobody "$PROBE" call "$ADDRESS") || fail "nobody could not call GetMetrics: $out"
[ "$out" = "# EOF" ] || fail "nobody's call: unexpected reply: $out"
echo "with policy: nobody called GetMetrics: $out"
stop_owner
stop_bus

# --- without it: the system bus defaults refuse both ----------------------------
start_bus without -
out=$("$PROBE" own "$ADDRESS") && fail "without the policy file root could own the name: the check proves nothing"
[[ $out == *AccessDenied* ]] || fail "root owning without the policy: expected AccessDenied, got: $out"
echo "without policy: root may not own the name either ($out)"
stop_bus

echo "PASS"
