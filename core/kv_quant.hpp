// kv_quant.hpp — the element formats of a quantised KV cache: fp16, fp8 (e4m3) and int8, with one fp32 scale per
// (sequence, KV head, group of G tokens, K or V). The store and the decode twin that use them are in kv_cache.hpp.
//
// Formats
//   fp16   IEEE binary16, round to nearest even; no scale (the reference every other format is compared with)
//   fp8    e4m3 as OCP defines it (OCP 8-bit floating point, "E4M3"): 1 sign, 4 exponent bits (bias 7), 3 mantissa
//          bits; no infinities; S.1111.111 is NaN, so the largest finite value is 1.75·2⁸ = 448; subnormals
//          m·2⁻⁹ (m = 1..7). Encoding rounds to nearest even and saturates to ±448 (infinities too); NaN is not
//          encoded: the caller is told and stores nothing.
//   int8   symmetric: code = round_even(x / scale) clamped to −127..127 (−128 is not used, so the range is ±127·scale)
//
// Scales: scale = max|x| over the group's G tokens × d elements (one K or V head) / qmax, qmax = 448 (fp8) or 127
// (int8); a group of zeros has scale 1. The value a code stands for is decode(code) · scale.
//
// When the scale is chosen (the append rule). A group's scale depends on all G of its tokens, so it is fixed when the
// group's last token arrives: until then the open group's tokens are held at fp16 in a per-(sequence, KV head)
// staging block of G rows, and the decode reads them from there. When the G-th token arrives the group is quantised
// once, from the fp16 values, and its codes and scale never change. Why this rule and not "requantise the open group
// on every append": the codes of a closed group are then a function of that group's values alone (exact, testable,
// independent of when the cache was read), and no value is rounded twice. The cost is a staging block of G fp16 rows
// per sequence and KV head (2·Hkv·G·d·2 bytes per sequence and layer, not per token).
//
// Bytes per token and layer, scales included (Hkv KV heads of d):
//   fp16        2·Hkv·d·2
//   fp8, int8   2·Hkv·(d + 4/G)          (one fp32 scale per G tokens)
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace attnscope {

enum class KvDtype { F16, Fp8E4M3, Int8 };
const char* kv_dtype_name(KvDtype t);                   // "fp16", "fp8", "int8"
std::optional<KvDtype> parse_kv_dtype(const std::string& text);  // the names above; "e4m3" also means fp8
inline constexpr const char* kKvDtypeChoices = "fp16, fp8 (e4m3) or int8";
inline bool kv_dtype_is_quantised(KvDtype t) { return t != KvDtype::F16; }
// Bytes of one stored element: 2 (fp16) or 1.
int kv_dtype_element_bytes(KvDtype t);
// The largest code magnitude: 448 (fp8), 127 (int8); fp16: 0 (no scale).
float kv_dtype_qmax(KvDtype t);

// ---- token groups (one scale per group) ----
constexpr int64_t kDefaultKvGroup = 16;  // a page of the smallest size
constexpr int64_t kMinKvGroup = 1, kMaxKvGroup = 4096;
// Empty when G is a power of two in [1, 4096] (a token's group is a shift; groups tile pages of every size or are
// tiled by them); else the problem in words.
std::string kv_group_problem(int64_t group);

// ---- fp16 ----
uint16_t fp16_from_float(float x);  // round to nearest even; overflow to ±inf, NaN stays NaN
float fp16_to_float(uint16_t bits);
inline float round_to_fp16(float x) { return fp16_to_float(fp16_from_float(x)); }

// ---- fp8 e4m3 ----
constexpr float kFp8E4M3Max = 448.0f;
// nullopt for NaN (reported by the caller, nothing stored); else the nearest code, ties to even mantissa, ±448 for
// anything at or beyond it (infinities included). −0 encodes as 0x80.
std::optional<uint8_t> fp8_e4m3_encode(float x);
float fp8_e4m3_decode(uint8_t code);  // NaN for 0x7F and 0xFF
const float* fp8_e4m3_values();       // the 256 decoded values, indexed by code (the decode's lookup table)

// ---- int8 ----
int8_t int8_encode(float x_over_scale);  // round to nearest even, clamp to −127..127 (NaN must not reach it)

// ---- a group's scale, one element's code and value ----
// scale = amax / qmax (1 when amax is 0). amax must be finite.
float kv_group_scale(KvDtype t, float amax);
// The code of x under `scale` (x finite) and the value a code stands for.
uint8_t kv_encode(KvDtype t, float x, float scale);
float kv_decode(KvDtype t, uint8_t code, float scale);
// A bound on |x − kv_decode(kv_encode(x, scale), scale)| for |x| ≤ qmax·scale (what the tests and the error bound
// of the decode use): fp8: max(2⁻⁴·|x|, 2⁻¹⁰·scale) (half a step: 3 mantissa bits give a relative step 2⁻³ for
// normals, the subnormal step is 2⁻⁹·scale); int8: scale / 2; plus the fp32 rounding of x / scale and of the
// product (2⁻²³ relative to qmax·scale).
double kv_quantisation_bound(KvDtype t, double x, double scale);

// ---- sizes ----
// Bytes per token and layer, scales included: see the table above.
double kv_bytes_per_token_layer(int64_t kv_heads, int64_t head_dim, KvDtype t, int64_t group);
// The open group's fp16 staging block per sequence and layer: 2·Hkv·G·d·2 (0 for fp16).
double kv_staging_bytes_per_sequence_layer(int64_t kv_heads, int64_t head_dim, KvDtype t, int64_t group);

}  // namespace attnscope
