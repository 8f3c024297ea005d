#!/usr/bin/env bash
# bench/disk-isolation: builds, runs the isolated-vs-colocated sequential read
# sweep (Leslie et al. 2005, Fig. 2), writes JSON and a PNG plot under
# bench/results/, and prints the SUMMARY line last. Extra arguments go to the
# benchmark program (e.g. --repeats 5 --latency-us 20 --fuse false).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "run as root (FUSE mounts)" >&2; exit 1; }
scripts/build.sh >/dev/null
stamp=$(date +%Y%m%d-%H%M%S)
json="bench/results/disk-isolation-$stamp.json"
build/bin/uldd-bench-disk-isolation --json "$json" "$@" | tee "bench/results/disk-isolation-$stamp.txt" | grep -v '^SUMMARY'
python3 bench/disk-isolation/plot.py "$json" "bench/results/disk-isolation-$stamp.png"
grep '^SUMMARY' "bench/results/disk-isolation-$stamp.txt"
