// test_beyond_runs.cpp — Backend's beyond-attention calls on the CPU backend and through the defaults every backend
// inherits: outputs equal the twins' references, timings and counts are filled, errors are sentences, and the layer
// timing gives its four parts with the formulas' FLOPs.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>

#include "core/beyond_runs.hpp"
#include "core/cpu_backend.hpp"
#include "core/linear_attention.hpp"

using namespace attnscope;

namespace {

AttentionSpec small_spec(bool causal) {
  AttentionSpec s;
  s.batch = 2;
  s.q_heads = 4;
  s.kv_heads = 2;
  s.q_len = s.kv_len = 77;
  s.head_dim = 16;
  s.mask.causal = causal;
  return s;
}

double max_relative(const std::vector<float>& got, const std::vector<double>& want) {
  double worst = 0, scale = 1e-6;
  for (size_t i = 0; i < got.size(); ++i) {
    worst = std::max(worst, std::abs(got[i] - want[i]));
    scale = std::max(scale, std::abs(want[i]));
  }
  return worst / scale;
}

// A backend with nothing of its own: what a new backend inherits (Backend's defaults).
class BareBackend : public Backend {
 public:
  std::string name() const override { return "bare"; }
  std::string device_name() const override { return "nothing"; }
  BackendCapabilities capabilities() const override { return {}; }
  bool supports(Algorithm, const AttentionSpec&, std::string* why) const override {
    if (why) *why = "the bare backend runs no attention";
    return false;
  }
  RunResult run(const RunRequest&) override {
    RunResult r;
    r.error = "the bare backend runs no attention";
    return r;
  }
  ScoreImage score_image(const ScoreImageRequest&) override { return {}; }
};

}  // namespace

TEST_CASE("beyond runs: linear attention through the backend matches the float64 reference") {
  auto backend = make_cpu_backend(2);
  BareBackend bare;
  for (bool causal : {false, true}) {
    CAPTURE(causal);
    const AttentionInputs in = generate_inputs(small_spec(causal), Generator::Gaussian, 11);
    LinearAttentionRunRequest req;
    req.inputs = &in;
    req.chunk = 10;  // does not divide 77
    req.repetitions = 2;
    for (Backend* b : {backend.get(), static_cast<Backend*>(&bare)}) {
      const SequenceRunResult r = b->run_linear_attention(req);
      REQUIRE_MESSAGE(r.ok, r.error);
      CHECK(max_relative(r.output, linear_attention_reference(in)) < 1e-4);
      CHECK(r.timing.samples_ms.size() == 2);
      CHECK(r.flops == doctest::Approx(linear_attention_flops(in.spec, 10)));
      CHECK(r.state_bytes == 4u * 2 * 2 * (16 * 16 + 16));
      CHECK(r.bytes_allocated > 0);
      CHECK(r.backend == b->name());
    }
  }
  // A sparsity pattern is refused in words.
  AttentionSpec windowed = small_spec(true);
  windowed.mask = parse_mask("window:8+causal").mask;
  const AttentionInputs w = generate_inputs(windowed, Generator::Gaussian, 1);
  LinearAttentionRunRequest req;
  req.inputs = &w;
  const SequenceRunResult r = backend->run_linear_attention(req);
  CHECK_FALSE(r.ok);
  CHECK(r.error.find("dense mask") != std::string::npos);
}

TEST_CASE("beyond runs: the selective scan through the backend matches the reference") {
  auto backend = make_cpu_backend(2);
  const ScanInputs in = generate_scan_inputs({2, 131, 9, 16}, 5);
  SelectiveScanRunRequest req;
  req.inputs = &in;
  req.chunk = 32;
  req.repetitions = 1;
  const SequenceRunResult r = backend->run_selective_scan(req);
  REQUIRE_MESSAGE(r.ok, r.error);
  CHECK(max_relative(r.output, selective_scan_reference(in).y) < 1e-4);
  CHECK(r.flops == doctest::Approx(9.0 * 2 * 131 * 9 * 16));
  CHECK(r.state_bytes == 4u * 2 * 9 * 16);
  ScanInputs broken = in;
  broken.a.pop_back();
  req.inputs = &broken;
  const SequenceRunResult bad = backend->run_selective_scan(req);
  CHECK_FALSE(bad.ok);
  CHECK(bad.error.find("A has") != std::string::npos);
}

TEST_CASE("beyond runs: the recurrent decode step is timed at every context with a constant state") {
  auto backend = make_cpu_backend(2);
  for (RecurrentModel m : {RecurrentModel::LinearAttention, RecurrentModel::SelectiveScan}) {
    CAPTURE(recurrent_model_name(m));
    RecurrentDecodeRequest req;
    req.model = m;
    req.heads = 8;
    req.kv_heads = 2;
    req.head_dim = 32;
    req.channels = 256;
    req.state = 16;
    req.contexts = {16, 1024, 65536};
    req.repetitions = 3;
    const RecurrentDecodeResult r = backend->recurrent_decode(req);
    REQUIRE_MESSAGE(r.ok, r.error);
    REQUIRE(r.samples.size() == 3);
    for (const auto& s : r.samples) {
      CHECK(s.timing.samples_ms.size() == 3);
      CHECK(s.timing.median_ms > 0);
    }
    CHECK(r.samples[2].context == 65536);
    CHECK(r.state_bytes == (m == RecurrentModel::LinearAttention ? 4u * 2 * (32 * 32 + 32) : 4u * 256 * 16));
  }
  RecurrentDecodeRequest bad;
  bad.heads = 6;
  bad.kv_heads = 4;
  bad.contexts = {1};
  CHECK_FALSE(backend->recurrent_decode(bad).ok);
}

TEST_CASE("beyond runs: one block's four parts, timed, with the formulas' FLOPs") {
  auto backend = make_cpu_backend(2);
  LayerTimingRequest req;
  req.tokens = 100;
  req.d_model = 96;
  req.heads = 4;
  req.kv_heads = 2;
  req.head_dim = 24;
  req.mlp_hidden = 200;
  req.gated_mlp = true;
  req.repetitions = 2;
  const LayerTimingResult r = backend->time_layer(req);
  REQUIRE_MESSAGE(r.ok, r.error);
  REQUIRE(r.parts.size() == 4);
  for (size_t i = 0; i < 4; ++i) {
    CHECK(r.parts[i].part == kLayerParts[i]);
    CHECK(r.parts[i].timing.median_ms > 0);
  }
  // QKV: 2·100·96·(4 + 4)·24; MLP gated: 2·100·96·200·3; attention causal: 4·100²·96·(101/200).
  CHECK(r.parts[0].flops == doctest::Approx(2.0 * 100 * 96 * 8 * 24));
  CHECK(r.parts[3].flops == doctest::Approx(2.0 * 100 * 96 * 200 * 3));
  CHECK(r.parts[1].flops == doctest::Approx(4.0 * 100 * 100 * 96 * 101 / 200));
  CHECK(r.weight_bytes == 4u * (96 * 192 + 96 * 96 + 3 * 96 * 200));
  // The bare backend's attention refuses: the block says which part failed.
  BareBackend bare;
  const LayerTimingResult no = bare.time_layer(req);
  CHECK_FALSE(no.ok);
  CHECK(no.error.find("attention") == 0);
}
