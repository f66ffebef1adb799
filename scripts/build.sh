#!/usr/bin/env bash
# Configures (once) and builds attnscope incrementally into build/ (or $ATTNSCOPE_BUILD_DIR).
#   scripts/build.sh [--headless] [extra cmake -D options...]
# --headless: core, kernels, tests and command-line tools only (no GLFW/ImGui), for GPU servers.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${ATTNSCOPE_BUILD_DIR:-$root/build}
gui=ON
if [[ "${1:-}" == "--headless" ]]; then gui=OFF; shift; fi
generator=()
if command -v ninja >/dev/null 2>&1 && [[ ! -f "$build_dir/CMakeCache.txt" ]]; then generator=(-G Ninja); fi
if [[ ! -f "$build_dir/CMakeCache.txt" ]] || [[ $# -gt 0 ]] || \
   ! grep -q "^ATTNSCOPE_GUI:BOOL=$gui" "$build_dir/CMakeCache.txt"; then
  cmake -S "$root" -B "$build_dir" "${generator[@]}" -DATTNSCOPE_GUI=$gui "$@"
fi
jobs=$(nproc 2>/dev/null || echo 2)
cmake --build "$build_dir" --parallel "$jobs"
