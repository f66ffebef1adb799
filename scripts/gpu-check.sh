#!/usr/bin/env bash
# gpu-check.sh LOGDIR — the CUDA check for a GPU machine, in one go, full logs into LOGDIR:
#   1. configure headless for the GPU (-DATTNSCOPE_GUI=OFF -DCMAKE_CUDA_ARCHITECTURES=90, or $CUDA_ARCH) and build
#   2. the whole test suite with ATTNSCOPE_REQUIRE_GPU=1 (a skipped kernel suite is a failure)
#   3. compute-sanitizer: memcheck on the kernel suite at small sizes, racecheck and synccheck on the flash kernel
#   4. `attnscope devices --measure`: copy bandwidth, the naive softmax's bandwidth ratio, naive vs its prediction
#      from GEMMs + copy bandwidth, flash fp32 vs naive across N = 512 … 16384, trace overhead
#   5. `attnscope bench --backend cuda` on the standard grid (dense and causal)
#   5b. `attnscope bench --algo selective-scan` / `linear-attention` (issue 20): the scan's share of the copy
#      bandwidth and linear attention against flash-tc with the crossover N, each with its target's verdict
#   6. `attnscope run` on .npy files against a NumPy float64 reference (when python3 has NumPy)
#   7. compute-sanitizer memcheck / racecheck / synccheck / initcheck at small sizes
#   8. flash-tc beside PyTorch's SDPA (scripts/bench_sdpa.py --quick; when python3 has torch)
# and prints a short table last. Exit status: 0 when every check passed.
# --only STEP,STEP… runs the build and then just the named steps (names as in steps.log: tests, measure, bench,
# bench-causal, decode-bench, sm-timeline, beyond-bench, npy-check, memcheck, racecheck, synccheck, initcheck,
# flash-tc-sdpa), so a check that does not fit one device call can be finished in a second call on the same build.
# Environment: ATTNSCOPE_BUILD_DIR (default build-gpu), JOBS (default nproc), CUDA_ARCH (default 90).
set -uo pipefail
summary_only=0
only=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --summary) summary_only=1; shift ;;
    --only) only=${2:-}; shift 2 || { echo "gpu-check: --only needs a comma-separated list of steps" >&2; exit 2; } ;;
    --only=*) only=${1#--only=}; shift ;;
    -*) echo "gpu-check: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
