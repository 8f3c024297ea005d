#!/usr/bin/env bash
# Builds the libFuzzer targets of shim/fuzz with clang, ASan and UBSan in
# build-fuzz/ and lets each search for SECONDS (default 30) through ctest
# (label fuzz). A crash leaves its input in build-fuzz/shim/fuzz/crash-<target>-*;
# replay it with build/bin/<target>_fuzz_replay FILE (or the fuzzer itself).
#   scripts/fuzz.sh          30 s per target (scripts/test.sh runs this)
#   scripts/fuzz.sh 3600     an hour per target
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DULDD_SANITIZE=ON -DULDD_FUZZ=ON -DULDD_FUZZ_SECONDS="$seconds" >/dev/null
cmake --build build-fuzz -j "$(nproc)" --target disk_completion_fuzzer driver_state_fuzzer
echo "=== fuzz: build-fuzz/ (libFuzzer + ASan + UBSan, ${seconds} s per target) ==="
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ctest --test-dir build-fuzz -L fuzz --output-on-failure --timeout $((seconds * 3 + 300))
