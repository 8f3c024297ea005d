#!/usr/bin/env bash
# The test command: builds, then runs every test suite (ctest labels unit and
# e2e-disk). Needs root for the e2e suites (FUSE, loop devices, mount).
#   scripts/test.sh            all suites
#   scripts/test.sh -L unit    one label (arguments go to ctest)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
ctest --test-dir build --output-on-failure --timeout 900 "$@"
