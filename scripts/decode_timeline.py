#!/usr/bin/env python3
"""decode_timeline.py FILE — summarise the per-CTA timelines that `attnscope decode --timeline FILE` appends
(kernels/bench/decode_bench.cu, append_decode_timeline): where a decode's time goes.

Per recorded decode (one '#' header line, then 'decode,...' rows per CTA and 'reduce,...' rows per head), all times
in µs from the earliest CTA entry:
  entry        when CTAs started (max = launch skew)
  first tile   first K/V tile visible, minus entry (the pipeline's fill latency)
  per tile     median interval between consecutive tiles of a CTA, and the bandwidth it implies for all CTAs
  loop end     last tile done (min / median / max: how unevenly the CTAs finish)
  epilogue     loop end -> partials written (the warps' merge and the partial/O stores)
  merge wait   partials written -> merge begin (grid-merge: waiting for the siblings; fused: the last CTA)
  end          CTA done; reduce: the reduction kernel's first begin and last end
"""
import statistics as st
import sys


def summarise(header, rows, reduce_rows):
    label = header.lstrip("# ").strip()
    fields = dict(kv.split("=", 1) for kv in label.split() if "=" in kv)
    d = int(fields.get("d", 128))
    tile_bytes = 64 * d * 2 * 2  # 64 tokens of K and V, 2-byte storage
    # decode row: kind,label,cta,sm,entry,first,loop_end,partials,merge_begin,end,tiles,t0..t63
    ctas = []
    for r in rows:
        sm = int(r[3])
        entry, first, loop_end, partials, merge, end = (int(x) for x in r[4:10])
        tiles = int(r[10])
        times = [int(x) for x in r[11:] if int(x) >= 0]
        ctas.append(dict(sm=sm, entry=entry, first=first, loop_end=loop_end, partials=partials, merge=merge, end=end,
                         tiles=tiles, times=times))
    us = lambda ns: ns / 1000.0
    def spread(values):
        return f"{us(min(values)):7.2f} {us(st.median(values)):7.2f} {us(max(values)):7.2f}"
    print(f"\n{label}")
    print(f"  CTAs {len(ctas)} on {len({c['sm'] for c in ctas})} SMs; tiles per CTA "
          f"{min(c['tiles'] for c in ctas)}..{max(c['tiles'] for c in ctas)}")
    print(f"  {'':14} {'min':>7} {'median':>7} {'max':>7}  (µs)")
    print(f"  {'entry':14} {spread([c['entry'] for c in ctas])}")
    print(f"  {'first tile':14} {spread([c['first'] - c['entry'] for c in ctas if c['first'] >= 0])}  (after entry)")
    intervals = []
    for c in ctas:
        t = c["times"]
        if len(t) > 2:
            intervals.append(st.median([b - a for a, b in zip(t[1:], t[2:])]))
    if intervals:
        med = st.median(intervals)
        print(f"  {'per tile':14} {spread(intervals)}  -> {len(ctas) * tile_bytes / med:.0f} GB/s if every CTA ran at "
              f"the median interval")
    print(f"  {'loop end':14} {spread([c['loop_end'] for c in ctas])}")
    print(f"  {'epilogue':14} {spread([c['partials'] - c['loop_end'] for c in ctas])}")
    merging = [c for c in ctas if c["merge"] >= 0]
    if merging:
        print(f"  {'merge wait':14} {spread([c['merge'] - c['partials'] for c in merging])}  ({len(merging)} CTAs merge)")
    print(f"  {'end':14} {spread([c['end'] for c in ctas])}")
    if reduce_rows:
        begins = [int(r[3]) for r in reduce_rows]
        ends = [int(r[4]) for r in reduce_rows]
        print(f"  {'reduce':14} begin {us(min(begins)):.2f}..{us(max(begins)):.2f}, end {us(max(ends)):.2f} "
              f"({len(reduce_rows)} heads)")
    last = max([c["end"] for c in ctas] + [int(r[4]) for r in reduce_rows])
    moved = sum(c["tiles"] for c in ctas) * tile_bytes
    print(f"  span {us(last):.2f} µs: {moved / 1e6:.1f} MB streamed -> {moved / last:.0f} GB/s over the span")


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    header, rows, reduce_rows = None, [], []
    for line in open(sys.argv[1]):
        line = line.rstrip("\n")
        if line.startswith("#"):
            if header:
                summarise(header, rows, reduce_rows)
            header, rows, reduce_rows = line, [], []
        elif line.startswith("decode,"):
            rows.append(line.split(","))
        elif line.startswith("reduce,"):
            reduce_rows.append(line.split(","))
    if header:
        summarise(header, rows, reduce_rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
