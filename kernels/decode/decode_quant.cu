// decode_quant.cu — the decode kernel over fp8 / int8 KV pages and its split merge (see decode_quant.hpp).
#include "kernels/decode/decode_quant.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "core/rng.hpp"
#include "core/thread_pool.hpp"
#include "kernels/bench/decode_bench.cuh"
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

// The decode kernel for a.head_dim / 32 elements per lane, then the merge into o.
void launch_quant(const QuantArgs& a, float* o, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>(a.splits), static_cast<unsigned>(a.kv_heads), static_cast<unsigned>(a.batch));
  switch (a.head_dim / 32) {
    case 1: decode_quant_kernel<1><<<grid, kQuantWarps * 32, 0, stream>>>(a); break;
    case 2: decode_quant_kernel<2><<<grid, kQuantWarps * 32, 0, stream>>>(a); break;
    case 3: decode_quant_kernel<3><<<grid, kQuantWarps * 32, 0, stream>>>(a); break;
    case 4: decode_quant_kernel<4><<<grid, kQuantWarps * 32, 0, stream>>>(a); break;
    case 5: decode_quant_kernel<5><<<grid, kQuantWarps * 32, 0, stream>>>(a); break;
    case 6: decode_quant_kernel<6><<<grid, kQuantWarps * 32, 0, stream>>>(a); break;
    case 7: decode_quant_kernel<7><<<grid, kQuantWarps * 32, 0, stream>>>(a); break;
    default: decode_quant_kernel<8><<<grid, kQuantWarps * 32, 0, stream>>>(a); break;
  }
  CUDA_CHECK_LAUNCH("decode_quant_kernel");
  const int64_t rows = static_cast<int64_t>(a.batch) * a.q_heads;
  const int threads = 256;
  decode_quant_merge_kernel<<<static_cast<unsigned>((rows * a.head_dim + threads - 1) / threads), threads, 0, stream>>>(
      a.partials, o, rows, a.head_dim, a.splits);
  CUDA_CHECK_LAUNCH("decode_quant_merge_kernel");
}

// The split plan of a decode at max_len: planned (core's plan_decode_splits over 64-token tiles, 8 CTAs per SM) or
// forced; sets a.splits (no split past the end) and a.tokens_per_split.
void plan_quant(QuantArgs& a, int64_t max_len, int sms, int forced_splits) {
  const DecodeSplitPlan plan =
      forced_splits > 0
          ? DecodeSplitPlan{forced_splits, (pages_for(max_len, kQuantTileTokens) + forced_splits - 1) / forced_splits, 1}
          : plan_decode_splits(int64_t{a.batch} * a.kv_heads, max_len, kQuantTileTokens, int64_t{sms} * 8, 4, 128);
  a.tokens_per_split = static_cast<int>(plan.tiles_per_split * kQuantTileTokens);
  a.splits = static_cast<int>((max_len + a.tokens_per_split - 1) / a.tokens_per_split);
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
    plan_quant(a, max_len, sms, splits);
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
    launch_quant(a, d_o.get<float>(), nullptr);
    r.output.resize(static_cast<size_t>(rows * d));
    CUDA_CHECK(cudaMemcpy(r.output.data(), d_o.get(), d_o.bytes(), cudaMemcpyDeviceToHost));
    r.ok = true;
  } catch (const CudaError& e) {
    r.error = e.what();
  }
  return r;
}

