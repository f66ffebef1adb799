// kv_cache.hpp — the KV cache of autoregressive decoding: a paged cache model (block table, page pool,
// growth page by page), its sizes per token / per layer / per model, the split-K plan of flash-decoding, the
// CPU twin of the paged decode kernel, and the decode loop (append K/V -> decode, measured per token).
//
// Contents
//   page sizes           page_size_problem: a power of two in [kMinPageTokens, kMaxPageTokens]
//   PagedKvCache         the block table: which physical page holds tokens [p·P, (p+1)·P) of a sequence
//   PagedKvStore         PagedKvCache plus host float storage, laid out as the GPU pool
//   QuantKvStore         PagedKvCache plus fp8/int8 codes, per-group scales and the open group's fp16 staging
//                        (formats and the append rule: kv_quant.hpp)
//   decode_paged_cpu     the CPU twin of the paged decode kernel (split-K, GQA groups, merge)
//   decode_quant_cpu     the same twin over a QuantKvStore: each tile's rows dequantised after the load
//   plan_decode_splits   how many splits of the cache flash-decoding launches (from L and the SM count)
//   sizes                KvFootprint: bytes per token, per sequence at L, sequences that fit in free memory
//   decode loop          DecodeLoopRequest / DecodeLoopResult, run_cpu_decode_loop
//
// Layouts (row-major, P = page_tokens, d = head_dim, Hkv = kv_heads):
//   paged pool        K and V each [pages][Hkv][P][d]: one page holds P tokens of every KV head of one layer
//   block table       [sequence][max_pages] int32 physical page ids (unused entries -1)
//   contiguous cache  K and V each [batch][Hkv][capacity][d], capacity >= every sequence's length
//   query / output    [batch][q_heads][d]: one new token per sequence; query head h reads KV head h / G,
//                     G = q_heads / kv_heads (MHA: G = 1, GQA: 1 < G < q_heads, MQA: kv_heads = 1)
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/decode_options.hpp"
#include "core/kv_quant.hpp"
#include "core/spec.hpp"

namespace attnscope {

class ThreadPool;

// ---- page sizes ----
constexpr int64_t kMinPageTokens = 16;
constexpr int64_t kMaxPageTokens = 256;
// Empty when `page_tokens` is a power of two in [16, 256]; else the problem in words.
std::string page_size_problem(int64_t page_tokens);

// ---- the block table ----
// Pages are handed out from a free list; sequences appended in turn get interleaved pages, as in a serving
// system. With a non-zero shuffle seed the free list starts in a random order (tests: block tables that are
// nowhere near the identity).
class PagedKvCache {
 public:
  PagedKvCache() = default;
  PagedKvCache(int64_t sequences, int64_t page_tokens, int64_t pool_pages, uint64_t shuffle_seed = 0);

  struct Append {
    bool ok = false;
    int64_t new_pages = 0;  // pages this append took from the pool
    std::string error;      // pool exhausted: how many pages were needed and how many were free
  };
  // Grows sequence `seq` by `tokens`, taking a page whenever the last one is full. All or nothing.
  Append append(int64_t seq, int64_t tokens);
  void release(int64_t seq);  // the sequence's pages go back to the pool; its length becomes 0

  int64_t sequences() const { return static_cast<int64_t>(tables_.size()); }
  int64_t page_tokens() const { return page_tokens_; }
  int64_t pool_pages() const { return pool_pages_; }
  int64_t pages_in_use() const { return pool_pages_ - static_cast<int64_t>(free_.size()); }
  int64_t free_pages() const { return static_cast<int64_t>(free_.size()); }
  int64_t length(int64_t seq) const { return lengths_[static_cast<size_t>(seq)]; }
  int64_t max_length() const;
  const std::vector<int32_t>& block_table(int64_t seq) const { return tables_[static_cast<size_t>(seq)]; }
  // Tokens reserved but not yet written: the unused rows of every sequence's last page.
  int64_t slack_tokens() const;
  // Physical page and row of token `pos` of sequence `seq` (pos < length(seq)).
  int32_t page_of(int64_t seq, int64_t pos) const { return block_table(seq)[static_cast<size_t>(pos / page_tokens_)]; }
  int64_t row_of(int64_t pos) const { return pos % page_tokens_; }
  // The block table as a [sequences][max_pages] matrix, -1 where a sequence has fewer pages (GPU upload).
  std::vector<int32_t> block_table_matrix(int64_t max_pages) const;

