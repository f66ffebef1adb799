// test_beyond_model.cpp — the "Beyond attention" mode's model: crossovers between measured series (interpolated
// log-log, none when the order never flips), slopes in words, where attention overtakes the MLP, the linear-attention
// map's rows, the approximation against the softmax map, and the tasks end to end on the CPU backend at small sizes.
#include <doctest/doctest.h>

#include <cmath>

#include "app/gui/views/beyond/model.hpp"
#include "core/cpu_backend.hpp"

using namespace attnscope;
using namespace attnscope::gui;

namespace {

BeyondSeries series_of(BeyondKind kind, std::vector<std::pair<int64_t, double>> points) {
  BeyondSeries s;
  s.kind = kind;
  s.label = beyond_kind_name(kind);
  for (auto [n, ms] : points) {
    SweepPoint p;
    p.n = n;
    p.status = PointStatus::Measured;
    p.timing = Timing::from_samples({ms});
    s.points.push_back(p);
  }
  return s;
}

LayerPoint layer_point(int64_t n, double attention_ms, double mlp_ms) {
  LayerPoint p;
  p.n = n;
  p.measured = true;
  for (int k = 0; k < 4; ++k) p.parts.push_back({kLayerParts[k], Timing::from_samples({k == 1 ? attention_ms : k == 3 ? mlp_ms : 1.0}), 0, ""});
  return p;
}

}  // namespace

TEST_CASE("beyond model: a crossover is found where the order flips, interpolated on log-log lines") {
  // flash ∝ N², linear ∝ N; equal at N = 1000 (t = 1 ms).
  std::vector<std::pair<int64_t, double>> flash, linear;
  for (int64_t n : {250, 500, 2000, 4000}) {
    flash.push_back({n, std::pow(n / 1000.0, 2)});
    linear.push_back({n, n / 1000.0});
  }
  const Crossover c = find_crossover(series_of(BeyondKind::Linear, linear), series_of(BeyondKind::Flash, flash));
  CHECK(c.n == doctest::Approx(1000).epsilon(1e-9));
  CHECK(c.ms == doctest::Approx(1).epsilon(1e-9));
  CHECK(c.common_points == 4);
  // The other way round: flash never overtakes linear as N grows.
  const Crossover none = find_crossover(series_of(BeyondKind::Flash, flash), series_of(BeyondKind::Linear, linear));
  CHECK(none.n == 0);
  CHECK_FALSE(none.faster_everywhere);
  // Faster at every N: no crossover, said so.
  const Crossover always = find_crossover(series_of(BeyondKind::Scan, {{256, 0.1}, {512, 0.2}}),
                                          series_of(BeyondKind::Flash, {{256, 1}, {512, 4}}));
  CHECK(always.n == 0);
  CHECK(always.faster_everywhere);
  // Points measured by only one series do not count.
  CHECK(find_crossover(series_of(BeyondKind::Scan, {{256, 1}}), series_of(BeyondKind::Flash, {{512, 1}})).common_points == 0);
}

TEST_CASE("beyond model: slopes in words") {
  CHECK(complexity_words(1.98) == "O(N²)");
  CHECK(complexity_words(1.1) == "O(N)");
  CHECK(complexity_words(0.05) == "O(1)");
  CHECK(complexity_words(1.5) == "O(N^1.50)");
}

TEST_CASE("beyond model: where attention overtakes the MLP") {
  LayerSweepResult r;
  // attention ∝ N², MLP ∝ N, equal at N = 2048.
  for (int64_t n : {512, 1024, 4096}) r.points.push_back(layer_point(n, std::pow(n / 2048.0, 2), n / 2048.0));
  CHECK(attention_overtakes_mlp(r) == doctest::Approx(2048).epsilon(1e-9));
  LayerSweepResult never;
  never.points.push_back(layer_point(512, 1, 2));
  never.points.push_back(layer_point(1024, 2, 4));
  CHECK(attention_overtakes_mlp(never) == 0);
  LayerSweepResult already;
  already.points.push_back(layer_point(512, 3, 2));
  CHECK(attention_overtakes_mlp(already) == -1);
}

