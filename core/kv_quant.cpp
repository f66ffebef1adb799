// kv_quant.cpp — fp16, fp8 e4m3 and int8 element formats of the quantised KV cache (see kv_quant.hpp).
//
// The encoders round in double precision: |x| scaled by a power of two is exact in double, so std::nearbyint (the
// default rounding mode, to nearest with ties to even) rounds the scaled mantissa exactly once.
#include "core/kv_quant.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace attnscope {

const char* kv_dtype_name(KvDtype t) {
  switch (t) {
    case KvDtype::F16: return "fp16";
    case KvDtype::Fp8E4M3: return "fp8";
    case KvDtype::Int8: return "int8";
  }
  return "?";
}

std::optional<KvDtype> parse_kv_dtype(const std::string& text) {
  if (text == "fp16") return KvDtype::F16;
  if (text == "fp8" || text == "e4m3") return KvDtype::Fp8E4M3;
  if (text == "int8") return KvDtype::Int8;
  return std::nullopt;
}

int kv_dtype_element_bytes(KvDtype t) { return t == KvDtype::F16 ? 2 : 1; }

float kv_dtype_qmax(KvDtype t) {
  switch (t) {
    case KvDtype::Fp8E4M3: return kFp8E4M3Max;
    case KvDtype::Int8: return 127.0f;
    case KvDtype::F16: break;
  }
  return 0.0f;
}

std::string kv_group_problem(int64_t group) {
  const bool power_of_two = group > 0 && (group & (group - 1)) == 0;
  if (power_of_two && group >= kMinKvGroup && group <= kMaxKvGroup) return {};
  return "scale group " + std::to_string(group) + " tokens: must be a power of two in " + std::to_string(kMinKvGroup) +
         ".." + std::to_string(kMaxKvGroup) + " (1, 2, 4, ..., 4096), so a token's group is a shift";
}

// ---------------------------------------------------------------- fp16
uint16_t fp16_from_float(float x) {
  const uint16_t sign = std::signbit(x) ? 0x8000 : 0;
  if (std::isnan(x)) return 0x7E00;
  const double a = std::fabs(static_cast<double>(x));
  if (a >= 65520.0) return sign | 0x7C00;  // 65504 + half a step: ties go to the even "mantissa" 1024 -> inf
  if (a < 0x1p-14) {                       // subnormal: step 2^-24; 1024 steps is the smallest normal (0x0400)
    return static_cast<uint16_t>(sign | static_cast<uint16_t>(std::nearbyint(a * 0x1p24)));
  }
  int e = 0;
  const double f = std::frexp(a, &e);  // a = f·2^e, f in [0.5, 1)
  int exponent = e - 1;                // a = (2f)·2^exponent, 2f in [1, 2)
  double mantissa = std::nearbyint((2 * f - 1) * 1024);
  if (mantissa == 1024) { mantissa = 0; ++exponent; }
  return static_cast<uint16_t>(sign | ((exponent + 15) << 10) | static_cast<uint16_t>(mantissa));
}

float fp16_to_float(uint16_t bits) {
  const float sign = (bits & 0x8000) ? -1.0f : 1.0f;
  const int exponent = (bits >> 10) & 0x1F;
  const int mantissa = bits & 0x3FF;
  if (exponent == 0x1F) return mantissa ? std::numeric_limits<float>::quiet_NaN() : sign * INFINITY;
  if (exponent == 0) return sign * std::ldexp(static_cast<float>(mantissa), -24);
  return sign * std::ldexp(static_cast<float>(1024 + mantissa), exponent - 25);
}