 private:
  int64_t page_tokens_ = 0, pool_pages_ = 0;
  std::vector<int32_t> free_;  // taken from the back
  std::vector<std::vector<int32_t>> tables_;
  std::vector<int64_t> lengths_;
};

// Pages needed to hold `tokens` tokens: ⌈tokens / P⌉.
inline int64_t pages_for(int64_t tokens, int64_t page_tokens) { return (tokens + page_tokens - 1) / page_tokens; }

// ---- host storage in the GPU pool's layout (the CPU twin and the tests) ----
struct PagedKvStore {
  PagedKvCache table;
  int64_t kv_heads = 0, head_dim = 0;
  std::vector<float> k, v;  // [pool_pages][kv_heads][page_tokens][head_dim]

  PagedKvStore() = default;
  PagedKvStore(int64_t sequences, int64_t kv_heads, int64_t head_dim, int64_t page_tokens, int64_t pool_pages,
               uint64_t shuffle_seed = 0);
  // Appends one token of sequence `seq`: k_new and v_new hold [kv_heads][head_dim]. False when the pool is full.
  bool append_token(int64_t seq, const float* k_new, const float* v_new, std::string* error);
  size_t offset(int32_t page, int64_t kvh, int64_t row) const {
    return static_cast<size_t>(((page * kv_heads + kvh) * table.page_tokens() + row) * head_dim);
  }
  const float* k_row(int64_t seq, int64_t kvh, int64_t pos) const {
    return k.data() + offset(table.page_of(seq, pos), kvh, table.row_of(pos));
  }
  const float* v_row(int64_t seq, int64_t kvh, int64_t pos) const {
    return v.data() + offset(table.page_of(seq, pos), kvh, table.row_of(pos));
  }
};

// ---- a quantised store (fp8 or int8) in the GPU pool's layout ----
// Codes: K and V each [pool_pages][kv_heads][page_tokens][head_dim] bytes, as the float pool. Scales: K and V each
// [sequence][kv_heads][max_groups] fp32, indexed by the token's group g = pos / G within its sequence (not by page:
// a group may span pages when G > P, or a page hold several groups). Staging: K and V each
// [sequence][kv_heads][G][head_dim] fp16 values (held as floats) of the open group; a token at pos is read from
// there when pos >= closed_tokens(seq). A contiguous cache is this store with one page of `capacity` tokens per
// sequence (page b holds sequence b when the sequences are appended in order).
struct QuantKvStore {
  PagedKvCache table;
  KvDtype dtype = KvDtype::Fp8E4M3;
  int64_t kv_heads = 0, head_dim = 0, group = kDefaultKvGroup, max_groups = 0;
  std::vector<uint8_t> k_codes, v_codes;
  std::vector<float> k_scales, v_scales;
  std::vector<float> k_open, v_open;