TEST_CASE("beyond model: the linear map's rows sum to one, causal rows end at the query") {
  AttentionSpec spec;
  spec.q_len = spec.kv_len = 19;
  spec.head_dim = 8;
  spec.mask.causal = true;
  const AttentionInputs in = generate_inputs(spec, Generator::Gaussian, 4);
  const std::vector<double> map = linear_attention_map(in, 0, 0);
  for (int64_t i = 0; i < 19; ++i) {
    double sum = 0;
    for (int64_t j = 0; j < 19; ++j) {
      const double w = map[static_cast<size_t>(i * 19 + j)];
      if (j > i) CHECK(w == 0);
      else CHECK(w > 0);  // φ > 0: every allowed key weighs something
      sum += w;
    }
    CHECK(sum == doctest::Approx(1));
  }
}

TEST_CASE("beyond model: the approximation differs from softmax, measurably and consistently") {
  auto backend = make_cpu_backend(2);
  ApproximationConfig c;
  c.n = 48;
  c.head_dim = 16;
  const ApproximationResult r = compute_approximation(*backend, c);
  REQUIRE_MESSAGE(r.error.empty(), r.error);
  REQUIRE(r.softmax_map.size() == 48u * 48u);
  // Positional inputs give peaked softmax rows; the feature map spreads the weight.
  CHECK(r.softmax_peak > r.linear_peak);
  CHECK(r.output_relative_difference > 0.01);
  CHECK(r.output_relative_difference < 2);
  CHECK(r.map_total_variation > 0);
  CHECK(r.map_total_variation <= 1);
  CHECK(r.linear_kernel.find("linear attention") != std::string::npos);
}

TEST_CASE("beyond model: the tasks run end to end on the CPU backend at small sizes") {
  auto backend = make_cpu_backend(2);
  TaskControl control;
  BeyondSweepConfig sweep = initial_beyond_sweep(AttentionSpec{}, BackendCapabilities{});
  sweep.lengths = {64, 128};
  sweep.window = 16;
  sweep.min_timed_s = 0;
  sweep.repetitions = 1;
  auto live = std::make_shared<BeyondSweepLive>();
  const BeyondSweepResult s = make_beyond_sweep_task(sweep, live)(*backend, control);
  REQUIRE(s.series.size() == static_cast<size_t>(kBeyondKinds));
  for (const BeyondSeries& series : s.series) {
    CAPTURE(series.label);
    REQUIRE(series.points.size() == 2);
    for (const SweepPoint& p : series.points) CHECK_MESSAGE(p.status == PointStatus::Measured, p.note);
    CHECK(series.time_fit.ok);
  }
  CHECK(live->version == 1 + 2 * kBeyondKinds);  // the empty result, then each point as decided

  LayerSweepConfig layer;
  layer.model = *find_model_preset("gpt2-small");
  layer.model.d_model = 64;
  layer.model.heads = layer.model.kv_heads = 2;
  layer.model.head_dim = 32;
  layer.model.mlp_hidden = 128;
  layer.lengths = {32, 64};
  layer.repetitions = 1;
  const LayerSweepResult l = make_layer_sweep_task(layer)(*backend, control);
  REQUIRE(l.points.size() == 2);
  CHECK(l.points[1].measured);
  CHECK(l.points[1].parts.size() == 4);

  BeyondDecodeConfig decode;
  decode.model = layer.model;
  decode.max_context = 256;
  decode.repetitions = 1;
  const BeyondDecodeResult d = make_beyond_decode_task(decode)(*backend, control);
  REQUIRE_MESSAGE(d.kv.ok, d.kv.error);
  CHECK(d.linear.ok);
  CHECK(d.scan.ok);
  CHECK(d.linear.samples.size() == d.kv.samples.size());
  CHECK(d.kv.samples.back().cache_bytes > d.linear.state_bytes);
}
