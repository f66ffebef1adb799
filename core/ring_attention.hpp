// ring_attention.hpp — ring attention (context parallelism) on W simulated ranks: the schedule, a CPU twin that
// runs it and merges partial results by the log-sum-exp rule, and a modelled timeline of compute and transfers.
//
// Split of a sequence of N tokens into C chunks (C = W for the plain ring, C = 2W for zigzag):
//   chunk c covers [⌊c·N/C⌋, ⌊(c+1)·N/C⌋)   — sizes differ by at most one token; N < C leaves some chunks empty.
//   plain:  rank r holds chunk r                    (its queries and its K/V shard)
//   zigzag: rank r holds chunks r and 2W−1−r        (one early and one late chunk, so causal work evens out)
// At step s = 0..W−1 rank r holds the K/V shard of rank (r − s) mod W (shards travel one hop r → r+1 per step)
// and computes attention of its queries against it. A rank holding no tokens (N < C) computes nothing, forwards
// empty shards and its queries do not exist; every other rank's output is unaffected.
//
// Blocks: a (query chunk, key chunk) pair of one rank at one step. Under the causal mask (key ≤ query, positions
// absolute) a block whose first key lies after its last query is skipped (fully masked), one whose last key is
// at or before its first query is full, the rest (the diagonal) partial. Work = allowed (query, key) pairs.
//
// Imbalance: every step needs the shard the previous step forwarded, so the ring advances at its slowest rank:
//   imbalance = Σ_s max_r work(r, s) / Σ_s mean_r work(r, s)          (1 = perfectly balanced)
// Plain causal with N = W·c: ((2W−1)·c + 1) / (W·c + 1) → 2 − 1/W. Zigzag causal with N divisible by 2W:
// every rank does the same work at every step, so exactly 1 (derivation in docs/design/ring-attention.md).
//
// Merge of partials (O_a, lse_a) and (O_b, lse_b) of one query row, in fp32:
//   lse = max + log(exp(lse_a − max) + exp(lse_b − max)),  O = exp(lse_a − lse)·O_a + exp(lse_b − lse)·O_b
// A fully masked partial has lse = −inf and contributes nothing; a row masked at every step ends with lse = −inf
// and its output zeros (reference.hpp's fully masked row convention).
//
// The CPU twin computes each (rank, step) with the flash tile loop (Br × Bc tiles, online softmax) and times it,
// with its merge, by the steady clock; transfers are not performed (every rank reads the shared K/V) but modelled:
//   transfer time = shard bytes (K and V, all batches and KV heads, spec.dtype) / link bandwidth (GB/s = 1e9 B/s).
// A GPU implementation (NCCL send/recv) fills the same RingRun with measured times instead.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/reference.hpp"
#include "core/thread_pool.hpp"

namespace attnscope {

enum class RingSchedule { Plain, Zigzag };
const char* ring_schedule_name(RingSchedule s);  // "plain", "zigzag"
std::optional<RingSchedule> parse_ring_schedule(std::string_view s);

constexpr int kRingMaxRanks = 64;
constexpr double kRingDefaultLinkGBs = 450.0;  // NVLink 4 (H100/H200), GB/s per direction

struct SeqRange {
  int64_t begin = 0, end = 0;
  int64_t size() const { return end - begin; }
};

enum class RingBlockKind { Skipped, Partial, Full };
const char* ring_block_kind_name(RingBlockKind k);  // "skipped", "partial", "full"

// One (query chunk, key chunk) pair computed by `rank` at `step` (blocks with an empty chunk are not listed).
struct RingBlock {
  int rank = 0, step = 0;
  int q_chunk = 0, k_chunk = 0;
  SeqRange q, k;
  RingBlockKind kind = RingBlockKind::Full;
  int64_t allowed_pairs = 0;
};

struct RingPlan {
  int ranks = 0;
  int64_t n = 0;
  RingSchedule schedule = RingSchedule::Plain;
  bool causal = false;
  std::vector<SeqRange> chunks;            // C chunks in sequence order
  std::vector<std::vector<int>> rank_chunks;  // per rank, its chunk indices in sequence order
  std::vector<RingBlock> blocks;           // ordered by step, then rank, then query chunk, then key chunk
  std::vector<int64_t> work;               // allowed pairs of rank r at step s: work[s·ranks + r]

