// kv_cache.cpp — the paged KV cache model, the paged decode CPU twin and the CPU decode loop (see kv_cache.hpp).
//
// Contents
//   page sizes, PagedKvCache, PagedKvStore, QuantKvStore
//   plan_decode_splits
//   decode twin        one generic task body over a row source (paged or contiguous), then the split merge
//   kv_footprint
//   decode loop        validate, run_cpu_decode_loop
#include "core/kv_cache.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <new>

#include "core/cpu_twins.hpp"  // available_memory_bytes
#include "core/online_softmax.hpp"
#include "core/rng.hpp"
#include "core/thread_pool.hpp"

namespace attnscope {

// ---------------------------------------------------------------- page sizes
std::string page_size_problem(int64_t page_tokens) {
  const bool power_of_two = page_tokens > 0 && (page_tokens & (page_tokens - 1)) == 0;
  if (power_of_two && page_tokens >= kMinPageTokens && page_tokens <= kMaxPageTokens) return {};
  return "page size " + std::to_string(page_tokens) + " tokens: must be a power of two in " +
         std::to_string(kMinPageTokens) + ".." + std::to_string(kMaxPageTokens) +
         " (16, 32, 64, 128 or 256), so a token's page and row are a shift and a mask";
}

// ---------------------------------------------------------------- PagedKvCache
PagedKvCache::PagedKvCache(int64_t sequences, int64_t page_tokens, int64_t pool_pages, uint64_t shuffle_seed)
    : page_tokens_(page_tokens), pool_pages_(pool_pages) {
  free_.resize(static_cast<size_t>(pool_pages));
  // Taken from the back: page 0 first.
  for (int64_t i = 0; i < pool_pages; ++i) free_[static_cast<size_t>(i)] = static_cast<int32_t>(pool_pages - 1 - i);
  if (shuffle_seed != 0) {
    Rng rng(shuffle_seed);
    for (size_t i = free_.size(); i > 1; --i) std::swap(free_[i - 1], free_[rng.next() % i]);
  }
  tables_.resize(static_cast<size_t>(sequences));
  lengths_.assign(static_cast<size_t>(sequences), 0);
}

PagedKvCache::Append PagedKvCache::append(int64_t seq, int64_t tokens) {
  Append a;
  if (seq < 0 || seq >= sequences()) {
    a.error = "sequence " + std::to_string(seq) + " does not exist (0.." + std::to_string(sequences() - 1) + ")";
    return a;
  }
  if (tokens < 0) {
    a.error = "cannot append " + std::to_string(tokens) + " tokens";
    return a;
  }
  auto& table = tables_[static_cast<size_t>(seq)];
  const int64_t new_length = lengths_[static_cast<size_t>(seq)] + tokens;
  const int64_t needed = pages_for(new_length, page_tokens_) - static_cast<int64_t>(table.size());
  if (needed > free_pages()) {
    a.error = "the page pool is full: sequence " + std::to_string(seq) + " needs " + std::to_string(needed) +
              " more pages of " + std::to_string(page_tokens_) + " tokens but " + std::to_string(free_pages()) +
              " of " + std::to_string(pool_pages_) + " are free";
    return a;
  }
  for (int64_t i = 0; i < needed; ++i) {
    table.push_back(free_.back());
    free_.pop_back();
  }
  lengths_[static_cast<size_t>(seq)] = new_length;
  a.ok = true;
  a.new_pages = std::max<int64_t>(needed, 0);
  return a;
}

void PagedKvCache::release(int64_t seq) {
  auto& table = tables_[static_cast<size_t>(seq)];
  for (auto it = table.rbegin(); it != table.rend(); ++it) free_.push_back(*it);
  table.clear();
  lengths_[static_cast<size_t>(seq)] = 0;
}

int64_t PagedKvCache::max_length() const {
  int64_t m = 0;
  for (int64_t n : lengths_) m = std::max(m, n);
  return m;
}

int64_t PagedKvCache::slack_tokens() const {
  int64_t slack = 0;
  for (size_t s = 0; s < tables_.size(); ++s)
    slack += static_cast<int64_t>(tables_[s].size()) * page_tokens_ - lengths_[s];
  return slack;
}

std::vector<int32_t> PagedKvCache::block_table_matrix(int64_t max_pages) const {
  std::vector<int32_t> m(static_cast<size_t>(sequences() * max_pages), -1);
  for (int64_t s = 0; s < sequences(); ++s) {
    const auto& t = tables_[static_cast<size_t>(s)];
    std::copy_n(t.begin(), std::min<int64_t>(max_pages, static_cast<int64_t>(t.size())),
                m.begin() + s * max_pages);
  }
  return m;
}

// ---------------------------------------------------------------- PagedKvStore
PagedKvStore::PagedKvStore(int64_t sequences, int64_t kv_heads_, int64_t head_dim_, int64_t page_tokens,
                           int64_t pool_pages, uint64_t shuffle_seed)
    : table(sequences, page_tokens, pool_pages, shuffle_seed), kv_heads(kv_heads_), head_dim(head_dim_) {
  const size_t n = static_cast<size_t>(pool_pages * kv_heads * page_tokens * head_dim);
  k.assign(n, 0.0f);
  v.assign(n, 0.0f);
}

bool PagedKvStore::append_token(int64_t seq, const float* k_new, const float* v_new, std::string* error) {
  const PagedKvCache::Append a = table.append(seq, 1);
  if (!a.ok) {
    if (error) *error = a.error;
    return false;
  }
  const int64_t pos = table.length(seq) - 1;
  const int32_t page = table.page_of(seq, pos);
  for (int64_t h = 0; h < kv_heads; ++h) {
    std::copy_n(k_new + h * head_dim, head_dim, k.begin() + static_cast<std::ptrdiff_t>(offset(page, h, table.row_of(pos))));
    std::copy_n(v_new + h * head_dim, head_dim, v.begin() + static_cast<std::ptrdiff_t>(offset(page, h, table.row_of(pos))));
  }
  return true;
}

// ---------------------------------------------------------------- QuantKvStore
QuantKvStore::QuantKvStore(KvDtype dtype_, int64_t group_, int64_t sequences, int64_t kv_heads_, int64_t head_dim_,
                           int64_t page_tokens, int64_t pool_pages, int64_t capacity, uint64_t shuffle_seed)
    : table(sequences, page_tokens, pool_pages, shuffle_seed), dtype(dtype_), kv_heads(kv_heads_),
      head_dim(head_dim_), group(group_), max_groups(pages_for(capacity, group_)) {
  const size_t n = static_cast<size_t>(pool_pages * kv_heads * page_tokens * head_dim);
  k_codes.assign(n, 0);
  v_codes.assign(n, 0);
  k_scales.assign(static_cast<size_t>(sequences * kv_heads * max_groups), 0.0f);
  v_scales.assign(k_scales.size(), 0.0f);
  k_open.assign(static_cast<size_t>(sequences * kv_heads * group * head_dim), 0.0f);
  v_open.assign(k_open.size(), 0.0f);
}

bool QuantKvStore::append_token(int64_t seq, const float* k_new, const float* v_new, std::string* error) {
  auto fail = [&](std::string why) {
    if (error) *error = std::move(why);
    return false;
  };
  if (seq < 0 || seq >= table.sequences())
    return fail("sequence " + std::to_string(seq) + " does not exist (0.." + std::to_string(table.sequences() - 1) + ")");
  for (int64_t i = 0; i < kv_heads * head_dim; ++i)
    if (!std::isfinite(k_new[i]) || !std::isfinite(v_new[i]))
      return fail(std::string("the new token's ") + (std::isfinite(k_new[i]) ? "V" : "K") + " head " +
                  std::to_string(i / head_dim) + " element " + std::to_string(i % head_dim) +
                  " is not finite: a " + kv_dtype_name(dtype) +
                  " cache scales each group by its max |x|, which a NaN or infinity leaves undefined; nothing stored");
  if (table.length(seq) >= max_groups * group)
    return fail("sequence " + std::to_string(seq) + " is at its capacity of " + std::to_string(max_groups * group) +
                " tokens");
  const PagedKvCache::Append a = table.append(seq, 1);
  if (!a.ok) return fail(a.error);
  const int64_t pos = table.length(seq) - 1;
  for (int64_t h = 0; h < kv_heads; ++h)
    for (int64_t c = 0; c < head_dim; ++c) {
      k_open[open_offset(seq, h, pos) + static_cast<size_t>(c)] = round_to_fp16(k_new[h * head_dim + c]);
      v_open[open_offset(seq, h, pos) + static_cast<size_t>(c)] = round_to_fp16(v_new[h * head_dim + c]);
    }
  if ((pos + 1) % group != 0) return true;
  // The group [pos + 1 − G, pos] is complete: its scale from the staged fp16 values, then its codes, once.
  const int64_t first = pos + 1 - group;
  for (int64_t h = 0; h < kv_heads; ++h) {
    for (int kv = 0; kv < 2; ++kv) {
      const std::vector<float>& open = kv == 0 ? k_open : v_open;
      std::vector<uint8_t>& codes = kv == 0 ? k_codes : v_codes;
      float amax = 0;
      for (int64_t t = first; t <= pos; ++t)
        for (int64_t c = 0; c < head_dim; ++c)
          amax = std::max(amax, std::fabs(open[open_offset(seq, h, t) + static_cast<size_t>(c)]));
      const float s = kv_group_scale(dtype, amax);
      (kv == 0 ? k_scales : v_scales)[scale_index(seq, h, first)] = s;
      for (int64_t t = first; t <= pos; ++t) {
        const size_t at = offset(table.page_of(seq, t), h, table.row_of(t));
        for (int64_t c = 0; c < head_dim; ++c)
          codes[at + static_cast<size_t>(c)] = kv_encode(dtype, open[open_offset(seq, h, t) + static_cast<size_t>(c)], s);
      }
    }
  }
  return true;
}

namespace {
void quant_row(const QuantKvStore& st, const std::vector<uint8_t>& codes, const std::vector<float>& scales,
               const std::vector<float>& open, int64_t seq, int64_t kvh, int64_t pos, float* out) {
  const int64_t d = st.head_dim;
  if (pos >= st.closed_tokens(seq)) {
    std::copy_n(open.begin() + static_cast<std::ptrdiff_t>(st.open_offset(seq, kvh, pos)), d, out);
    return;
  }
  const float s = scales[st.scale_index(seq, kvh, pos)];
  const uint8_t* c = codes.data() + st.offset(st.table.page_of(seq, pos), kvh, st.table.row_of(pos));
  if (st.dtype == KvDtype::Int8) {  // kv_decode, with the format's branch out of the loop
    for (int64_t i = 0; i < d; ++i) out[i] = static_cast<float>(static_cast<int8_t>(c[i])) * s;
  } else {
    const float* values = fp8_e4m3_values();
    for (int64_t i = 0; i < d; ++i) out[i] = values[c[i]] * s;
  }
}
}  // namespace

void QuantKvStore::k_row(int64_t seq, int64_t kvh, int64_t pos, float* out) const {
  quant_row(*this, k_codes, k_scales, k_open, seq, kvh, pos, out);
}
void QuantKvStore::v_row(int64_t seq, int64_t kvh, int64_t pos, float* out) const {
  quant_row(*this, v_codes, v_scales, v_open, seq, kvh, pos, out);
}

double QuantKvStore::bytes_held(int64_t seq) const {
  const double pages = static_cast<double>(table.block_table(seq).size());
  return 2.0 * (pages * static_cast<double>(table.page_tokens() * kv_heads * head_dim) +
                static_cast<double>(table.length(seq) / group * kv_heads) * 4.0 +
                static_cast<double>(kv_heads * group * head_dim) * 2.0);
}

// ---------------------------------------------------------------- split plan
DecodeSplitPlan plan_decode_splits(int64_t base_ctas, int64_t max_len, int64_t tile_tokens, int64_t slots,
                                   int64_t min_tiles_per_split, int max_splits) {
  DecodeSplitPlan plan;
  const int64_t tiles = std::max<int64_t>(1, (max_len + tile_tokens - 1) / tile_tokens);
  base_ctas = std::max<int64_t>(1, base_ctas);
  slots = std::max<int64_t>(1, slots);
  const int64_t limit = std::clamp<int64_t>(tiles / std::max<int64_t>(1, min_tiles_per_split), 1, max_splits);
  auto efficiency = [&](int64_t s) {
    const double waves = static_cast<double>(base_ctas * s) / static_cast<double>(slots);
    return waves / std::ceil(waves);
  };
  double best = 0;
  for (int64_t s = 1; s <= limit; ++s) best = std::max(best, efficiency(s));
  int64_t chosen = limit;
  for (int64_t s = 1; s <= limit; ++s)
    if (efficiency(s) >= 0.95 * best) { chosen = s; break; }
  plan.tiles_per_split = (tiles + chosen - 1) / chosen;
  plan.splits = static_cast<int>((tiles + plan.tiles_per_split - 1) / plan.tiles_per_split);  // no empty split
  plan.wave_efficiency = efficiency(plan.splits);
  return plan;
}

// ---------------------------------------------------------------- decode twin
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr int64_t kTwinTile = 64;  // keys per online-softmax update, as the GPU's Bc

// Where cached rows live: the paged store through its block table, a contiguous [B][Hkv][cap][d] array, or a
// quantised store (rows dequantised into the task's scratch as a tile is loaded).
struct RowSource {
  const PagedKvStore* paged = nullptr;
  const QuantKvStore* quant = nullptr;
  const float* k = nullptr;
  const float* v = nullptr;
  int64_t kv_heads = 0, capacity = 0, head_dim = 0;
  const int64_t* lengths = nullptr;  // contiguous: per sequence

