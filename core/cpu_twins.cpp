// cpu_twins.cpp — the CPU twins (see cpu_twins.hpp for what each computes and how it is traced).
//
// Contents
//   tile kernels     scaled Q load, K tile transpose, S = Q Kᵀ tile, per-element masking
//   Context/Scratch  what every task reads; per-worker tile buffers (counted in bytes_allocated)
//   flash family     FA-2 order (flash, block-sparse, gathered) — one task per (batch, head, Q tile)
//   flash1           FA-1 order — one parallel pass per K/V tile
//   decode           grouped queries, split-KV, merge
//   naive            S and P materialised per head
//   run_cpu_twin     dispatch, trace assembly
#include "core/cpu_twins.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <sstream>

#include "core/block_mask.hpp"
#include "core/online_softmax.hpp"
#include "core/tile_kernels.hpp"
#include "core/tiles.hpp"
#include "core/visit_schedule.hpp"

namespace attnscope {

bool has_cpu_twin(Algorithm a) {
  switch (a) {
    case Algorithm::Naive:
    case Algorithm::Flash:
    case Algorithm::Flash1:
    case Algorithm::BlockSparse:
    case Algorithm::Gathered:
    case Algorithm::Decode: return true;
    default: return false;
  }
}

uint64_t available_memory_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  uint64_t value = 0;
  std::string unit;
  while (meminfo >> key >> value >> unit)
    if (key == "MemAvailable:") return value * 1024;
  return 0;
}

namespace {

using Clock = std::chrono::steady_clock;

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// One tile of the FA-2 / decode update for `rows` rows: softmax half per row (online_softmax.hpp), then PV.
void fold_tile(float* s, int64_t ld_s, int64_t rows, int64_t cols, const float* v, int64_t d, float* m, float* l,
               float* acc) {
  for (int64_t r = 0; r < rows; ++r) online_softmax_rescale(m[r], l[r], acc + r * d, d, s + r * ld_s, cols);
  tile_pv(s, rows, ld_s, v, cols, d, acc);
}

// ---- context ------------------------------------------------------------------------------------------------

struct Context {
  const AttentionInputs& in;
  const AttentionSpec& spec;
  MaskView mask;
  bool dense_mask;
  int64_t d, offset;
  float scale;
  TileSchedule tiles;
  const TwinOptions& opt;
  Clock::time_point t0;

  int64_t now_ns() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
  }
  // s[r][j] = -inf where (row0 + r, k0 + j) is masked; rows come from mask_row (no per-key division).
  void mask_tile_range(float* s, int64_t ld, int64_t row0, int64_t rows, int64_t k0, int64_t cols) const {
    thread_local std::vector<uint8_t> allowed;
    if (allowed.size() < static_cast<size_t>(cols)) allowed.resize(static_cast<size_t>(cols));
    for (int64_t r = 0; r < rows; ++r) {
      mask_row(mask, row0 + r + offset, k0, k0 + cols, allowed.data());
      float* sr = s + r * ld;
      for (int64_t j = 0; j < cols; ++j) sr[j] = allowed[static_cast<size_t>(j)] ? sr[j] : kNegInf;
    }
  }
  // s[r][j] = -inf where (row0 + r, key_of(j)) is masked (gathered keys are not contiguous).
  template <class KeyOf>
  void mask_tile(float* s, int64_t ld, int64_t row0, int64_t rows, int64_t cols, KeyOf key_of) const {
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t q = row0 + r + offset;
      float* sr = s + r * ld;
      for (int64_t j = 0; j < cols; ++j)
        if (!mask.allowed(q, key_of(j))) sr[j] = kNegInf;
    }
  }
};

struct Scratch {
  std::vector<float> qs, kt, s, acc, m, l, vbuf;
  std::vector<int32_t> keys;
  uint64_t bytes() const {
    return 4 * (qs.capacity() + kt.capacity() + s.capacity() + acc.capacity() + m.capacity() + l.capacity() +
                vbuf.capacity() + keys.capacity());
  }
};

uint64_t scratch_bytes(const std::vector<Scratch>& all) {
  uint64_t b = 0;
  for (auto& w : all) b += w.bytes();
  return b;
}

// Probe rows of (batch 0, head 0) that fall in [row0, row0 + rows), with their probe slot.
struct ProbeSet {
  std::vector<RowProbe>* probes = nullptr;  // null when not tracing
  void for_rows(int64_t b, int64_t h, int64_t row0, int64_t rows, const auto& f) const {
    if (!probes || b != 0 || h != 0) return;
    for (auto& p : *probes)
      if (p.row >= row0 && p.row < row0 + rows) f(p, p.row - row0);
  }
};

