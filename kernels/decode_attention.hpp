// decode_attention.hpp — flash-decoding on the GPU: one new query per sequence against a KV cache (contiguous or
// paged), fp16/bf16 storage, fp32 accumulation on tensor cores (mma.sync m16n8k16), split-K over the cache with a
// reduction kernel, and GQA-aware CTAs: one CTA serves every query head sharing a KV head (up to 64 at once), so
// each cached K/V byte is read once per group. MQA is one KV head.
//
//   decode kernel     grid (split, KV head × head block, sequence), 128 threads (256: warps8, deep-pipeline). K/V tiles
//                     of Bc = 64 tokens are streamed through shared memory with 16-byte cp.async loads (a ring of 3
//                     stages, 6 for deep-pipeline) or by the copy engine (balanced-tma, the default for groups > 16
//                     on sm_90: 4 stages); S = Q Kᵀ and O += P V on tensor cores; online softmax in registers
//                     (base 2). Writes O directly when there is one split, else the split's (m, l, acc) for the
//                     reduction (or the in-grid merge).
//   reduction kernel  per (sequence, query head): O = Σ_s acc_s 2^(m_s − M) / Σ_s l_s 2^(m_s − M), M = max_s m_s;
//                     partials: acc [batch·q_heads][splits][d] (16-byte aligned rows), then (m, l) [batch·q_heads][splits].
//   fill kernel       writes cache rows [begin, end) of every sequence (random values from a hash; the decode
//                     loop's append and prefill) through the same addressing as the decode kernel.
// Host entry points with host arrays (tests), Backend::run(Decode) and Backend::decode_loop live here too.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/backend.hpp"
#include "core/kv_cache.hpp"
#include "kernels/device_info.hpp"

