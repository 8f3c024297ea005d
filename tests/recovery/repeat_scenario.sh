#!/usr/bin/env bash
# Runs one e2e or recovery scenario many times, to hunt a rare failure (e.g.
# 002's ext4 bitmap damage, once in 9 ASan runs). Optionally adds CPU
# contention: K busy loops at nice 0 for the whole run (stress-ng is not a
# dependency). Each failed run keeps its logs (supervisor.log, fsck.out, ...)
# and the kernel messages it produced under OUT/run-N/. Not a ctest test.
#
# Usage: sudo ULDD_BIN_DIR=build/bin tests/recovery/repeat_scenario.sh SCRIPT RUNS [BUSY_LOOPS] [OUT]
set -uo pipefail
script=${1:?scenario script}
runs=${2:?number of runs}
busy=${3:-0}
out=${4:-/tmp/uldd-repeat.$$}
: "${ULDD_BIN_DIR:?ULDD_BIN_DIR must point at the build tree bin/ directory}"
mkdir -p "$out"

busy_pids=()
cleanup() { for p in "${busy_pids[@]}"; do kill "$p" 2>/dev/null; done; }
trap cleanup EXIT
for _ in $(seq "$busy"); do
  (while :; do :; done) &
  busy_pids+=($!)
done

pass=0 failed=0 skipped=0
for i in $(seq "$runs"); do
  mark="uldd-repeat $$ run $i"
  echo "$mark" > /dev/kmsg 2>/dev/null || true
  start=$SECONDS
  ULDD_E2E_KEEP="$out/run-$i" bash "$script" > "$out/last.log" 2>&1
  rc=$?
  if [ $rc = 0 ]; then
    pass=$((pass + 1))
  elif [ $rc = 77 ]; then
    skipped=$((skipped + 1))
  else
    failed=$((failed + 1))
    mkdir -p "$out/run-$i"
    cp "$out/last.log" "$out/run-$i/script.log"
    dmesg | sed -n "/$mark/,\$p" > "$out/run-$i/dmesg.txt" 2>/dev/null
  fi
  printf '[%s] run %d/%d: rc %d in %d s (pass %d, fail %d, skip %d)\n' \
    "$(date +%H:%M:%S)" "$i" "$runs" "$rc" $((SECONDS - start)) "$pass" "$failed" "$skipped"
done
echo "$(basename "$script"): $pass passed, $failed failed, $skipped skipped of $runs (busy loops: $busy); logs in $out"
[ "$failed" = 0 ]