// ---------------------------------------------------------------- fp8 e4m3
std::optional<uint8_t> fp8_e4m3_encode(float x) {
  if (std::isnan(x)) return std::nullopt;
  const uint8_t sign = std::signbit(x) ? 0x80 : 0;
  const double a = std::fabs(static_cast<double>(x));
  if (a >= kFp8E4M3Max) return static_cast<uint8_t>(sign | 0x7E);  // saturate (S.1111.110 = 448)
  if (a < 0x1p-6) {  // subnormal: m·2^-9; m = 8 is the smallest normal, code 0x08, so the code is m itself
    return static_cast<uint8_t>(sign | static_cast<uint8_t>(std::nearbyint(a * 0x1p9)));
  }
  int e = 0;
  const double f = std::frexp(a, &e);
  int exponent = e - 1;
  double mantissa = std::nearbyint((2 * f - 1) * 8);
  if (mantissa == 8) { mantissa = 0; ++exponent; }
  // a < 448 rounds to at most 1.75·2^8 (code 0x7E): the NaN pattern is never produced.
  return static_cast<uint8_t>(sign | ((exponent + 7) << 3) | static_cast<uint8_t>(mantissa));
}

namespace {
std::array<float, 256> make_fp8_table() {
  std::array<float, 256> t{};
  for (int c = 0; c < 256; ++c) {
    const float sign = (c & 0x80) ? -1.0f : 1.0f;
    const int exponent = (c >> 3) & 0xF, mantissa = c & 7;
    if (exponent == 0xF && mantissa == 7) t[static_cast<size_t>(c)] = std::numeric_limits<float>::quiet_NaN();
    else if (exponent == 0) t[static_cast<size_t>(c)] = sign * std::ldexp(static_cast<float>(mantissa), -9);
    else t[static_cast<size_t>(c)] = sign * std::ldexp(static_cast<float>(8 + mantissa), exponent - 10);
  }
  return t;
}
const std::array<float, 256>& fp8_table() {
  static const std::array<float, 256> table = make_fp8_table();
  return table;
}
}  // namespace

float fp8_e4m3_decode(uint8_t code) { return fp8_table()[code]; }
const float* fp8_e4m3_values() { return fp8_table().data(); }

// ---------------------------------------------------------------- int8
int8_t int8_encode(float x_over_scale) {
  const double r = std::nearbyint(static_cast<double>(x_over_scale));
  return static_cast<int8_t>(std::clamp(r, -127.0, 127.0));
}

// ---------------------------------------------------------------- scales and codes
float kv_group_scale(KvDtype t, float amax) {
  const float qmax = kv_dtype_qmax(t);
  if (qmax <= 0 || !(amax > 0)) return 1.0f;
  const float s = amax / qmax;
  return s > 0 ? s : std::numeric_limits<float>::min();  // amax below qmax·FLT_TRUE_MIN: keep the scale non-zero
}

uint8_t kv_encode(KvDtype t, float x, float scale) {
  const float y = x / scale;
  if (t == KvDtype::Int8) return static_cast<uint8_t>(int8_encode(y));
  return fp8_e4m3_encode(y).value_or(0);  // x is finite (checked when the token was appended)
}

float kv_decode(KvDtype t, uint8_t code, float scale) {
  if (t == KvDtype::Int8) return static_cast<float>(static_cast<int8_t>(code)) * scale;
  return fp8_e4m3_decode(code) * scale;
}

double kv_quantisation_bound(KvDtype t, double x, double scale) {
  const double rounding = 0x1p-22 * static_cast<double>(kv_dtype_qmax(t)) * scale;  // x / scale and the product
  if (t == KvDtype::Int8) return scale / 2 + rounding;
  if (t == KvDtype::Fp8E4M3) return std::max(0x1p-4 * std::fabs(x), 0x1p-10 * scale) + rounding;
  return 0x1p-11 * std::fabs(x) + 0x1p-25;  // fp16: half a step, 10 mantissa bits (subnormal step 2^-24)
}

// ---------------------------------------------------------------- sizes
double kv_bytes_per_token_layer(int64_t kv_heads, int64_t head_dim, KvDtype t, int64_t group) {
  const double per_head = t == KvDtype::F16 ? 2.0 * static_cast<double>(head_dim)
                                            : static_cast<double>(head_dim) + 4.0 / static_cast<double>(group);
  return 2.0 * static_cast<double>(kv_heads) * per_head;
}

double kv_staging_bytes_per_sequence_layer(int64_t kv_heads, int64_t head_dim, KvDtype t, int64_t group) {
  if (t == KvDtype::F16) return 0;
  return 2.0 * static_cast<double>(kv_heads * group * head_dim) * 2.0;
}

}  // namespace attnscope