double norm(const float* x, int64_t d) {
  double s = 0;
  for (int64_t c = 0; c < d; ++c) s += static_cast<double>(x[c]) * x[c];
  return std::sqrt(s);
}

// ---- FA-2 order: flash, block-sparse, gathered ----------------------------------------------------------------

// Where a Q tile's K/V tiles come from. Flash and block-sparse both follow the block mask, as the CUDA kernels
// do (flash_fp32 reads its tile classes): an empty tile is never loaded, a full one is not masked per element.
enum class TileSource { BlockMask, Gathered };

// The visit list of every Q tile: block-sparse / flash: the non-empty K/V tiles j in order; gathered: chunk
// ordinals 0..ceil(keys / Bc) − 1. List i is ids[offsets[i] .. offsets[i+1]), as a VisitSchedule's.
struct VisitLists {
  std::vector<int32_t> offsets{0}, ids;
};

VisitLists visit_lists(TileSource source, const BlockMask* bm, const GatheredMask* gm, const TileSchedule& tiles) {
  VisitLists lists;
  for (int64_t i = 0; i < tiles.tr; ++i) {
    if (source == TileSource::Gathered) {
      const int64_t n = static_cast<int64_t>(gm->keys[static_cast<size_t>(i)].size());
      for (int64_t chunk = 0; chunk * tiles.bc < n; ++chunk) lists.ids.push_back(static_cast<int32_t>(chunk));
    } else {
      for (int64_t j = 0; j < tiles.tc; ++j)
        if (bm->at(i, j) != TileKind::Empty) lists.ids.push_back(static_cast<int32_t>(j));  // empty: never loaded
    }
    lists.offsets.push_back(static_cast<int32_t>(lists.ids.size()));
  }
  return lists;
}

// One task: visits [v0, v1) of Q tile i of (b, h) (the whole list, or one piece of a split list). Leaves m, l and
// the unnormalised accumulator of its Br rows in the worker's scratch.
void fa2_visits(const Context& cx, Scratch& w, TileSource source, const BlockMask* bm, const GatheredMask* gm,
                const VisitLists& lists, int64_t b, int64_t h, int64_t i, int64_t v0, int64_t v1, CtaRecord* rec,
                const ProbeSet& probes) {
  const int64_t d = cx.d, bc = cx.tiles.bc;
  const int64_t row0 = cx.tiles.row_begin(i), rows = cx.tiles.row_end(i) - row0;
  const int64_t kvh = cx.spec.kv_head_of(h);
  load_scaled(cx.in.q_row(b, h, row0), rows, d, cx.scale, w.qs.data());
  std::fill_n(w.m.begin(), rows, kNegInf);
  std::fill_n(w.l.begin(), rows, 0.0f);
  std::fill_n(w.acc.begin(), rows * d, 0.0f);

  auto fold = [&](int64_t step_id, int64_t cols, const float* v_rows) {
    fold_tile(w.s.data(), bc, rows, cols, v_rows, d, w.m.data(), w.l.data(), w.acc.data());
    probes.for_rows(b, h, row0, rows, [&](RowProbe& p, int64_t r) {
      // The rescale applied this step is recovered from the m before and after (exp(m_old - m_new)).
      const double m_old = p.steps.empty() ? -std::numeric_limits<double>::infinity() : p.steps.back().m;
      const double m_new = w.m[r];
      const double rescale = (m_new == -std::numeric_limits<double>::infinity() || m_old == m_new)
                                 ? 1.0 : std::exp(m_old - m_new);
      p.steps.push_back({static_cast<int32_t>(step_id), m_new, static_cast<double>(w.l[r]), rescale,
                         norm(w.acc.data() + r * d, d)});
    });
  };

  auto visit = [&](int64_t step_id, auto&& body) {
    const int64_t start = rec ? cx.now_ns() : 0;
    body();
    if (rec) rec->visits.push_back({static_cast<int32_t>(step_id), start, cx.now_ns()});
  };

  for (int64_t v = v0; v < v1; ++v) {
    const int64_t id = lists.ids[static_cast<size_t>(v)];
    if (source == TileSource::Gathered) {
      const auto& keys = gm->keys[static_cast<size_t>(i)];
      const int64_t c0 = id * bc;
      visit(id, [&] {
        const int64_t cols = std::min<int64_t>(bc, static_cast<int64_t>(keys.size()) - c0);
        // Gather the chunk's K rows (transposed) and V rows into contiguous tiles.
        for (int64_t j = 0; j < cols; ++j) {
          const float* k = cx.in.k_row(b, kvh, keys[c0 + j]);
          for (int64_t c = 0; c < d; ++c) w.kt[c * bc + j] = k[c];
          std::copy_n(cx.in.v_row(b, kvh, keys[c0 + j]), d, w.vbuf.data() + j * d);
        }
        tile_scores(w.qs.data(), rows, w.kt.data(), bc, cols, d, w.s.data(), bc);
        cx.mask_tile(w.s.data(), bc, row0, rows, cols, [&](int64_t j) { return static_cast<int64_t>(keys[c0 + j]); });
        fold(id, cols, w.vbuf.data());
      });
    } else {
      const int64_t j = id;
      visit(j, [&] {
        const int64_t k0 = cx.tiles.col_begin(j), cols = cx.tiles.col_end(j) - k0;
        transpose_rows(cx.in.k_row(b, kvh, k0), cols, d, bc, w.kt.data());
        tile_scores(w.qs.data(), rows, w.kt.data(), bc, cols, d, w.s.data(), bc);
        if (bm->at(i, j) == TileKind::Partial) cx.mask_tile_range(w.s.data(), bc, row0, rows, k0, cols);
        fold(j, cols, cx.in.v_row(b, kvh, k0));
      });
    }
  }
}

