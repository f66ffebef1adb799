#!/usr/bin/env bash
# gpu-flash-tc.sh LOGDIR [quick|full|variants] — the tensor-core flash check on a GPU machine (issue 7), logs into LOGDIR:
#   1. headless build for the GPU (arch $CUDA_ARCH, default 90): attnscope and the kernel tests
#   2. the flash-tc kernel tests with ATTNSCOPE_REQUIRE_GPU=1, then memcheck and racecheck at small sizes
#   3. the compiler's resource report of each specialization (registers, spills) and the local-memory
#      instructions left in its machine code
#   4. scripts/bench_sdpa.py: flash-tc beside PyTorch's SDPA backends (quick: two shapes; full: issue 7's grid,
#      block-sparse and strided rows)
# and prints a short table last. scripts/gpu-check.sh is the whole CUDA check; this is the kernel's own loop.
set -uo pipefail
if [[ $# -lt 1 ]]; then
  echo "usage: scripts/gpu-flash-tc.sh LOGDIR [quick|full]" >&2
  exit 2
fi
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mkdir -p "$1" || exit 2
logdir=$(cd "$1" && pwd)
mode=${2:-quick}
build=${ATTNSCOPE_BUILD_DIR:-$root/build-gpu}
arch=${CUDA_ARCH:-90}
failed=0
results=()

step() {  # step NAME TIMEOUT_S COMMAND...
  local name=$1 limit=$2
  shift 2
  local start=$SECONDS
  timeout --kill-after=10 "$limit" "$@" >"$logdir/$name.log" 2>&1
  local rc=$?
  local outcome=pass
  [[ $rc -eq 124 || $rc -eq 137 ]] && outcome="TIMEOUT ${limit}s"
  [[ $rc -ne 0 && $outcome == pass ]] && outcome="FAIL (exit $rc)"
  [[ $outcome == pass ]] || failed=1
  results+=("$(printf '%-14s %-16s %4ss' "$name" "$outcome" "$((SECONDS - start))")")
  return $rc
}

{ date -u +%FT%TZ; nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv; } \
  >"$logdir/environment.log" 2>&1
# ATTNSCOPE_PREBUILT=DIR: binaries built elsewhere for this GPU (attnscope, attnscope_kernel_tests and the
# flash_tc_*.cu.o objects in DIR), to spend the GPU machine's time on running rather than compiling.
if [[ -n ${ATTNSCOPE_PREBUILT:-} ]]; then
  prebuilt=$(cd "$ATTNSCOPE_PREBUILT" && pwd)
  bin=$prebuilt/attnscope
  tests=$prebuilt/attnscope_kernel_tests
  objects=("$prebuilt"/flash_tc_*_d*.cu.o)
  export LD_LIBRARY_PATH=${CUDA_HOME:-/usr/local/cuda}/lib64:${LD_LIBRARY_PATH:-}
else
  step configure 120 cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DATTNSCOPE_GUI=OFF \
    -DCMAKE_CUDA_ARCHITECTURES="$arch"
  step build 400 cmake --build "$build" --parallel "$(nproc)" --target attnscope attnscope_kernel_tests
  bin=$build/app/attnscope
  tests=$build/tests/attnscope_kernel_tests
  objects=("$build"/kernels/CMakeFiles/attnscope_kernels.dir/flash_tc/flash_tc_*_d*.cu.o)
fi
export ATTNSCOPE_REQUIRE_GPU=1
step tests 300 "$tests" -tc="*flash-tc*"
ATTNSCOPE_KERNEL_TEST_MAX_N=1000 step memcheck 300 compute-sanitizer --tool memcheck --error-exitcode 9 "$tests" \
  -tc="*flash-tc: every mask*,*flash-tc: a row*,*flash-tc: GQA*,*both implementations*"
ATTNSCOPE_KERNEL_TEST_MAX_N=64 step racecheck 300 compute-sanitizer --tool racecheck --error-exitcode 9 "$tests" \
  -tc="*flash-tc: a row*"
{
  for o in "${objects[@]}"; do
    cuobjdump -res-usage "$o" 2>/dev/null | grep -o 'Function [^:]*:\|REG:[0-9]* STACK:[0-9]*' | paste - - |
      sed 's/Function _ZN9attnscope7kernels13flash_tc_impl15flash_tc_kernelI/  /'
    echo "$(basename "$o"): local loads/stores in SASS: $(cuobjdump -sass "$o" | grep -cE 'LDL|STL')"
  done
} >"$logdir/resources.log" 2>&1
if [[ $mode == variants ]]; then
  # Both implementations (--flash-tc-path mma: mma.sync; auto: wgmma on compute capability 9.0) on a few
  # dense shapes, Nsight Compute's view of the default one (d = 128 and 64, N = 4096, not causal), and the quick
  # comparison with PyTorch.
  step variants 400 python3 - "$bin" "$logdir" <<'PY'
import json, os, subprocess, sys
bin, logdir = sys.argv[1], sys.argv[2]
rows = []
for path in ("mma", "auto"):
    for d, heads in ((128, 16), (64, 32)):
        for causal in (False, True):
            out = os.path.join(logdir, f"{path}-d{d}-{int(causal)}.json")
            cmd = [bin, "bench", "--backend", "cuda", "--algo", "flash-tc", "--dtype", "fp16", "--n", "4096",
                   "--batch", "4", "--heads", str(heads), "--d", str(d), "--reps", "20", "--json", out,
                   "--flash-tc-path", path]
            if causal:
                cmd.append("--causal")
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            r = json.load(open(out))["rows"][0]
            flops = 4 * 4 * heads * 4096 * 4096 * d / (2 if causal else 1)
            rows.append((path, d, causal, r["median_ms"], flops / r["median_ms"] / 1e9))
print(f"{'path':>6} {'d':>4} {'causal':>6} {'ms':>8} {'TFLOP/s':>8}")
for v, d, c, ms, tf in rows:
    print(f"{v:>6} {d:>4} {str(c):>6} {ms:>8.3f} {tf:>8.1f}")
PY
  for d in 128 64; do
    heads=$((2048 / d))
    step ncu-d$d 200 ncu --kernel-name regex:flash_tc --launch-skip 2 --launch-count 1 \
      --section SpeedOfLight --section WarpStateStats --section Occupancy --section ComputeWorkloadAnalysis \
      --section InstructionStats --section MemoryWorkloadAnalysis "$bin" bench --backend cuda --algo flash-tc \
      --dtype fp16 --n 4096 --batch 4 --heads $heads --d $d --reps 3
  done
  step sdpa 400 python3 "$root/scripts/bench_sdpa.py" --attnscope "$bin" --quick --reps 10 --out "$logdir/sdpa"
elif [[ $mode == quick ]]; then
  step sdpa 400 python3 "$root/scripts/bench_sdpa.py" --attnscope "$bin" --quick --reps 10 \
    --out "$logdir/sdpa"
else
  step sdpa 560 python3 "$root/scripts/bench_sdpa.py" --attnscope "$bin" --reps 10 --out "$logdir/sdpa"
fi

echo
echo "================ flash-tc check ($mode) ================"
cat "$logdir/environment.log"
grep -h "test cases:" "$logdir/tests.log" || tail -5 "$logdir/tests.log"
grep -h "ERROR SUMMARY\|RACECHECK SUMMARY" "$logdir/memcheck.log" "$logdir/racecheck.log"
cat "$logdir/resources.log"
printf '%s\n' "${results[@]}"
if [[ $mode == variants ]]; then
  cat "$logdir/variants.log"
  [[ -f $logdir/sdpa/results.md ]] && grep -A4 "^| dtype\|^| shape (B N H×d) | dtype | causal" "$logdir/sdpa/results.md"
  for d in 128 64; do
    echo "-- ncu d=$d"
    grep -E "Compute \(SM\) Throughput|Memory Throughput|Achieved Occupancy|Registers Per|Stall|Issue Slots Busy|Executed Ipc A|L1/TEX Hit|Shared Memory|Warp Cycles Per Issued" \
      "$logdir/ncu-d$d.log" | head -12
  done
else
  [[ -f $logdir/sdpa/results.md ]] && tail -40 "$logdir/sdpa/results.md" || tail -30 "$logdir/sdpa.log"
fi
exit $failed