if [[ $# -ne 1 ]]; then
  echo "usage: scripts/gpu-check.sh [--summary] [--only STEP,STEP...] LOGDIR" >&2
  exit 2
fi
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mkdir -p "$1" || { echo "gpu-check: cannot create log folder $1" >&2; exit 2; }
logdir=$(cd "$1" && pwd)
build=${ATTNSCOPE_BUILD_DIR:-$root/build-gpu}
jobs=${JOBS:-$(nproc)}
arch=${CUDA_ARCH:-90}
bin=$build/app/attnscope
kernel_tests=$build/tests/attnscope_kernel_tests
grid=512,1024,2048,4096,8192,16384
results=()
failed=0

# summary: the short table from the logs in $logdir (also `scripts/gpu-check.sh --summary LOGDIR`).
summary() {
  python3 - "$logdir" <<'PY' || true
import json, math, os, re, sys
logdir = sys.argv[1]
def read(name):
    try:
        return open(os.path.join(logdir, name)).read()
    except OSError:
        return ""
print("\n================ attnscope gpu-check summary ================")
env = read("environment.log").splitlines()
print("date", env[0] if env else "?")
tests = read("tests.log")
for m in re.finditer(r"\[doctest\] test cases:.*", tests):
    print(m.group(0))
for m in re.finditer(r"\d+% tests passed.*", tests):
    print("ctest:", m.group(0))
for name in ("memcheck", "racecheck", "synccheck", "initcheck"):
    log = read(name + ".log")
    m = re.search(r"ERROR SUMMARY: (\d+) error", log) or re.search(r"RACECHECK SUMMARY: (\d+) hazard", log)
    print(f"{name}: {m.group(0) if m else 'no sanitizer summary found'}")
try:
    meas = json.load(open(os.path.join(logdir, "measure.json")))
except (OSError, ValueError):
    meas = None
if meas:
    print(f"\n{meas['device']}: copy bandwidth {meas['copy_gbs']:.0f} GB/s (1 GiB device-to-device, read + write)")
    c = meas["config"]
    print(f"B={c['batch']} H={c['heads']} d={c['head_dim']} mask {c['mask']}; naive pieces in {c['naive_dtype']}")
    print(f"{'N':>6} {'softmax GB/s':>12} {'/copy':>6} {'naive ms':>9} {'pred ms':>8} {'/pred':>6} "
          f"{'naive32':>8} {'flash32':>8} {'fl/nv':>6} {'TFLOP/s':>7} {'trace+':>7}")
    for r in meas.get("rows", []):
        if r["skipped"]:
            print(f"{r['n']:>6} skipped: {r['note']}")
            continue
        ratio = r["flash_fp32_ms"] / r["naive_fp32_ms"] if r["naive_fp32_ms"] else float("nan")
        print(f"{r['n']:>6} {r['softmax_gbs']:>12.0f} {100*r['softmax_ratio']:>5.0f}% {r['naive_ms']:>9.3f} "
              f"{r['predicted_ms']:>8.3f} {r['naive_over_predicted']:>6.2f} {r['naive_fp32_ms']:>8.3f} "
              f"{r['flash_fp32_ms']:>8.3f} {ratio:>6.2f} {r['flash_tflops']:>7.2f} {100*r['trace_overhead']:>6.1f}%")
    print("softmax variants (forced): N, registers % of copy, streaming % of copy")
    for r in meas.get("rows", []):
        if r["skipped"] or not r.get("softmax_registers_ms"):
            continue
        b = r["softmax_gbs"] * r["softmax_ms"] * 1e-3 * 1e9
        pct = lambda ms: 100 * b / (ms * 1e-3) / 1e9 / meas["copy_gbs"]
        print(f"{r['n']:>6} registers {pct(r['softmax_registers_ms']):5.0f}%   streaming {pct(r['softmax_streaming_ms']):5.0f}%")
    rows = [r for r in meas.get("rows", []) if not r["skipped"]]
    if rows:
        print(f"targets: softmax >= 70% of copy: min {100*min(r['softmax_ratio'] for r in rows):.0f}%; "
              f"naive <= 1.30 x predicted: max {max(r['naive_over_predicted'] for r in rows):.2f}")
def load(name):
    try:
        return json.load(open(os.path.join(logdir, name)))
    except (OSError, ValueError):
        return None
scan, linear = load("beyond-scan.json"), load("beyond-linear.json")
if scan or linear:
    print("\nbeyond attention (issue 20):")
if scan:
    copy = scan.get("copy", {})
    print(f"selective scan, copy {copy.get('bytes_per_s', 0) / 1e9:.0f} GB/s measured in the same run")
    print(f"{'N':>6} {'ms':>9} {'GB/s':>7} {'/copy':>6}")
    for r in scan.get("rows", []):
        if not r["ok"]:
            print(f"{r['n']:>6} {r['error']}")
            continue
        frac = r.get("copy_fraction")
        print(f"{r['n']:>6} {r['median_ms']:>9.3f} {r['gb_per_s']:>7.0f} " + (f"{math.floor(1000 * frac) / 10:>5.1f}%" if frac else "     -"))  # toward zero: a miss never shows as 70.0
    t = scan.get("targets", {}).get("selective_scan", {})
    print(f"target scan >= 70% of copy at N={t.get('n', '?')}: {t.get('verdict', '?')}")
if linear:
    print(f"linear attention vs {linear['config']['baseline']} (B {linear['config']['batch']}, "
          f"H {linear['config']['heads']}, d {linear['config']['d']}, {linear['config']['dtype']}, causal)")
    print(f"{'N':>6} {'linear ms':>10} {'flash ms':>9} {'speed-up':>9}")
    for r in linear.get("rows", []):
        if not r["ok"]:
            print(f"{r['n']:>6} {r['error']}")
            continue
        b = r.get("baseline", {})
        bms = f"{b['median_ms']:>9.3f}" if b.get("ok") else f"{'failed':>9}"
        sp = f"{r['speedup']:>8.2f}x" if "speedup" in r else f"{'-':>9}"
        print(f"{r['n']:>6} {r['median_ms']:>10.3f} {bms} {sp}")
    t = linear.get("targets", {}).get("linear_attention", {})
    print(f"target linear faster at N=16384: {t.get('verdict', '?')}; crossover {t.get('crossover', {}).get('words', '?')}")
npy = read("npy-check.log").strip().splitlines()
if npy:
    print("npy:", npy[-1])
sdpa = read(os.path.join("sdpa", "results.md")).splitlines()
rows = [l for l in sdpa if l.startswith("| ") and ("PASS" in l or "MISS" in l or "FAIL" in l)]
if rows:
    print("\nflash-tc beside PyTorch SDPA (--quick; full grid: docs/design/sdpa-bench.md):")
    for l in rows:
        print(l)
PY
}

if [[ $summary_only == 1 ]]; then
  summary
  exit 0
fi

# step NAME TIMEOUT_S COMMAND...: runs with a time limit, output to LOGDIR/NAME.log, records the outcome.
step() {
  local name=$1 limit=$2
  shift 2
  if [[ -n $only && $name != configure && $name != build && $name != build-required && ,$only, != *,$name,* ]]; then
    results+=("$(printf '%-16s %-22s' "$name" "not run (--only)")")
    return 0
  fi
  local start=$SECONDS
  echo "== $name: $*" | tee -a "$logdir/steps.log"
  timeout --kill-after=10 "$limit" "$@" >"$logdir/$name.log" 2>&1
  local rc=$?
  local took=$((SECONDS - start))
  local outcome=pass
  if [[ $rc -eq 124 || $rc -eq 137 ]]; then outcome="TIMEOUT after ${limit}s"; fi
  if [[ $rc -ne 0 && $outcome == pass ]]; then outcome="FAIL (exit $rc)"; fi
  [[ $outcome == pass ]] || failed=1
  results+=("$(printf '%-16s %-22s %5ss' "$name" "$outcome" "$took")")
  echo "   -> $outcome (${took}s), log $logdir/$name.log" | tee -a "$logdir/steps.log"
  return $rc
}

{
  date -u +"%Y-%m-%dT%H:%M:%SZ"
  nvidia-smi || true
  nvcc --version || true
  cmake --version | head -1
  g++ --version | head -1
  git -C "$root" log -1 --format='commit %H %s' 2>/dev/null || true
} >"$logdir/environment.log" 2>&1

step configure 120 cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DATTNSCOPE_GUI=OFF \
  -DCMAKE_CUDA_ARCHITECTURES="$arch" -DATTNSCOPE_SANITIZER_TESTS=OFF  # the clang sanitizer build runs in CI
if ! step build 420 cmake --build "$build" --parallel "$jobs"; then
  # Another layer's target may not build headless; the CUDA check needs these three.
  step build-required 300 cmake --build "$build" --parallel "$jobs" --target attnscope attnscope_core_tests \
    attnscope_kernel_tests || true
fi
if [[ ! -x $kernel_tests || ! -x $bin ]]; then
  echo "gpu-check: the build did not produce $kernel_tests and $bin; see $logdir/build.log" >&2
  exit 1
fi

# The whole suite through ctest; -V keeps each suite's own summary (test and assertion counts) in the log.
ATTNSCOPE_REQUIRE_GPU=1 step tests 300 ctest --test-dir "$build" -V --timeout 280
if [[ -f $logdir/tests.log ]] && grep -q -- "\*\*\*Skipped\|Not Run" "$logdir/tests.log"; then
  results+=("tests: a suite was skipped or not run (not allowed here)")
  failed=1
fi

step measure 300 "$bin" devices --measure --n "$grid" --heads 16 --d 64 --dtype fp16 --reps 7 \
  --json "$logdir/measure.json"
step bench 300 "$bin" bench --backend cuda --algo naive,flash --n "$grid" --d 64 --heads 16 --reps 5 \
  --json "$logdir/bench.json"
step bench-causal 300 "$bin" bench --backend cuda --algo naive,flash --n "$grid" --d 64 --heads 16 --reps 5 \
  --causal --json "$logdir/bench-causal.json"
# Decode (issue 6): MHA / GQA / MQA bytes read from the KV cache / time against the copy bandwidth, paged overhead.
step decode-bench 200 "$bin" decode --backend cuda --reps 20 --json "$logdir/decode.json"
# Inside one SM (issue 18): one CTA of the warp-specialised kernel, its warpgroups' copies, waits, products and
# softmax on the SM clock; the shares print in the log, the JSON is what the FlashAttention view draws.
step sm-timeline 60 "$bin" bench --backend cuda --algo flash-tc --dtype fp16 --n 4096 --heads 16 --d 128 --causal \
  --flash-tc-path ws --reps 3 --sm-timeline "$logdir/sm-timeline.json"
# Beyond attention (issue 20): the selective scan (fp32, its kernels' storage) against the copy bandwidth measured in
# the same run, and chunked causal linear attention against flash-tc on the same shape. The inputs are generated on
# the host (one thread), which is most of these steps' time: the scan's N list goes in steps of 4.
step beyond-bench 240 bash -c '
  "$1" bench --backend cuda --algo selective-scan --batch 8 --channels 4096 --state 16 --n 1024,4096,16384,65536 \
    --reps 5 --json "$2/beyond-scan.json"; scan=$?
  "$1" bench --backend cuda --algo linear-attention --batch 8 --heads 32 --d 128 --dtype fp16 --causal \
    --n 1024,2048,4096,8192,16384 --reps 5 --json "$2/beyond-linear.json"; linear=$?
  exit $((scan | linear))' beyond-bench "$bin" "$logdir"

if python3 -c "import numpy" 2>/dev/null; then
  step npy-check 120 python3 - "$bin" "$logdir" <<'PY'
# attnscope run vs NumPy float64 on GQA inputs (K in float16), causal and windowed, CPU and CUDA backends.
import os, subprocess, sys, tempfile
import numpy as np
binary, logdir = sys.argv[1], sys.argv[2]
rng = np.random.default_rng()
tmp = tempfile.mkdtemp()
B, Hq, Hk, Nq, Nk, d = 2, 8, 2, 777, 1000, 64
q = rng.standard_normal((B, Hq, Nq, d)).astype(np.float32)
k = rng.standard_normal((B, Hk, Nk, d)).astype(np.float16)
v = rng.standard_normal((B, Hk, Nk, d)).astype(np.float32)
for name, a in (("q", q), ("k", k), ("v", v)):
    np.save(os.path.join(tmp, name + ".npy"), a)
def reference(window):
    kk = np.repeat(k.astype(np.float64), Hq // Hk, axis=1)
    vv = np.repeat(v.astype(np.float64), Hq // Hk, axis=1)
    s = q.astype(np.float64) @ kk.transpose(0, 1, 3, 2) / np.sqrt(d)
    qpos = np.arange(Nq)[:, None] + (Nk - Nq)
    kpos = np.arange(Nk)[None, :]
    allowed = kpos <= qpos
    if window is not None:
        allowed &= kpos >= qpos - window
    s = np.where(allowed, s, -np.inf)
    p = np.exp(s - s.max(-1, keepdims=True))
    return (p / p.sum(-1, keepdims=True)) @ vv
worst = 0.0
for backend, algo, dtype, mask, window, tol in (
    ("cuda", "naive", "fp32", "causal", None, 1e-4), ("cuda", "flash", "fp32", "causal", None, 1e-4),
    ("cuda", "flash", "fp32", "window:50,0+causal", 50, 1e-4), ("cuda", "naive", "fp16", "causal", None, 2e-2),
    ("cpu", "flash", "fp32", "window:50,0+causal", 50, 1e-4)):
    out = os.path.join(tmp, "o.npy")
    cmd = [binary, "run", "--q", os.path.join(tmp, "q.npy"), "--k", os.path.join(tmp, "k.npy"),
           "--v", os.path.join(tmp, "v.npy"), "--out", out, "--algo", algo, "--backend", backend,
           "--dtype", dtype, "--mask", mask]
    res = subprocess.run(cmd, capture_output=True, text=True)
    print(" ".join(cmd)); print(res.stdout + res.stderr)
    if res.returncode != 0:
        sys.exit("attnscope run failed")
    o = np.load(out)
    err = float(np.abs(o - reference(window)).max())
    print(f"{backend} {algo} {dtype} {mask}: shape {o.shape}, max |O - NumPy| = {err:.3g} (tolerance {tol})")
    if not (o.shape == q.shape and err <= tol):
        sys.exit("mismatch")
    worst = max(worst, err)
# A malformed file must be an error naming the file.
bad = os.path.join(tmp, "bad.npy")
np.save(bad, np.zeros((3, 4), dtype=np.int32))
res = subprocess.run([binary, "run", "--q", bad, "--k", bad, "--v", bad, "--out", os.path.join(tmp, "x.npy")],
                     capture_output=True, text=True)
print(res.stderr)
if res.returncode == 0 or "bad.npy" not in res.stderr:
    sys.exit("malformed file was not reported")
print(f"npy check passed; worst max error {worst:.3g}")
PY
fi

# Sanitizers at small sizes (they slow kernels 10-100x). --error-exitcode turns any report into a failure.
export ATTNSCOPE_REQUIRE_GPU=1
ATTNSCOPE_KERNEL_TEST_MAX_N=64 step memcheck 300 compute-sanitizer --tool memcheck --leak-check full \
  --error-exitcode 9 "$kernel_tests" -tce="*out of memory*,*ceilings*"
ATTNSCOPE_KERNEL_TEST_MAX_N=64 step racecheck 240 compute-sanitizer --tool racecheck --racecheck-report all \
  --error-exitcode 9 "$kernel_tests" -tc="flash trace*,a fully masked*,decode kernel: small*,flash-tc: a row*,flash-tc: every*,backward (CUDA): naive and flash*,backward (CUDA): fully masked*,linear attention (CUDA): non-causal*,selective scan (CUDA)*,recurrent decode step*,decode quantised kernel equals*,flash1 (CUDA) trace*"
ATTNSCOPE_KERNEL_TEST_MAX_N=64 step synccheck 180 compute-sanitizer --tool synccheck --error-exitcode 9 \
  "$kernel_tests" -tc="flash trace*,a fully masked*,decode kernel: small*,flash-tc: a row*,flash-tc: every*,backward (CUDA): naive and flash*,backward (CUDA): fully masked*,linear attention (CUDA): non-causal*,selective scan (CUDA)*,recurrent decode step*,decode quantised kernel equals*,flash1 (CUDA) trace*"
# initcheck: device memory read before anything wrote it (the kernels' inputs are all written by the backend; an
# output read back unwritten would show here, besides the tests' NaN poisoning). The two pipelined-softmax tests are
# left out: initcheck does not see the writes of the fp16 GEMM kernel cuBLAS picks for their S on Hopper, and
# reports every later read of S, plain loads and cudaMemcpy included, though cuBLAS wrote it
# (scripts/probes/initcheck_bulk_probe.cu, cases D, E and F; docs/design/sanitizers.md). memcheck covers them.
ATTNSCOPE_KERNEL_TEST_MAX_N=64 step initcheck 300 compute-sanitizer --tool initcheck --error-exitcode 9 \
  "$kernel_tests" -tce="*out of memory*,*ceilings*,*allocation*,every softmax variant*,pipelined softmax: few CTAs*"

# Tensor-core flash (issue 7) beside PyTorch's SDPA backends: output checks and two shapes (the whole grid is
# scripts/bench_sdpa.py without --quick, about four minutes; results in docs/design/sdpa-bench.md).
if python3 -c "import torch" 2>/dev/null; then
  step flash-tc-sdpa 300 python3 "$root/scripts/bench_sdpa.py" --attnscope "$bin" --quick --reps 10 --out "$logdir/sdpa"
fi


# ---------------------------------------------------------------- the short table, last
summary
echo
printf '%s\n' "${results[@]}"
echo "full logs: $logdir"
exit $failed