// O of Q tile i's rows from the scratch state: O = acc / l, a row that never saw an allowed key is zeros. Returns
// those rows.
int64_t write_output_rows(const Context& cx, const Scratch& w, int64_t b, int64_t h, int64_t i, float* out) {
  const int64_t d = cx.d, row0 = cx.tiles.row_begin(i), rows = cx.tiles.row_end(i) - row0;
  int64_t masked = 0;
  float* o = out + ((b * cx.spec.q_heads + h) * cx.spec.q_len + row0) * d;
  for (int64_t r = 0; r < rows; ++r) {
    const float inv = w.l[r] > 0.0f ? 1.0f / w.l[r] : 0.0f;
    if (w.l[r] == 0.0f) ++masked;
    for (int64_t c = 0; c < d; ++c) o[r * d + c] = w.acc[r * d + c] * inv;
  }
  return masked;
}

// ---- FA-1 order -----------------------------------------------------------------------------------------------

// One update of Q tile i with K/V tile j, as Algorithm 1 of the FlashAttention paper: O_i, m_i, l_i come from
// "HBM" (the output buffer and the m/l arrays) and go back there, O_i normalised:
//   m̃ = rowmax(S), P̃ = exp(S - m̃), l̃ = rowsum(P̃), m_new = max(m, m̃), l_new = e^{m-m_new} l + e^{m̃-m_new} l̃
//   O_i = (l e^{m-m_new} O_i + e^{m̃-m_new} P̃ V_j) / l_new
void fa1_update(const Context& cx, Scratch& w, int64_t b, int64_t h, int64_t i, int64_t j, float* out, float* m_all,
                float* l_all, const ProbeSet& probes) {
  const int64_t d = cx.d, bc = cx.tiles.bc;
  const int64_t row0 = cx.tiles.row_begin(i), rows = cx.tiles.row_end(i) - row0;
  const int64_t k0 = cx.tiles.col_begin(j), cols = cx.tiles.col_end(j) - k0;
  const int64_t kvh = cx.spec.kv_head_of(h);
  const int64_t head_row0 = (b * cx.spec.q_heads + h) * cx.spec.q_len + row0;
  load_scaled(cx.in.q_row(b, h, row0), rows, d, cx.scale, w.qs.data());
  transpose_rows(cx.in.k_row(b, kvh, k0), cols, d, bc, w.kt.data());
  tile_scores(w.qs.data(), rows, w.kt.data(), bc, cols, d, w.s.data(), bc);
  if (!cx.dense_mask) cx.mask_tile_range(w.s.data(), bc, row0, rows, k0, cols);
  // P̃ = exp(S - m̃) row by row (m̃ = -inf: the row has no allowed key in this tile, P̃ = 0), then P̃ V_j.
  float* m_tile = w.m.data();
  float* l_tile = w.l.data();
  for (int64_t r = 0; r < rows; ++r) {
    float* s = w.s.data() + r * bc;
    m_tile[r] = kNegInf;
    for (int64_t jj = 0; jj < cols; ++jj) m_tile[r] = std::max(m_tile[r], s[jj]);
    if (m_tile[r] == kNegInf) {
      std::fill_n(s, cols, 0.0f);
      l_tile[r] = 0.0f;
      continue;
    }
    exp_shifted(s, cols, m_tile[r]);
    double sum = 0;
    for (int64_t jj = 0; jj < cols; ++jj) sum += s[jj];
    l_tile[r] = static_cast<float>(sum);
  }
  float* pv = w.acc.data();
  std::fill_n(pv, rows * d, 0.0f);
  tile_pv(w.s.data(), rows, bc, cx.in.v_row(b, kvh, k0), cols, d, pv);
  for (int64_t r = 0; r < rows; ++r) {
    if (m_tile[r] == kNegInf) continue;  // every key of this tile masked for the row: O_i, m_i, l_i unchanged
    float& m = m_all[head_row0 + r];
    float& l = l_all[head_row0 + r];
    const float m_new = std::max(m, m_tile[r]);
    const float old_factor = l * std::exp(m - m_new);       // l e^{m - m_new} (0 on the first allowed tile)
    const float tile_factor = std::exp(m_tile[r] - m_new);
    const float l_new = old_factor + tile_factor * l_tile[r];
    float* o = out + (head_row0 + r) * d;
    for (int64_t c = 0; c < d; ++c) o[c] = (old_factor * o[c] + tile_factor * pv[r * d + c]) / l_new;
    m = m_new;
    l = l_new;
  }
  probes.for_rows(b, h, row0, rows, [&](RowProbe& p, int64_t r) {
    const double m_old = p.steps.empty() ? -std::numeric_limits<double>::infinity() : p.steps.back().m;
    const double m_new = m_all[head_row0 + r];
    const double rescale = (m_new == -std::numeric_limits<double>::infinity() || m_old == m_new) ? 1.0
                                                                                                 : std::exp(m_old - m_new);
    const double l_new = l_all[head_row0 + r];
    // The unnormalised accumulator is l · O_i.
    p.steps.push_back({static_cast<int32_t>(j), m_new, l_new, rescale,
                       l_new * norm(out + (head_row0 + r) * d, d)});
  });
}

