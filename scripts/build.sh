#!/usr/bin/env bash
# Configures and builds uldd into build/ (RelWithDebInfo, warnings as errors).
# Extra arguments go to cmake's configure step, e.g. -DULDD_SANITIZE=ON.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DULDD_WERROR=ON "$@" >/dev/null
cmake --build build -j "$(nproc)"
