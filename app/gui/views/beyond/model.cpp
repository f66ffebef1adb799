// model.cpp — see model.hpp: configurations, fits, crossovers, the linear-attention map and the approximation.
#include "app/gui/views/beyond/model.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/beyond_runs.hpp"
#include "core/linear_attention.hpp"
#include "core/mask.hpp"

namespace attnscope::gui {

const char* beyond_kind_name(BeyondKind k) {
  switch (k) {
    case BeyondKind::Naive: return "naive";
    case BeyondKind::Flash: return "flash";
    case BeyondKind::SlidingWindow: return "sliding window";
    case BeyondKind::Linear: return "linear attention";
    case BeyondKind::Scan: return "selective scan";
  }
  return "?";
}

AttentionSpec beyond_spec(const BeyondSweepConfig& c, BeyondKind kind, int64_t n) {
  AttentionSpec s;
  s.batch = c.batch;
  s.q_heads = s.kv_heads = c.heads;
  s.q_len = s.kv_len = n;
  s.head_dim = c.head_dim;
  s.dtype = DType::F32;
  // Keys i − w + 1 … i: the window's left reach is w − 1.
  if (kind == BeyondKind::SlidingWindow)
    s.mask = parse_mask("window:" + std::to_string(std::max<int64_t>(0, c.window - 1)) + ",0").mask;
  s.mask.causal = true;
  return s;
}

BeyondSweepConfig initial_beyond_sweep(const AttentionSpec& experiment, const BackendCapabilities& backend) {
  BeyondSweepConfig c;
  c.heads = std::clamp<int64_t>(experiment.q_heads, 1, 64);
  c.head_dim = std::clamp<int64_t>(experiment.head_dim, 16, 256);
  c.lengths = sweep_lengths(256, 65536);
  c.time_cap_s = backend.host_cpu ? 1.0 : 5.0;
  return c;
}

void fit_beyond_series(BeyondSeries& s, int fit_points) {
  std::vector<double> ns, ts, ms;
  for (const SweepPoint& p : s.points)
    if (p.status == PointStatus::Measured) {
      ns.push_back(static_cast<double>(p.n));
      ts.push_back(p.timing.min_ms);
      ms.push_back(static_cast<double>(p.bytes_allocated));
    }
  const size_t take = std::min(ns.size(), static_cast<size_t>(std::max(2, fit_points)));
  const size_t from = ns.size() - take;
  s.time_fit = fit_power_law(std::span(ns).subspan(from), std::span(ts).subspan(from));
  s.memory_fit = fit_power_law(std::span(ns).subspan(from), std::span(ms).subspan(from));
}

Crossover find_crossover(const BeyondSeries& faster, const BeyondSeries& slower) {
  Crossover c;
  c.faster = faster.kind;
  c.slower = slower.kind;
  // Both measured at the same N, in order of N.
  std::vector<double> ns, fa, sl;
  for (const SweepPoint& p : faster.points) {
    if (p.status != PointStatus::Measured) continue;
    for (const SweepPoint& q : slower.points)
      if (q.n == p.n && q.status == PointStatus::Measured) {
        ns.push_back(static_cast<double>(p.n));
        fa.push_back(p.timing.median_ms);
        sl.push_back(q.timing.median_ms);
      }
  }
  c.common_points = static_cast<int>(ns.size());
  if (ns.empty()) return c;
  // The last flip from "not faster" to "faster": the N beyond which `faster` stays ahead.
  for (size_t i = ns.size() - 1; i > 0; --i) {
    const bool ahead = fa[i] < sl[i], ahead_before = fa[i - 1] < sl[i - 1];
    if (ahead && !ahead_before) {
      // log t_f − log t_s is linear in log N between the two points; its zero.
      const double d0 = std::log(fa[i - 1] / sl[i - 1]), d1 = std::log(fa[i] / sl[i]);
      const double f = d0 / (d0 - d1);
      const double ln = std::log(ns[i - 1]) + f * (std::log(ns[i]) - std::log(ns[i - 1]));
      c.n = std::exp(ln);
      c.ms = std::exp(std::log(sl[i - 1]) + f * (std::log(sl[i]) - std::log(sl[i - 1])));
      return c;
    }
    if (!ahead) break;  // behind at the largest common N (or from here down): no crossover to report
  }
  c.faster_everywhere = true;
  for (size_t i = 0; i < ns.size(); ++i) c.faster_everywhere = c.faster_everywhere && fa[i] < sl[i];
  return c;
}

std::string complexity_words(double slope) {
  if (std::abs(slope - 2) < 0.25) return "O(N²)";
  if (std::abs(slope - 1) < 0.25) return "O(N)";
  if (slope < 0.25) return "O(1)";
  char buf[32];
  std::snprintf(buf, sizeof buf, "O(N^%.2f)", slope);
  return buf;
}

LayerTimingRequest layer_request(const LayerSweepConfig& c, int64_t n) {
  LayerTimingRequest r;
  r.batch = c.batch;
  r.tokens = n;
  r.d_model = c.model.d_model;
  r.heads = c.model.heads;
  r.kv_heads = c.model.kv_heads;
  r.head_dim = c.model.head_dim;
  r.mlp_hidden = c.model.mlp_hidden;
  r.gated_mlp = c.model.gated_mlp;
  r.dtype = c.dtype;
  r.causal = c.model.mask != "dense";
  r.warmup = c.warmup;
  r.repetitions = c.repetitions;
  return r;
}

double attention_overtakes_mlp(const LayerSweepResult& r) {
  std::vector<double> ns, att, mlp;
  for (const LayerPoint& p : r.points)
    if (p.measured && p.parts.size() == 4) {
      ns.push_back(static_cast<double>(p.n));
      att.push_back(p.parts[1].timing.median_ms);
      mlp.push_back(p.parts[3].timing.median_ms);
    }
  if (ns.empty()) return 0;
  if (att[0] > mlp[0]) return -1;
  for (size_t i = 1; i < ns.size(); ++i)
    if (att[i] > mlp[i]) {
      const double d0 = std::log(att[i - 1] / mlp[i - 1]), d1 = std::log(att[i] / mlp[i]);
      const double f = d0 / (d0 - d1);
      return std::exp(std::log(ns[i - 1]) + f * (std::log(ns[i]) - std::log(ns[i - 1])));
    }
  return 0;
}

std::vector<double> linear_attention_map(const AttentionInputs& in, int64_t batch, int64_t head) {
  const AttentionSpec& s = in.spec;
  const int64_t d = s.head_dim, g = s.kv_head_of(head);
  std::vector<double> map(static_cast<size_t>(s.q_len * s.kv_len), 0.0);
  for (int64_t i = 0; i < s.q_len; ++i) {
    const float* q = in.q_row(batch, head, i);
    const int64_t last = s.mask.causal ? s.query_position(i) : s.kv_len - 1;
    double sum = 0;
    double* row = &map[static_cast<size_t>(i * s.kv_len)];
    for (int64_t j = 0; j <= last; ++j) {
      const float* k = in.k_row(batch, g, j);
      double w = 0;
      for (int64_t x = 0; x < d; ++x) w += static_cast<double>(elu_plus_one(q[x])) * elu_plus_one(k[x]);
      row[j] = w;
      sum += w;
    }
    for (int64_t j = 0; j <= last; ++j) row[j] /= sum;
  }
  return map;
}

ApproximationResult compute_approximation(Backend& backend, const ApproximationConfig& c) {
  ApproximationResult r;
  r.config = c;
  AttentionSpec spec;
  spec.q_len = spec.kv_len = c.n;
  spec.head_dim = c.head_dim;
  spec.mask.causal = c.causal;
  const AttentionInputs in = generate_inputs(spec, c.generator, c.seed);
  const ReferenceHead soft = reference_head(in, 0, 0);
  r.n = c.n;
  r.softmax_map = soft.probabilities;
  r.linear_map = linear_attention_map(in, 0, 0);
  LinearAttentionRunRequest req;
  req.inputs = &in;
  req.repetitions = 1;
  req.warmup = 0;
  const SequenceRunResult lin = backend.run_linear_attention(req);
  if (!lin.ok) {
    r.error = lin.error;
    return r;
  }
  r.linear_kernel = lin.kernel;
  double diff = 0, norm = 0;
  for (size_t i = 0; i < lin.output.size(); ++i) {
    diff += std::pow(lin.output[i] - soft.output[i], 2);
    norm += soft.output[i] * soft.output[i];
  }
  r.output_relative_difference = std::sqrt(diff / std::max(norm, 1e-300));
  double tv = 0, peak_s = 0, peak_l = 0;
  for (int64_t i = 0; i < c.n; ++i) {
    double row_tv = 0, ps = 0, pl = 0;
    for (int64_t j = 0; j < c.n; ++j) {
      const size_t k = static_cast<size_t>(i * c.n + j);
      row_tv += std::abs(r.softmax_map[k] - r.linear_map[k]);
      ps = std::max(ps, r.softmax_map[k]);
      pl = std::max(pl, r.linear_map[k]);
    }
    tv += 0.5 * row_tv;
    peak_s += ps;
    peak_l += pl;
  }
  r.map_total_variation = tv / static_cast<double>(c.n);
  r.softmax_peak = peak_s / static_cast<double>(c.n);
  r.linear_peak = peak_l / static_cast<double>(c.n);
  return r;
}

void configure_beyond(BeyondViewState& view, const AttentionSpec& experiment, const BackendCapabilities& backend) {
  const auto& presets = model_presets();
  view.preset = std::clamp(view.preset, 0, static_cast<int>(presets.size()) - 1);
  const ModelPreset& m = presets[static_cast<size_t>(view.preset)];
  view.sweep_config = initial_beyond_sweep(experiment, backend);
  view.layer_config.model = m;
  // A 2-core CPU times a GPT-2-sized block to 8k tokens (past its attention-over-MLP crossover) in about a minute;
  // a GPU goes to 64k.
  view.layer_config.lengths = sweep_lengths(256, backend.host_cpu ? 8192 : 65536);
  view.layer_config.time_cap_s = backend.host_cpu ? 20.0 : 5.0;
  view.layer_config.dtype = backend.host_cpu ? DType::F32 : DType::F16;
  view.decode_config.model = m;
  view.decode_config.max_context = backend.host_cpu ? 16384 : 131072;
  view.configured = true;
}

}  // namespace attnscope::gui
