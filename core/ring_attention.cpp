// ring_attention.cpp — the ring schedule, its CPU twin on simulated ranks and the modelled timeline
// (ring_attention.hpp has the math).
#include "core/ring_attention.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <mutex>

#include "core/backend.hpp"
#include "core/online_softmax.hpp"
#include "core/tile_kernels.hpp"

namespace attnscope {

namespace {
constexpr float kNegInf = -std::numeric_limits<float>::infinity();
}

const char* ring_schedule_name(RingSchedule s) { return s == RingSchedule::Zigzag ? "zigzag" : "plain"; }

std::optional<RingSchedule> parse_ring_schedule(std::string_view s) {
  if (s == "plain") return RingSchedule::Plain;
  if (s == "zigzag") return RingSchedule::Zigzag;
  return std::nullopt;
}

const char* ring_block_kind_name(RingBlockKind k) {
  switch (k) {
    case RingBlockKind::Skipped: return "skipped";
    case RingBlockKind::Partial: return "partial";
    case RingBlockKind::Full: return "full";
  }
  return "?";
}

// ---- schedule -----------------------------------------------------------------------------------------------

int64_t RingPlan::tokens_of(int rank) const {
  int64_t t = 0;
  for (int c : rank_chunks[static_cast<size_t>(rank)]) t += chunks[static_cast<size_t>(c)].size();
  return t;
}

int64_t RingPlan::total_work() const {
  int64_t t = 0;
  for (int64_t w : work) t += w;
  return t;
}

int64_t RingPlan::rank_work(int rank) const {
  int64_t t = 0;
  for (int s = 0; s < ranks; ++s) t += work_at(rank, s);
  return t;
}

double RingPlan::imbalance() const {
  double slowest = 0, mean = 0;
  for (int s = 0; s < ranks; ++s) {
    int64_t step_max = 0, step_sum = 0;
    for (int r = 0; r < ranks; ++r) {
      step_max = std::max(step_max, work_at(r, s));
      step_sum += work_at(r, s);
    }
    slowest += static_cast<double>(step_max);
    mean += static_cast<double>(step_sum) / ranks;
  }
  return mean > 0 ? slowest / mean : 1.0;
}

std::vector<std::string> validate_ring(int ranks, int64_t n) {
  std::vector<std::string> problems;
  if (ranks < 1 || ranks > kRingMaxRanks)
    problems.push_back("ranks " + std::to_string(ranks) + ": must be 1.." + std::to_string(kRingMaxRanks));
  if (n < 1) problems.push_back("sequence length " + std::to_string(n) + ": must be at least 1");
  return problems;
}

namespace {

// Allowed (query, key) pairs of the block q × k and its kind. Causal: key ≤ query.
std::pair<RingBlockKind, int64_t> classify_block(SeqRange q, SeqRange k, bool causal) {
  if (!causal) return {RingBlockKind::Full, q.size() * k.size()};
  if (k.begin > q.end - 1) return {RingBlockKind::Skipped, 0};
  if (k.end - 1 <= q.begin) return {RingBlockKind::Full, q.size() * k.size()};
  int64_t pairs = 0;  // query p sees keys [k.begin, min(p + 1, k.end))
  for (int64_t p = q.begin; p < q.end; ++p) pairs += std::max<int64_t>(0, std::min(p + 1, k.end) - k.begin);
  return {RingBlockKind::Partial, pairs};
}

}  // namespace

RingPlan plan_ring(int ranks, int64_t n, RingSchedule schedule, bool causal) {
  RingPlan plan;
  plan.ranks = ranks;
  plan.n = n;
  plan.schedule = schedule;
  plan.causal = causal;
  const int chunk_count = schedule == RingSchedule::Zigzag ? 2 * ranks : ranks;
  for (int c = 0; c < chunk_count; ++c)
    plan.chunks.push_back({c * n / chunk_count, (c + 1) * n / chunk_count});
  plan.rank_chunks.resize(static_cast<size_t>(ranks));
  for (int r = 0; r < ranks; ++r) {
    if (schedule == RingSchedule::Zigzag) plan.rank_chunks[static_cast<size_t>(r)] = {r, 2 * ranks - 1 - r};
    else plan.rank_chunks[static_cast<size_t>(r)] = {r};
  }
  plan.work.assign(static_cast<size_t>(ranks) * static_cast<size_t>(ranks), 0);
  for (int s = 0; s < ranks; ++s)
    for (int r = 0; r < ranks; ++r) {
      const int owner = plan.shard_owner(r, s);
      for (int qc : plan.rank_chunks[static_cast<size_t>(r)])
        for (int kc : plan.rank_chunks[static_cast<size_t>(owner)]) {
          const SeqRange q = plan.chunks[static_cast<size_t>(qc)], k = plan.chunks[static_cast<size_t>(kc)];
          if (q.size() == 0 || k.size() == 0) continue;
          const auto [kind, pairs] = classify_block(q, k, causal);
          plan.blocks.push_back({r, s, qc, kc, q, k, kind, pairs});
          plan.work[static_cast<size_t>(s * ranks + r)] += pairs;
        }
    }
  return plan;
}

// ---- timeline -----------------------------------------------------------------------------------------------

double RingTimeline::overlap_share() const {
  return transfer_ms > 0 ? 1.0 - exposed_transfer_ms / transfer_ms : 1.0;
}

uint64_t ring_shard_bytes(const RingPlan& plan, const AttentionSpec& spec, int rank) {
  return 2ull * static_cast<uint64_t>(spec.batch * spec.kv_heads * plan.tokens_of(rank) * spec.head_dim) *
         static_cast<uint64_t>(dtype_bytes(spec.dtype));
}

RingTimeline ring_timeline(const RingPlan& plan, const AttentionSpec& spec, const std::vector<double>& compute_ms,
                           double link_gbs) {
  const int W = plan.ranks;
  RingTimeline t;
  t.link_gbs = link_gbs;
  t.ranks.assign(static_cast<size_t>(W), RingRankTimes{});
  for (auto& r : t.ranks) r.steps.assign(static_cast<size_t>(W), RingStepTimes{});
  auto at = [&](int r, int s) -> RingStepTimes& {
    return t.ranks[static_cast<size_t>((r % W + W) % W)].steps[static_cast<size_t>(s)];
  };
  auto transfer_ms = [&](int owner) {
    return static_cast<double>(ring_shard_bytes(plan, spec, owner)) / (link_gbs * 1e9) * 1e3;
  };
  std::vector<double> send_end(static_cast<size_t>(W), 0.0);  // per sender, when its link finished the last send
  for (int s = 0; s < W; ++s) {
    for (int r = 0; r < W; ++r) {
      RingStepTimes& st = at(r, s);
      st.compute_ms = compute_ms[static_cast<size_t>(s * W + r)];
      st.end_ms = st.start_ms + st.compute_ms;
    }
    if (s == W - 1) break;
    // Sends of step s: rank r → r+1, the shard r holds now, into r+1's free buffer.
    std::vector<double> new_send_end(static_cast<size_t>(W));
    for (int r = 0; r < W; ++r) {
      const int next = (r + 1) % W;
      double begin = at(r, s).start_ms;
      begin = std::max(begin, send_end[static_cast<size_t>(r)]);
      if (s > 0) begin = std::max({begin, at(next, s - 1).end_ms, send_end[static_cast<size_t>(next)]});
      const double duration = transfer_ms(plan.shard_owner(r, s));
      RingStepTimes& recv = at(next, s);
      recv.recv_start_ms = begin;
      recv.recv_end_ms = begin + duration;
      new_send_end[static_cast<size_t>(r)] = begin + duration;
      t.ranks[static_cast<size_t>(next)].transfer_ms += duration;
      t.transfer_ms += duration;
    }
    send_end = new_send_end;
    for (int r = 0; r < W; ++r) {
      RingStepTimes& st = at(r, s);
      const double next_start = std::max(st.end_ms, st.recv_end_ms);
      st.wait_ms = next_start - st.end_ms;
      const double duration = st.recv_end_ms - st.recv_start_ms;
      st.exposed_transfer_ms = std::min(st.wait_ms, duration);
      t.exposed_transfer_ms += st.exposed_transfer_ms;
      at(r, s + 1).start_ms = next_start;
    }
  }
  for (auto& r : t.ranks) {
    for (auto& st : r.steps) {
      r.compute_ms += st.compute_ms;
      r.wait_ms += st.wait_ms;
    }
    t.makespan_ms = std::max(t.makespan_ms, r.steps.back().end_ms);
  }
  for (auto& r : t.ranks) r.idle_end_ms = t.makespan_ms - r.steps.back().end_ms;
  return t;
}

// ---- the run ------------------------------------------------------------------------------------------------

std::string ring_spec_problem(const AttentionSpec& spec) {
  if (spec.q_len != spec.kv_len)
    return "ring attention splits one sequence: q_len " + std::to_string(spec.q_len) + " must equal kv_len " +
           std::to_string(spec.kv_len);
  if (!spec.mask.terms.empty() && !spec.mask.is_dense())
    return "ring attention takes a dense or causal mask, not " + spec.mask.short_name();
  if (spec.kv_heads < 1 || spec.q_heads % spec.kv_heads != 0)
    return "q_heads " + std::to_string(spec.q_heads) + " must be a multiple of kv_heads " +
           std::to_string(spec.kv_heads);
  return "";
}

double ring_max_abs_error(const std::vector<float>& a, const std::vector<double>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    const double e = std::abs(static_cast<double>(a[i]) - b[i]);
    worst = std::isnan(e) ? std::numeric_limits<double>::infinity() : std::max(worst, e);
  }
  return worst;
}