  int64_t length(int64_t b) const {
    return quant ? quant->table.length(b) : paged ? paged->table.length(b) : lengths[b];
  }
  const float* k_row(int64_t b, int64_t h, int64_t pos) const {
    return paged ? paged->k_row(b, h, pos) : k + ((b * kv_heads + h) * capacity + pos) * head_dim;
  }
  const float* v_row(int64_t b, int64_t h, int64_t pos) const {
    return paged ? paged->v_row(b, h, pos) : v + ((b * kv_heads + h) * capacity + pos) * head_dim;
  }
  // Rows [k0, k0 + count) of (b, h): pointers into the cache, or (quantised) into kbuf / vbuf [count][head_dim]
  // after dequantising them there.
  void load_tile(int64_t b, int64_t h, int64_t k0, int64_t count, const float** krows, const float** vrows,
                 float* kbuf, float* vbuf) const {
    for (int64_t j = 0; j < count; ++j) {
      if (quant) {
        quant->k_row(b, h, k0 + j, kbuf + j * head_dim);
        quant->v_row(b, h, k0 + j, vbuf + j * head_dim);
        krows[j] = kbuf + j * head_dim;
        vrows[j] = vbuf + j * head_dim;
      } else {
        krows[j] = k_row(b, h, k0 + j);
        vrows[j] = v_row(b, h, k0 + j);
      }
    }
  }
};

std::string decode_twin(const RowSource& src, int64_t batch, const float* q, int64_t q_heads, double scale,
                        float* out, ThreadPool& pool, int splits) {
  const int64_t kv_heads = src.kv_heads, d = src.head_dim;
  if (kv_heads < 1 || q_heads < 1 || q_heads % kv_heads != 0)
    return "query heads " + std::to_string(q_heads) + " is not a multiple of KV heads " + std::to_string(kv_heads) +
           ": every KV head must serve the same number of query heads";
  int64_t max_len = 0;
  for (int64_t b = 0; b < batch; ++b) {
    if (src.length(b) < 1)
      return "sequence " + std::to_string(b) + " has an empty cache (length 0): append a token before decoding";
    max_len = std::max(max_len, src.length(b));
  }
  const int64_t G = q_heads / kv_heads, pairs = batch * kv_heads;
  const DecodeSplitPlan plan = splits > 0
                                   ? DecodeSplitPlan{splits, (pages_for(max_len, kTwinTile) + splits - 1) / splits, 1}
                                   : plan_decode_splits(pairs, max_len, kTwinTile, 2 * pool.size(), 1, 64);
  const int64_t S = plan.splits, span = plan.tiles_per_split * kTwinTile;
  // Partial states per (pair, split, group member): m, l, acc[d].
  std::vector<float> pm(static_cast<size_t>(pairs * S * G)), pl(pm.size()), pacc(pm.size() * static_cast<size_t>(d));
  const float fscale = static_cast<float>(scale);
  pool.parallel_for(pairs * S, [&](int64_t task, int) {
    const int64_t pair = task / S, split = task % S, b = pair / kv_heads, kvh = pair % kv_heads;
    const int64_t begin = split * span, end = std::min(src.length(b), begin + span);
    float* m = pm.data() + task * G;
    float* l = pl.data() + task * G;
    float* acc = pacc.data() + task * G * d;
    std::fill_n(m, G, kNegInf);
    std::fill_n(l, G, 0.0f);
    std::fill_n(acc, G * d, 0.0f);
    std::vector<float> scores(static_cast<size_t>(kTwinTile));
    std::vector<float> kbuf(src.quant ? static_cast<size_t>(kTwinTile * d) : 0), vbuf(kbuf.size());
    const float* krows[kTwinTile];
    const float* vrows[kTwinTile];
    for (int64_t k0 = begin; k0 < end; k0 += kTwinTile) {
      const int64_t count = std::min(kTwinTile, end - k0);
      src.load_tile(b, kvh, k0, count, krows, vrows, kbuf.data(), vbuf.data());
      for (int64_t g = 0; g < G; ++g) {  // every member of the group reads the same K/V rows
        const float* qg = q + ((b * q_heads) + kvh * G + g) * d;
        for (int64_t j = 0; j < count; ++j) {
          const float* kr = krows[j];
          float dot = 0;
          for (int64_t c = 0; c < d; ++c) dot += qg[c] * kr[c];
          scores[static_cast<size_t>(j)] = dot * fscale;
        }
        online_softmax_update(m[g], l[g], acc + g * d, d, scores.data(), count,
                              [&](int64_t j) { return vrows[j]; });
      }
    }
  });
  // The reduction: merge the splits of each head in order, normalise, write.
  pool.parallel_for(pairs * G, [&](int64_t task, int) {
    const int64_t pair = task / G, g = task % G, b = pair / kv_heads, kvh = pair % kv_heads;
    float m = kNegInf, l = 0;
    std::vector<float> acc(static_cast<size_t>(d), 0.0f);
    for (int64_t s = 0; s < S; ++s) {
      const int64_t at = (pair * S + s) * G + g;
      merge_online_softmax(m, l, acc.data(), pm[static_cast<size_t>(at)], pl[static_cast<size_t>(at)],
                           pacc.data() + at * d, d);
    }
    float* o = out + ((b * q_heads) + kvh * G + g) * d;
    const float inv = l > 0 ? 1.0f / l : 0.0f;
    for (int64_t c = 0; c < d; ++c) o[c] = acc[static_cast<size_t>(c)] * inv;
  });
  return {};
}

}  // namespace

