#!/usr/bin/env bash
# Runs every test case of a doctest binary in its own process, each under its own time limit, and prints one line per
# case: index, exit status, seconds, name. Used on the GPU machine when the whole suite hangs or times out under ctest
# (a killed process loses doctest's buffered report, so the hanging case would stay unnamed).
#   scripts/gpu-tests-each.sh BINARY [SECONDS_PER_CASE=120] [doctest filters...]
set -u
bin=${1:?usage: gpu-tests-each.sh BINARY [SECONDS_PER_CASE] [doctest filters...]}
per_case=${2:-120}
shift $(( $# >= 2 ? 2 : 1 ))
mapfile -t names < <("$bin" -ltc --no-version "$@" | sed -n '/^=\+$/,/^=\+$/p' | grep -v '^=\+$')
echo "${#names[@]} test cases, at most ${per_case} s each"
failed=0
for i in "${!names[@]}"; do
  n=$((i + 1))
  start=$(date +%s%N)
  timeout "$per_case" "$bin" --first="$n" --last="$n" --no-version "$@" > "/tmp/test-case-$n.log" 2>&1
  rc=$?
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  status=pass
  [ "$rc" -eq 124 ] && status=TIMEOUT
  [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && status="FAIL($rc)"
  [ "$rc" -ne 0 ] && failed=$((failed + 1))
  printf '%3d %-10s %5d.%d s  %s\n' "$n" "$status" $((ms / 1000)) $((ms % 1000 / 100)) "${names[$i]}"
  if [ "$rc" -ne 0 ]; then grep -E "ERROR|error|values:|logged:" "/tmp/test-case-$n.log" | head -12 | sed 's/^/      /'; fi
done
echo "$failed of ${#names[@]} test cases failed or timed out"
[ "$failed" -eq 0 ]
