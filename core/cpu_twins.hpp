// cpu_twins.hpp — the CPU twins of the attention kernels, in float32, multithreaded and cache-tiled.
// Each computes the same function as reference_attention (reference.hpp) the way its GPU kernel does:
//
//   naive         S = scale·QKᵀ and P = softmax(S) materialised for one head at a time, then O = PV
//   flash         FlashAttention-2 order: one task per (batch, head, Q tile); K/V tiles streamed in order;
//                 online softmax per row; O written once. Every tile visited; masked per element.
//   flash1        FlashAttention-1 order: for each K/V tile (outer, one pass), every Q tile (inner) reads
//                 its O_i, m_i, l_i, folds the tile in and writes them back (O normalised after every pass).
//   block-sparse  flash over the block mask: empty tiles skipped, per-element masking on partial tiles only.
//   gathered      per Q tile only the keys some row may use (GatheredMask), in chunks of Bc gathered keys.
//                 Block-sparse and gathered split long visit lists (TwinOptions::visit_split, the rule in
//                 visit_schedule.hpp): each piece is a task leaving (m, l, acc) in a partials buffer, then one
//                 task per split Q tile merges its pieces (merge_online_softmax) and writes O.
//   decode        the q_len (typically 1) newest queries of each sequence against the KV cache; the query
//                 heads sharing a KV head (GQA group; all heads for MQA) are processed together so each
//                 K/V row is read once per group; the cache is split across workers (split-KV) and the
//                 partial (m, l, acc) states are merged (online_softmax.hpp).
// Traces (trace.hpp): one CtaRecord per task. flash / block-sparse: per (batch, head, Q tile), visits = K/V
// tiles in order. flash1: per (batch, head, Q tile, K/V tile) update, in pass order. gathered: visits are
// chunks of the gathered key list. decode: per (batch, KV head, split), head = KV head, q_tile = split.
// Probes (flash, flash1, block-sparse, gathered): rows of batch 0, head 0; one step per visited tile.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/backend.hpp"
#include "core/reference.hpp"
#include "core/thread_pool.hpp"
#include "core/trace.hpp"
#include "core/visit_schedule.hpp"

namespace attnscope {

struct TwinOptions {
  TileConfig tiles;
  bool record_trace = false;
  std::vector<int32_t> probe_rows;
  std::string device;  // for the trace header
  uint64_t memory_limit_bytes = 0;  // naive's S and P must fit in this; 0 = what the OS reports available
  // When given, naive keeps S and P here and reuses them on the next call (as a framework's caching allocator
  // does across iterations), so repeated runs time the computation rather than the OS mapping fresh pages.
  std::vector<float>* naive_workspace = nullptr;
  // block-sparse and gathered: split Q tiles with long visit lists (core/visit_schedule.hpp's rule) into pieces that
  // run as separate tasks and are merged by the log-sum-exp rule. Traced runs are never split.
  VisitSplit visit_split = VisitSplit::Auto;
};

struct TwinResult {
  bool ok = false;
  std::string error;
  bool out_of_memory = false;
  uint64_t bytes_needed = 0, bytes_free = 0;
  uint64_t bytes_allocated = 0;  // beyond inputs and output: S/P, per-worker tiles, gathered lists, partials
  int64_t fully_masked_rows = 0;
  int64_t split_q_tiles = 0;  // Q tiles whose visit list ran in pieces (block-sparse, gathered)
  std::optional<Trace> trace;
};

// Algorithms with a CPU twin (Reference is handled by the backend itself).
bool has_cpu_twin(Algorithm algorithm);

// Computes O into out (q_elements floats, every element written). The inputs must satisfy validate().
TwinResult run_cpu_twin(Algorithm algorithm, const AttentionInputs& in, const TwinOptions& options, ThreadPool& pool,
                        float* out);

// Largest q_len the decode twin accepts (it is the one-new-token path; use flash for prefill).
constexpr int64_t kDecodeMaxQueries = 64;

// Bytes of memory the OS says are available (MemAvailable), or 0 when unknown.
uint64_t available_memory_bytes();

}  // namespace attnscope
