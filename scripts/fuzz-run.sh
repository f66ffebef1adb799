#!/usr/bin/env bash
# fuzz-run.sh FUZZER SEED_DIR WORK_DIR SECONDS — runs one libFuzzer target for SECONDS from the seeds in SEED_DIR
# (read only) plus what earlier runs kept in WORK_DIR/corpus/<target>; exit 0 when it ran the whole time without a
# crash, 1 otherwise, with the crashing input saved as WORK_DIR/crashes/<target>-crash-* (make it a regression test).
set -uo pipefail
fuzzer=$1 seeds=$2 work=$3 seconds=$4
target=$(basename "$fuzzer")
mkdir -p "$work/corpus/$target" "$work/crashes"
log=$work/$target.log
# -timeout: an input taking 10 s counts as a hang (a failure); -rss_limit_mb: as does one using 2 GiB.
"$fuzzer" "$work/corpus/$target" "$seeds" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -max_len=65536 -print_final_stats=1 -artifact_prefix="$work/crashes/$target-" >"$log" 2>&1
status=$?
grep -E 'stat::number_of_executed_units|stat::average_exec_per_sec' "$log"
if [[ $status -ne 0 ]]; then
  echo "$target: exit $status; its report (full log: $log):"
  grep -A40 -E '^==[0-9]+==|ERROR: libFuzzer|runtime error' "$log" | head -80
  exit 1
fi
echo "$target: no crash in $seconds s"
