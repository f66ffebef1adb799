#!/usr/bin/env bash
# README command 2: installs what is missing, builds incrementally, runs every test suite through ctest.
# Kernel tests report themselves as Skipped when no CUDA device is present; ctest lists them.
#   scripts/test.sh [--headless]      --headless: no GUI libraries (GPU servers)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mode=()
if [[ "${1:-}" == "--headless" ]]; then mode=(--headless); shift; fi
"$root/scripts/install-deps.sh" "${mode[@]}"
"$root/scripts/build.sh" "${mode[@]}"
cd "${ATTNSCOPE_BUILD_DIR:-$root/build}"
ctest --output-on-failure "$@"
