#!/usr/bin/env bash
# soak.sh [FRAMES] [-- extra render flags] — runs the app headless (`attnscope render --soak`) for FRAMES frames
# (default 10000) with the experiment computed again every --soak-rerun frames, samples host RSS (and device memory
# with the CUDA backend) every --soak-sample frames, prints the curve and judges it: after warm-up (the first 20% of
# the samples) every sample must lie within 5% of the first sample after warm-up. Exit 0 flat, 1 not flat or the
# run failed, 2 usage. Environment: ATTNSCOPE_BIN (default build-gui/app/attnscope, else build/app/attnscope).
#   scripts/soak.sh 10000 -- --backend cuda --n 4096
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
frames=${1:-10000}
[[ $frames =~ ^[0-9]+$ && $frames -ge 100 ]] || { echo "usage: scripts/soak.sh [FRAMES >= 100] [-- render flags]" >&2; exit 2; }
shift || true
[[ "${1:-}" == "--" ]] && shift
bin=${ATTNSCOPE_BIN:-}
if [[ -z $bin ]]; then
  for candidate in "$root/build-gui/app/attnscope" "$root/build/app/attnscope"; do
    [[ -x $candidate ]] && { bin=$candidate; break; }
  done
fi
[[ -n $bin && -x $bin ]] || { echo "soak.sh: no attnscope binary (build first, or set ATTNSCOPE_BIN)" >&2; exit 1; }
sample=$(( frames / 50 > 0 ? frames / 50 : 1 ))  # 50 samples over the run
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log=$work/soak.log
start=$(date +%s)
if ! "$bin" render --out "$work/first.png" --size 640x400 --n 512 --mask window:32+global:4 --causal \
       --soak "$frames" --soak-rerun 25 --soak-sample "$sample" "$@" >"$log" 2>&1; then
  echo "soak.sh: the run failed:" >&2
  cat "$log" >&2
  exit 1
fi
seconds=$(( $(date +%s) - start ))
python3 - "$log" "$frames" "$seconds" <<'PY'
import sys
log, frames, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows = []
for line in open(log):
    f = line.split()
    if len(f) >= 9 and f[0] == "soak" and f[1] == "frame":
        rows.append((int(f[2]), int(f[4]), int(f[6]), int(f[8])))
if len(rows) < 5:
    print(f"soak.sh: only {len(rows)} samples in the output; nothing to judge"); sys.exit(1)
mib = lambda b: b / 2**20
device = any(r[2] >= 0 for r in rows)
print(f"soak: {frames} frames in {seconds} s, {rows[-1][3]} re-runs of the experiment, {len(rows)} samples")
print(f"{'frame':>8} {'host RSS MiB':>13}" + (f" {'device MiB':>11}" if device else ""))
for frame, rss, dev, _ in rows:
    print(f"{frame:>8} {mib(rss):>13.1f}" + (f" {mib(dev):>11.1f}" if device else ""))
warm = max(1, len(rows) // 5)
flat = True
for name, index in [("host RSS", 1)] + ([("device memory", 2)] if device else []):
    after = [r[index] for r in rows[warm:]]
    base = after[0]
    lo, hi = min(after), max(after)
    drift = max(abs(hi - base), abs(base - lo)) / base if base > 0 else 0.0
    ok = drift <= 0.05
    flat &= ok
    print(f"{name}: after warm-up (frame {rows[warm][0]} on) {mib(base):.1f} MiB at first, {mib(lo):.1f}..{mib(hi):.1f} MiB, "
          f"largest drift {100 * drift:.2f}% of the first: {'flat (within 5%)' if ok else 'NOT flat (over 5%)'}")
sys.exit(0 if flat else 1)
PY
