#!/usr/bin/env bash
# README command 1: installs what is missing, builds incrementally, and opens the attnscope window.
# Extra arguments go to attnscope, e.g. scripts/run-app.sh --n 2048 --mask window:128+causal
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
exec "${ATTNSCOPE_BUILD_DIR:-$root/build}/app/attnscope" "$@"
