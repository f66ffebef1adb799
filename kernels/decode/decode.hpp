// decode.hpp — flash-decoding on the GPU: one new query per sequence against a KV cache (contiguous or paged),
// fp16/bf16 storage, fp32 accumulation on tensor cores (mma.sync m16n8k16), split-K over the cache with an in-grid
// merge or a reduction kernel, and GQA-aware CTAs: one CTA serves every query head sharing a KV head (up to 64 at
// once), so each cached K/V byte is read once per group. MQA is one KV head.
//
//   decode kernel     grid (split, KV head × head block, sequence), 128 threads (256 for groups > 16). K/V tiles of
//                     Bc = 64 tokens are streamed through shared memory by 16-byte cp.async loads (a ring of 3
//                     stages, 6 for groups > 16) or by the copy engine (balanced-tma on sm_90: 4 stages); S = Q Kᵀ
//                     and O += P V on tensor cores; online softmax in registers (base 2). Writes O directly when
//                     there is one split, else the split's (m, l, acc), merged in the grid or by the reduction.
//   reduction kernel  per (sequence, query head): O = Σ_s acc_s 2^(m_s − M) / Σ_s l_s 2^(m_s − M), M = max_s m_s;
//                     partials: acc [batch·q_heads][splits][d] (16-byte aligned rows), then (m, l) [batch·q_heads][splits].
//   fill kernel       writes cache rows [begin, end) of every sequence (random values from a hash; the decode
//                     loop's append and prefill) through the same addressing as the decode kernel.
//
// The family's files (kernels/decode/):
//   decode.hpp             this interface: parameters (explicit cache strides), plan, launch, host entry points
//   args.cuh               the kernel's parameters (DecodeArgs) and the cache addressing
//   scheduler.cuh          which K/V tiles a split CTA streams: fixed ranges, or a tail pool of shared claims
//   load.cuh               the load stage: 16-byte cp.async or bulk-tensor copies into the shared-memory ring
//   epilogue.cuh           the warps' merge, O or the split's partials, and the in-grid merge of the splits
//   reduce.cuh             the split reduction kernel
//   kernel.cuh             the decode kernel (mainloop), dispatch over its compile-time configurations
//   typed.cuh              the kernel configurations (KernelConfig) and the per-(dtype, head dim) entry points
//   plan.cu                validate, plan_decode, the kernel's parameters, launch_decode
//   fill.cuh / fill.cu     the decode loop's cache fill, length bump and queries
//   decode_<dtype>_d<D>.cu one instantiation file per (storage type, head dim)
//   host.cu                host arrays in and out (tests), Backend::run(Decode), Backend::decode_loop
// The benchmark harness (L2 flush, read-only references, timelines) is kernels/bench/decode_bench.*.
//
// Variants (DecodeVariant, core/decode_options.hpp) differ only for groups of more than 16 query heads per KV head:
//   balanced        8 warps, Q in registers, a 6-stage cp.async ring (one CTA per SM); splits capped to one wave
//                   of a cooperative launch so that each split CTA, after writing its partials, waits at a
//                   per-(sequence, KV head × head block) barrier in global memory and merges ⌈heads / splits⌉ of the
//                   heads itself (no reduction launch). A tail pool balances the splits: each split CTA streams the
//                   first (100 − pool percent)% of its range alone; the rest of all the splits' ranges forms a pool
//                   that the split CTAs take from one tile at a time (an atomic counter), so CTAs on SMs that get
//                   more bandwidth take more tiles and all finish together.
//   balanced-tma    balanced with the tiles brought in by the copy engine (sm_90: cp.async.bulk.tensor into a
//                   128-byte-swizzled ring of kDecodeTmaStages, completing on one mbarrier per stage; warp 0 issues,
//                   one lane per page of a paged tile) instead of 16-byte cp.async from every thread. The default
//                   (Auto) on sm_90 and newer; before sm_90 it runs as balanced.
// Nine more variants (serial and PDL reductions, 8 warps with 3 stages, 16-head blocks, dynamic tiles, fused
// "last CTA reduces", grid-merge without the pool, ...) were measured against these and retired; the git tag
// `decode-variant-lab` keeps them, and docs/journal/decode.md keeps their measurements.
//
// Instruments (access-pattern probes, per-CTA timelines) are a compile-time parameter of the kernel: the kernel
// launched without them carries no probe or timeline code.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/backend.hpp"
#include "core/decode_options.hpp"
#include "core/kv_cache.hpp"
#include "kernels/device_info.hpp"

