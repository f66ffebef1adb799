// test_linear_models.cpp — linear attention and the selective scan (issue 20): every twin against its float64
// reference on fresh random inputs, odd sizes (1, 17, 1000), chunks that do not divide the length, GQA, and the
// recurrent decode step against the full pass.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "core/linear_attention.hpp"
#include "core/selective_scan.hpp"

using namespace attnscope;

namespace {

uint64_t g_seed = 0x11ea;

template <typename T>
void check_close(const char* what, const std::vector<float>& got, const std::vector<T>& want, double rel = 2e-4) {
  REQUIRE(got.size() == want.size());
  double worst = 0, scale = 1e-6;
  int64_t not_finite = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (!std::isfinite(got[i])) ++not_finite;
    worst = std::max(worst, std::abs(static_cast<double>(got[i]) - static_cast<double>(want[i])));
    scale = std::max(scale, std::abs(static_cast<double>(want[i])));
  }
  INFO(what, ": max |error| ", worst, " against max |value| ", scale);
  CHECK(not_finite == 0);
  CHECK(worst <= rel * scale + 1e-5);
}

AttentionSpec spec_of(int64_t b, int64_t h, int64_t hkv, int64_t nq, int64_t nk, int64_t d, bool causal) {
  AttentionSpec s;
  s.batch = b; s.q_heads = h; s.kv_heads = hkv; s.q_len = nq; s.kv_len = nk; s.head_dim = d;
  s.mask.causal = causal;
  return s;
}

}  // namespace

TEST_CASE("linear attention: non-causal and chunked causal equal the float64 reference") {
  ThreadPool pool(3);
  for (int64_t n : {1, 17, 1000}) {
    for (bool causal : {false, true}) {
      const AttentionSpec spec = spec_of(2, 4, 2, n, n, 16, causal);
      REQUIRE(linear_attention_unsupported(spec).empty());
      const AttentionInputs in = generate_inputs(spec, Generator::Gaussian, ++g_seed);
      const std::vector<double> ref = linear_attention_reference(in);
      INFO("N ", n, causal ? " causal" : " non-causal");
      if (!causal) {
        check_close("non-causal", linear_attention_noncausal(in, pool), ref);
      } else {
        for (int64_t chunk : {1, 7, 64, 2000}) {
          INFO("chunk ", chunk);
          check_close("causal chunked", linear_attention_causal_chunked(in, chunk, pool), ref);
        }
      }
    }
  }
  // Decode: the last query of a longer cache (q_len < kv_len), causal by position.
  const AttentionSpec decode = spec_of(1, 8, 1, 1, 333, 32, true);
  const AttentionInputs in = generate_inputs(decode, Generator::Gaussian, ++g_seed);
  check_close("decode chunked", linear_attention_causal_chunked(in, 64, pool), linear_attention_reference(in));
  // The recurrent state gives the same answer as the full pass, one token at a time.
  LinearAttentionState state(decode.head_dim);
  for (int64_t j = 0; j < decode.kv_len; ++j) state.append(in.k_row(0, 0, j), in.v_row(0, 0, j));
  std::vector<float> out(static_cast<size_t>(decode.head_dim));
  state.read(in.q_row(0, 3, 0), out.data());
  const std::vector<double> ref = linear_attention_reference(in);
  for (int64_t x = 0; x < decode.head_dim; ++x)
    CHECK(out[x] == doctest::Approx(ref[static_cast<size_t>(3 * decode.head_dim + x)]).epsilon(1e-4));
  // A sparsity pattern is not linear attention.
  AttentionSpec windowed = decode;
  windowed.mask = parse_mask("window:8").mask;
  CHECK(linear_attention_unsupported(windowed).find("window:8") != std::string::npos);
}

TEST_CASE("selective scan: recurrent and chunked equal the float64 reference, state carried in and out") {
  ThreadPool pool(3);
  for (int64_t length : {1, 17, 1000}) {
    ScanShape shape{2, length, 5, 16};
    ScanInputs in = generate_scan_inputs(shape, ++g_seed);
    REQUIRE(validate(in).empty());
    if (length == 17) {  // an entering state, as when a prompt was scanned before
      in.h_in.resize(static_cast<size_t>(shape.batch * shape.channels * shape.state));
      for (size_t i = 0; i < in.h_in.size(); ++i) in.h_in[i] = std::sin(static_cast<float>(i));
    }
    const ScanOutput ref = selective_scan_reference(in);
    INFO("L ", length);
    const ScanResult rec = selective_scan_recurrent(in, pool);
    check_close("recurrent y", rec.y, ref.y);
    check_close("recurrent h", rec.h_out, ref.h_out);
    for (int64_t chunk : {1, 16, 33, 4096}) {
      INFO("chunk ", chunk);
      const ScanResult ch = selective_scan_chunked(in, chunk, pool);
      check_close("chunked y", ch.y, ref.y);
      check_close("chunked h", ch.h_out, ref.h_out);
    }
  }
  ScanInputs bad = generate_scan_inputs({1, 4, 2, 8}, 1);
  bad.b.pop_back();
  REQUIRE(validate(bad).size() == 1);
  CHECK(validate(bad)[0] == "B has 31 values; the shape needs 32");
  bad.shape.state = 0;
  CHECK(validate(bad)[0] == "state size 0: must be 1..256");
}
