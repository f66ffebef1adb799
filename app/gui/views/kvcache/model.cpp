// model.cpp — the KV cache mode's model: the GQA column, presets, the task key, the cost model's decode step and
// floor, and the generation clock's token count. No ImGui.
#include "app/gui/views/kvcache/model.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

namespace attnscope::gui {

// The GQA column: the preset's own KV heads when it is grouped, else the largest divisor of the heads up to a
// quarter of them.
int64_t gqa_heads(int64_t heads, int64_t model_kv) {
  if (model_kv > 1 && model_kv < heads && heads % model_kv == 0) return model_kv;
  for (int64_t kv = std::max<int64_t>(1, heads / 4); kv > 1; --kv)
    if (heads % kv == 0) return kv;
  return 1;
}

void apply_preset(KvViewState& s) {
  const auto& presets = model_presets();
  if (s.preset < 0 || s.preset >= static_cast<int>(presets.size())) return;
  const ModelPreset& m = presets[static_cast<size_t>(s.preset)];
  s.layers = static_cast<int>(m.layers);
  s.heads = static_cast<int>(m.heads);
  s.kv_heads = static_cast<int>(m.kv_heads);
  s.head_dim = static_cast<int>(m.head_dim);
  s.context = static_cast<int>(std::min<int64_t>(m.context, 1 << 20));
}

std::string kv_measurement_label(const KvRunResult& r) {
  std::string storage = r.storage.empty() ? std::string("unknown") : r.storage;
  std::string backend = r.backend.empty() ? std::string("unknown") : r.backend;
  std::transform(backend.begin(), backend.end(), backend.begin(), [](unsigned char c) { return std::toupper(c); });
  std::string label = backend + " backend, " + storage + " cache";
  // The stored type's name is the storage text's first word ("fp32 (CPU twin)" -> fp32).
  const std::string stored = storage.substr(0, storage.find(' '));
  if (stored != dtype_name(r.asked_dtype)) label += " (" + std::string(dtype_name(r.asked_dtype)) + " asked)";
  label += r.page_tokens > 0 ? ", " + std::to_string(r.page_tokens) + "-token pages" : std::string(", contiguous");
  return label;
}

std::string task_key(const KvViewState& s) {
  char buf[200];
  std::snprintf(buf, sizeof buf, "%d/%d/%d/%d/%d/%d/%d/%d", s.heads, s.kv_heads, s.head_dim, static_cast<int>(s.dtype),
                s.page_index, s.batch, s.loop_context, s.kv_group_index);
  return buf;
}

// The cost model's decode step: FLOPs (4·B·H·len·d, the same for every layout) and bytes (read Q, K and V once per
// KV head, write O).
AlgorithmCost decode_cost(int64_t batch, int64_t heads, int64_t kv, int64_t d, DType dtype, int64_t len) {
  AttentionSpec spec;
  spec.batch = batch;
  spec.q_heads = heads;
  spec.kv_heads = kv;
  spec.q_len = 1;
  spec.kv_len = len;
  spec.head_dim = d;
  spec.dtype = dtype;
  return algorithm_cost(Algorithm::Decode, spec, TileConfig{}, PatternStats{});
}

// The floor: those bytes over the copy bandwidth (GB/s), in ms; 0 when the bandwidth is not known.
double floor_ms_for(int64_t batch, int64_t heads, int64_t kv, int64_t d, DType dtype, int64_t len, double gbs) {
  return gbs > 0 ? decode_cost(batch, heads, kv, d, dtype, len).hbm_bytes / (gbs * 1e9) * 1e3 : 0;
}

int64_t generated_tokens(const KvViewState& s) {
  if (!s.result || s.result->runs.empty() || s.result->runs.front().loop.samples.empty()) return 0;
  return s.result->runs.front().loop.samples.back().context;
}

// Tokens in the pictured cache now: the clock, or (before anyone touched it) what the loop generated, within [0, L].
int64_t tokens_now(const KvViewState& s) {
  const double t = s.tokens < 0 ? static_cast<double>(generated_tokens(s)) : s.tokens;
  return std::clamp<int64_t>(static_cast<int64_t>(std::floor(t)), 0, s.context);
}

void set_tokens(KvViewState& s, double t) { s.tokens = std::clamp(t, 0.0, static_cast<double>(s.context)); }

}  // namespace attnscope::gui
