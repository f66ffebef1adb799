#!/usr/bin/python3
"""bench_numpy.py — NumPy naive attention beside `attnscope bench --backend cpu`, timed in the same run.

NumPy (Debian's python3-numpy, with whatever BLAS it is linked to) computes, per head, in float32:
    S = scale * Q Kᵀ (masked: -inf), P = softmax(S) row by row, O = P V
which is the unfused "naive" path. attnscope then runs its CPU twins at the same shapes, and one table shows
both with the ratios. Run with /usr/bin/python3 (the pyenv `python3` on PATH has no NumPy):

    /usr/bin/python3 scripts/bench_numpy.py [--n 1024,2048,4096] [--d 64] [--heads 1] [--reps 5]
                                            [--algo naive,flash] [--causal] [--attnscope build/app/attnscope]
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

try:
    import numpy as np
except ImportError:
    sys.exit("bench_numpy.py: NumPy is missing; run it with /usr/bin/python3 (Debian: apt install python3-numpy)")


def find_attnscope(explicit):
    if explicit:
        return explicit
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    candidates = [p for p in glob.glob(os.path.join(root, "build*", "app", "attnscope")) if os.access(p, os.X_OK)]
    if not candidates:
        sys.exit("bench_numpy.py: no attnscope binary under build*/app/; build first (scripts/build.sh) "
                 "or pass --attnscope PATH")
    return max(candidates, key=os.path.getmtime)


def blas_library():
    """The BLAS shared library NumPy actually loaded (after a matmul), from /proc/self/maps."""
    np.ones((4, 4), dtype=np.float32) @ np.ones((4, 4), dtype=np.float32)
    try:
        with open("/proc/self/maps") as maps:
            libs = sorted({line.split()[-1] for line in maps if "blas" in line.lower() and "/" in line})
        return ", ".join(os.path.realpath(l) for l in libs) or "unknown"
    except OSError:
        return "unknown"


def numpy_naive(q, k, v, causal):
    """One head: q [N, d], k [N, d], v [N, d] float32 -> O [N, d]."""
    scale = np.float32(1.0 / np.sqrt(q.shape[1]))
    s = (q @ k.T) * scale
    if causal:
        s[np.triu_indices(s.shape[0], 1)] = -np.inf
    s -= s.max(axis=1, keepdims=True)
    p = np.exp(s)
    p /= p.sum(axis=1, keepdims=True)
    return p @ v


def time_numpy(n, d, heads, reps, causal):
    rng = np.random.default_rng(n)
    q, k, v = (rng.standard_normal((heads, n, d), dtype=np.float32) for _ in range(3))
    for h in range(heads):  # warm-up
        numpy_naive(q[h], k[h], v[h], causal)
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for h in range(heads):
            numpy_naive(q[h], k[h], v[h], causal)
        samples.append((time.perf_counter() - t0) * 1e3)
    samples.sort()
    return {"median_ms": samples[len(samples) // 2] if reps % 2 else 0.5 * (samples[reps // 2 - 1] + samples[reps // 2]),
            "min_ms": samples[0], "max_ms": samples[-1]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", default="1024,2048,4096")
    ap.add_argument("--d", type=int, default=64)
    ap.add_argument("--heads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--algo", default="naive,flash")
    ap.add_argument("--causal", action="store_true")
    ap.add_argument("--attnscope", default="")
    args = ap.parse_args()
    ns = [int(x) for x in args.n.split(",") if x]
    if not ns or min(ns) < 1 or args.d < 1 or args.heads < 1 or args.reps < 1:
        sys.exit("bench_numpy.py: --n, --d, --heads and --reps must be positive")
    binary = find_attnscope(args.attnscope)

    print(f"NumPy {np.__version__}, BLAS: {blas_library()}")
    numpy_rows = {n: time_numpy(n, args.d, args.heads, args.reps, args.causal) for n in ns}

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "bench.json")
        cmd = [binary, "bench", "--backend", "cpu", "--algo", args.algo, "--n", ",".join(map(str, ns)),
               "--d", str(args.d), "--heads", str(args.heads), "--reps", str(args.reps), "--json", out]
        if args.causal:
            cmd.append("--causal")
        print("$ " + " ".join(cmd))
        proc = subprocess.run(cmd, capture_output=True, text=True)
        sys.stdout.write(proc.stdout)
        sys.stderr.write(proc.stderr)
        if not os.path.exists(out):
            sys.exit(f"bench_numpy.py: attnscope bench failed (exit {proc.returncode})")
        with open(out) as f:
            bench = json.load(f)

    algos = [a for a in args.algo.split(",") if a]
    print(f"\nSame run, B=1 H={args.heads} d={args.d} fp32{' causal' if args.causal else ''}; median ms "
          f"(min-max); ratio = NumPy time / attnscope time")
    header = f"{'N':>6}  {'numpy naive':>22}"
    for a in algos:
        header += f"  {'attnscope ' + a:>24}  {'vs numpy':>8}"
    print(header)
    for n in ns:
        npr = numpy_rows[n]
        line = f"{n:>6}  {npr['median_ms']:>9.2f} ({npr['min_ms']:.1f}-{npr['max_ms']:.1f})"
        line = f"{n:>6}  {line[8:]:>22}"
        for a in algos:
            row = next((r for r in bench["rows"] if r["n"] == n and r["algorithm"] == a), None)
            if row is None or not row["ok"]:
                line += f"  {'failed':>24}  {'':>8}"
                continue
            cell = f"{row['median_ms']:.2f} ({row['min_ms']:.1f}-{row['max_ms']:.1f})"
            line += f"  {cell:>24}  {npr['median_ms'] / row['median_ms']:>7.2f}x"
        print(line)


if __name__ == "__main__":
    main()
