// decode_quant.cu — the decode kernel over fp8 / int8 KV pages and its split merge (see decode_quant.hpp).
#include "kernels/decode/decode_quant.hpp"

#include <cmath>
#include <limits>

#include "kernels/common/cuda_util.cuh"

namespace attnscope::kernels {
namespace {

constexpr int kQuantWarps = 4;
constexpr int kQuantTileTokens = 64;  // the split plan's tile (as the CPU twin's)

struct QuantArgs {
  int int8 = 0;  // 0: fp8 e4m3, 1: int8
  int batch = 0, q_heads = 0, kv_heads = 0, head_dim = 0, group_q = 0;
  const int32_t* seq_lens = nullptr;
  float scale = 0;
  const float* q = nullptr;
  const uint8_t* k_codes = nullptr;
  const uint8_t* v_codes = nullptr;
  const float* k_scales = nullptr;
  const float* v_scales = nullptr;
  const __half* k_open = nullptr;
  const __half* v_open = nullptr;
  int page_tokens = 0, max_pages = 0;
  const int32_t* block_table = nullptr;
  int group = 1, max_groups = 0;
  int splits = 1, tokens_per_split = 1;
  float* partials = nullptr;  // [batch·q_heads][splits][d + 2]: acc, then m, l
};

// e4m3 (OCP): exponent e (bias 7), mantissa m; normals (1 + m/8)·2^(e−7) have the fp32 bits (e + 120) << 23 | m << 20,
// subnormals are m·2^-9. The NaN code is never stored (the encoder saturates and refuses NaN).
__device__ __forceinline__ float fp8_e4m3_to_float(uint8_t c) {
  const int e = (c >> 3) & 15, m = c & 7;
  const float mag = e == 0 ? static_cast<float>(m) * 0x1p-9f : __int_as_float(((e + 120) << 23) | (m << 20));
  return (c & 0x80) ? -mag : mag;
}

// The PER elements of token `pos`'s K or V row this lane holds (elements lane + 32·i): dequantised codes of a closed
// group, or the staged fp16 values of the open one.
template <int PER>
__device__ __forceinline__ void load_row(const QuantArgs& a, bool value_row, int b, int kvh, int pos, int closed,
                                         float (&out)[PER]) {
  const int lane = threadIdx.x & 31, d = a.head_dim;
  if (pos >= closed) {
    const __half* src = (value_row ? a.v_open : a.k_open) +
                        ((static_cast<int64_t>(b) * a.kv_heads + kvh) * a.group + pos % a.group) * d;
#pragma unroll
    for (int i = 0; i < PER; ++i) out[i] = __half2float(src[lane + 32 * i]);
    return;
  }
  const int page = a.block_table[static_cast<int64_t>(b) * a.max_pages + pos / a.page_tokens];
  const uint8_t* codes = (value_row ? a.v_codes : a.k_codes) +
                         ((static_cast<int64_t>(page) * a.kv_heads + kvh) * a.page_tokens + pos % a.page_tokens) * d;
  const float s = (value_row ? a.v_scales : a.k_scales)[(static_cast<int64_t>(b) * a.kv_heads + kvh) * a.max_groups +
                                                         pos / a.group];
  uint8_t raw[PER];
#pragma unroll
  for (int i = 0; i < PER; ++i) raw[i] = codes[lane + 32 * i];  // the load: bytes as stored
#pragma unroll
  for (int i = 0; i < PER; ++i)                                 // then the dequantisation, in registers
    out[i] = (a.int8 ? static_cast<float>(static_cast<int8_t>(raw[i])) : fp8_e4m3_to_float(raw[i])) * s;
}

template <int PER>
__global__ void __launch_bounds__(kQuantWarps * 32) decode_quant_kernel(QuantArgs a) {
  const int split = blockIdx.x, kvh = blockIdx.y, b = blockIdx.z;
  const int warp = threadIdx.x / 32, lane = threadIdx.x & 31, d = a.head_dim;
  const int len = a.seq_lens[b];
  const int begin = split * a.tokens_per_split, end = min(len, begin + a.tokens_per_split);
  const int closed = len / a.group * a.group;
  for (int g = warp; g < a.group_q; g += kQuantWarps) {
    const int h = kvh * a.group_q + g;
    const int64_t bh = static_cast<int64_t>(b) * a.q_heads + h;
    float q[PER], acc[PER];
#pragma unroll
    for (int i = 0; i < PER; ++i) {
      q[i] = a.q[bh * d + lane + 32 * i];
      acc[i] = 0.0f;
    }
    float m = -INFINITY, l = 0.0f;
    for (int pos = begin; pos < end; ++pos) {
      float k[PER], v[PER];
      load_row<PER>(a, false, b, kvh, pos, closed, k);
      load_row<PER>(a, true, b, kvh, pos, closed, v);
      float dot = 0.0f;
#pragma unroll
      for (int i = 0; i < PER; ++i) dot += q[i] * k[i];
#pragma unroll
      for (int offset = 16; offset > 0; offset >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, offset);
      const float s = dot * a.scale;
      const float m_new = fmaxf(m, s);
      const float correction = __expf(m - m_new);  // m = −inf on the first token: 0
      const float p = __expf(s - m_new);
      l = l * correction + p;
#pragma unroll
      for (int i = 0; i < PER; ++i) acc[i] = acc[i] * correction + p * v[i];
      m = m_new;
    }
    float* out = a.partials + (bh * a.splits + split) * (d + 2);
#pragma unroll
    for (int i = 0; i < PER; ++i) out[lane + 32 * i] = acc[i];
    if (lane == 0) {
      out[d] = m;  // an empty split: m = −inf, l = 0 (weight 0 in the merge)
      out[d + 1] = l;
    }
  }
}

// One thread per (sequence·head, element).
__global__ void decode_quant_merge_kernel(const float* partials, float* o, int64_t rows, int d, int splits) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= rows * d) return;
  const int64_t bh = i / d;
  const int c = static_cast<int>(i % d);
  const float* p = partials + bh * splits * (d + 2);
  float M = -INFINITY;
  for (int s = 0; s < splits; ++s) M = fmaxf(M, p[s * (d + 2) + d]);
  float num = 0.0f, den = 0.0f;
  for (int s = 0; s < splits; ++s) {
    const float ms = p[s * (d + 2) + d];
    if (ms == -INFINITY) continue;
    const float w = __expf(ms - M);
    num += p[s * (d + 2) + c] * w;
    den += p[s * (d + 2) + d + 1] * w;
  }
  o[i] = den > 0 ? num / den : 0.0f;
}