// ---- decode ---------------------------------------------------------------------------------------------------

struct DecodePlan {
  int64_t group = 1, rows = 1;  // query heads per KV head; rows per task = group · q_len
  int64_t splits = 1, tiles_per_split = 1;
};

}  // namespace

TwinResult run_cpu_twin(Algorithm algorithm, const AttentionInputs& in, const TwinOptions& opt, ThreadPool& pool,
                        float* out) {
  TwinResult result;
  const AttentionSpec& spec = in.spec;
  if (!has_cpu_twin(algorithm)) {
    result.error = std::string(algorithm_name(algorithm)) + " has no CPU twin";
    return result;
  }
  if (opt.tiles.br < 1 || opt.tiles.bc < 1 || opt.tiles.br > 1024 || opt.tiles.bc > 1024) {
    result.error = "tile sizes Br " + std::to_string(opt.tiles.br) + ", Bc " + std::to_string(opt.tiles.bc) +
                   ": each must be 1..1024";
    return result;
  }
  if (algorithm == Algorithm::Decode && spec.q_len > kDecodeMaxQueries) {
    result.error = "decode handles the newest 1.." + std::to_string(kDecodeMaxQueries) +
                   " queries per sequence (query length " + std::to_string(spec.q_len) + "); use flash for a prefill";
    return result;
  }
  const Context cx{in, spec, spec.mask.view(), spec.mask.is_dense(), spec.head_dim, spec.kv_len - spec.q_len,
                   static_cast<float>(spec.softmax_scale()),
                   TileSchedule(spec.q_len, spec.kv_len, opt.tiles.br, opt.tiles.bc), opt, Clock::now()};
  const int64_t d = spec.head_dim, br = opt.tiles.br, bc = opt.tiles.bc;
  const int workers = pool.size();
  std::vector<Scratch> scratch(static_cast<size_t>(workers));

  Trace trace;
  std::vector<RowProbe> probe_storage;
  ProbeSet probes;
  std::vector<CtaRecord> records;
  if (opt.record_trace) {
    for (int32_t row : opt.probe_rows)
      if (row >= 0 && row < spec.q_len && algorithm != Algorithm::Decode && algorithm != Algorithm::Naive)
        probe_storage.push_back({0, 0, row, {}});
    probes.probes = &probe_storage;
  }
  std::atomic<int64_t> masked_rows{0};

  try {
    switch (algorithm) {
      case Algorithm::Flash:
      case Algorithm::BlockSparse:
      case Algorithm::Gathered: {
        const TileSource source = algorithm == Algorithm::Gathered ? TileSource::Gathered : TileSource::BlockMask;
        std::optional<BlockMask> bm;
        std::optional<GatheredMask> gm;
        uint64_t mask_bytes = 0;
        if (source == TileSource::BlockMask) {
          bm = build_block_mask(spec, opt.tiles.br, opt.tiles.bc, false);
          mask_bytes = bm->kinds.size();
        }
        if (source == TileSource::Gathered) {
          gm = build_gathered_mask(spec, opt.tiles.br);
          for (auto& k : gm->keys) mask_bytes += 4 * k.size();
        }
        for (auto& w : scratch) {
          w.qs.resize(br * d); w.kt.resize(d * bc); w.s.resize(br * bc); w.acc.resize(br * d);
          w.m.resize(br); w.l.resize(br);
          if (source == TileSource::Gathered) w.vbuf.resize(bc * d);
        }
        const VisitLists lists = visit_lists(source, bm ? &*bm : nullptr, gm ? &*gm : nullptr, cx.tiles);
        mask_bytes += 4 * (lists.offsets.size() + lists.ids.size());
        // Split long lists (visit_schedule.hpp's rule) for block-sparse and gathered; a traced run stays one task per
        // Q tile, since its records and probes follow one tile's visits in order.
        const bool may_split = algorithm != Algorithm::Flash && !opt.record_trace;
        const VisitSplitPlan split = plan_visit_split(lists.offsets, may_split ? opt.visit_split : VisitSplit::Off);
        result.split_q_tiles = static_cast<int64_t>(split.split_tiles.size());
        const int64_t tr = cx.tiles.tr, bh_count = spec.batch * spec.q_heads;
        const int64_t items = split.split() ? static_cast<int64_t>(split.items.size()) : tr;
        const int64_t tasks = bh_count * items;
        // Partials of split tiles: per (b·H + h, slot) Br rows of acc (unnormalised), then m and l.
        const int64_t slot_floats = br * (d + 2);
        std::vector<float> partials(static_cast<size_t>(bh_count * split.partial_slots * slot_floats));
        if (opt.record_trace) records.resize(static_cast<size_t>(tasks));
        pool.parallel_for(tasks, [&](int64_t task, int worker) {
          const int64_t bh = task / items, b = bh / spec.q_heads, h = bh % spec.q_heads;
          const WorkItem item = split.split() ? split.items[static_cast<size_t>(task % items)]
                                              : WorkItem{static_cast<int32_t>(task % items),
                                                         lists.offsets[static_cast<size_t>(task % items)],
                                                         lists.offsets[static_cast<size_t>(task % items) + 1], -1};
          const int64_t i = item.q_tile;
          CtaRecord* rec = nullptr;
          if (opt.record_trace) {
            rec = &records[static_cast<size_t>(task)];
            *rec = CtaRecord{static_cast<int32_t>(task), static_cast<int32_t>(b), static_cast<int32_t>(h),
                             static_cast<int32_t>(i), worker, {}};
          }
          Scratch& w = scratch[static_cast<size_t>(worker)];
          fa2_visits(cx, w, source, bm ? &*bm : nullptr, gm ? &*gm : nullptr, lists, b, h, i, item.visit_begin,
                     item.visit_end, rec, probes);
          if (item.partial < 0) {
            if (const int64_t m = write_output_rows(cx, w, b, h, i, out)) masked_rows += m;
            return;
          }
          const int64_t rows = cx.tiles.row_end(i) - cx.tiles.row_begin(i);
          float* slot = partials.data() + (bh * split.partial_slots + item.partial) * slot_floats;
          std::copy_n(w.acc.data(), rows * d, slot);
          std::copy_n(w.m.data(), rows, slot + br * d);
          std::copy_n(w.l.data(), rows, slot + br * d + br);
        });
        // Merge the pieces of each split tile (online_softmax.hpp's merge: the log-sum-exp rule on (m, l, acc)).
        const int64_t splits = static_cast<int64_t>(split.split_tiles.size());
        pool.parallel_for(bh_count * splits, [&](int64_t task, int worker) {
          const int64_t bh = task / splits, b = bh / spec.q_heads, h = bh % spec.q_heads;
          const SplitTile& st = split.split_tiles[static_cast<size_t>(task % splits)];
          const int64_t rows = cx.tiles.row_end(st.q_tile) - cx.tiles.row_begin(st.q_tile);
          Scratch& w = scratch[static_cast<size_t>(worker)];
          std::fill_n(w.m.begin(), rows, kNegInf);
          std::fill_n(w.l.begin(), rows, 0.0f);
          std::fill_n(w.acc.begin(), rows * d, 0.0f);
          for (int32_t p = 0; p < st.pieces; ++p) {
            const float* slot = partials.data() + (bh * split.partial_slots + st.first_slot + p) * slot_floats;
            for (int64_t r = 0; r < rows; ++r)
              merge_online_softmax(w.m[r], w.l[r], w.acc.data() + r * d, slot[br * d + r], slot[br * d + br + r],
                                   slot + r * d, d);
          }
          if (const int64_t m = write_output_rows(cx, w, b, h, st.q_tile, out)) masked_rows += m;
        });
        result.bytes_allocated = scratch_bytes(scratch) + mask_bytes + 4 * partials.size();
        break;
      }
      case Algorithm::Flash1: {
        // m and l live in "HBM" between passes: one float each per query row.
        const int64_t total_rows = spec.batch * spec.q_heads * spec.q_len;
        std::vector<float> m_all(static_cast<size_t>(total_rows), kNegInf), l_all(static_cast<size_t>(total_rows), 0.0f);
        std::fill_n(out, spec.q_elements(), 0.0f);  // O = 0 before the first pass
        for (auto& w : scratch) {
          w.qs.resize(br * d); w.kt.resize(d * bc); w.s.resize(br * bc); w.acc.resize(br * d);
          w.m.resize(br); w.l.resize(br);
        }
        const int64_t tr = cx.tiles.tr, per_pass = spec.batch * spec.q_heads * tr;
        if (opt.record_trace) records.resize(static_cast<size_t>(per_pass * cx.tiles.tc));
        for (int64_t j = 0; j < cx.tiles.tc; ++j) {  // outer loop: K/V tiles, one pass each
          pool.parallel_for(per_pass, [&](int64_t task, int worker) {
            const int64_t bh = task / tr, i = task % tr, b = bh / spec.q_heads, h = bh % spec.q_heads;
            const int64_t start = opt.record_trace ? cx.now_ns() : 0;
            fa1_update(cx, scratch[static_cast<size_t>(worker)], b, h, i, j, out, m_all.data(), l_all.data(), probes);
            if (opt.record_trace) {
              const int64_t id = j * per_pass + task;
              records[static_cast<size_t>(id)] =
                  CtaRecord{static_cast<int32_t>(id), static_cast<int32_t>(b), static_cast<int32_t>(h),
                            static_cast<int32_t>(i), worker, {{static_cast<int32_t>(j), start, cx.now_ns()}}};
            }
          });
        }
        for (int64_t r = 0; r < total_rows; ++r) masked_rows += l_all[static_cast<size_t>(r)] == 0.0f ? 1 : 0;
        result.bytes_allocated = scratch_bytes(scratch) + 8 * static_cast<uint64_t>(total_rows);
        break;
      }
      case Algorithm::Decode: {
        DecodePlan plan;
        plan.group = spec.group_size();
        plan.rows = plan.group * spec.q_len;
        const int64_t pairs = spec.batch * spec.kv_heads;
        // Split the cache so every worker has work even for one sequence with one KV head (MQA).
        plan.splits = std::clamp<int64_t>((2 * workers + pairs - 1) / pairs, 1, cx.tiles.tc);
        plan.tiles_per_split = (cx.tiles.tc + plan.splits - 1) / plan.splits;
        plan.splits = (cx.tiles.tc + plan.tiles_per_split - 1) / plan.tiles_per_split;
        const int64_t R = plan.rows;
        const size_t partial_rows = static_cast<size_t>(pairs * plan.splits * R);
        std::vector<float> pm(partial_rows), pl(partial_rows), pacc(partial_rows * static_cast<size_t>(d));
        for (auto& w : scratch) { w.qs.resize(R * d); w.kt.resize(d * bc); w.s.resize(R * bc); }
        if (opt.record_trace) records.resize(static_cast<size_t>(pairs * plan.splits));
        pool.parallel_for(pairs * plan.splits, [&](int64_t task, int worker) {
          Scratch& w = scratch[static_cast<size_t>(worker)];
          const int64_t pair = task / plan.splits, split = task % plan.splits;
          const int64_t b = pair / spec.kv_heads, kvh = pair % spec.kv_heads;
          // Rows of this task: (group member g, query i) -> row g·q_len + i, all reading KV head kvh.
          for (int64_t g = 0; g < plan.group; ++g)
            load_scaled(in.q_row(b, kvh * plan.group + g, 0), spec.q_len, d, cx.scale,
                        w.qs.data() + g * spec.q_len * d);
          float* m = pm.data() + task * R;
          float* l = pl.data() + task * R;
          float* acc = pacc.data() + task * R * d;
          std::fill_n(m, R, kNegInf);
          std::fill_n(l, R, 0.0f);
          std::fill_n(acc, R * d, 0.0f);
          CtaRecord* rec = nullptr;
          if (opt.record_trace) {
            rec = &records[static_cast<size_t>(task)];
            *rec = CtaRecord{static_cast<int32_t>(task), static_cast<int32_t>(b), static_cast<int32_t>(kvh),
                             static_cast<int32_t>(split), worker, {}};
          }
          const int64_t j_end = std::min(cx.tiles.tc, (split + 1) * plan.tiles_per_split);
          for (int64_t j = split * plan.tiles_per_split; j < j_end; ++j) {
            const int64_t start = rec ? cx.now_ns() : 0;
            const int64_t k0 = cx.tiles.col_begin(j), cols = cx.tiles.col_end(j) - k0;
            transpose_rows(in.k_row(b, kvh, k0), cols, d, bc, w.kt.data());
            tile_scores(w.qs.data(), R, w.kt.data(), bc, cols, d, w.s.data(), bc);
            if (!cx.dense_mask)
              for (int64_t g = 0; g < plan.group; ++g)
                cx.mask_tile_range(w.s.data() + g * spec.q_len * bc, bc, 0, spec.q_len, k0, cols);
            const float* v = in.v_row(b, kvh, k0);
            fold_tile(w.s.data(), bc, R, cols, v, d, m, l, acc);
            if (rec) rec->visits.push_back({static_cast<int32_t>(j), start, cx.now_ns()});
          }
        });
        // Merge the splits of each row and normalise.
        pool.parallel_for(pairs, [&](int64_t pair, int) {
          const int64_t b = pair / spec.kv_heads, kvh = pair % spec.kv_heads;
          std::vector<float> acc(static_cast<size_t>(d));
          for (int64_t r = 0; r < R; ++r) {
            float m = kNegInf, l = 0.0f;
            std::fill(acc.begin(), acc.end(), 0.0f);
            for (int64_t s = 0; s < plan.splits; ++s) {
              const int64_t row = (pair * plan.splits + s) * R + r;
              merge_online_softmax(m, l, acc.data(), pm[static_cast<size_t>(row)], pl[static_cast<size_t>(row)],
                                   pacc.data() + row * d, d);
            }
            const int64_t g = r / spec.q_len, i = r % spec.q_len, h = kvh * plan.group + g;
            float* o = out + ((b * spec.q_heads + h) * spec.q_len + i) * d;
            const float inv = l > 0.0f ? 1.0f / l : 0.0f;
            if (l == 0.0f) ++masked_rows;
            for (int64_t c = 0; c < d; ++c) o[c] = acc[static_cast<size_t>(c)] * inv;
          }
        });
        result.bytes_allocated = scratch_bytes(scratch) + 4 * (pm.size() + pl.size() + pacc.size());
        break;
      }
      case Algorithm::Naive: {
        const uint64_t matrix_bytes = 4ull * static_cast<uint64_t>(spec.q_len) * static_cast<uint64_t>(spec.kv_len);
        const uint64_t needed = 2 * matrix_bytes;
        const uint64_t available = opt.memory_limit_bytes ? opt.memory_limit_bytes : available_memory_bytes();
        if (available > 0 && needed > available) {
          result.out_of_memory = true;
          result.bytes_needed = needed;
          result.bytes_free = available;
          result.error = "naive attention needs " + format_bytes(static_cast<double>(needed)) +
                         " for one head's S and P (2 x " + std::to_string(spec.q_len) + " x " +
                         std::to_string(spec.kv_len) + " x 4 bytes) but only " +
                         format_bytes(static_cast<double>(available)) +
                         " is available: use flash, or a smaller N";
          return result;
        }
        // Not zero-filled: step 1 writes every entry of S and step 2 every entry of P (first touch in parallel).
        const size_t matrix_elements = static_cast<size_t>(spec.q_len * spec.kv_len);
        std::unique_ptr<float[]> own_storage;
        float* S_data = nullptr;
        if (opt.naive_workspace) {
          if (opt.naive_workspace->size() < 2 * matrix_elements) opt.naive_workspace->resize(2 * matrix_elements);
          S_data = opt.naive_workspace->data();
        } else {
          own_storage = std::make_unique_for_overwrite<float[]>(2 * matrix_elements);
          S_data = own_storage.get();
        }
        float* const P_data = S_data + matrix_elements;
        for (auto& w : scratch) { w.qs.resize(br * d); w.kt.resize(d * bc); }
        const int64_t n = spec.kv_len;
        for (int64_t b = 0; b < spec.batch; ++b)
          for (int64_t h = 0; h < spec.q_heads; ++h) {
            const int64_t kvh = spec.kv_head_of(h);
            // Step 1: S = scale · Q Kᵀ, masked entries -inf.
            pool.parallel_for(cx.tiles.tr, [&](int64_t i, int worker) {
              Scratch& w = scratch[static_cast<size_t>(worker)];
              const int64_t row0 = cx.tiles.row_begin(i), rows = cx.tiles.row_end(i) - row0;
              load_scaled(in.q_row(b, h, row0), rows, d, cx.scale, w.qs.data());
              for (int64_t j = 0; j < cx.tiles.tc; ++j) {
                const int64_t k0 = cx.tiles.col_begin(j), cols = cx.tiles.col_end(j) - k0;
                transpose_rows(in.k_row(b, kvh, k0), cols, d, bc, w.kt.data());
                tile_scores(w.qs.data(), rows, w.kt.data(), bc, cols, d, S_data + row0 * n + k0, n);
              }
              if (!cx.dense_mask) cx.mask_tile_range(S_data + row0 * n, n, row0, rows, 0, n);
            });
            // Step 2: P = softmax(S) row by row (a fully masked row is all zeros).
            pool.parallel_for(cx.tiles.tr, [&](int64_t i, int) {
              for (int64_t r = cx.tiles.row_begin(i); r < cx.tiles.row_end(i); ++r) {
                const float* s = S_data + r * n;
                float* p = P_data + r * n;
                float mx = kNegInf;
                for (int64_t j = 0; j < n; ++j) mx = std::max(mx, s[j]);
                if (mx == kNegInf) { std::fill_n(p, n, 0.0f); ++masked_rows; continue; }
                std::copy_n(s, n, p);
                exp_shifted(p, n, mx);
                double sum = 0.0;
                for (int64_t j = 0; j < n; ++j) sum += p[j];
                const float inv = static_cast<float>(1.0 / sum);
                for (int64_t j = 0; j < n; ++j) p[j] *= inv;
              }
            });
            // Step 3: O = P V, a block of rows against a tile of V rows at a time (as a GEMM would).
            pool.parallel_for(cx.tiles.tr, [&](int64_t i, int) {
              const int64_t row0 = cx.tiles.row_begin(i), rows = cx.tiles.row_end(i) - row0;
              float* o = out + ((b * spec.q_heads + h) * spec.q_len + row0) * d;
              std::fill_n(o, rows * d, 0.0f);
              for (int64_t j = 0; j < cx.tiles.tc; ++j) {
                const int64_t k0 = cx.tiles.col_begin(j), cols = cx.tiles.col_end(j) - k0;
                tile_pv(P_data + row0 * n + k0, rows, n, in.v_row(b, kvh, k0), cols, d, o);
              }
            });
          }
        result.bytes_allocated = needed + scratch_bytes(scratch);
        break;
      }
      default: break;
    }
  } catch (const std::bad_alloc&) {
    result = TwinResult{};
    result.out_of_memory = true;
    result.bytes_free = available_memory_bytes();
    result.error = std::string(algorithm_name(algorithm)) + " ran out of memory for " + spec.summary() +
                   ": choose a smaller N, batch or head count";
    return result;
  }

  result.fully_masked_rows = masked_rows.load();
  if (opt.record_trace) {
    trace.source = "cpu";
    trace.algorithm = algorithm_name(algorithm);
    trace.device = opt.device;
    trace.clock = "steady_clock";
    trace.spec = spec.summary();
    trace.br = opt.tiles.br;
    trace.bc = opt.tiles.bc;
    trace.tr = static_cast<int32_t>(cx.tiles.tr);
    trace.tc = static_cast<int32_t>(cx.tiles.tc);
    trace.units = workers;
    // Times relative to the earliest start in the trace.
    int64_t earliest = std::numeric_limits<int64_t>::max();
    for (auto& r : records)
      for (auto& v : r.visits) earliest = std::min(earliest, v.start_ns);
    if (earliest == std::numeric_limits<int64_t>::max()) earliest = 0;
    for (auto& r : records)
      for (auto& v : r.visits) { v.start_ns -= earliest; v.end_ns -= earliest; }
    trace.ctas = std::move(records);
    trace.probes = std::move(probe_storage);
    result.trace = std::move(trace);
  }
  result.ok = true;
  return result;
}

}  // namespace attnscope
