#!/usr/bin/env bash
# README command 2: installs what is missing, builds incrementally, runs every test suite through ctest.
# Kernel tests report themselves as Skipped when no CUDA device is present; ctest lists them. ctest also builds
# <build>/sanitize with clang (AddressSanitizer + UndefinedBehaviorSanitizer) and runs the non-GL suites and each
# fuzzer from there (sanitize_build, asan_*, fuzz_*; -DATTNSCOPE_SANITIZER_TESTS=OFF leaves them out).
#   scripts/test.sh [--headless]      --headless: no GUI libraries (GPU servers)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mode=()
if [[ "${1:-}" == "--headless" ]]; then mode=(--headless); shift; fi
"$root/scripts/install-deps.sh" "${mode[@]}"
"$root/scripts/build.sh" "${mode[@]}"
cd "${ATTNSCOPE_BUILD_DIR:-$root/build}"
# Suites in parallel, one per core: most are single-threaded (the EGL app suite, the sanitized suites, the fuzzers'
# bounded runs), and the fixture keeps the sanitized suites after their build.
ctest --output-on-failure --parallel "$(nproc 2>/dev/null || echo 2)" "$@"
