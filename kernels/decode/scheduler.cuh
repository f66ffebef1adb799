// scheduler.cuh — which K/V tiles a split CTA of the decode kernel streams, and in what order.
//
// Static ranges: split s of a sequence streams tiles [s·tiles_per_split, (s + 1)·tiles_per_split) in order.
// DYNAMIC (the tail pool, groups > 16 with splits > 1): the first pool_static_tiles tiles of each split's range are
// its CTA's alone (no atomics); the rest of every split's range forms the pool of the (sequence, KV head × head
// block), taken one tile per claim from a shared counter: pool index i is split i % splits, position
// pool_static_tiles + i / splits of its range, so the splits' tails are read side by side (as the static ranges
// are) while CTAs that run ahead take more, and all finish together. (pool_static_tiles < 0: every tile from the
// counter.) The online softmax does not care about the order of tiles; a split that takes none leaves m = −inf,
// weight 0. The counter is reset by whoever uses it last in the launch (the in-grid merge or the reduction).
//
// Claims go through shared memory: claimed[j % (STAGES + 1)] is the j-th tile the CTA streams. Thread 0 claims tile
// j during iteration j − STAGES (after its barrier); the refill of iteration j − STAGES + 1 and the compute of
// iteration j read it after later barriers, and the slot is rewritten only after both (it holds STAGES + 1 claims).
// Thread 0 starts the atomic of the next claim one iteration before it is needed (claim_ahead): with DRAM saturated
// its round trip takes long enough to stall the CTA at the next barrier otherwise.
//
// INSTR (the instrumented kernel) adds the access-pattern probes (core/decode_options.hpp): rotate and interleave.
// Internal to kernels/decode/.
#pragma once
#include <climits>

#include "kernels/decode/args.cuh"

namespace attnscope::kernels::decode {

template <int STAGES, bool DYNAMIC, bool INSTR>
struct TileScheduler {
  static constexpr int kClaimSlots = STAGES + 1;
  const DecodeArgs& a;
  const int split, tiles, tile_begin, own_tiles, rotation;
  int* const claimed;                  // shared [kClaimSlots] (DYNAMIC)
  int* const counter;                  // the (sequence, KV head × head block)'s tile counter (DYNAMIC)
  int pending_claim = 0;
  bool claim_pending = false;

  __device__ __forceinline__ TileScheduler(const DecodeArgs& args, int split_, int b, int group_y, int len,
                                           int* claimed_shared)
      : a(args),
        split(split_),
        tiles((len + kBc - 1) / kBc),
        tile_begin(split_ * args.tiles_per_split),
        own_tiles(max(0, min(tile_begin + args.tiles_per_split, tiles) - tile_begin)),
        // Probe `rotate`: start the CTA's own range at a position hashed from (sequence, split) and wrap, so the
        // CTAs do not all read the same offsets of their ranges at the same time.
        rotation(INSTR && (args.probe & kDecodeProbeRotate) && own_tiles > 0
                     ? static_cast<int>(((static_cast<unsigned>(b) * gridDim.x + split_) * 2654435761u >> 8) % own_tiles)
                     : 0),
        claimed(claimed_shared),
        counter(DYNAMIC ? args.tile_counters + static_cast<int64_t>(b) * gridDim.y + group_y : nullptr) {}

  __device__ __forceinline__ int take() {
    if (claim_pending) {
      claim_pending = false;
      return pending_claim;
    }
    return atomicAdd(counter, 1);
  }
  // The j-th tile this CTA streams (thread 0, DYNAMIC). A past-the-end claim returns INT_MAX; the counter only
  // grows, so every later claim is past the end too.
  __device__ __forceinline__ int claim(int j) {
    if (a.pool_static_tiles < 0) return take();
    const int own = min(a.pool_static_tiles, own_tiles);
    if (j < own) return tile_begin + (INSTR ? (j + rotation) % own : j);
    const int pool = a.splits * (a.tiles_per_split - a.pool_static_tiles);
    for (;;) {
      const int i = take();
      if (i >= pool) return INT_MAX;
      const int s = i % a.splits, t = s * a.tiles_per_split + a.pool_static_tiles + i / a.splits;
      if (t < min((s + 1) * a.tiles_per_split, tiles)) return t;  // else that split's range is shorter: next one
    }
  }
  // Starts the atomic for claim j, if claim j takes from a counter.
  __device__ __forceinline__ void claim_ahead(int j) {
    if (a.pool_static_tiles >= 0 && j < min(a.pool_static_tiles, own_tiles)) return;
    pending_claim = atomicAdd(counter, 1);
    claim_pending = true;
  }
  // Thread 0, before the first barrier: the first STAGES claims.
  __device__ __forceinline__ void claim_first() {
    for (int j = 0; j < STAGES; ++j) claimed[j] = claim(j);
    claim_ahead(STAGES);
  }
  // Thread 0, at the end of iteration `it`: the claim for iteration it + STAGES (read after the next barriers), so
  // the atomic's round trip overlaps the MMAs still in flight and the wait for the next tile.
  __device__ __forceinline__ void claim_next(int it) {
    claimed[(it + STAGES) % kClaimSlots] = claim(it + STAGES);
    claim_ahead(it + STAGES + 1);
  }
  // The j-th tile this CTA streams, or −1 past its last (claims only grow, so all later ones are past too).
  __device__ __forceinline__ int tile_at(int j) const {
    if constexpr (DYNAMIC) {
      const int t = claimed[j % kClaimSlots];
      return t < tiles ? t : -1;
    } else {
      if constexpr (INSTR) {
        if (a.probe & kDecodeProbeInterleave) {  // probe: split s takes tiles s, s + splits, s + 2·splits, ...
          const int t = split + j * a.splits;
          return t < tiles ? t : -1;
        }
      }
      return j < own_tiles ? tile_begin + (INSTR ? (j + rotation) % own_tiles : j) : -1;
    }
  }
};

}  // namespace attnscope::kernels::decode