namespace attnscope::kernels {

constexpr int kDecodeTileTokens = 64;    // Bc: keys per shared-memory tile
constexpr int kDecodeMaxHeadsPerCta = 64;  // query heads one CTA serves (larger groups use several head blocks)
constexpr int kDecodeStages = 3;         // K/V tiles in the shared-memory ring per CTA (2 in flight while 1 is used)
constexpr int kDecodeDeepStages = 6;     // deep-pipeline: 5 tiles in flight, one CTA per SM
constexpr int kDecodeTmaStages = 4;      // balanced-tma: 3 tiles in flight (the copy engine needs no more)
constexpr int kDecodeMaxSplits = 4096;   // the reduction keeps one weight per split in shared memory

// Kernel configurations for groups of more than 16 query heads per KV head (MQA), measured against one another
// by `attnscope decode` with ATTNSCOPE_DECODE_VARIANT=<name> (docs/DECODE_NOTES.md, scripts/gpu-decode.sh). Auto is
// balanced-tma (balanced on GPUs before sm_90): on the H100, MQA (batch 8, L 32768, d 128) 61.8–62.5 µs = 72–73.5%
// of the copy bandwidth over three rounds against balanced's 64.7–65.4 µs and deep-pipeline's 63.0–63.4 µs in the
// same run (docs/DECODE_NOTES.md, fourth session); memcheck, racecheck and synccheck clean.
//   baseline        up to 64 heads per CTA, 4 warps, the serial reduction launched after the decode kernel
//   fast-reduce     as baseline with the parallel reduction, launched as a programmatic dependent (PDL)
//   warps8          as fast-reduce with 8 warps per CTA (each warp's MMA chain per tile halves)
//   head-blocks-16  16 query heads per CTA (one m-tile, 4 warps as for GQA), so a KV head's group takes several
//                   CTAs that read the same K/V tiles at about the same time (the second read hits L2);
//                   fast-reduce's reduction
//   deep-pipeline   as fast-reduce with 8 warps, Q in registers and a 6-stage ring (5 tiles = 160 KB in flight per
//                   SM, against 2 CTAs x 2 tiles = 128 KB): one CTA per SM, half the splits (so half the partials)
//   dynamic-tiles   as deep-pipeline, but a sequence's split CTAs take tiles one at a time from a shared counter
//                   (atomicAdd) instead of fixed ranges, so CTAs that run ahead take more and all end together
//                   (results then vary in the last bits from run to run: the tiles' order in a split varies)
//   dynamic-tiles-2cta  fast-reduce's kernel (4 warps, 3 stages, 2 CTAs per SM) with dynamic-tiles' tile counters
// Groups of 16 or fewer differ only in the reduction (baseline: serial, the others: parallel with PDL).
//   fused-reduce    deep-pipeline's kernel without the reduction launch: each split CTA writes its partials, fences
//                   and counts itself in on a per-(sequence, KV head × head block) counter; the last one merges the
//                   splits of its heads and resets the counter ("last CTA reduces"); on the H100 MQA contiguous
//                   66.2 µs median against deep-pipeline's 69.4 in one noisy run, paged 3 µs slower: not the default
//   grid-merge      no reduction launch and no single merging CTA: the grid is launched cooperatively (every CTA
//                   resident at once, or the plan falls back to the reduction kernel), each split CTA writes its
//                   partials and waits at a per-(sequence, KV head × head block) barrier in global memory, then
//                   merges its own share of the heads (⌈heads / splits⌉ each), so the merge is spread over every SM
//                   that streamed the cache. Splits are capped so the grid fits in one wave. Any group size.
//   balanced        grid-merge with deep-pipeline's kernel and a tail pool (groups > 16): each split CTA streams the
//                   first (100 − kDecodePoolPercent)% of its range alone; the rest of all the splits' ranges forms a
//                   pool that the split CTAs of the (sequence, KV head × head block) take from one tile at a time
//                   (an atomic counter), splits side by side, so CTAs on SMs that get more bandwidth take more tiles
//                   and all finish together (on the H100 the SMs' read rates differ by up to 1.6×: per-CTA
//                   timelines in docs/DECODE_NOTES.md). Smaller groups run as grid-merge.
//   balanced-tma    balanced with the tiles brought in by the copy engine (sm_90: cp.async.bulk.tensor into a
//                   128-byte-swizzled ring of kDecodeTmaStages, completing on one mbarrier per stage; warp 0 issues,
//                   one lane per page of a paged tile) instead of 16-byte cp.async from every thread; on GPUs before
//                   sm_90 it runs as balanced.
enum class DecodeVariant {
  Auto, Baseline, FastReduce, Warps8, HeadBlocks16, DeepPipeline, DynamicTiles, DynamicTiles2Cta, FusedReduce,
  GridMerge, Balanced, BalancedTma
};
// balanced: the share of each split's tiles (percent) that goes to the tail pool; ATTNSCOPE_DECODE_POOL_PERCENT
// overrides it (experiments). decode_pool_percent() reads it (an invalid value throws std::invalid_argument).
constexpr int kDecodePoolPercent = 10;
int decode_pool_percent();
// Experiments on the kernel's access pattern (ATTNSCOPE_DECODE_PROBE, a comma list; never set in normal use):
//   rotate     each CTA starts its own range at a position hashed from (sequence, split) and wraps around
//   skip-math  the K/V tiles are loaded and the barriers kept, but nothing is computed (the output is NOT valid):
//              what the loads alone cost
//   interleave split s streams tiles s, s + splits, s + 2·splits, ... instead of a contiguous range (static ranges
//              only): the splits of a sequence read neighbouring tiles at the same time
enum DecodeProbe : int { kDecodeProbeRotate = 1, kDecodeProbeSkipMath = 2, kDecodeProbeInterleave = 4 };
int decode_probe_from_environment();
constexpr DecodeVariant kDecodeAutoVariant = DecodeVariant::BalancedTma;
const char* decode_variant_name(DecodeVariant v);
// ATTNSCOPE_DECODE_VARIANT (unset: Auto); an unknown name throws std::invalid_argument naming the choices.
DecodeVariant decode_variant_from_environment();

struct DecodeParams {
  DType dtype = DType::F16;              // F16 or BF16: the cache, Q and O storage
  int64_t batch = 0, q_heads = 0, kv_heads = 0, head_dim = 0;
  int64_t max_len = 0;                   // the longest sequence; sets the split plan
  const int32_t* seq_lens = nullptr;     // device [batch], each 1..max_len
  float scale = 0;                       // softmax scale (1/√d usually)
  const void* q = nullptr;               // device [batch][q_heads][d]
  void* o = nullptr;                     // device [batch][q_heads][d]
  const void* k = nullptr;               // contiguous: [batch][kv_heads][capacity][d]; paged: [pages][kv_heads][P][d]
  const void* v = nullptr;
  int64_t capacity = 0;                  // contiguous: rows reserved per (sequence, KV head)
  int64_t page_tokens = 0;               // P > 0: paged cache
  const int32_t* block_table = nullptr;  // paged: device [batch][max_pages]
  int64_t max_pages = 0, pool_pages = 0;
  // Workspace of plan.workspace_bytes (splits > 1): counters (decode_counter_bytes: tiles claimed by dynamic-tiles,
  // splits arrived for fused-reduce and grid-merge, splits departed for grid-merge), then the partials. The
  // counters must be zero before the first launch (fill them with 0 once after allocating); each launch leaves
  // them zero. Reusing one workspace for plans of different split counts is fine (the counters come first).
  float* partials = nullptr;
  // Diagnostics (nullptr: off). Per CTA (linear id split + splits·(y + Y·sequence)) kDecodeTimelineFields values,
  // written by its thread 0: see DecodeTimelineField. Then, for the reduction kernel (if launched), per head its
  // (begin, end). Times are %globaltimer ns. Size: decode_timeline_words(plan, batch·q_heads).
  uint64_t* timeline = nullptr;
};

// What one CTA's timeline row holds (indices), then kDecodeTimelineTiles times at which each tile was visible.
enum DecodeTimelineField : int {
  kTimelineSm = 0,         // %smid
  kTimelineEntry,          // kernel entry
  kTimelineFirstTile,      // the first tile landed and passed the barrier
  kTimelineLoopEnd,        // the last tile's P·V done
  kTimelinePartials,       // the CTA's (m, l, acc) (or O) written
  kTimelineMergeBegin,     // grid-merge: every split arrived / fused-reduce: this CTA merges (else = partials)
  kTimelineEnd,            // the CTA's last instruction
  kTimelineTiles,          // tiles this CTA streamed
  kTimelineHeader          // first per-tile entry
};
constexpr int kDecodeTimelineTiles = 64;
constexpr int kDecodeTimelineFields = kTimelineHeader + kDecodeTimelineTiles;

struct DecodeLaunchPlan {
  int splits = 1;
  int64_t tiles_per_split = 1;
  int heads_per_cta = 1, head_blocks = 1, m_tiles = 1;
  DecodeVariant variant = DecodeVariant::Auto;  // the one used (never Auto after plan_decode)
  int warps = 4;                         // per CTA: 4, or 8 for warps8 / deep-pipeline with m_tiles >= 2
  int stages = kDecodeStages;            // K/V tiles in the shared-memory ring
  bool fast_reduce = true;               // the parallel reduction launched with PDL (false: baseline's serial one)
  bool fused_reduce = false;             // fused-reduce: no reduction launch, the last split CTA merges
  bool grid_merge = false;               // grid-merge with splits > 1 and the grid resident in one wave
  int pool_static_tiles = -1;            // balanced: tiles of each split's range its CTA streams alone (-1: no pool)
  int probe = 0;                         // DecodeProbe bits from ATTNSCOPE_DECODE_PROBE (experiments)
  int ctas_per_sm = 1, sm_count = 1;
  int shared_bytes = 0;
  double wave_efficiency = 1;
  bool dynamic_tiles = false;            // dynamic-tiles(-2cta) with m_tiles >= 2 and splits > 1
  bool tensor_copies = false;            // balanced-tma on sm_90+ with the deep ring: tiles by the copy engine
  uint64_t workspace_bytes = 0;          // splits > 1: counters + batch·q_heads·splits·(d + 2) floats of partials
};

// Bytes of the workspace's counter region: three int32 per (sequence, KV head, head block) — tiles claimed, splits
// arrived, splits departed — rounded up to 256.
uint64_t decode_counter_bytes(int64_t batch, int64_t kv_heads, int64_t head_blocks);
// uint64 words of DecodeParams::timeline for a plan: the decode CTAs' rows, then (begin, end) per head.
uint64_t decode_timeline_words(const DecodeLaunchPlan& plan, int64_t batch, int64_t kv_heads, int64_t q_heads);

// Empty when the parameters can be launched; else the problem in words (cache length 0, q_heads not a multiple of
// kv_heads, page size 0 or not a power of two, head_dim not 64 or 128, dtype not fp16/bf16, missing buffers ...).
std::string validate(const DecodeParams& p);
// validate() of the shapes alone, before any buffer exists (the pointers are checked once they do).
std::string validate_shape(DecodeParams p);
// Split count from the cache length and the SM count (core's plan_decode_splits), shared memory and workspace.
// `force_splits` > 0 overrides the plan (tests).
// `variant` Auto reads ATTNSCOPE_DECODE_VARIANT, else kDecodeAutoVariant.
DecodeLaunchPlan plan_decode(const DecodeParams& p, const DeviceInfo& device, int force_splits = 0,
                             DecodeVariant variant = DecodeVariant::Auto);
// Launches the decode kernel (and the reduction when splits > 1). Throws std::invalid_argument on invalid params.
void launch_decode(const DecodeParams& p, const DecodeLaunchPlan& plan, void* stream);

// ---- host arrays in, host floats out (tests and tools) ----
struct DecodeHostProblem {
  DType dtype = DType::F16;
  int64_t batch = 1, q_heads = 1, kv_heads = 1, head_dim = 128;
  std::vector<int32_t> seq_lens;         // [batch]
  double scale = 0;                      // 0: 1/√d
  std::vector<float> q;                  // [batch][q_heads][d]
  // Contiguous when page_tokens == 0: k, v are [batch][kv_heads][capacity][d].
  // Paged: k, v are the pool [pool_pages][kv_heads][P][d] and block_table is [batch][max_pages].
  std::vector<float> k, v;
  int64_t capacity = 0;
  int64_t page_tokens = 0, pool_pages = 0, max_pages = 0;
  std::vector<int32_t> block_table;
  int force_splits = 0;
  DecodeVariant variant = DecodeVariant::Auto;  // Auto: ATTNSCOPE_DECODE_VARIANT, else kDecodeAutoVariant
  // Launches made before the checked one, on the same workspace, each with this forced split count (0: planned):
  // a variant that keeps counters in the workspace must leave them ready for the next launch of any plan.
  std::vector<int> earlier_launch_splits;
};
struct DecodeHostResult {
  bool ok = false;
  std::string error;
  std::vector<float> output;             // [batch][q_heads][d]; the device output was poisoned with NaN first
  DecodeLaunchPlan plan;
};
DecodeHostResult run_decode_host(const DecodeHostProblem& problem);

// ---- behind CudaBackend ----
// Algorithm::Decode on AttentionInputs (the contiguous cache is K and V as given, q_len must be 1).
void run_decode_request(const RunRequest& request, RunResult& result, const DeviceInfo& device, void* stream);
// The decode loop (kv_cache.hpp) on the device, with the copy bandwidth measured in the same call.
DecodeLoopResult run_decode_loop_cuda(const DecodeLoopRequest& request, const DeviceInfo& device, void* stream);

// Device-to-device cudaMemcpy of `bytes`: (read + written bytes) / time, GB/s (median of repetitions).
double decode_copy_bandwidth_gbs(uint64_t bytes, int repetitions, void* stream);

}  // namespace attnscope::kernels
