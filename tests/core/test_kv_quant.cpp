// test_kv_quant.cpp — the quantised KV cache: fp8 e4m3 encode/decode over every code (round trip, ties to even
// between neighbours, saturation, NaN refused), fp16 and int8 rounding, the group rule (staged at fp16 until the
// group fills, then quantised once), the quantised decode twin against a float64 reference on the dequantised values
// and against the fp16 cache's output within the derived bound (lengths 1, 17, 1000, 4097; MHA, GQA, MQA; paged and
// contiguous), the footprint per dtype, and the decode loop with a quantised cache.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "core/kv_cache.hpp"
#include "core/kv_quant.hpp"
#include "core/rng.hpp"
#include "core/thread_pool.hpp"

namespace attnscope {
namespace {

uint64_t fresh_seed() {
  static std::random_device device;
  return (uint64_t{device()} << 32) ^ device();
}

bool is_nan_code(int c) { return (c & 0x7F) == 0x7F; }

TEST_CASE("e4m3: every code decodes to the OCP value and encodes back to itself") {
  CHECK(fp8_e4m3_decode(0x00) == 0.0f);
  CHECK(fp8_e4m3_decode(0x01) == std::ldexp(1.0f, -9));   // smallest subnormal
  CHECK(fp8_e4m3_decode(0x07) == 7 * std::ldexp(1.0f, -9));
  CHECK(fp8_e4m3_decode(0x08) == std::ldexp(1.0f, -6));   // smallest normal
  CHECK(fp8_e4m3_decode(0x38) == 1.0f);                   // exponent 7 = bias
  CHECK(fp8_e4m3_decode(0x7E) == 448.0f);
  CHECK(fp8_e4m3_decode(0xFE) == -448.0f);
  CHECK(std::isnan(fp8_e4m3_decode(0x7F)));
  CHECK(std::isnan(fp8_e4m3_decode(0xFF)));
  int finite = 0;
  for (int c = 0; c < 256; ++c) {
    CAPTURE(c);
    const float x = fp8_e4m3_decode(static_cast<uint8_t>(c));
    if (is_nan_code(c)) {
      CHECK(!fp8_e4m3_encode(x).has_value());
      continue;
    }
    ++finite;
    const auto code = fp8_e4m3_encode(x);
    REQUIRE(code.has_value());
    CHECK(*code == c);  // −0 (0x80) included: the sign is kept
    CHECK(std::signbit(x) == ((c & 0x80) != 0));
  }
  CHECK(finite == 254);
  // Monotone over the positive codes (0x00..0x7E): the encoding is the order of the values.
  for (int c = 0; c < 0x7E; ++c) CHECK(fp8_e4m3_decode(static_cast<uint8_t>(c)) < fp8_e4m3_decode(static_cast<uint8_t>(c + 1)));
}

TEST_CASE("e4m3: values between two codes round to the nearer, ties to the even code") {
  for (int c = 0; c < 0x7E; ++c) {
    for (float sign : {1.0f, -1.0f}) {
      CAPTURE(c);
      CAPTURE(sign);
      const float lo = fp8_e4m3_decode(static_cast<uint8_t>(c)), hi = fp8_e4m3_decode(static_cast<uint8_t>(c + 1));
      const float mid = 0.5f * (lo + hi);  // exact in fp32: the codes have 4 significant bits
      const uint8_t s = sign < 0 ? 0x80 : 0;
      const int even = (c % 2 == 0) ? c : c + 1;  // the code's low bit is its mantissa's low bit
      CHECK(*fp8_e4m3_encode(sign * mid) == (s | even));
      CHECK(*fp8_e4m3_encode(sign * std::nextafter(mid, 0.0f)) == (s | c));
      CHECK(*fp8_e4m3_encode(sign * std::nextafter(mid, 1e9f)) == (s | (c + 1)));
      CHECK(*fp8_e4m3_encode(sign * (lo + 0.25f * (hi - lo))) == (s | c));
      CHECK(*fp8_e4m3_encode(sign * (lo + 0.75f * (hi - lo))) == (s | (c + 1)));
    }
  }
}

TEST_CASE("e4m3: saturation to ±448 (infinities too), NaN refused") {
  for (float x : {448.0f, 449.0f, 464.0f, 480.0f, 1e6f, 3e38f, std::numeric_limits<float>::infinity()}) {
    CAPTURE(x);
    CHECK(*fp8_e4m3_encode(x) == 0x7E);
    CHECK(*fp8_e4m3_encode(-x) == 0xFE);
  }
  // Just under 448: the neighbour below (416) or 448 by distance.
  CHECK(*fp8_e4m3_encode(431.0f) == 0x7D);
  CHECK(*fp8_e4m3_encode(433.0f) == 0x7E);
  CHECK(!fp8_e4m3_encode(std::numeric_limits<float>::quiet_NaN()).has_value());
  CHECK(!fp8_e4m3_encode(-std::numeric_limits<float>::quiet_NaN()).has_value());
  // Below half the smallest subnormal: zero; half of it is a tie that goes to the even code 0.
  CHECK(*fp8_e4m3_encode(std::ldexp(1.0f, -10)) == 0x00);
  CHECK(*fp8_e4m3_encode(std::ldexp(1.5f, -10)) == 0x01);
}

TEST_CASE("fp16 and int8 rounding: nearest, ties to even, range") {
  CHECK(round_to_fp16(1.0f) == 1.0f);
  CHECK(round_to_fp16(1.0f + std::ldexp(1.0f, -11)) == 1.0f);  // tie -> even mantissa 0
  CHECK(round_to_fp16(1.0f + 3 * std::ldexp(1.0f, -11)) == 1.0f + std::ldexp(1.0f, -9));  // tie -> even mantissa 2
  CHECK(round_to_fp16(65504.0f) == 65504.0f);
  CHECK(round_to_fp16(65519.0f) == 65504.0f);
  CHECK(std::isinf(round_to_fp16(65520.0f)));
  CHECK(round_to_fp16(std::ldexp(1.0f, -24)) == std::ldexp(1.0f, -24));  // smallest subnormal
  CHECK(round_to_fp16(std::ldexp(1.0f, -25)) == 0.0f);                  // tie -> 0
  for (uint32_t bits = 0; bits < 0x7C00; bits += 7) {  // every 7th finite positive half round-trips
    const float x = fp16_to_float(static_cast<uint16_t>(bits));
    CHECK(fp16_from_float(x) == bits);
  }
  CHECK(int8_encode(2.5f) == 2);
  CHECK(int8_encode(3.5f) == 4);
  CHECK(int8_encode(-2.5f) == -2);
  CHECK(int8_encode(126.6f) == 127);
  CHECK(int8_encode(1000.0f) == 127);
  CHECK(int8_encode(-1000.0f) == -127);  // -128 is never produced: the range is symmetric
}

TEST_CASE("kv dtypes and groups: names, parsing, the group rule's problems") {
  for (KvDtype t : {KvDtype::F16, KvDtype::Fp8E4M3, KvDtype::Int8}) CHECK(parse_kv_dtype(kv_dtype_name(t)) == t);
  CHECK(parse_kv_dtype("e4m3") == KvDtype::Fp8E4M3);
  CHECK(!parse_kv_dtype("fp4").has_value());
  CHECK(!parse_kv_dtype("FP8").has_value());
  for (int64_t g : {1, 2, 16, 256, 4096}) CHECK(kv_group_problem(g).empty());
  for (int64_t g : {0, -16, 3, 24, 8192}) {
    CAPTURE(g);
    const std::string why = kv_group_problem(g);
    CHECK(why.find("scale group " + std::to_string(g)) != std::string::npos);
    CHECK(why.find("power of two in 1..4096") != std::string::npos);
  }
}

TEST_CASE("encode then decode stays within kv_quantisation_bound, which is not loose by more than 2x") {
  Rng rng(fresh_seed());
  for (KvDtype t : {KvDtype::Fp8E4M3, KvDtype::Int8}) {
    for (float amax : {1e-3f, 1.0f, 37.0f, 6e4f}) {
      const float scale = kv_group_scale(t, amax);
      double worst_ratio = 0;
      for (int i = 0; i < 20000; ++i) {
        const float x = static_cast<float>((2 * rng.uniform() - 1) * amax);
        const float back = kv_decode(t, kv_encode(t, x, scale), scale);
        const double err = std::fabs(static_cast<double>(back) - x);
        const double bound = kv_quantisation_bound(t, x, scale);
        CHECK(err <= bound);
        worst_ratio = std::max(worst_ratio, err / bound);
      }
      CAPTURE(kv_dtype_name(t));
      CAPTURE(amax);
      CHECK(worst_ratio > 0.5);  // the bound is half a step: random values come close to it
    }
  }
}

// Random K/V rows of a given spread; each head gets its own magnitude so groups have different scales.
void random_row(Rng& rng, std::vector<float>& row, int64_t kv_heads, int64_t d) {
  for (int64_t h = 0; h < kv_heads; ++h) {
    const double magnitude = 0.25 + h;
    for (int64_t c = 0; c < d; ++c) row[static_cast<size_t>(h * d + c)] = static_cast<float>(magnitude * rng.normal());
  }
}

TEST_CASE("the group rule: staged at fp16 until the group fills, then quantised once with scale max|x| / qmax") {
  const int64_t Hkv = 2, d = 8, G = 4, P = 16;
  for (KvDtype t : {KvDtype::Fp8E4M3, KvDtype::Int8}) {
    CAPTURE(kv_dtype_name(t));
    Rng rng(fresh_seed());
    QuantKvStore st(t, G, 1, Hkv, d, P, 4, 64);
    std::vector<float> k(static_cast<size_t>(Hkv * d)), v(k.size()), row(static_cast<size_t>(d));
    std::vector<std::vector<float>> ks, vs;
    for (int64_t n = 1; n <= 10; ++n) {
      random_row(rng, k, Hkv, d);
      random_row(rng, v, Hkv, d);
      ks.push_back(k);
      vs.push_back(v);
      std::string error;
      REQUIRE(st.append_token(0, k.data(), v.data(), &error));
      CHECK(st.closed_tokens(0) == n / G * G);
      for (int64_t pos = 0; pos < n; ++pos)
        for (int64_t h = 0; h < Hkv; ++h) {
          st.k_row(0, h, pos, row.data());
          const size_t si = st.scale_index(0, h, pos);
          for (int64_t c = 0; c < d; ++c) {
            const float x16 = round_to_fp16(ks[static_cast<size_t>(pos)][static_cast<size_t>(h * d + c)]);
            if (pos >= st.closed_tokens(0)) CHECK(row[static_cast<size_t>(c)] == x16);  // the open group: fp16
            else CHECK(std::fabs(row[static_cast<size_t>(c)] - x16) <= kv_quantisation_bound(t, x16, st.k_scales[si]));
          }
        }
    }
    // Each closed group's scale is its max |x| (fp16 values, K and V apart, per head) / qmax.
    for (int64_t g = 0; g < 2; ++g)
      for (int64_t h = 0; h < Hkv; ++h) {
        float amax_k = 0, amax_v = 0;
        for (int64_t pos = g * G; pos < (g + 1) * G; ++pos)
          for (int64_t c = 0; c < d; ++c) {
            amax_k = std::max(amax_k, std::fabs(round_to_fp16(ks[static_cast<size_t>(pos)][static_cast<size_t>(h * d + c)])));
            amax_v = std::max(amax_v, std::fabs(round_to_fp16(vs[static_cast<size_t>(pos)][static_cast<size_t>(h * d + c)])));
          }
        CHECK(st.k_scales[st.scale_index(0, h, g * G)] == amax_k / kv_dtype_qmax(t));
        CHECK(st.v_scales[st.scale_index(0, h, g * G)] == amax_v / kv_dtype_qmax(t));
      }
  }
}

TEST_CASE("a NaN or infinity is reported and nothing is stored") {
  QuantKvStore st(KvDtype::Fp8E4M3, 4, 2, 2, 4, 16, 2, 16);
  std::vector<float> k(8, 1.0f), v(8, 1.0f);
  std::string error;
  REQUIRE(st.append_token(1, k.data(), v.data(), &error));
  k[5] = std::numeric_limits<float>::quiet_NaN();
  CHECK(!st.append_token(1, k.data(), v.data(), &error));
  CHECK(error.find("K head 1 element 1 is not finite") != std::string::npos);
  CHECK(error.find("nothing stored") != std::string::npos);
  CHECK(st.table.length(1) == 1);
  k[5] = 1.0f;
  v[0] = -std::numeric_limits<float>::infinity();
  CHECK(!st.append_token(1, k.data(), v.data(), &error));
  CHECK(error.find("V head 0 element 0") != std::string::npos);
  CHECK(st.table.length(1) == 1);
  CHECK(st.table.pages_in_use() == 1);
}

// A quantised store and the fp16 store of the same tokens, filled in the given layout.
struct QuantCase {
  QuantKvStore quant;
  PagedKvStore fp16;
  std::vector<int64_t> lengths;
};

QuantCase make_case(KvDtype t, int64_t G, int64_t batch, int64_t Hkv, int64_t d, const std::vector<int64_t>& lengths,
                    bool paged, Rng& rng, uint64_t shuffle) {
  QuantCase c;
  c.lengths = lengths;
  const int64_t cap = *std::max_element(lengths.begin(), lengths.end());
  const int64_t P = paged ? 16 : cap;
  int64_t pages = 0;
  for (int64_t n : lengths) pages += paged ? pages_for(n, P) : 1;
  c.quant = QuantKvStore(t, G, batch, Hkv, d, P, pages, cap, paged ? shuffle : 0);
  c.fp16 = PagedKvStore(batch, Hkv, d, P, pages, paged ? shuffle : 0);
  std::vector<float> k(static_cast<size_t>(Hkv * d)), v(k.size());
  std::string error;
  for (int64_t t_ = 0; t_ < cap; ++t_)
    for (int64_t b = 0; b < batch; ++b) {
      if (t_ >= lengths[static_cast<size_t>(b)]) continue;
      random_row(rng, k, Hkv, d);
      random_row(rng, v, Hkv, d);
      REQUIRE(c.quant.append_token(b, k.data(), v.data(), &error));
      for (auto& x : k) x = round_to_fp16(x);
      for (auto& x : v) x = round_to_fp16(x);
      REQUIRE(c.fp16.append_token(b, k.data(), v.data(), &error));
    }
  return c;
}

TEST_CASE("quantised decode twin: float64 reference on the dequantised values, and the fp16 cache within the bound") {
  ThreadPool pool(2);
  const int64_t batch = 2, H = 8, d = 32;
  const double sm = 1.0 / std::sqrt(static_cast<double>(d));
  const uint64_t seed = fresh_seed();
  CAPTURE(seed);
  Rng rng(seed);
  for (KvDtype t : {KvDtype::Fp8E4M3, KvDtype::Int8})
    for (int64_t n : {1, 17, 1000, 4097})
      for (int64_t Hkv : {8, 2, 1})      // MHA, GQA, MQA
        for (bool paged : {true, false}) {
          const int64_t G = n == 1000 ? 64 : 16;
          CAPTURE(kv_dtype_name(t));
          CAPTURE(n);
          CAPTURE(Hkv);
          CAPTURE(paged);
          // The second sequence is shorter (odd too) so sequences of different lengths share the decode.
          QuantCase c = make_case(t, G, batch, Hkv, d, {n, std::max<int64_t>(1, n / 3)}, paged, rng, seed | 1);
          std::vector<float> q(static_cast<size_t>(batch * H * d));
          for (auto& x : q) x = static_cast<float>(rng.normal());
          std::vector<float> out(q.size(), std::numeric_limits<float>::quiet_NaN()), out16(q.size());
          REQUIRE(decode_quant_cpu(c.quant, q.data(), H, sm, out.data(), pool).empty());
          REQUIRE(decode_paged_cpu(c.fp16, q.data(), H, sm, out16.data(), pool).empty());
          bool some_difference = false;
          for (int64_t b = 0; b < batch; ++b) {
            const int64_t len = c.lengths[static_cast<size_t>(b)];
            for (int64_t h = 0; h < H; ++h) {
              const int64_t kvh = h / (H / Hkv);
              const float* qh = q.data() + (b * H + h) * d;
              // Dequantised rows, the fp16 rows and each element's quantisation bound.
              std::vector<double> s(static_cast<size_t>(len)), s16(s.size());
              std::vector<float> kr(static_cast<size_t>(d)), vr(kr.size());
              std::vector<double> vmax(static_cast<size_t>(d), 0), vq_err(static_cast<size_t>(d), 0);
              double delta = 0;  // max over rows of |Δscore| allowed by the K bound
              std::vector<std::vector<float>> vrows(static_cast<size_t>(len));
              for (int64_t j = 0; j < len; ++j) {
                c.quant.k_row(b, kvh, j, kr.data());
                c.quant.v_row(b, kvh, j, vr.data());
                vrows[static_cast<size_t>(j)] = vr;
                const float* k16 = c.fp16.k_row(b, kvh, j);
                const float* v16 = c.fp16.v_row(b, kvh, j);
                const bool closed = j < c.quant.closed_tokens(b);
                const float ks = closed ? c.quant.k_scales[c.quant.scale_index(b, kvh, j)] : 0;
                const float vs = closed ? c.quant.v_scales[c.quant.scale_index(b, kvh, j)] : 0;
                double dot = 0, dot16 = 0, dscore = 0;
                for (int64_t e = 0; e < d; ++e) {
                  dot += static_cast<double>(qh[e]) * kr[static_cast<size_t>(e)];
                  dot16 += static_cast<double>(qh[e]) * k16[e];
                  if (closed) dscore += std::fabs(static_cast<double>(qh[e])) * kv_quantisation_bound(t, k16[e], ks);
                  vmax[static_cast<size_t>(e)] = std::max(vmax[static_cast<size_t>(e)], std::fabs(static_cast<double>(v16[e])));
                  if (closed)
                    vq_err[static_cast<size_t>(e)] =
                        std::max(vq_err[static_cast<size_t>(e)], kv_quantisation_bound(t, v16[e], vs));
                }
                s[static_cast<size_t>(j)] = dot * sm;
                s16[static_cast<size_t>(j)] = dot16 * sm;
                delta = std::max(delta, dscore * sm);
              }
              const double m = *std::max_element(s.begin(), s.end());
              double l = 0;
              for (auto& x : s) l += (x = std::exp(x - m));
              const float* o = out.data() + (b * H + h) * d;
              const float* o16 = out16.data() + (b * H + h) * d;
              const double spread = std::exp(2 * delta) - 1;
              for (int64_t e = 0; e < d; ++e) {
                double ref = 0;
                for (int64_t j = 0; j < len; ++j)
                  ref += s[static_cast<size_t>(j)] * vrows[static_cast<size_t>(j)][static_cast<size_t>(e)];
                ref /= l;
                const double fp32 = 1e-5 * (vmax[static_cast<size_t>(e)] * 1.01 + 1e-3);
                REQUIRE(std::isfinite(o[e]));  // every output written
                CHECK(std::fabs(o[e] - ref) <= fp32);
                const double bound =
                    spread * vmax[static_cast<size_t>(e)] * 1.01 + vq_err[static_cast<size_t>(e)] + 2 * fp32;
                CHECK(std::fabs(static_cast<double>(o[e]) - o16[e]) <= bound);
                some_difference = some_difference || o[e] != o16[e];
              }
            }
          }
          // Past the first group something was quantised: the outputs differ from the fp16 cache's.
          if (n > 16) CHECK(some_difference);
          else CHECK(!some_difference);  // n ≤ G: everything still staged at fp16, the same values
        }
}

TEST_CASE("footprint per dtype: scales in bytes per token, the staging block per sequence, more sequences fit") {
  const int64_t L = 32, Hkv = 8, d = 128, N = 4096, P = 16;
  const double free_bytes = 80.0 * (1ull << 30);
  const KvFootprint f16 = kv_footprint(L, Hkv, d, KvDtype::F16, 16, N, P, free_bytes);
  const KvFootprint old16 = kv_footprint(L, Hkv, d, DType::F16, N, P, free_bytes);
  CHECK(f16.bytes_per_token == old16.bytes_per_token);
  CHECK(f16.sequences_fit == old16.sequences_fit);
  CHECK(f16.bytes_per_token_layer == 2.0 * Hkv * d * 2);
  for (KvDtype t : {KvDtype::Fp8E4M3, KvDtype::Int8})
    for (int64_t G : {1, 16, 4096}) {
      CAPTURE(G);
      const KvFootprint f = kv_footprint(L, Hkv, d, t, G, N, P, free_bytes);
      CHECK(f.bytes_per_token_layer == 2.0 * Hkv * (d + 4.0 / G));
      CHECK(f.bytes_per_token == f.bytes_per_token_layer * L);
      CHECK(f.staging_bytes_per_sequence == 2.0 * Hkv * G * d * 2 * L);
      CHECK(f.bytes_per_sequence_paged ==
            2.0 * Hkv * d * L * N + 2.0 * Hkv * pages_for(N, G) * 4 * L + f.staging_bytes_per_sequence);
      CHECK(f.sequences_fit == static_cast<int64_t>(std::floor(free_bytes / f.bytes_per_sequence_paged)));
      if (G == 16) CHECK(f.sequences_fit > old16.sequences_fit * 19 / 10);  // about twice the fp16 count
    }
}

TEST_CASE("decode loop with a quantised cache: the error against the fp16 cache, bytes, validation") {
  for (KvDtype t : {KvDtype::Fp8E4M3, KvDtype::Int8})
    for (int64_t page : {16, 0}) {
      CAPTURE(kv_dtype_name(t));
      CAPTURE(page);
      DecodeLoopRequest r;
      r.batch = 2;
      r.q_heads = 4;
      r.kv_heads = 2;
      r.head_dim = 32;
      r.page_tokens = page;
      r.context = 67;
      r.prefill = 60;
      r.kv_dtype = t;
      r.kv_group = 16;
      const DecodeLoopResult res = run_cpu_decode_loop(r, 2);
      REQUIRE(res.ok);
      CHECK(res.kv_dtype == kv_dtype_name(t));
      CHECK(res.storage_bytes == 1);
      CHECK(res.bytes_per_token_layer == 2.0 * 2 * (32 + 4.0 / 16));
      REQUIRE(res.error_measured);
      CHECK(res.error_max_abs > 0);
      CHECK(res.error_rel_l2 > 0);
      CHECK(res.error_rel_l2 < 0.25);
      REQUIRE(!res.samples.empty());
      // 64 tokens in closed groups (1 byte + a scale per 16), 3 staged at fp16.
      CHECK(res.samples.back().kv_bytes_read == 2.0 * 2 * 2 * (64 * 32 + 4 * 4 + 3 * 32 * 2));
    }
  DecodeLoopRequest bad;
  bad.kv_dtype = KvDtype::Int8;
  bad.kv_group = 24;
  const auto problems = validate(bad);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].find("scale group 24 tokens") != std::string::npos);
  bad.kv_dtype = KvDtype::F16;  // the group is not used by an fp16 cache
  CHECK(validate(bad).empty());
  DecodeLoopRequest f16;
  f16.batch = 1;
  f16.q_heads = 2;
  f16.kv_heads = 1;
  f16.head_dim = 8;
  f16.context = 5;
  const DecodeLoopResult res16 = run_cpu_decode_loop(f16, 1);
  REQUIRE(res16.ok);
  CHECK(!res16.error_measured);
  CHECK(res16.kv_dtype == "fp16");
}

}  // namespace
}  // namespace attnscope