std::string decode_paged_cpu(const PagedKvStore& cache, const float* q, int64_t q_heads, double scale, float* out,
                             ThreadPool& pool, int splits) {
  RowSource src;
  src.paged = &cache;
  src.kv_heads = cache.kv_heads;
  src.head_dim = cache.head_dim;
  return decode_twin(src, cache.table.sequences(), q, q_heads, scale, out, pool, splits);
}

std::string decode_quant_cpu(const QuantKvStore& cache, const float* q, int64_t q_heads, double scale, float* out,
                             ThreadPool& pool, int splits) {
  RowSource src;
  src.quant = &cache;
  src.kv_heads = cache.kv_heads;
  src.head_dim = cache.head_dim;
  return decode_twin(src, cache.table.sequences(), q, q_heads, scale, out, pool, splits);
}

// ---------------------------------------------------------------- sizes
KvFootprint kv_footprint(int64_t layers, int64_t kv_heads, int64_t head_dim, DType dtype, int64_t context,
                         int64_t page_tokens, double free_bytes) {
  KvFootprint f;
  const double e = dtype_bytes(dtype);
  f.bytes_per_token_layer = 2.0 * static_cast<double>(kv_heads * head_dim) * e;
  f.bytes_per_token = f.bytes_per_token_layer * static_cast<double>(layers);
  f.bytes_per_sequence = f.bytes_per_token * static_cast<double>(context);
  const int64_t reserved = page_tokens > 0 ? pages_for(context, page_tokens) * page_tokens : context;
  f.bytes_per_sequence_paged = f.bytes_per_token * static_cast<double>(reserved);
  f.sequences_fit = f.bytes_per_sequence_paged > 0 && free_bytes > 0
                        ? static_cast<int64_t>(std::floor(free_bytes / f.bytes_per_sequence_paged))
                        : 0;
  return f;
}

