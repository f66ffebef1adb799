#!/usr/bin/env bash
# gpu-decode.sh OUTDIR — the decode kernels (issue 6) on a GPU machine in one go: decode tests (every variant),
# compute-sanitizer, `attnscope decode --variant V` per variant (ratios against the copy bandwidth measured in the
# same call), timing modes, context sweep and Nsight Compute on the MQA kernels; full logs in
# OUTDIR/decode-logs.tgz, short table last. Variants, timing and timelines are `attnscope decode` flags.
#
# Environment:
#   ATTNSCOPE_PREBUILT  folder holding attnscope and attnscope_kernel_tests built for sm_90 (built elsewhere and
#                       carried, to save the device's build minutes); unset: configure and build in build-dev
#   VARIANTS            decode variants to time, MHA, GQA and MQA each (default "balanced-tma balanced"; the
#                       retired ones are at the git tag decode-variant-lab)
#   ROUNDS              times each variant's table is measured, the variants taking turns (default 2)
#   NCU                 1 (default): Nsight Compute on the MQA decode and reduction kernels; 0: skip
#   TIMELINE            1 (default): per-CTA timelines of a GQA and an MQA decode per variant, summarised by
#                       scripts/decode_timeline.py into logs/timeline-<variant>.log; 0: skip
#   REPS                decodes per measurement (default 50)
set -uo pipefail
if [[ $# -ne 1 ]]; then
  echo "usage: scripts/gpu-decode.sh OUTDIR" >&2
  exit 2
fi
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mkdir -p "$1/logs" || exit 2
out=$(cd "$1" && pwd)
logs=$out/logs
variants=(${VARIANTS:-balanced-tma balanced})
rounds=${ROUNDS:-2}
reps=${REPS:-50}
t0=$SECONDS
note() { echo "[$((SECONDS - t0))s] $*" | tee -a "$logs/steps.log"; }
# run NAME LIMIT CMD...: output to logs/NAME.log, exit status appended as the last line.
run() {
  local name=$1 limit=$2
  shift 2
  timeout --kill-after=5 "$limit" "$@" >"$logs/$name.log" 2>&1
  local rc=$?
  echo "exit $rc" >>"$logs/$name.log"
  note "$name: exit $rc"
  return $rc
}

nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,temperature.gpu,power.draw \
  --format=csv >"$logs/environment.log" 2>&1
git -C "$root" log -1 --format='commit %H %s' >>"$logs/environment.log" 2>/dev/null

if [[ -n ${ATTNSCOPE_PREBUILT:-} ]]; then
  bin=$ATTNSCOPE_PREBUILT/attnscope
  kt=$ATTNSCOPE_PREBUILT/attnscope_kernel_tests
else
  build=$root/build-dev
  run configure 120 cmake -S "$root" -B "$build" -G Ninja -DATTNSCOPE_GUI=OFF -DCMAKE_CUDA_ARCHITECTURES=90 \
    -DCMAKE_BUILD_TYPE=Release
  run build 400 cmake --build "$build" -j"$(nproc)" --target attnscope attnscope_kernel_tests
  bin=$build/app/attnscope
  kt=$build/tests/attnscope_kernel_tests
fi
if [[ ! -x $bin || ! -x $kt ]]; then
  echo "gpu-decode: no $bin or $kt" >&2
  tar czf "$out/decode-logs.tgz" -C "$out" logs
  exit 1
fi
export ATTNSCOPE_REQUIRE_GPU=1
# registers, stack and spills of the decode kernels (ptxas's report, read back from the binary)
if command -v cuobjdump >/dev/null; then
  cuobjdump --dump-resource-usage "$bin" 2>&1 | grep -A1 "decode" | grep -E "Function|REG" | paste - - |
    sed -E 's/.*Function ([^:]*):.*REG:([0-9]+) STACK:([0-9]+) SHARED:([0-9]+) LOCAL:([0-9]+).*/\1 REG \2 STACK \3 LOCAL \5/' |
    c++filt | sed -E 's/attnscope::kernels::(decode::)?(\(anonymous namespace\)::)?//g' >"$logs/resources.log" 2>&1
fi

# 1. tests: every decode test case (the default variant; the variants test forces each variant itself)
run tests-decode 150 "$kt" -tc="*decode*"

# 2. benchmark per variant (device timing: the decode's own GPU time, see kernels/bench/decode_bench.cuh)
for round in $(seq 1 "$rounds"); do
  for v in "${variants[@]}"; do
    run "bench-$v-r$round" 90 "$bin" decode --variant "$v" --reps "$reps" --kv-heads 32,8,1 \
      --json "$logs/bench-$v-r$round.json"
  done
done
# 3. the first version's timing (events around each decode on an idle GPU: adds the host's launch latency)
for v in "${variants[@]:0:2}"; do
  run "launch-timing-$v" 60 "$bin" decode --timing launch --variant "$v" --reps "$reps" \
    --kv-heads 1 --json "$logs/launch-timing-$v.json"
done
# 4. MQA against the context: time(L) = fixed + bytes / streaming rate separates the two
for ctx in 8192 16384 65536 131072; do
  run "context-$ctx" 60 "$bin" decode --variant "${variants[1]:-${variants[0]}}" --reps "$reps" \
    --kv-heads 1 --layout contiguous --context $ctx --json "$logs/context-$ctx.json"
done

# 4b. per-CTA timelines (--timeline FILE): where a GQA and an MQA decode spend their time, per variant
if [[ ${TIMELINE:-1} == 1 ]]; then
  for v in "${variants[@]}"; do
    run "timeline-run-$v" 60 "$bin" decode --timeline "$logs/timeline-$v.csv" --variant "$v" \
      --reps 10 --kv-heads 8,1
    python3 "$root/scripts/decode_timeline.py" "$logs/timeline-$v.csv" >"$logs/timeline-$v.log" 2>&1
  done
fi

# 5. Nsight Compute (clocks left alone, caches flushed before each kernel): the MQA decode kernel and its reduction
if [[ ${NCU:-1} == 1 ]] && command -v ncu >/dev/null; then
  for v in "${variants[@]}"; do
    run "ncu-mqa-$v" 90 ncu --clock-control none --cache-control all -k regex:decode \
      --launch-skip 2 --launch-count 2 --section SpeedOfLight --section MemoryWorkloadAnalysis --section Occupancy \
      --section LaunchStats --section WarpStateStats --section SchedulerStats \
      "$bin" decode --variant "$v" --kv-heads 1 --layout contiguous --reps 3
  done
  run ncu-gqa 90 ncu --clock-control none --cache-control all \
    -k regex:decode_kernel --launch-skip 1 --launch-count 1 --section SpeedOfLight --section WarpStateStats \
    "$bin" decode --variant "${variants[0]}" --kv-heads 8 --layout contiguous --reps 2
fi

# 6. compute-sanitizer on the small shapes (the variants test runs every variant, the instrumented one its probes)
cs=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
ATTNSCOPE_KERNEL_TEST_MAX_N=200 run memcheck 90 "$cs" --tool memcheck \
  --print-limit 12 --error-exitcode 9 "$kt" -tc="*small shapes*,*variants*,*instrumented*"
ATTNSCOPE_KERNEL_TEST_MAX_N=200 run racecheck 90 "$cs" --tool racecheck \
  --racecheck-report all --error-exitcode 9 "$kt" -tc="*small shapes*,*variants*"
ATTNSCOPE_KERNEL_TEST_MAX_N=200 run synccheck 60 "$cs" --tool synccheck \
  --error-exitcode 9 "$kt" -tc="*small shapes*"

tar czf "$out/decode-logs.tgz" -C "$out" logs

# ---------------------------------------------------------------- the short table, last
python3 - "$logs" <<'PY'
import glob, json, os, re, sys
logs = sys.argv[1]
def read(name):
    try:
        return open(os.path.join(logs, name)).read()
    except OSError:
        return ""
print("\n================ gpu-decode summary ================")
print(read("environment.log").strip())
for f in sorted(glob.glob(os.path.join(logs, "*.log"))):
    name = os.path.basename(f)[:-4]
    text = read(os.path.basename(f))
    if name.startswith(("tests", "memcheck", "racecheck", "synccheck")):
        keep = re.findall(r"\[doctest\] (?:test cases|assertions):.*|(?:ERROR|RACECHECK) SUMMARY: .*|exit \d+", text)
        print(f"{name}: " + " | ".join(k.strip() for k in keep))
        if name.startswith("memcheck") and "ERROR SUMMARY: 0 " not in text:
            errors = [l for l in text.splitlines() if l.startswith("=========")][:14]
            print("   " + "\n   ".join(errors))
# One line per (run, layout, cache): each round's time and ratio (ratio against the copy read in the same call).
print(f"\n{'run':<26} {'layout':<4} {'cache':<10} {'splits':>6} {'time us per round':>24} {'copy GB/s':>15} {'ratio per round':>22}")
groups = {}
for f in sorted(glob.glob(os.path.join(logs, "*.json"))):
    try:
        d = json.load(open(f))
    except (OSError, ValueError):
        continue
    tag = re.sub(r"-r\d+$", "", os.path.basename(f)[:-5])
    for r in d.get("rows", []):
        groups.setdefault((tag, r.get("layout", "?"), r.get("cache", "?")), []).append(r)
for (tag, layout, cache), rows in groups.items():
    bad = [r for r in rows if not r.get("ok")]
    if bad:
        print(f"{tag:<26} {layout:<4} {cache:<10} FAILED {bad[0].get('error', '')}")
        continue
    times = " ".join(f"{1000 * r['decode_ms']:.1f}" for r in rows)
    copies = " ".join(f"{r['copy_gbs']:.0f}" for r in rows)
    ratios = " ".join(f"{100 * r['ratio']:.1f}%" for r in rows)
    of_read = " ".join(f"{100 * r['achieved_gbs'] / r['read_gbs']:.1f}%" if r.get("read_gbs") else "n/a" for r in rows)
    print(f"{tag:<26} {layout:<4} {cache:<10} {rows[0]['splits']:>6} {times:>24} {copies:>15} {ratios:>22}  of read {of_read}")
for f in sorted(glob.glob(os.path.join(logs, "timeline-*.log"))):
    print(f"\n{os.path.basename(f)[:-4]}:" + open(f).read())
for f in sorted(glob.glob(os.path.join(logs, "ncu-*.log"))):
    text = open(f).read()
    print(f"\n{os.path.basename(f)[:-4]}:")
    for kernel in re.split(r"\n(?=  \S.*\(\d+, \d+, \d+\)x\(\d+, \d+, \d+\))", text)[1:]:
        head = re.sub(r"\(attnscope::.*?\)|attnscope::kernels::|\(anonymous namespace\)::|void ", "", kernel.splitlines()[0].strip())
        vals = []
        for key in ("Duration", "DRAM Throughput", "Memory Throughput", "Achieved Occupancy", "Registers Per Thread",
                    "Dynamic Shared Memory Per Block", "Waves Per SM", "No Eligible", "Max Bandwidth", "Mem Busy"):
            m = re.search(r"^[ \t]+" + re.escape(key) + r"[ \t]+(.*)$", kernel, re.M)
            if m:
                vals.append(key + " " + " ".join(m.group(1).split()))
        print("  " + head[:110])
        print("    " + "; ".join(vals))
PY
