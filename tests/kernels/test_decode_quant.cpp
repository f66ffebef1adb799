// test_decode_quant.cpp — the decode kernel over fp8 / int8 KV pages (kernels/decode/decode_quant.hpp) against the
// CPU twin (decode_quant_cpu) on the same QuantKvStore: fresh random tokens at lengths 1, 17, 1000 and 4097 (so the
// open group is empty, partly filled and the only group), two sequences of different lengths, MHA, GQA and MQA,
// paged (shuffled pool) and contiguous, d 64 and 128, planned and forced split counts (more splits than tiles too).
// Both read the same codes, scales and fp16 staging values and accumulate in fp32, so they agree up to fp32 rounding
// and the order of the sums: |o_gpu − o_cpu| ≤ 1e-4 · (1 + max |o|) per sequence and head. The device output is
// poisoned with NaN first: every element must be written.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "core/kv_cache.hpp"
#include "core/rng.hpp"
#include "core/thread_pool.hpp"
#include "kernel_test_util.hpp"
#include "kernels/decode/decode_quant.hpp"

namespace attnscope::test {
namespace {

QuantKvStore make_store(KvDtype t, int64_t G, const std::vector<int64_t>& lengths, int64_t Hkv, int64_t d, bool paged,
                        Rng& rng, uint64_t shuffle) {
  const int64_t B = static_cast<int64_t>(lengths.size());
  const int64_t cap = *std::max_element(lengths.begin(), lengths.end());
  const int64_t P = paged ? 16 : cap;
  int64_t pages = 0;
  for (int64_t n : lengths) pages += paged ? pages_for(n, P) : 1;
  QuantKvStore st(t, G, B, Hkv, d, P, pages + (paged ? 2 : 0), cap, paged ? shuffle : 0);
  std::vector<float> k(static_cast<size_t>(Hkv * d)), v(k.size());
  std::string error;
  for (int64_t tok = 0; tok < cap; ++tok)
    for (int64_t b = 0; b < B; ++b) {
      if (tok >= lengths[static_cast<size_t>(b)]) continue;
      for (int64_t h = 0; h < Hkv; ++h)  // each head its own magnitude: different scales per group and head
        for (int64_t c = 0; c < d; ++c) {
          k[static_cast<size_t>(h * d + c)] = static_cast<float>((0.5 + h) * rng.normal());
          v[static_cast<size_t>(h * d + c)] = static_cast<float>((0.5 + h) * rng.normal());
        }
      REQUIRE(st.append_token(b, k.data(), v.data(), &error));
    }
  return st;
}

TEST_CASE("decode quantised kernel equals the CPU twin: fp8 and int8, lengths 1, 17, 1000, 4097, MHA/GQA/MQA") {
  ThreadPool pool(0);
  const int64_t H = 8;
  const uint64_t seed = fresh_seed();
  INFO("seed " << seed);
  Rng rng(seed);
  for (KvDtype t : {KvDtype::Fp8E4M3, KvDtype::Int8})
    for (int64_t n : {1, 17, 1000, 4097})
      for (int64_t Hkv : {8, 2, 1})
        for (bool paged : {true, false})
          for (int64_t d : {64, 128}) {
            CAPTURE(kv_dtype_name(t));
            CAPTURE(n);
            CAPTURE(Hkv);
            CAPTURE(paged);
            CAPTURE(d);
            const int64_t G = n == 1000 ? 64 : 16;
            const QuantKvStore st = make_store(t, G, {n, std::max<int64_t>(1, n / 3)}, Hkv, d, paged, rng, seed | 1);
            std::vector<float> q(static_cast<size_t>(2 * H * d));
            for (auto& x : q) x = static_cast<float>(rng.normal());
            const double scale = 1.0 / std::sqrt(static_cast<double>(d));
            std::vector<float> expected(q.size());
            REQUIRE(decode_quant_cpu(st, q.data(), H, scale, expected.data(), pool).empty());
            for (int splits : {0, 1, 3, 80}) {
              CAPTURE(splits);
              const kernels::DecodeQuantHostResult r = kernels::run_decode_quant_host(st, q, H, scale, splits);
              REQUIRE_MESSAGE(r.ok, r.error);
              REQUIRE(r.output.size() == expected.size());
              for (int64_t bh = 0; bh < 2 * H; ++bh) {
                double omax = 0, worst = 0;
                for (int64_t c = 0; c < d; ++c) {
                  const size_t i = static_cast<size_t>(bh * d + c);
                  REQUIRE(std::isfinite(r.output[i]));  // every element written
                  omax = std::max(omax, std::fabs(static_cast<double>(expected[i])));
                  worst = std::max(worst, std::fabs(static_cast<double>(r.output[i]) - expected[i]));
                }
                CHECK(worst <= 1e-4 * (1 + omax));
              }
            }
          }
}

TEST_CASE("decode loop on the GPU with fp8 / int8 caches: the CPU loop's error, bytes and growth") {
  std::string why;
  const auto devices = kernels::list_cuda_devices(&why);
  REQUIRE_MESSAGE(!devices.empty(), why);
  for (KvDtype t : {KvDtype::Fp8E4M3, KvDtype::Int8})
    for (int64_t page : {16, 0}) {
      CAPTURE(kv_dtype_name(t));
      CAPTURE(page);
      DecodeLoopRequest r;
      r.batch = 3;
      r.q_heads = 8;
      r.kv_heads = 2;
      r.head_dim = 128;
      r.page_tokens = page;
      r.context = 1000;
      r.prefill = 900;
      r.measure_every = 25;
      r.repetitions = 3;
      r.kv_dtype = t;
      r.kv_group = 16;
      r.seed = fresh_seed();
      const DecodeLoopResult gpu = kernels::run_decode_loop_quant_cuda(r, devices.front(), nullptr);
      REQUIRE_MESSAGE(gpu.ok, gpu.error);
      const DecodeLoopResult cpu = run_cpu_decode_loop(r, 0);
      REQUIRE_MESSAGE(cpu.ok, cpu.error);
      CHECK(gpu.kv_dtype == kv_dtype_name(t));
      CHECK(gpu.storage_bytes == 1);
      CHECK(gpu.bytes_per_token_layer == cpu.bytes_per_token_layer);
      REQUIRE(gpu.samples.size() == cpu.samples.size());
      for (size_t i = 0; i < gpu.samples.size(); ++i) {
        CHECK(gpu.samples[i].context == cpu.samples[i].context);
        CHECK(gpu.samples[i].kv_bytes_read == cpu.samples[i].kv_bytes_read);
        CHECK(gpu.samples[i].cache_bytes == cpu.samples[i].cache_bytes);
        CHECK(gpu.samples[i].decode_ms > 0);
      }
      // The same tokens and queries (same seed), the same quantised cache: the output differs from the CPU loop's
      // by fp32 rounding only, so the error against the fp16 cache is the CPU loop's.
      REQUIRE(gpu.error_measured);
      CHECK(gpu.error_max_abs == doctest::Approx(cpu.error_max_abs).epsilon(1e-2));
      CHECK(gpu.error_rel_l2 == doctest::Approx(cpu.error_rel_l2).epsilon(1e-2));
      CHECK(gpu.error_rel_l2 > 0);
    }
}

TEST_CASE("decode quantised kernel: bad shapes are answered, nothing launched") {
  QuantKvStore st(KvDtype::Int8, 16, 1, 2, 48, 16, 1, 16);
  std::vector<float> k(96, 1.0f), v(96, 1.0f), q(4 * 48, 0.5f);
  std::string error;
  REQUIRE(st.append_token(0, k.data(), v.data(), &error));
  const kernels::DecodeQuantHostResult bad_d = kernels::run_decode_quant_host(st, q, 4, 0.1, 0);
  CHECK_FALSE(bad_d.ok);
  CHECK(bad_d.error.find("head dim 48") != std::string::npos);
  QuantKvStore st2(KvDtype::Fp8E4M3, 16, 1, 2, 64, 16, 1, 16);
  std::vector<float> q2(3 * 64, 0.5f);
  const kernels::DecodeQuantHostResult bad_heads = kernels::run_decode_quant_host(st2, q2, 3, 0.1, 0);
  CHECK_FALSE(bad_heads.ok);
  CHECK(bad_heads.error.find("not a multiple of KV heads 2") != std::string::npos);
  const kernels::DecodeQuantHostResult empty = kernels::run_decode_quant_host(st2, std::vector<float>(4 * 64), 4, 0.1, 0);
  CHECK_FALSE(empty.ok);
  CHECK(empty.error.find("empty cache") != std::string::npos);
}

}  // namespace
}  // namespace attnscope::test