  int chunk_count() const { return static_cast<int>(chunks.size()); }
  // The rank whose K/V shard rank r holds at step s: (r − s) mod W.
  int shard_owner(int rank, int step) const { return ((rank - step) % ranks + ranks) % ranks; }
  int64_t work_at(int rank, int step) const { return work[static_cast<size_t>(step * ranks + rank)]; }
  int64_t tokens_of(int rank) const;       // query (and K/V) tokens rank r holds
  int64_t total_work() const;              // Σ allowed pairs: N·(N+1)/2 causal, N² dense
  int64_t rank_work(int rank) const;       // Σ_s work(rank, s)
  double imbalance() const;                // Σ_s max_r work / Σ_s mean_r work; 1 when there is no work
};

// Every problem with (ranks, n) in words; empty when valid. ranks 1..64, n ≥ 1 (n < ranks is allowed here:
// some ranks hold nothing; the CLI refuses it).
std::vector<std::string> validate_ring(int ranks, int64_t n);
// The schedule. Requires validate_ring(ranks, n) to be empty.
RingPlan plan_ring(int ranks, int64_t n, RingSchedule schedule, bool causal);

// ---- timeline ---------------------------------------------------------------------------------------------------

// Per rank and step, in milliseconds from the start of step 0 (simulated ranks: compute measured, transfers
// modelled). Model: each rank double-buffers; at the start of step s it begins sending the shard it holds to rank
// r+1 (as soon as that rank has a free buffer: it finished step s−1, and the link finished the previous send);
// rank r starts step s+1 when its compute of step s is done and the next shard has arrived.
struct RingStepTimes {
  double start_ms = 0, compute_ms = 0, end_ms = 0;     // compute interval [start, end)
  double recv_start_ms = 0, recv_end_ms = 0;           // the shard used at step s+1 arriving (0, 0 at the last step)
  double wait_ms = 0;        // end of step s compute → start of step s+1 (waiting for the shard)
  double exposed_transfer_ms = 0;  // the part of that wait spent on the transfer itself (≤ its duration)
};

struct RingRankTimes {
  std::vector<RingStepTimes> steps;
  double compute_ms = 0;     // Σ compute
  double transfer_ms = 0;    // Σ received transfer durations
  double wait_ms = 0;        // Σ waits between steps
  double idle_end_ms = 0;    // finished before the slowest rank: makespan − end of the last step
  double idle_ms() const { return wait_ms + idle_end_ms; }
};

struct RingTimeline {
  double link_gbs = kRingDefaultLinkGBs;
  std::vector<RingRankTimes> ranks;
  double makespan_ms = 0;
  double transfer_ms = 0;          // Σ over every transfer
  double exposed_transfer_ms = 0;  // Σ of the transfers' parts not hidden behind compute
  // Share of transfer time overlapped with compute: 1 − exposed / transfer (1 when nothing was transferred).
  double overlap_share() const;
};

// Bytes of rank r's K/V shard: 2 (K and V) · batch · kv_heads · tokens · head_dim · dtype bytes.
uint64_t ring_shard_bytes(const RingPlan& plan, const AttentionSpec& spec, int rank);
// The timeline from compute times compute_ms[s·W + r] and the shards' transfer times (bytes / link_gbs·1e9).
RingTimeline ring_timeline(const RingPlan& plan, const AttentionSpec& spec, const std::vector<double>& compute_ms,
                           double link_gbs);

// ---- the run ------------------------------------------------------------------------------------------------

struct RingOptions {
  int64_t br = 64, bc = 64;     // flash tile sizes
  double link_gbs = kRingDefaultLinkGBs;
};

struct RingRun {
  bool ok = false;
  std::string error;
  std::string ran_on;               // "CPU twin, simulated ranks" (a GPU run names its devices)
  RingPlan plan;
  std::vector<float> output;        // Q's layout; every element written
  int64_t fully_masked_rows = 0;    // (batch, head, row) whose every key is masked
  std::vector<double> compute_ms;   // [s·W + r], measured with the steady clock (simulated ranks)
  RingTimeline timeline;
};

// Attention of `in` split over simulated ranks. The spec must be self-attention (q_len == kv_len == N) with a
// dense or causal mask (no other mask terms); its mask's causal flag picks causal. Requires validate_ring.
RingRun run_ring_attention(const AttentionInputs& in, int ranks, RingSchedule schedule, const RingOptions& options,
                           ThreadPool& pool);
// Why run_ring_attention cannot take this spec, or "" when it can.
std::string ring_spec_problem(const AttentionSpec& spec);

// Max |a − b| over the elements (sizes must match).
double ring_max_abs_error(const std::vector<float>& a, const std::vector<double>& b);

}  // namespace attnscope