KvFootprint kv_footprint(int64_t layers, int64_t kv_heads, int64_t head_dim, KvDtype kv, int64_t group,
                         int64_t context, int64_t page_tokens, double free_bytes) {
  KvFootprint f = kv_footprint(layers, kv_heads, head_dim, DType::F16, context, page_tokens, free_bytes);
  if (kv == KvDtype::F16) return f;
  const double L = static_cast<double>(layers);
  f.bytes_per_token_layer = kv_bytes_per_token_layer(kv_heads, head_dim, kv, group);
  f.bytes_per_token = f.bytes_per_token_layer * L;
  f.staging_bytes_per_sequence = kv_staging_bytes_per_sequence_layer(kv_heads, head_dim, kv, group) * L;
  // Codes for every reserved row, scales for every group of the context; the staging block on top.
  const double codes_per_token = 2.0 * static_cast<double>(kv_heads * head_dim) * L;
  const double scales = 2.0 * static_cast<double>(kv_heads * pages_for(context, group)) * 4.0 * L;
  const int64_t reserved = page_tokens > 0 ? pages_for(context, page_tokens) * page_tokens : context;
  f.bytes_per_sequence = codes_per_token * static_cast<double>(context) + scales + f.staging_bytes_per_sequence;
  f.bytes_per_sequence_paged =
      codes_per_token * static_cast<double>(reserved) + scales + f.staging_bytes_per_sequence;
  f.sequences_fit = f.bytes_per_sequence_paged > 0 && free_bytes > 0
                        ? static_cast<int64_t>(std::floor(free_bytes / f.bytes_per_sequence_paged))
                        : 0;
  return f;
}