namespace {

// One rank's queries: its chunks laid end to end (local token index), per (batch, head) row blocks.
struct RankState {
  std::vector<SeqRange> segments;  // absolute query positions
  std::vector<int64_t> local_begin;
  int64_t tokens = 0;
  std::vector<float> out, lse;     // [(b·H + h)·tokens + t]·d and [(b·H + h)·tokens + t]: merged so far
};

// One query tile (rows [q0, q1) absolute, all in one chunk) of (b, h) against the shard's key chunks, by the
// FlashAttention-2 loop: returns the partial O (normalised) in o_part and its lse (−inf: every key masked).
struct TileScratch {
  std::vector<float> qs, kt, s, acc, m, l;
};

void flash_partial_tile(const AttentionInputs& in, const std::vector<SeqRange>& shard, int64_t b, int64_t h,
                        int64_t q0, int64_t q1, bool causal, int64_t bc, TileScratch& w, float* o_part,
                        float* lse_part) {
  const AttentionSpec& spec = in.spec;
  const int64_t d = spec.head_dim, rows = q1 - q0, kvh = spec.kv_head_of(h);
  const float scale = static_cast<float>(spec.softmax_scale());
  load_scaled(in.q_row(b, h, q0), rows, d, scale, w.qs.data());
  std::fill_n(w.m.begin(), rows, kNegInf);
  std::fill_n(w.l.begin(), rows, 0.0f);
  std::fill_n(w.acc.begin(), rows * d, 0.0f);
  for (const SeqRange& keys : shard)
    for (int64_t k0 = keys.begin; k0 < keys.end; k0 += bc) {
      const int64_t cols = std::min(bc, keys.end - k0);
      if (causal && k0 > q1 - 1) break;  // every later tile of this chunk lies after the last query too
      transpose_rows(in.k_row(b, kvh, k0), cols, d, bc, w.kt.data());
      tile_scores(w.qs.data(), rows, w.kt.data(), bc, cols, d, w.s.data(), bc);
      if (causal && k0 + cols - 1 > q0)  // partial tile: mask key > query per element
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t j = 0; j < cols; ++j)
            if (k0 + j > q0 + r) w.s[static_cast<size_t>(r * bc + j)] = kNegInf;
      for (int64_t r = 0; r < rows; ++r)
        online_softmax_rescale(w.m[static_cast<size_t>(r)], w.l[static_cast<size_t>(r)], w.acc.data() + r * d, d,
                               w.s.data() + r * bc, cols);
      tile_pv(w.s.data(), rows, bc, in.v_row(b, kvh, k0), cols, d, w.acc.data());
    }
  for (int64_t r = 0; r < rows; ++r) {
    const float l = w.l[static_cast<size_t>(r)];
    const float inv = l > 0 ? 1.0f / l : 0.0f;
    for (int64_t c = 0; c < d; ++c) o_part[r * d + c] = w.acc[static_cast<size_t>(r * d + c)] * inv;
    lse_part[r] = l > 0 ? w.m[static_cast<size_t>(r)] + std::log(l) : kNegInf;
  }
}

