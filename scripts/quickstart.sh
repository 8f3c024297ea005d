#!/usr/bin/env bash
# The main command: installs what is missing, builds, and runs uldd-supervisor
# on its embedded default configuration (one emulated NVMe disk `disk0`,
# user-level NVMe driver process, FUSE file /run/uldd/disk0, NBD socket
# /run/uldd/disk0.nbd). A small demo client writes and reads back data through
# both frontends so there is I/O to watch in the status lines. Ctrl-C stops
# everything cleanly.
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
  local round=0
  while sleep 1; do
    round=$((round + 1))
    head -c 4M /dev/urandom > "$tmp/pattern"
    local off=$(( (round % 60) * 4 ))
    dd if="$tmp/pattern" of="$file" bs=1M seek="$off" oflag=direct conv=notrunc status=none || break
    dd if="$file" bs=1M skip="$off" count=4 iflag=direct status=none > "$tmp/back" || break
    if cmp -s "$tmp/pattern" "$tmp/back"; then
      echo "[demo] round $round: wrote 4 MiB at ${off} MiB through FUSE, read back: equal"
    else
      echo "[demo] round $round: MISMATCH at ${off} MiB"
    fi
  done
  rm -rf "$tmp"
}

demo_client &
demo=$!
trap 'kill $demo 2>/dev/null || true' EXIT
status=0
build/bin/uldd-supervisor "$@" || status=$?
kill $demo 2>/dev/null || true
exit $status
