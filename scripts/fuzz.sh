#!/usr/bin/env bash
# fuzz.sh [SECONDS] — builds the libFuzzer targets of tests/fuzz with clang (address + undefined-behaviour
# sanitizers on core too) into build-fuzz/ (or $ATTNSCOPE_FUZZ_BUILD_DIR) and runs each for SECONDS (default 60)
# from its seed corpus in tests/fuzz/corpus/. Prints executions per target; exit 1 when a target crashed, with the
# crashing input saved under build-fuzz/crashes/ (turn it into a regression test).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${1:-60}
[[ $seconds =~ ^[0-9]+$ && $seconds -ge 1 ]] || { echo "usage: scripts/fuzz.sh [SECONDS >= 1]" >&2; exit 2; }
"$root/scripts/install-deps.sh" --fuzz
build=${ATTNSCOPE_FUZZ_BUILD_DIR:-$root/build-fuzz}
if [[ ! -f $build/CMakeCache.txt ]]; then
  generator=()
  command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DATTNSCOPE_GUI=OFF -DATTNSCOPE_CUDA=OFF -DATTNSCOPE_TESTS=OFF -DATTNSCOPE_FUZZ=ON >/dev/null
fi
cmake --build "$build" --parallel "$(nproc 2>/dev/null || echo 2)" --target fuzz_npy fuzz_mask fuzz_json_files
mkdir -p "$build/crashes"
status=0
printf '%-18s %12s %10s %s\n' target executions "exec/s" result
for pair in fuzz_npy:npy fuzz_mask:mask fuzz_json_files:json; do
  target=${pair%%:*}
  corpus=$build/corpus/${pair#*:}
  mkdir -p "$corpus"
  log=$build/$target.log
  # The working corpus grows in the build folder; the seeds in the repo stay as they are.
  if "$build/tests/fuzz/$target" "$corpus" "$root/tests/fuzz/corpus/${pair#*:}" -max_total_time="$seconds" \
       -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
       -artifact_prefix="$build/crashes/$target-" >"$log" 2>&1; then
    result=ok
  else
    result="CRASH (see $log and $build/crashes/)"
    status=1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  printf '%-18s %12s %10s %s\n' "$target" "$runs" "$rate" "$result"
done
exit $status