// ---------------------------------------------------------------- decode loop
std::vector<std::string> validate(const DecodeLoopRequest& r) {
  std::vector<std::string> e;
  auto positive = [&](const char* name, int64_t v, int64_t max) {
    if (v < 1 || v > max)
      e.push_back(std::string(name) + " " + std::to_string(v) + ": must be 1.." + std::to_string(max));
  };
  positive("batch", r.batch, 4096);
  positive("query heads", r.q_heads, 1024);
  positive("KV heads", r.kv_heads, 1024);
  positive("head dim", r.head_dim, 256);
  if (r.context < 1)
    e.push_back("cache length " + std::to_string(r.context) +
                ": decoding needs at least one cached token (context must be >= 1)");
  else if (r.context > (int64_t{1} << 24))
    e.push_back("context " + std::to_string(r.context) + ": at most " + std::to_string(int64_t{1} << 24) + " tokens");
  if (r.kv_heads >= 1 && r.q_heads >= 1 && r.q_heads % r.kv_heads != 0)
    e.push_back("query heads " + std::to_string(r.q_heads) + " is not a multiple of KV heads " +
                std::to_string(r.kv_heads) + ": every KV head must serve the same number of query heads");
  if (r.page_tokens != 0)
    if (auto p = page_size_problem(r.page_tokens); !p.empty()) e.push_back(p + " (or 0 for a contiguous cache)");
  if (r.prefill < 0 || r.prefill > r.context)
    e.push_back("prefill " + std::to_string(r.prefill) + ": must be 0..context (" + std::to_string(r.context) + ")");
  if (r.measure_every < 1) e.push_back("measure_every " + std::to_string(r.measure_every) + ": must be >= 1");
  if (r.repetitions < 1 || r.repetitions > 1000)
    e.push_back("repetitions " + std::to_string(r.repetitions) + ": must be 1..1000");
  if (kv_dtype_is_quantised(r.kv_dtype))
    if (auto p = kv_group_problem(r.kv_group); !p.empty()) e.push_back(p);
  return e;
}