// (o, lse) ← merge of (o, lse) and (o_b, lse_b) by the log-sum-exp rule, in fp32.
void merge_lse(float* o, float& lse, const float* o_b, float lse_b, int64_t d) {
  if (lse_b == kNegInf) return;
  if (lse == kNegInf) {
    std::copy_n(o_b, d, o);
    lse = lse_b;
    return;
  }
  const float top = std::max(lse, lse_b);
  const float merged = top + std::log(std::exp(lse - top) + std::exp(lse_b - top));
  const float wa = std::exp(lse - merged), wb = std::exp(lse_b - merged);
  for (int64_t c = 0; c < d; ++c) o[c] = wa * o[c] + wb * o_b[c];
  lse = merged;
}

}  // namespace

RingRun run_ring_attention(const AttentionInputs& in, int ranks, RingSchedule schedule, const RingOptions& options,
                           ThreadPool& pool) {
  RingRun run;
  const AttentionSpec& spec = in.spec;
  if (auto problem = ring_spec_problem(spec); !problem.empty()) {
    run.error = problem;
    return run;
  }
  if (auto problems = validate_ring(ranks, spec.q_len); !problems.empty()) {
    run.error = problems.front();
    return run;
  }
  if (options.br < 1 || options.bc < 1 || !(options.link_gbs > 0)) {
    run.error = "tile sizes must be at least 1 and the link bandwidth positive";
    return run;
  }
  const bool causal = spec.mask.causal;
  run.plan = plan_ring(ranks, spec.q_len, schedule, causal);
  const RingPlan& plan = run.plan;
  const int64_t B = spec.batch, H = spec.q_heads, d = spec.head_dim, br = options.br, bc = options.bc;

  std::vector<RankState> state(static_cast<size_t>(ranks));
  for (int r = 0; r < ranks; ++r) {
    RankState& st = state[static_cast<size_t>(r)];
    for (int c : plan.rank_chunks[static_cast<size_t>(r)]) {
      st.segments.push_back(plan.chunks[static_cast<size_t>(c)]);
      st.local_begin.push_back(st.tokens);
      st.tokens += plan.chunks[static_cast<size_t>(c)].size();
    }
    st.out.assign(static_cast<size_t>(B * H * st.tokens * d), 0.0f);
    st.lse.assign(static_cast<size_t>(B * H * st.tokens), kNegInf);
  }
  std::vector<TileScratch> scratch(static_cast<size_t>(pool.size()));
  for (auto& w : scratch) {
    w.qs.resize(static_cast<size_t>(br * d));
    w.kt.resize(static_cast<size_t>(d * bc));
    w.s.resize(static_cast<size_t>(br * bc));
    w.acc.resize(static_cast<size_t>(br * d));
    w.m.resize(static_cast<size_t>(br));
    w.l.resize(static_cast<size_t>(br));
  }
  std::vector<std::vector<float>> part_out(scratch.size(), std::vector<float>(static_cast<size_t>(br * d)));
  std::vector<std::vector<float>> part_lse(scratch.size(), std::vector<float>(static_cast<size_t>(br)));

  run.compute_ms.assign(static_cast<size_t>(ranks * ranks), 0.0);
  for (int s = 0; s < ranks; ++s)
    for (int r = 0; r < ranks; ++r) {
      RankState& st = state[static_cast<size_t>(r)];
      std::vector<SeqRange> shard;
      for (int c : plan.rank_chunks[static_cast<size_t>(plan.shard_owner(r, s))])
        if (plan.chunks[static_cast<size_t>(c)].size() > 0) shard.push_back(plan.chunks[static_cast<size_t>(c)]);
      // Tasks: (batch, head, query tile) over the rank's segments, tiles never crossing a segment.
      std::vector<std::pair<int, int64_t>> tiles;  // (segment, first row)
      for (size_t g = 0; g < st.segments.size(); ++g)
        for (int64_t q0 = st.segments[g].begin; q0 < st.segments[g].end; q0 += br)
          tiles.push_back({static_cast<int>(g), q0});
      const auto t0 = std::chrono::steady_clock::now();
      if (!shard.empty() && !tiles.empty())
        pool.parallel_for(B * H * static_cast<int64_t>(tiles.size()), [&](int64_t task, int worker) {
          const int64_t tile = task % static_cast<int64_t>(tiles.size());
          const int64_t h = (task / static_cast<int64_t>(tiles.size())) % H;
          const int64_t b = task / (static_cast<int64_t>(tiles.size()) * H);
          const auto [g, q0] = tiles[static_cast<size_t>(tile)];
          const SeqRange seg = st.segments[static_cast<size_t>(g)];
          const int64_t q1 = std::min(seg.end, q0 + br);
          float* o_part = part_out[static_cast<size_t>(worker)].data();
          float* lse_part = part_lse[static_cast<size_t>(worker)].data();
          flash_partial_tile(in, shard, b, h, q0, q1, causal, bc, scratch[static_cast<size_t>(worker)], o_part,
                             lse_part);
          const int64_t local0 = (b * H + h) * st.tokens + st.local_begin[static_cast<size_t>(g)] + (q0 - seg.begin);
          for (int64_t r2 = 0; r2 < q1 - q0; ++r2)
            merge_lse(&st.out[static_cast<size_t>((local0 + r2) * d)], st.lse[static_cast<size_t>(local0 + r2)],
                      o_part + r2 * d, lse_part[r2], d);
        });
      run.compute_ms[static_cast<size_t>(s * ranks + r)] =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    }

  // Gather every rank's merged rows into Q's layout; poisoned first so a row no rank wrote would show as NaN.
  run.output.assign(in.q.size(), std::numeric_limits<float>::quiet_NaN());
  for (int r = 0; r < ranks; ++r) {
    const RankState& st = state[static_cast<size_t>(r)];
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < H; ++h)
        for (size_t g = 0; g < st.segments.size(); ++g)
          for (int64_t p = st.segments[g].begin; p < st.segments[g].end; ++p) {
            const int64_t local = (b * H + h) * st.tokens + st.local_begin[g] + (p - st.segments[g].begin);
            const bool masked = st.lse[static_cast<size_t>(local)] == kNegInf;
            run.fully_masked_rows += masked ? 1 : 0;
            float* o = &run.output[static_cast<size_t>(((b * H + h) * spec.q_len + p) * d)];
            for (int64_t c = 0; c < d; ++c) o[c] = masked ? 0.0f : st.out[static_cast<size_t>(local * d + c)];
          }
  }
  run.timeline = ring_timeline(plan, spec, run.compute_ms, options.link_gbs);
  run.ran_on = "CPU twin, simulated ranks";
  run.ok = true;
  return run;
}

RingRun Backend::run_ring(const AttentionInputs& in, int ranks, RingSchedule schedule, const RingOptions& options) {
  // One pool for every backend's default, one run at a time (the ranks' compute times are measured on it).
  static std::mutex mutex;
  static ThreadPool pool(0);
  std::lock_guard lock(mutex);
  return run_ring_attention(in, ranks, schedule, options, pool);
}

}  // namespace attnscope
