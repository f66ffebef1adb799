// decode_options.hpp — the explicit choices of the decode benchmark (`attnscope decode` flags), carried by
// DecodeLoopRequest to whichever backend runs it (the CPU twin ignores them). Nothing here is read from the
// environment: each is a flag, validated where it is parsed, with the accepted forms in the error.
//
//   variant        which decode kernel configuration (CUDA: kernels/decode/decode.hpp describes each)
//   probe          experiments on the kernel's access pattern (an instrumented build of the kernel; see below)
//   pool_percent   balanced variants: the share of each split's tiles that goes to the tail pool
//   timing         how a decode is timed: its own GPU time with L2 flushed first, or between events on an idle GPU
//   read           the read-only reference kernel that "read" GB/s is measured with
//   timeline_path  append per-CTA timelines of the last step's decode to this CSV file (scripts/decode_timeline.py)
#pragma once
#include <optional>
#include <string>

namespace attnscope {

// Decode kernel configurations for groups of more than 16 query heads per KV head (smaller groups run the same
// kernel in every variant). The retired ones are kept at the git tag `decode-variant-lab`.
//   auto          balanced-tma on sm_90 and newer, balanced before
//   balanced      8 warps, a 6-stage cp.async ring, grid-merged splits with a tail pool of tiles
//   balanced-tma  balanced with the K/V tiles brought in by the copy engine (sm_90+; before sm_90 it runs as balanced)
enum class DecodeVariant { Auto, Balanced, BalancedTma };
const char* decode_variant_name(DecodeVariant v);
std::optional<DecodeVariant> parse_decode_variant(const std::string& text);
// "auto, balanced or balanced-tma": for error messages and help.
const char* decode_variant_choices();

// Access-pattern experiments (bits). Any of them selects the instrumented kernel; never set in normal use.
//   rotate      each CTA starts its own range at a position hashed from (sequence, split) and wraps around
//   skip-math   the K/V tiles are loaded and the barriers kept, but nothing is computed (the output is NOT valid)
//   interleave  split s streams tiles s, s + splits, s + 2·splits, ... (splits without the tail pool only)
enum DecodeProbe : int { kDecodeProbeRotate = 1, kDecodeProbeSkipMath = 2, kDecodeProbeInterleave = 4 };
// A comma list of rotate, skip-math, interleave ("" or "none": 0). Empty string when valid, else the problem.
std::string parse_decode_probe(const std::string& text, int* bits);

enum class DecodeTiming {
  Device,  // an L2 flush kernel before each timed decode; the interval is the decode's own GPU time
  Launch   // each decode between two events on an idle GPU: also holds the host's launch latency
};
std::optional<DecodeTiming> parse_decode_timing(const std::string& text);

// The read-only reference ("read" GB/s): as many bytes as the decode read, from the start of K and of V.
//   stream                          (default) every thread 8 streaming loads in flight, grid-strided
//   chunks,CTAS,THREADS[,rotate][,cg]  CTA c reads its own contiguous 1/CTAS of each buffer, as the decode reads;
//                                   rotate: start at a hashed offset and wrap; cg: normal L2 policy, not streaming
//   ring,CTAS,THREADS,STAGES,TILE_KB   through a shared-memory ring of bulk copies, as the decode kernel reads (sm_90)
struct DecodeReadReference {
  enum class Kind { Stream, Chunks, Ring } kind = Kind::Stream;
  int ctas = 128, threads = 1024, stages = 6, tile_kb = 16;
  bool rotate = false, cached = false;
};
// Empty string when valid (and *out set), else the problem with the accepted forms.
std::string parse_decode_read(const std::string& text, DecodeReadReference* out);

struct DecodeBenchOptions {
  DecodeVariant variant = DecodeVariant::Auto;
  int probe = 0;                   // DecodeProbe bits
  int pool_percent = -1;           // 0..100; -1: the kernel's default
  DecodeTiming timing = DecodeTiming::Device;
  DecodeReadReference read;
  std::string timeline_path;       // empty: no timeline
};

}  // namespace attnscope