DecodeLoopResult run_cpu_decode_loop(const DecodeLoopRequest& r, int threads) {
  using Clock = std::chrono::steady_clock;
  DecodeLoopResult result;
  result.backend = "cpu";
  const bool quantised = kv_dtype_is_quantised(r.kv_dtype);
  result.kv_dtype = kv_dtype_name(r.kv_dtype);
  result.storage = quantised ? std::string(r.kv_dtype == KvDtype::Int8 ? "int8" : "fp8 e4m3") + " (CPU twin, " +
                                   std::to_string(r.kv_group) + "-token scale groups)"
                             : "fp32 (CPU twin)";
  result.storage_bytes = quantised ? 1 : 4;
  result.bytes_per_token_layer = kv_bytes_per_token_layer(r.kv_heads, r.head_dim, r.kv_dtype, r.kv_group);
  if (auto problems = validate(r); !problems.empty()) {
    result.error = problems.front();
    return result;
  }
  ThreadPool pool(threads);
  result.device = "CPU (" + std::to_string(pool.size()) + " threads)";
  const int64_t B = r.batch, Hkv = r.kv_heads, d = r.head_dim, N = r.context;
  const bool paged = r.page_tokens > 0;
  const int64_t pool_pages = paged ? B * pages_for(N, r.page_tokens) : 0;
  const double cache_elements = paged ? static_cast<double>(pool_pages * r.page_tokens) * Hkv * d
                                      : static_cast<double>(B * Hkv * N * d);
  // Quantised: 1-byte codes, plus the fp16 cache kept beside it for the error (held as floats).
  result.pool_bytes = static_cast<uint64_t>(2 * cache_elements * (quantised ? 1 + 4 : 4));
  result.workspace_bytes = static_cast<uint64_t>(2 * B * r.q_heads * d * 4);
  result.bytes_needed = result.pool_bytes + result.workspace_bytes;
  result.bytes_free = available_memory_bytes();
  if (result.bytes_free > 0 && result.bytes_needed > result.bytes_free) {
    result.out_of_memory = true;
    result.error = "the KV cache needs " + format_bytes_binary(static_cast<double>(result.bytes_needed)) +
                   " but only " + format_bytes_binary(static_cast<double>(result.bytes_free)) +
                   " of host memory is available: use a smaller batch, fewer KV heads or a shorter context";
    return result;
  }
  try {
    PagedKvStore store;
    std::vector<float> ck, cv;
    std::vector<int64_t> lengths(static_cast<size_t>(B), 0);
    if (!quantised && paged) store = PagedKvStore(B, Hkv, d, r.page_tokens, pool_pages);
    else if (!quantised) {
      ck.assign(static_cast<size_t>(B * Hkv * N * d), 0.0f);
      cv.assign(ck.size(), 0.0f);
    }
    // A quantised cache, and the fp16 cache of the same tokens it is compared with: both in the layout asked for
    // (contiguous: one page of N tokens per sequence, page b = sequence b).
    QuantKvStore qstore;
    PagedKvStore fp16_store;
    if (quantised) {
      const int64_t qp = paged ? r.page_tokens : N, qpages = paged ? pool_pages : B;
      qstore = QuantKvStore(r.kv_dtype, r.kv_group, B, Hkv, d, qp, qpages, N);
      fp16_store = PagedKvStore(B, Hkv, d, qp, qpages);
    }
    RowSource src;
    src.kv_heads = Hkv;
    src.head_dim = d;
    if (quantised) src.quant = &qstore;
    else if (paged) src.paged = &store;
    else { src.k = ck.data(); src.v = cv.data(); src.capacity = N; src.lengths = lengths.data(); }

    Rng rng(r.seed);
    std::vector<float> knew(static_cast<size_t>(Hkv * d)), vnew(knew.size());
    std::vector<float> q(static_cast<size_t>(B * r.q_heads * d)), out(q.size());
    for (auto& x : q) x = static_cast<float>(rng.normal());
    std::string error;
    auto append_all = [&]() -> bool {  // one token for every sequence
      for (int64_t b = 0; b < B; ++b) {
        for (auto& x : knew) x = static_cast<float>(rng.normal());
        for (auto& x : vnew) x = static_cast<float>(rng.normal());
        if (quantised) {
          if (!qstore.append_token(b, knew.data(), vnew.data(), &error)) return false;
          for (auto& x : knew) x = round_to_fp16(x);
          for (auto& x : vnew) x = round_to_fp16(x);
          if (!fp16_store.append_token(b, knew.data(), vnew.data(), &error)) return false;
        } else if (paged) {
          if (!store.append_token(b, knew.data(), vnew.data(), &error)) return false;
        } else {
          const int64_t pos = lengths[static_cast<size_t>(b)]++;
          for (int64_t h = 0; h < Hkv; ++h) {
            std::copy_n(knew.data() + h * d, d, ck.begin() + ((b * Hkv + h) * N + pos) * d);
            std::copy_n(vnew.data() + h * d, d, cv.begin() + ((b * Hkv + h) * N + pos) * d);
          }
        }
      }
      return true;
    };
    for (int64_t t = 0; t < r.prefill; ++t)
      if (!append_all()) { result.error = error; return result; }
    const double scale = 1.0 / std::sqrt(static_cast<double>(d));
    for (int64_t len = r.prefill + 1; len <= N; ++len) {
      const auto a0 = Clock::now();
      if (!append_all()) { result.error = error; return result; }
      const double append_ms = std::chrono::duration<double, std::milli>(Clock::now() - a0).count();
      if ((len - r.prefill) % r.measure_every != 0 && len != N) continue;
      std::vector<double> times;
      for (int rep = 0; rep < r.repetitions; ++rep) {
        const auto t0 = Clock::now();
        error = decode_twin(src, B, q.data(), r.q_heads, scale, out.data(), pool, 0);
        times.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        if (!error.empty()) { result.error = error; return result; }
      }
      std::sort(times.begin(), times.end());
      DecodeStepSample s;
      s.context = len;
      s.decode_ms = times[times.size() / 2];
      s.decode_samples_ms = times;
      s.append_ms = append_ms;
      if (quantised) {  // codes and scales of the closed groups, fp16 rows of the open one
        const int64_t closed = len / r.kv_group * r.kv_group;
        s.kv_bytes_read = 2.0 * static_cast<double>(B * Hkv) *
                          static_cast<double>(closed * d + closed / r.kv_group * 4 + (len - closed) * d * 2);
      } else {
        s.kv_bytes_read = 2.0 * static_cast<double>(B * Hkv * len * d) * 4;
      }
      s.achieved_gbs = s.decode_ms > 0 ? s.kv_bytes_read / (s.decode_ms * 1e-3) / 1e9 : 0;
      s.pages_in_use = paged ? (quantised ? qstore.table.pages_in_use() : store.table.pages_in_use()) : 0;
      if (quantised) {
        double held = 0;
        for (int64_t b = 0; b < B; ++b) held += qstore.bytes_held(b);
        s.cache_bytes = static_cast<uint64_t>(held);
      } else {
        s.cache_bytes =
            paged ? static_cast<uint64_t>(s.pages_in_use * r.page_tokens * Hkv * d * 2 * 4) : result.pool_bytes;
      }
      s.splits = plan_decode_splits(B * Hkv, len, kTwinTile, 2 * pool.size(), 1, 64).splits;
      result.samples.push_back(s);
      if (quantised && len == N) {  // the last step: the same query against the fp16 cache of the same tokens
        std::vector<float> out16(out.size());
        error = decode_paged_cpu(fp16_store, q.data(), r.q_heads, scale, out16.data(), pool, 0);
        if (!error.empty()) { result.error = error; return result; }
        double diff2 = 0, ref2 = 0, max_abs = 0;
        for (size_t i = 0; i < out.size(); ++i) {
          const double e = static_cast<double>(out[i]) - static_cast<double>(out16[i]);
          diff2 += e * e;
          ref2 += static_cast<double>(out16[i]) * out16[i];
          max_abs = std::max(max_abs, std::fabs(e));
        }
        result.error_measured = true;
        result.error_max_abs = max_abs;
        result.error_rel_l2 = ref2 > 0 ? std::sqrt(diff2 / ref2) : std::sqrt(diff2);
      }
    }
  } catch (const std::bad_alloc&) {
    result.out_of_memory = true;
    result.error = "out of host memory allocating a " + format_bytes_binary(static_cast<double>(result.pool_bytes)) +
                   " KV cache: use a smaller batch, fewer KV heads or a shorter context";
    return result;
  }
  result.ok = true;
  return result;
}

}  // namespace attnscope
