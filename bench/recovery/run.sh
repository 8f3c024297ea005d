#!/usr/bin/env bash
# bench/recovery: driver-kill recovery figures per mode (cold, warm, hot
# standby) under a steady verified load; see recovery_bench.py for what is
# measured. Needs root and a build (scripts/build.sh).
#   sudo bench/recovery/run.sh            200 kills per mode and device
#   sudo bench/recovery/run.sh --quick    20 kills per mode and device
# Environment: ULDD_BENCH_DEVICES=disk|nic|disk,nic (default both).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
kills=200
[ "${1:-}" = "--quick" ] && kills=20
exec python3 "$here/recovery_bench.py" --bin-dir "${ULDD_BIN_DIR:-$root/build/bin}" --kills "$kills" \
  --devices "${ULDD_BENCH_DEVICES:-disk,nic}" \
  --out "$root/bench/results"