template <class T>
T* upload(DeviceBuffer& buffer, const std::vector<T>& host) {
  buffer.allocate(host.size() * sizeof(T));
  if (!host.empty()) CUDA_CHECK(cudaMemcpy(buffer.get(), host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice));
  return buffer.get<T>();
}

}  // namespace

DecodeQuantHostResult run_decode_quant_host(const QuantKvStore& store, const std::vector<float>& q, int64_t q_heads,
                                            double scale, int splits) {
  DecodeQuantHostResult r;
  const int64_t B = store.table.sequences(), Hkv = store.kv_heads, d = store.head_dim;
  if (!kv_dtype_is_quantised(store.dtype)) { r.error = "the store is not quantised (fp8 or int8)"; return r; }
  if (d < 32 || d > 256 || d % 32 != 0) {
    r.error = "head dim " + std::to_string(d) + ": the quantised decode kernel takes 32..256, a multiple of 32";
    return r;
  }
  if (Hkv < 1 || q_heads % Hkv != 0) {
    r.error = "query heads " + std::to_string(q_heads) + " is not a multiple of KV heads " + std::to_string(Hkv);
    return r;
  }
  if (static_cast<int64_t>(q.size()) != B * q_heads * d) { r.error = "q must hold batch·q_heads·d values"; return r; }
  int64_t max_len = 0;
  std::vector<int32_t> lengths(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n = store.table.length(b);
    if (n < 1) { r.error = "sequence " + std::to_string(b) + " has an empty cache"; return r; }
    lengths[static_cast<size_t>(b)] = static_cast<int32_t>(n);
    max_len = std::max(max_len, n);
  }
  try {
    int device = 0, sms = 1;
    CUDA_CHECK(cudaGetDevice(&device));
    CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
    const DecodeSplitPlan plan =
        splits > 0 ? DecodeSplitPlan{splits, (pages_for(max_len, kQuantTileTokens) + splits - 1) / splits, 1}
                   : plan_decode_splits(B * Hkv, max_len, kQuantTileTokens, int64_t{sms} * 8, 4, 128);
    QuantArgs a;
    a.int8 = store.dtype == KvDtype::Int8 ? 1 : 0;
    a.batch = static_cast<int>(B);
    a.q_heads = static_cast<int>(q_heads);
    a.kv_heads = static_cast<int>(Hkv);
    a.head_dim = static_cast<int>(d);
    a.group_q = static_cast<int>(q_heads / Hkv);
    a.scale = static_cast<float>(scale);
    a.page_tokens = static_cast<int>(store.table.page_tokens());
    a.max_pages = static_cast<int>(pages_for(max_len, store.table.page_tokens()));
    a.group = static_cast<int>(store.group);
    a.max_groups = static_cast<int>(store.max_groups);
    a.tokens_per_split = static_cast<int>(plan.tiles_per_split * kQuantTileTokens);
    a.splits = static_cast<int>((max_len + a.tokens_per_split - 1) / a.tokens_per_split);  // no split past the end
    r.splits = a.splits;
    // The staging block at fp16, as the GPU keeps it (the host store holds the fp16 values as floats).
    std::vector<__half> k_open(store.k_open.size()), v_open(store.v_open.size());
    for (size_t i = 0; i < k_open.size(); ++i) {
      k_open[i] = __float2half_rn(store.k_open[i]);
      v_open[i] = __float2half_rn(store.v_open[i]);
    }
    DeviceBuffer d_len, d_q, d_kc, d_vc, d_ks, d_vs, d_ko, d_vo, d_table, d_partials, d_o;
    a.seq_lens = upload(d_len, lengths);
    a.q = upload(d_q, q);
    a.k_codes = upload(d_kc, store.k_codes);
    a.v_codes = upload(d_vc, store.v_codes);
    a.k_scales = upload(d_ks, store.k_scales);
    a.v_scales = upload(d_vs, store.v_scales);
    a.k_open = upload(d_ko, k_open);
    a.v_open = upload(d_vo, v_open);
    a.block_table = upload(d_table, store.table.block_table_matrix(a.max_pages));
    const int64_t rows = B * q_heads;
    d_partials.allocate(static_cast<size_t>(rows * a.splits * (d + 2)) * sizeof(float));
    a.partials = d_partials.get<float>();
    d_o.allocate(static_cast<size_t>(rows * d) * sizeof(float));
    CUDA_CHECK(cudaMemset(d_o.get(), 0xFF, d_o.bytes()));  // NaN: an unwritten output shows
    const dim3 grid(static_cast<unsigned>(a.splits), static_cast<unsigned>(Hkv), static_cast<unsigned>(B));
    switch (d / 32) {
      case 1: decode_quant_kernel<1><<<grid, kQuantWarps * 32>>>(a); break;
      case 2: decode_quant_kernel<2><<<grid, kQuantWarps * 32>>>(a); break;
      case 3: decode_quant_kernel<3><<<grid, kQuantWarps * 32>>>(a); break;
      case 4: decode_quant_kernel<4><<<grid, kQuantWarps * 32>>>(a); break;
      case 5: decode_quant_kernel<5><<<grid, kQuantWarps * 32>>>(a); break;
      case 6: decode_quant_kernel<6><<<grid, kQuantWarps * 32>>>(a); break;
      case 7: decode_quant_kernel<7><<<grid, kQuantWarps * 32>>>(a); break;
      default: decode_quant_kernel<8><<<grid, kQuantWarps * 32>>>(a); break;
    }
    CUDA_CHECK_LAUNCH("decode_quant_kernel");
    const int threads = 256;
    decode_quant_merge_kernel<<<static_cast<unsigned>((rows * d + threads - 1) / threads), threads>>>(
        a.partials, d_o.get<float>(), rows, static_cast<int>(d), a.splits);
    CUDA_CHECK_LAUNCH("decode_quant_merge_kernel");
    r.output.resize(static_cast<size_t>(rows * d));
    CUDA_CHECK(cudaMemcpy(r.output.data(), d_o.get(), d_o.bytes(), cudaMemcpyDeviceToHost));
    r.ok = true;
  } catch (const CudaError& e) {
    r.error = e.what();
  }
  return r;
}

}  // namespace attnscope::kernels