DecodeLoopResult run_decode_loop_quant_cuda(const DecodeLoopRequest& req, const DeviceInfo& device, void* stream_ptr) {
  using Clock = std::chrono::steady_clock;
  cudaStream_t stream = static_cast<cudaStream_t>(stream_ptr);
  DecodeLoopResult res;
  res.backend = "cuda";
  res.device = device.name;
  res.kv_dtype = kv_dtype_name(req.kv_dtype);
  res.storage = std::string(req.kv_dtype == KvDtype::Int8 ? "int8" : "fp8 e4m3") + " (" +
                std::to_string(req.kv_group) + "-token scale groups)";
  res.storage_bytes = 1;
  res.bytes_per_token_layer = kv_bytes_per_token_layer(req.kv_heads, req.head_dim, req.kv_dtype, req.kv_group);
  if (auto problems = validate(req); !problems.empty()) {
    res.error = problems.front();
    return res;
  }
  const int64_t B = req.batch, Hkv = req.kv_heads, d = req.head_dim, N = req.context, Hq = req.q_heads;
  if (d % 32 != 0) {
    res.error = "head dim " + std::to_string(d) + ": the quantised decode kernel takes a multiple of 32";
    return res;
  }
  try {
    CUDA_CHECK(cudaSetDevice(device.index));
    const bool paged = req.page_tokens > 0;
    const int64_t P = paged ? req.page_tokens : N, pool_pages = paged ? B * pages_for(N, P) : B;
    QuantKvStore store(req.kv_dtype, req.kv_group, B, Hkv, d, P, pool_pages, N);
    PagedKvStore fp16_store(B, Hkv, d, P, pool_pages);  // the reference cache of the same tokens (host)
    const int64_t max_pages = pages_for(N, P);
    res.pool_bytes = store.k_codes.size() * 2;
    res.workspace_bytes = (store.k_scales.size() * 2) * 4 + store.k_open.size() * 2 * 2 +
                          static_cast<uint64_t>(B * Hq * 128 * (d + 2)) * 4 + static_cast<uint64_t>(B * Hq * d) * 8 +
                          static_cast<uint64_t>(B * (max_pages + 1)) * 4;
    size_t free_b = 0, total_b = 0;
    CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
    const uint64_t flush_bytes = bench::l2_flush_bytes(device);
    res.bytes_needed = res.pool_bytes + res.workspace_bytes + flush_bytes;
    res.bytes_free = free_b;
    if (res.bytes_needed > free_b) {
      res.out_of_memory = true;
      res.error = "the " + res.kv_dtype + " KV cache needs " + format_bytes_binary(static_cast<double>(res.bytes_needed)) +
                  " but only " + format_bytes_binary(static_cast<double>(free_b)) + " is free on " + device.name +
                  ": use a smaller batch, fewer KV heads or a shorter context";
      return res;
    }
    DeviceBuffer kc(store.k_codes.size()), vc(store.v_codes.size()), ks(store.k_scales.size() * 4),
        vs(store.v_scales.size() * 4), ko(store.k_open.size() * 2), vo(store.v_open.size() * 2),
        table(static_cast<size_t>(B * max_pages) * 4), lens(static_cast<size_t>(B) * 4),
        qbuf(static_cast<size_t>(B * Hq * d) * 4), obuf(qbuf.bytes()),
        partials(static_cast<size_t>(B * Hq * 128 * (d + 2)) * 4), flush(flush_bytes), sink(4);
    for (DeviceBuffer* b : {&kc, &vc, &ks, &vs, &ko, &vo, &table, &lens})
      CUDA_CHECK(cudaMemsetAsync(b->get(), 0, b->bytes(), stream));
    CUDA_CHECK(cudaMemsetAsync(flush.get(), 0, flush.bytes(), stream));
    CUDA_CHECK(cudaMemsetAsync(sink.get(), 0, sink.bytes(), stream));
    Rng rng(req.seed);
    std::vector<float> q(static_cast<size_t>(B * Hq * d));
    for (auto& x : q) x = static_cast<float>(rng.normal());
    CUDA_CHECK(cudaMemcpyAsync(qbuf.get(), q.data(), qbuf.bytes(), cudaMemcpyHostToDevice, stream));
    QuantArgs a;
    a.int8 = req.kv_dtype == KvDtype::Int8 ? 1 : 0;
    a.batch = static_cast<int>(B);
    a.q_heads = static_cast<int>(Hq);
    a.kv_heads = static_cast<int>(Hkv);
    a.head_dim = static_cast<int>(d);
    a.group_q = static_cast<int>(Hq / Hkv);
    a.seq_lens = lens.get<int32_t>();
    a.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)));
    a.q = qbuf.get<float>();
    a.k_codes = kc.get<uint8_t>();
    a.v_codes = vc.get<uint8_t>();
    a.k_scales = ks.get<float>();
    a.v_scales = vs.get<float>();
    a.k_open = ko.get<__half>();
    a.v_open = vo.get<__half>();
    a.page_tokens = static_cast<int>(P);
    a.max_pages = static_cast<int>(max_pages);
    a.block_table = table.get<int32_t>();
    a.group = static_cast<int>(req.kv_group);
    a.max_groups = static_cast<int>(store.max_groups);
    a.partials = partials.get<float>();

    // One token per sequence on the host (the CPU loop's order and values), then its bytes to the device, in stream
    // order (a copy from pageable memory is staged before cudaMemcpyAsync returns, so the host rows may be reused).
    std::vector<float> knew(static_cast<size_t>(Hkv * d)), vnew(knew.size());
    std::vector<__half> row(static_cast<size_t>(d));
    std::vector<int32_t> lengths(static_cast<size_t>(B), 0);
    std::string error;
    auto put_half_row = [&](const std::vector<float>& src, DeviceBuffer& dst, size_t at) {
      for (int64_t c = 0; c < d; ++c) row[static_cast<size_t>(c)] = __float2half_rn(src[at + static_cast<size_t>(c)]);
      CUDA_CHECK(cudaMemcpyAsync(dst.get<__half>() + at, row.data(), static_cast<size_t>(d) * 2,
                                 cudaMemcpyHostToDevice, stream));
    };
    auto append_all = [&]() {
      for (int64_t b = 0; b < B; ++b) {
        for (auto& x : knew) x = static_cast<float>(rng.normal());
        for (auto& x : vnew) x = static_cast<float>(rng.normal());
        const size_t pages_before = store.table.block_table(b).size();
        if (!store.append_token(b, knew.data(), vnew.data(), &error)) throw std::invalid_argument(error);
        for (auto& x : knew) x = round_to_fp16(x);
        for (auto& x : vnew) x = round_to_fp16(x);
        if (!fp16_store.append_token(b, knew.data(), vnew.data(), &error)) throw std::invalid_argument(error);
        const int64_t pos = store.table.length(b) - 1;
        lengths[static_cast<size_t>(b)] = static_cast<int32_t>(pos + 1);
        const auto& t = store.table.block_table(b);
        if (t.size() > pages_before)
          CUDA_CHECK(cudaMemcpyAsync(table.get<int32_t>() + b * max_pages + pages_before, t.data() + pages_before,
                                     (t.size() - pages_before) * 4, cudaMemcpyHostToDevice, stream));
        for (int64_t h = 0; h < Hkv; ++h) {
          put_half_row(store.k_open, ko, store.open_offset(b, h, pos));
          put_half_row(store.v_open, vo, store.open_offset(b, h, pos));
        }
        if ((pos + 1) % req.kv_group != 0) continue;
        for (int64_t h = 0; h < Hkv; ++h) {  // the group closed: its codes and scales
          for (int64_t tok = pos + 1 - req.kv_group; tok <= pos; ++tok) {
            const size_t at = store.offset(store.table.page_of(b, tok), h, store.table.row_of(tok));
            CUDA_CHECK(cudaMemcpyAsync(kc.get<uint8_t>() + at, store.k_codes.data() + at, static_cast<size_t>(d),
                                       cudaMemcpyHostToDevice, stream));
            CUDA_CHECK(cudaMemcpyAsync(vc.get<uint8_t>() + at, store.v_codes.data() + at, static_cast<size_t>(d),
                                       cudaMemcpyHostToDevice, stream));
          }
          const size_t si = store.scale_index(b, h, pos);
          CUDA_CHECK(cudaMemcpyAsync(ks.get<float>() + si, &store.k_scales[si], 4, cudaMemcpyHostToDevice, stream));
          CUDA_CHECK(cudaMemcpyAsync(vs.get<float>() + si, &store.v_scales[si], 4, cudaMemcpyHostToDevice, stream));
        }
      }
      CUDA_CHECK(cudaMemcpyAsync(lens.get(), lengths.data(), lens.bytes(), cudaMemcpyHostToDevice, stream));
    };
    for (int64_t t = 0; t < req.prefill; ++t) append_all();
    res.copy_gbs = bench::copy_bandwidth_gbs(uint64_t{1} << 30, 10, stream);
    CUDA_CHECK(cudaStreamSynchronize(stream));
    ThreadPool pool(0);
    for (int64_t len = req.prefill + 1; len <= N; ++len) {
      const auto a0 = Clock::now();
      append_all();
      const double append_ms = std::chrono::duration<double, std::milli>(Clock::now() - a0).count();
      plan_quant(a, len, device.sm_count, 0);
      const bool measured = (len - req.prefill) % req.measure_every == 0 || len == N;
      if (!measured) {
        launch_quant(a, obuf.get<float>(), stream);
        continue;
      }
      std::vector<double> ms = bench::decode_times(req.options.timing, stream, flush, sink.get<unsigned>(),
                                                   device.sm_count, 1, req.repetitions,
                                                   [&] { launch_quant(a, obuf.get<float>(), stream); });
      std::sort(ms.begin(), ms.end());
      DecodeStepSample s;
      s.context = len;
      s.decode_ms = ms[ms.size() / 2];
      s.decode_samples_ms = ms;
      s.append_ms = append_ms;
      const int64_t closed = len / req.kv_group * req.kv_group;
      s.kv_bytes_read = 2.0 * static_cast<double>(B * Hkv) *
                        static_cast<double>(closed * d + closed / req.kv_group * 4 + (len - closed) * d * 2);
      s.achieved_gbs = s.kv_bytes_read / (s.decode_ms * 1e-3) / 1e9;
      s.pages_in_use = paged ? store.table.pages_in_use() : 0;
      double held = 0;
      for (int64_t b = 0; b < B; ++b) held += store.bytes_held(b);
      s.cache_bytes = static_cast<uint64_t>(held);
      s.splits = a.splits;
      res.samples.push_back(s);
      if (len == N) {  // the output against the fp16 cache of the same tokens (the CPU twin decodes that one)
        std::vector<float> out(q.size()), out16(q.size());
        CUDA_CHECK(cudaMemcpyAsync(out.data(), obuf.get(), obuf.bytes(), cudaMemcpyDeviceToHost, stream));
        CUDA_CHECK(cudaStreamSynchronize(stream));
        error = decode_paged_cpu(fp16_store, q.data(), Hq, a.scale, out16.data(), pool, 0);
        if (!error.empty()) throw std::invalid_argument(error);
        double diff2 = 0, ref2 = 0, max_abs = 0;
        for (size_t i = 0; i < out.size(); ++i) {
          const double e = static_cast<double>(out[i]) - out16[i];
          diff2 += e * e;
          ref2 += static_cast<double>(out16[i]) * out16[i];
          max_abs = std::max(max_abs, std::fabs(e));
        }
        res.error_measured = true;
        res.error_max_abs = max_abs;
        res.error_rel_l2 = ref2 > 0 ? std::sqrt(diff2 / ref2) : std::sqrt(diff2);
      }
    }
    CUDA_CHECK(cudaStreamSynchronize(stream));
    res.ok = true;
  } catch (const CudaError& err) {
    res.ok = false;
    res.out_of_memory = err.code() == cudaErrorMemoryAllocation;
    res.error = std::string(res.out_of_memory ? "out of device memory: " : "CUDA error: ") + err.what();
    cudaGetLastError();
  } catch (const std::invalid_argument& err) {
    res.ok = false;
    res.error = err.what();
  } catch (const std::bad_alloc&) {
    res.ok = false;
    res.out_of_memory = true;
    res.error = "out of host memory for the " + res.kv_dtype + " cache kept on the host while appending";
  }
  return res;
}

}  // namespace attnscope::kernels
