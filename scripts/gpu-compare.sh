#!/usr/bin/env bash
# gpu-compare.sh BASELINE_SRC OUTDIR — the decode and flash-tc figures of two source trees, measured in one run on
# one GPU, the trees taking turns, so a refactoring can be shown to keep the speed ("same figures within noise").
#
#   BASELINE_SRC  a source tree to compare against (e.g. `git archive <rev> | tar -x -C .baseline`)
#   OUTDIR        logs and compare.md (the table)
#
# Both trees are built headless for sm_90 side by side (half the cores each) unless their binaries exist already,
# then for each of ROUNDS rounds and each tree: `attnscope decode` (MHA / GQA / MQA, contiguous and paged, ratio to
# the copy bandwidth measured in the same call) and `attnscope bench --algo flash-tc` on four shapes.
# Only default options are used, so the two binaries run the same experiment whatever flags each knows.
# Environment: ROUNDS (default 3), REPS (decodes per measurement, default 50), BASE_BUILD (default
# /tmp/attnscope-baseline-build), ATTNSCOPE_BUILD_DIR (default build-gpu, as scripts/gpu-check.sh).
set -uo pipefail
if [[ $# -ne 2 ]]; then
  echo "usage: scripts/gpu-compare.sh BASELINE_SRC OUTDIR" >&2
  exit 2
fi
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
base_src=$(cd "$1" 2>/dev/null && pwd) || { echo "gpu-compare: no baseline tree at $1" >&2; exit 2; }
mkdir -p "$2" || { echo "gpu-compare: cannot create $2" >&2; exit 2; }
out=$(cd "$2" && pwd)
rounds=${ROUNDS:-3}
reps=${REPS:-50}
base_build=${BASE_BUILD:-/tmp/attnscope-baseline-build}
new_build=${ATTNSCOPE_BUILD_DIR:-$root/build-gpu}
half=$(( ($(nproc) + 1) / 2 ))

build() {  # build SRC DIR LOG
  if [[ -x $2/app/attnscope ]] && cmake --build "$2" --parallel "$half" >"$3" 2>&1; then return 0; fi
  cmake -S "$1" -B "$2" -G Ninja -DCMAKE_BUILD_TYPE=Release -DATTNSCOPE_GUI=OFF -DATTNSCOPE_TESTS=OFF \
    -DCMAKE_CUDA_ARCHITECTURES=90 >"$3" 2>&1 && cmake --build "$2" --parallel "$half" --target attnscope >>"$3" 2>&1
}
build "$base_src" "$base_build" "$out/build-baseline.log" & pb=$!
build "$root" "$new_build" "$out/build-current.log" & pn=$!
wait $pb || { echo "gpu-compare: the baseline did not build; see $out/build-baseline.log" >&2; exit 1; }
wait $pn || { echo "gpu-compare: this tree did not build; see $out/build-current.log" >&2; exit 1; }

for round in $(seq 1 "$rounds"); do
  for tree in baseline current; do
    if [[ $tree == baseline ]]; then bin=$base_build/app/attnscope; else bin=$new_build/app/attnscope; fi
    "$bin" decode --backend cuda --reps "$reps" --json "$out/decode-$tree-$round.json" >"$out/decode-$tree-$round.log" 2>&1
    "$bin" bench --backend cuda --algo flash-tc --dtype fp16 --n 4096,16384 --d 128 --heads 16 --reps 10 \
      --json "$out/tc128-$tree-$round.json" >"$out/tc128-$tree-$round.log" 2>&1
    "$bin" bench --backend cuda --algo flash-tc --dtype bf16 --n 4096,16384 --d 64 --heads 32 --causal --reps 10 \
      --json "$out/tc64c-$tree-$round.json" >"$out/tc64c-$tree-$round.log" 2>&1
  done
done

python3 - "$out" "$rounds" <<'PY' | tee "$out/compare.md"
import json, os, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def load(name):
    try:
        return json.load(open(os.path.join(out, name)))
    except (OSError, ValueError):
        return None
print("| row | baseline (min–max over rounds) | current (min–max) | current / baseline (medians) |")
print("|---|---|---|---|")
def med(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if xs else float("nan")
keys = {}
for tree in ("baseline", "current"):
    for r in range(1, rounds + 1):
        d = load(f"decode-{tree}-{r}.json")
        for row in (d or {}).get("rows", []):
            if row.get("ok"):
                k = f"decode {row['layout']} {row['cache']} (µs)"
                keys.setdefault(k, {"baseline": [], "current": []})[tree].append(row["decode_ms"] * 1e3)
        for prefix, label in (("tc128", "flash-tc fp16 d128 H16"), ("tc64c", "flash-tc bf16 d64 H32 causal")):
            b = load(f"{prefix}-{tree}-{r}.json")
            for row in (b or {}).get("rows", []):
                if "median_ms" in row:
                    k = f"{label} N={row.get('n')} (ms)"
                    keys.setdefault(k, {"baseline": [], "current": []})[tree].append(row["median_ms"])
for k, v in keys.items():
    unit = "µs" if "µs" in k else "ms"
    ratio = med(v["current"]) / med(v["baseline"]) if v["baseline"] and v["current"] else float("nan")
    prec = 1 if unit == "µs" else 3
    fmt = lambda xs: f"{min(xs):.{prec}f}–{max(xs):.{prec}f} {unit}" if xs else "missing"
    print(f"| {k} | {fmt(v['baseline'])} | {fmt(v['current'])} | {ratio:.3f} |")
PY