namespace attnscope::kernels {

using attnscope::DecodeVariant;
using attnscope::decode_variant_name;

constexpr int kDecodeTileTokens = 64;      // Bc: keys per shared-memory tile
constexpr int kDecodeMaxHeadsPerCta = 64;  // query heads one CTA serves (larger groups use several head blocks)
constexpr int kDecodeStages = 3;           // K/V tiles in the ring for groups <= 16 (2 in flight while 1 is used)
constexpr int kDecodeDeepStages = 6;       // groups > 16 (balanced): 5 tiles in flight, one CTA per SM
constexpr int kDecodeTmaStages = 4;        // balanced-tma: 3 tiles in flight (the copy engine needs no more)
constexpr int kDecodeMaxSplits = 4096;     // the reduction keeps one weight per split in shared memory
// Auto's choice on sm_90 and newer (balanced before: the copy engine's tensor copies need sm_90).
constexpr DecodeVariant kDecodeAutoVariant = DecodeVariant::BalancedTma;
// The share of each split's tiles (percent) that goes to the tail pool (DecodePlanOptions::pool_percent overrides).
constexpr int kDecodePoolPercent = 10;

struct DecodeParams {
  DType dtype = DType::F16;              // F16 or BF16: the cache, Q and O storage
  int64_t batch = 0, q_heads = 0, kv_heads = 0, head_dim = 0;
  int64_t max_len = 0;                   // the longest sequence; sets the split plan
  const int32_t* seq_lens = nullptr;     // device [batch], each 1..max_len
  float scale = 0;                       // softmax scale (1/√d usually)
  const void* q = nullptr;               // device [batch][q_heads][d]
  void* o = nullptr;                     // device [batch][q_heads][d]
  const void* k = nullptr;               // contiguous: [batch][kv_heads][capacity][d]; paged: [pages][kv_heads][P][d]
  const void* v = nullptr;               //   (the dense layouts; other orders through the strides below)
  int64_t capacity = 0;                  // contiguous: rows reserved per (sequence, KV head)
  // Element strides of K and V (the same for both): between sequences (contiguous) or pages (paged), between KV heads,
  // between tokens; a row's d elements are adjacent. All 0: the dense layout above (kv_heads·capacity·d or
  // kv_heads·P·d, capacity·d or P·d, d). Else each a multiple of 8 elements (16 bytes) and stride_row >= d, so
  // e.g. token-major caches ([batch][capacity][kv_heads][d]: stride_row = kv_heads·d, stride_head = d) are read in
  // place. Tensor copies (balanced-tma) need the dense nesting (padding allowed); other layouts run as balanced.
  int64_t stride_sequence = 0, stride_head = 0, stride_row = 0;
  int64_t page_tokens = 0;               // P > 0: paged cache
  const int32_t* block_table = nullptr;  // paged: device [batch][max_pages]
  int64_t max_pages = 0, pool_pages = 0;
  // Workspace of plan.workspace_bytes (splits > 1): counters (decode_counter_bytes: tiles claimed from the pool,
  // splits arrived and departed at the in-grid merge), then the partials. The counters must be zero before the
  // first launch (fill them with 0 once after allocating); each launch leaves them zero. Reusing one workspace for
  // plans of different split counts is fine (the counters come first).
  float* partials = nullptr;
  // Diagnostics (nullptr: off; non-null launches the instrumented kernel). Per CTA (linear id split + splits·(y +
  // Y·sequence)) kDecodeTimelineFields values, written by its thread 0: see DecodeTimelineField. Then, for the
  // reduction kernel (if launched), per head its (begin, end). Times are %globaltimer ns. Size:
  // decode_timeline_words(plan, batch, kv_heads, q_heads).
  uint64_t* timeline = nullptr;
};

// What one CTA's timeline row holds (indices), then kDecodeTimelineTiles times at which each tile was visible.
enum DecodeTimelineField : int {
  kTimelineSm = 0,         // %smid
  kTimelineEntry,          // kernel entry
  kTimelineFirstTile,      // the first tile landed and passed the barrier
  kTimelineLoopEnd,        // the last tile's P·V done
  kTimelinePartials,       // the CTA's (m, l, acc) (or O) written
  kTimelineMergeBegin,     // in-grid merge: every split arrived (else = partials)
  kTimelineEnd,            // the CTA's last instruction
  kTimelineTiles,          // tiles this CTA streamed
  kTimelineHeader          // first per-tile entry
};
constexpr int kDecodeTimelineTiles = 64;
constexpr int kDecodeTimelineFields = kTimelineHeader + kDecodeTimelineTiles;

// What plan_decode is asked for beyond the shapes (explicit options; tests and `attnscope decode` set them).
struct DecodePlanOptions {
  int force_splits = 0;                  // > 0: this many splits instead of the planned count (tests)
  DecodeVariant variant = DecodeVariant::Auto;
  int probe = 0;                         // DecodeProbe bits (core/decode_options.hpp): the instrumented kernel
  int pool_percent = -1;                 // 0..100, -1: kDecodePoolPercent
};

struct DecodeLaunchPlan {
  int splits = 1;
  int64_t tiles_per_split = 1;
  int heads_per_cta = 1, head_blocks = 1, m_tiles = 1;
  DecodeVariant variant = DecodeVariant::Auto;  // the one used (never Auto after plan_decode)
  int warps = 4;                         // per CTA: 4, or 8 for groups > 16 (m_tiles >= 2)
  int stages = kDecodeStages;            // K/V tiles in the shared-memory ring
  bool grid_merge = false;               // splits > 1 and the grid resident in one wave: merged in the grid
  int pool_static_tiles = -1;            // tiles of each split's range its CTA streams alone (-1: no pool)
  int probe = 0;                         // DecodeProbe bits (experiments; 0 in normal use)
  int ctas_per_sm = 1, sm_count = 1;
  int shared_bytes = 0;
  double wave_efficiency = 1;
  bool dynamic_tiles = false;            // the tail pool's shared claims (m_tiles >= 2 and splits > 1)
  bool tensor_copies = false;            // balanced-tma on sm_90+ with the deep ring: tiles by the copy engine
  uint64_t workspace_bytes = 0;          // splits > 1: counters + batch·q_heads·splits·(d + 2) floats of partials
};

// The strides DecodeParams describes (its own, or the dense layout's when they are 0): {sequence or page, head, row}.
struct DecodeStrides {
  int64_t sequence = 0, head = 0, row = 0;
};
DecodeStrides decode_strides(const DecodeParams& p);

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
// An invalid option (pool percent outside 0..100) throws std::invalid_argument.
DecodeLaunchPlan plan_decode(const DecodeParams& p, const DeviceInfo& device, const DecodePlanOptions& options = {});
// Launches the decode kernel (and the reduction when the splits are not merged in the grid). The instrumented
// kernel runs when plan.probe != 0 or p.timeline is set. Throws std::invalid_argument on invalid params.
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
  int64_t stride_sequence = 0, stride_head = 0, stride_row = 0;  // DecodeParams' strides (0: dense)
  DecodePlanOptions options;             // forced splits, variant (Auto: kDecodeAutoVariant), pool percent
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
// The decode loop (kv_cache.hpp) on the device, with the copy bandwidth measured in the same call; request.options
// choose the variant, instruments and timing (core/decode_options.hpp).
DecodeLoopResult run_decode_loop_cuda(const DecodeLoopRequest& request, const DeviceInfo& device, void* stream);

}  // namespace attnscope::kernels
