#!/usr/bin/env bash
# systemd label: packaging/systemd/uldd.service passes `systemd-analyze
# verify` without a single warning about it, and the sysusers.d entry is
# accepted by systemd-sysusers. verify checks that ExecStart= names an
# existing executable, so what is verified is a copy of the unit whose
# /usr/sbin and /usr/libexec/uldd paths are replaced by the build tree's bin/
# (everything else byte for byte the packaged file). Deliberately broken
# copies (a missing binary, a misspelt key, a bad value) must fail the same
# check, so that the check can fail.
set -euo pipefail
BIN_DIR=${ULDD_BIN_DIR:?ULDD_BIN_DIR must point at the build tree bin/ directory}
HERE=$(cd "$(dirname "$0")" && pwd)
PKG=$HERE/../../packaging/systemd
command -v systemd-analyze >/dev/null || { echo "SKIP: no systemd-analyze"; exit 77; }
[ -x "$BIN_DIR/uldd-supervisor" ] || { echo "FAIL: $BIN_DIR/uldd-supervisor not built"; exit 1; }

TMP=$(mktemp -d /tmp/uldd-unit-verify.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# unit_copy DIR [SED-EXPRESSION]: DIR/uldd.service from the packaged unit.
unit_copy() {
  mkdir -p "$1"
  sed -e "s|/usr/sbin/uldd-supervisor|$BIN_DIR/uldd-supervisor|" -e "s|/usr/libexec/uldd|$BIN_DIR|" \
      ${2:+-e "$2"} "$PKG/uldd.service" > "$1/uldd.service"
}

# verify DIR: 0 only if systemd-analyze succeeds and says nothing about our
# unit (unknown keys and bad values are warnings with exit status 0).
verify() {
  local status=0 out
  out=$(cd "$1" && systemd-analyze verify --man=no "$1/uldd.service" 2>&1) || status=$?
  printf '%s\n' "$out" > "$1/verify.out"
  [ "$status" = 0 ] || return 1
  [[ $out != *uldd.service* ]] || return 1
  return 0
}

unit_copy "$TMP/good"
grep -q "^ExecStart=$BIN_DIR/uldd-supervisor " "$TMP/good/uldd.service" || fail "ExecStart not substituted"
verify "$TMP/good" || { cat "$TMP/good/verify.out" >&2; fail "systemd-analyze verify on the unit"; }
echo "unit verified: $(wc -l < "$PKG/uldd.service") lines, no warnings"

declare -A broken=(
  [missing-binary]="s|^ExecStart=$BIN_DIR/uldd-supervisor|ExecStart=$BIN_DIR/uldd-no-such-binary|"
  [misspelt-key]="s|^KillMode=mixed|KilMode=mixed|"
  [bad-value]="s|^Type=notify|Type=notfy|"
)
for name in "${!broken[@]}"; do
  unit_copy "$TMP/$name" "${broken[$name]}"
  ! cmp -s "$TMP/good/uldd.service" "$TMP/$name/uldd.service" || fail "$name: the sed changed nothing"
  if verify "$TMP/$name"; then fail "$name: a broken unit passed the check"; fi
  echo "broken unit ($name) rejected: $(grep -m1 uldd "$TMP/$name/verify.out" || true)"
done

if command -v systemd-sysusers >/dev/null; then
  mkdir -p "$TMP/root/etc"
  out=$(systemd-sysusers --root="$TMP/root" "$PKG/uldd.sysusers.conf" 2>&1) || fail "systemd-sysusers: $out"
  grep -q "^uldd:x:" "$TMP/root/etc/group" || fail "sysusers.d entry did not create group uldd: $out"
  echo "sysusers.d: $(grep '^uldd:' "$TMP/root/etc/group")"
fi
echo "PASS"
