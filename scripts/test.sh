#!/usr/bin/env bash
# The test command: builds, then runs every test suite (ctest labels unit and
# e2e-disk) twice — on the RelWithDebInfo build, then on an ASan+UBSan build
# (build-asan/) where any memory error, undefined behaviour or leak in the
# supervisor, driver or device model fails the test that ran it; then the
# libFuzzer targets of shim/fuzz search for 30 s each (scripts/fuzz.sh). Needs root
# for the e2e suites (FUSE, loop devices, mount).
#   scripts/test.sh                    both passes, all suites
#   scripts/test.sh --no-sanitize      the first pass only
#   scripts/test.sh -L unit            arguments other than the above go to ctest
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=1
args=()
for a in "$@"; do
  if [ "$a" = --no-sanitize ]; then sanitize=0; else args+=("$a"); fi
done
scripts/build.sh
echo "=== tests: build/ (RelWithDebInfo) ==="
ctest --test-dir build --output-on-failure --timeout 900 "${args[@]}"
if [ $sanitize = 1 ]; then
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DULDD_SANITIZE=ON -DULDD_WERROR=ON >/dev/null
  cmake --build build-asan -j "$(nproc)"
  echo "=== tests: build-asan/ (AddressSanitizer + UndefinedBehaviorSanitizer) ==="
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure --timeout 900 "${args[@]}"
  # Third: the libFuzzer targets (clang, ASan, UBSan) search for 30 s each.
  if [ ${#args[@]} -eq 0 ]; then scripts/fuzz.sh 30; fi
fi