  QuantKvStore() = default;
  // `capacity`: the most tokens one sequence may hold (sizes the scale table).
  QuantKvStore(KvDtype dtype, int64_t group, int64_t sequences, int64_t kv_heads, int64_t head_dim,
               int64_t page_tokens, int64_t pool_pages, int64_t capacity, uint64_t shuffle_seed = 0);
  // Appends one token: k_new and v_new hold [kv_heads][head_dim]. Each value is rounded to fp16 into the staging
  // block; when the token completes its group, the group is quantised (scale from its max |x|) into the pool.
  // False, with nothing stored, when a value is not finite (NaN or ±inf: the scale would be meaningless), the
  // sequence is at its capacity or the pool is full.
  bool append_token(int64_t seq, const float* k_new, const float* v_new, std::string* error);
  int64_t closed_tokens(int64_t seq) const { return table.length(seq) / group * group; }
  size_t offset(int32_t page, int64_t kvh, int64_t row) const {
    return static_cast<size_t>(((page * kv_heads + kvh) * table.page_tokens() + row) * head_dim);
  }
  size_t scale_index(int64_t seq, int64_t kvh, int64_t pos) const {
    return static_cast<size_t>((seq * kv_heads + kvh) * max_groups + pos / group);
  }
  size_t open_offset(int64_t seq, int64_t kvh, int64_t pos) const {
    return static_cast<size_t>(((seq * kv_heads + kvh) * group + pos % group) * head_dim);
  }
  // The values the decode reads for token pos (dequantised codes, or the staged fp16 values): head_dim floats.
  void k_row(int64_t seq, int64_t kvh, int64_t pos, float* out) const;
  void v_row(int64_t seq, int64_t kvh, int64_t pos, float* out) const;
  // Bytes the cache of one sequence occupies now, as the GPU would hold it: codes of its pages, its groups' scales
  // (closed ones) and the staging block.
  double bytes_held(int64_t seq) const;
};

// ---- split-K (flash-decoding) plan ----
// The decode kernel launches base_ctas = batch · kv_heads · head_blocks CTAs per split. With few of them (MQA,
// small batch) one split leaves most SMs idle, so the cache is cut into `splits` ranges processed in parallel
// and merged by a reduction. For each candidate s the wave efficiency is
//   e(s) = (base·s / slots) / ⌈base·s / slots⌉        (slots = SMs × CTAs resident per SM)
// and the smallest s with e(s) ≥ 0.95 · max e is chosen (more splits cost partial-state traffic, an unfilled wave
// leaves SMs idle; docs/journal/decode.md has the measurements behind the rule), bounded so a split holds at least
// min_tiles_per_split tiles of tile_tokens keys.
struct DecodeSplitPlan {
  int splits = 1;
  int64_t tiles_per_split = 1;  // splits cover [s·tiles_per_split, (s+1)·tiles_per_split) tiles
  double wave_efficiency = 1;
};
DecodeSplitPlan plan_decode_splits(int64_t base_ctas, int64_t max_len, int64_t tile_tokens, int64_t slots,
                                   int64_t min_tiles_per_split = 4, int max_splits = 128);

// ---- the CPU twin of the paged decode kernel ----
// out[b][h][:] = softmax(scale · q[b][h] · K_bᵀ) V_b over the sequence's cached tokens, K_b and V_b read through
// the block table. One task per (sequence, KV head, split): the G query heads of the group are processed
// together (each cached row read once per group), each task keeps (m, l, acc) per head, and the splits are
// merged with merge_online_softmax, as the GPU's reduction kernel does. Every output element is written.
// Returns an empty string, or the problem (q_heads not a multiple of kv_heads, an empty sequence, ...).
std::string decode_paged_cpu(const PagedKvStore& cache, const float* q, int64_t q_heads, double scale, float* out,
                             ThreadPool& pool, int splits = 0 /* 0: from plan_decode_splits for the pool */);

// The twin over a quantised store: the same split-K / GQA / merge structure as decode_paged_cpu; each tile of rows
// is dequantised once per (sequence, KV head, split) task after it is read, then shared by the group's query heads.
std::string decode_quant_cpu(const QuantKvStore& cache, const float* q, int64_t q_heads, double scale, float* out,
                             ThreadPool& pool, int splits = 0);

// ---- sizes ----
// Per layer: a token stores one K and one V row per KV head: 2 · Hkv · d · e bytes.
struct KvFootprint {
  double bytes_per_token_layer = 0;   // 2·Hkv·d·e
  double bytes_per_token = 0;         // 2·L·Hkv·d·e (all layers)
  double bytes_per_sequence = 0;      // at context N, contiguous: 2·L·Hkv·d·e·N
  double bytes_per_sequence_paged = 0;  // paged: ⌈N/P⌉·P tokens reserved
  int64_t sequences_fit = 0;          // ⌊free / bytes_per_sequence_paged⌋ (contiguous when P = 0)
  double staging_bytes_per_sequence = 0;  // quantised: the open group's fp16 block, 2·L·Hkv·G·d·2 (in the two above)
};
KvFootprint kv_footprint(int64_t layers, int64_t kv_heads, int64_t head_dim, DType dtype, int64_t context,
                         int64_t page_tokens, double free_bytes);
// A cache of element type `kv` with scale groups of G tokens: bytes per token include the scales (2·Hkv·(d + 4/G)
// per layer for fp8/int8), and a sequence adds its staging block. fp16 gives the DType::F16 figures.
KvFootprint kv_footprint(int64_t layers, int64_t kv_heads, int64_t head_dim, KvDtype kv, int64_t group,
                         int64_t context, int64_t page_tokens, double free_bytes);

// ---- the decode loop ----
// T = context − prefill steps of: append one K/V row per sequence and KV head (the cache grows; the paged one
// takes a page when the last is full) → decode one query per head against the whole cache. Every
// `measure_every`-th step (and the last) is timed: `repetitions` decodes, median. One layer.
struct DecodeLoopRequest {
  int64_t batch = 1, q_heads = 32, kv_heads = 8, head_dim = 128;
  DType dtype = DType::F16;      // cache storage on the GPU (the CPU twin stores fp32 and says so)
  int64_t page_tokens = 16;      // 0: contiguous cache, reserved for the whole context up front
  int64_t context = 4096;        // each sequence's length at the end
  int64_t prefill = 0;           // tokens written in one bulk fill before the loop (a prompt)
  int64_t measure_every = 1;
  int repetitions = 1;
  uint64_t seed = 1;
  DecodeBenchOptions options;    // kernel variant, instruments, timing mode (CUDA; the CPU twin ignores them)
  KvDtype kv_dtype = KvDtype::F16;  // fp8 / int8: a quantised cache (kv_quant.hpp); fp16: `dtype` decides
  int64_t kv_group = kDefaultKvGroup;  // tokens per scale (quantised caches), a power of two 1..4096
};
// Empty when the request is valid; else one sentence per problem.
std::vector<std::string> validate(const DecodeLoopRequest& request);

struct DecodeStepSample {
  int64_t context = 0;             // cache length the decode read
  double decode_ms = 0;            // median of the timed decodes
  std::vector<double> decode_samples_ms;  // every timed decode (Timing::from_samples gives its spread)
  double append_ms = 0;            // the append of this step
  double kv_bytes_read = 0;        // K and V bytes one decode reads: 2·B·Hkv·context·d·e_storage
  double achieved_gbs = 0;         // kv_bytes_read / decode time / 1e9
  uint64_t cache_bytes = 0;        // memory holding the cache now: pages in use (paged) or the reservation
  int64_t pages_in_use = 0;
  int splits = 1;
};

struct DecodeLoopResult {
  bool ok = false;
  std::string error;
  bool out_of_memory = false;
  uint64_t bytes_needed = 0, bytes_free = 0;
  std::string backend, device;
  std::string storage;             // "fp16", or "fp32 (CPU twin)"
  int storage_bytes = 2;           // e of the bytes counted
  std::vector<DecodeStepSample> samples;
  uint64_t pool_bytes = 0;         // paged: the page pool reserved; contiguous: the whole cache
  uint64_t workspace_bytes = 0;    // split partials, block table, query and output
  double copy_gbs = 0;             // device-to-device copy bandwidth measured in the same run (0: not measured)
  // Quantised caches: the same tokens are also kept in an fp16 cache and the last step decoded from both; the output
  // error of the quantised cache against the fp16 one (max |o − o16|, and ‖o − o16‖₂ / ‖o16‖₂ over every output).
  std::string kv_dtype = "fp16";
  double bytes_per_token_layer = 0;  // as the GPU stores it (kv_bytes_per_token_layer), scales included
  bool error_measured = false;
  double error_max_abs = 0, error_rel_l2 = 0;
  double read_gbs = 0;             // a read-only kernel streaming as many bytes as the last decode read, L2 flushed
                                   // first, in the same run: what a pure read of the cache reaches (0: not measured)
};

// The loop on the CPU twin (paged or contiguous), multithreaded. threads <= 0: hardware concurrency.
DecodeLoopResult run_cpu_decode_loop(const DecodeLoopRequest& request, int threads = 0);

}  // namespace attnscope
