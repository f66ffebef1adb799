// recurrent_decode.cu — see recurrent_decode.hpp.
#include "kernels/recurrent_decode/recurrent_decode.hpp"

#include <algorithm>

#include "core/beyond_runs.hpp"
#include "kernels/common/cuda_util.cuh"
#include "kernels/common/random_fill.cuh"

namespace attnscope::kernels {
namespace {

constexpr int kThreads = 256;
constexpr int kRowsPerBlock = 8;  // rows of S one block of the update kernel owns

__device__ __forceinline__ float phi(float x) { return x > 0.f ? x + 1.f : __expf(x); }

struct LinearStep {
  float *s, *z, *out;
  const float *q, *k, *v;
  int64_t heads, kv_heads, d;
};

// blockIdx = (batch · Hkv + KV head, row block): S[a][·] += φ(k_a)·v, z[a] += φ(k_a) for the block's rows a.
__global__ void __launch_bounds__(kThreads) linear_update(LinearStep p) {
  const int64_t bg = blockIdx.x, d = p.d, a0 = int64_t{blockIdx.y} * kRowsPerBlock;
  const int64_t rows = d - a0 < kRowsPerBlock ? d - a0 : kRowsPerBlock;
  const float* k = p.k + bg * d;
  const float* v = p.v + bg * d;
  float* s = p.s + bg * d * d;
  for (int64_t e = threadIdx.x; e < rows * d; e += kThreads) {
    const int64_t a = a0 + e / d, c = e % d;
    s[a * d + c] += phi(k[a]) * v[c];
  }
  if (threadIdx.x < rows) p.z[bg * d + a0 + threadIdx.x] += phi(k[a0 + threadIdx.x]);
}

// φ(q)'s shared array is padded to a multiple of four floats: ptxas merges the unrolled loops' remainder loads
// into one wider shared load (compute-sanitizer saw a 12-byte read at d = 1), which must stay inside the allocation.
__host__ __device__ constexpr int64_t padded_dim(int64_t d) { return (d + 3) / 4 * 4; }

// blockIdx.x = batch · H + query head: o = φ(q)ᵀS / φ(q)ᵀz with its KV head's state.
__global__ void __launch_bounds__(kThreads) linear_read(LinearStep p) {
  extern __shared__ float fq[];  // padded_dim(d) values, φ(q) then zeros
  const int64_t bh = blockIdx.x, d = p.d, group = p.heads / p.kv_heads;
  const int64_t bg = (bh / p.heads) * p.kv_heads + (bh % p.heads) / group;
  for (int64_t a = threadIdx.x; a < padded_dim(d); a += kThreads) fq[a] = a < d ? phi(p.q[bh * d + a]) : 0.f;
  __syncthreads();
  const float* s = p.s + bg * d * d;
  const float* z = p.z + bg * d;
  float den = 0.f;  // every thread sums it (d terms): cheaper than a block reduction at these sizes
  for (int64_t a = 0; a < d; ++a) den += fq[a] * z[a];
  for (int64_t c = threadIdx.x; c < d; c += kThreads) {
    float acc = 0.f;
    for (int64_t a = 0; a < d; ++a) acc += fq[a] * s[a * d + c];
    p.out[bh * d + c] = acc / den;
  }
}

struct ScanStep {
  float *h, *y;
  const float *x, *delta, *a, *b, *c;
  int64_t batch, channels, state;
};

// One thread per (batch, channel).
__global__ void __launch_bounds__(kThreads) scan_step(ScanStep p) {
  const int64_t i = int64_t{blockIdx.x} * kThreads + threadIdx.x;
  if (i >= p.batch * p.channels) return;
  const int64_t bb = i / p.channels, ch = i % p.channels;
  const float dt = p.delta[i], x = p.x[i];
  float* h = p.h + i * p.state;
  float y = x;  // Dskip = 1, as the CPU twin
  for (int64_t n = 0; n < p.state; ++n) {
    h[n] = __expf(dt * p.a[ch * p.state + n]) * h[n] + dt * p.b[bb * p.state + n] * x;
    y += p.c[bb * p.state + n] * h[n];
  }
  p.y[i] = y;
}

void launch_linear(const LinearStep& p, int64_t batch, cudaStream_t stream) {
  const unsigned row_blocks = static_cast<unsigned>((p.d + kRowsPerBlock - 1) / kRowsPerBlock);
  linear_update<<<dim3(static_cast<unsigned>(batch * p.kv_heads), row_blocks), kThreads, 0, stream>>>(p);
  CUDA_CHECK_LAUNCH("recurrent decode: linear attention update");
  linear_read<<<static_cast<unsigned>(batch * p.heads), kThreads, static_cast<size_t>(padded_dim(p.d)) * sizeof(float),
                stream>>>(p);
  CUDA_CHECK_LAUNCH("recurrent decode: linear attention read");
}

void launch_scan(const ScanStep& p, cudaStream_t stream) {
  scan_step<<<static_cast<unsigned>((p.batch * p.channels + kThreads - 1) / kThreads), kThreads, 0, stream>>>(p);
  CUDA_CHECK_LAUNCH("recurrent decode: scan step");
}

std::string problem(const RecurrentDecodeRequest& q) {
  if (q.batch < 1 || q.contexts.empty()) return "a decode needs a batch of at least 1 and at least one context";
  if (q.model == RecurrentModel::LinearAttention) {
    if (q.heads < 1 || q.kv_heads < 1 || q.head_dim < 1 || q.heads % q.kv_heads != 0)
      return "linear attention decode: query heads must be a positive multiple of KV heads, head_dim >= 1";
    if (q.head_dim > 4096) return "linear attention decode (CUDA): head dim up to 4096";
  } else if (q.channels < 1 || q.state < 1) {
    return "selective scan decode: channels and state size must be >= 1";
  }
  return "";
}

// Host vector -> new device buffer.
void upload(const std::vector<float>& host, DeviceBuffer& to, cudaStream_t stream) {
  to.allocate(host.size() * sizeof(float));
  if (!host.empty())
    CUDA_CHECK(cudaMemcpyAsync(to.get(), host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice, stream));
}
void download(const DeviceBuffer& from, std::vector<float>& to, cudaStream_t stream) {
  to.resize(from.bytes() / sizeof(float));
  if (!to.empty()) CUDA_CHECK(cudaMemcpyAsync(to.data(), from.get(), from.bytes(), cudaMemcpyDeviceToHost, stream));
}

}  // namespace

RecurrentDecodeResult recurrent_decode_cuda(const RecurrentDecodeRequest& q, const std::string& device,
                                            void* stream_ptr) {
  RecurrentDecodeResult r;
  r.backend = "cuda";
  r.device = device;
  if (std::string why = problem(q); !why.empty()) {
    r.error = why;
    return r;
  }
  const auto stream = static_cast<cudaStream_t>(stream_ptr);
  const bool linear = q.model == RecurrentModel::LinearAttention;
  const int64_t d = q.head_dim;
  r.state_bytes = linear ? linear_attention_state_bytes(q.batch, q.kv_heads, d)
                         : selective_scan_state_bytes(q.batch, q.channels, q.state);
  r.kernel = linear ? "recurrent step: S += φ(k)vᵀ, z += φ(k), o = φ(q)ᵀS / φ(q)ᵀz per KV head (CUDA, fp32)"
                    : "recurrent step: h = exp(ΔA)∘h + ΔBx, y = C·h + Dx per channel (CUDA, fp32)";
  try {
    EventTimer timer;
    if (linear) {
      const int64_t groups = q.batch * q.kv_heads;
      DeviceBuffer s(groups * d * d * sizeof(float)), z(groups * d * sizeof(float)),
          tq(q.batch * q.heads * d * sizeof(float)), tk(groups * d * sizeof(float)), tv(tk.bytes()), out(tq.bytes());
      fill_uniform_async(tq.get<float>(), q.batch * q.heads * d, q.seed * 31 + 1, -1.f, 1.f, stream);
      fill_uniform_async(tk.get<float>(), groups * d, q.seed * 31 + 2, -1.f, 1.f, stream);
      fill_uniform_async(tv.get<float>(), groups * d, q.seed * 31 + 3, -1.f, 1.f, stream);
      LinearStep p{s.get<float>(), z.get<float>(), out.get<float>(), tq.get<float>(), tk.get<float>(), tv.get<float>(),
                   q.heads, q.kv_heads, d};
      for (const int64_t t : q.contexts) {
        // The state t tokens leave (as the CPU twin): entries of S about ±t/2, z in [t/2, 3t/2].
        const float tf = static_cast<float>(t);
        fill_uniform_async(s.get<float>(), groups * d * d, q.seed ^ static_cast<uint64_t>(t), -0.5f * tf, 0.5f * tf, stream);
        fill_uniform_async(z.get<float>(), groups * d, (q.seed ^ static_cast<uint64_t>(t)) + 7, 0.5f * tf, 1.5f * tf,
                           stream);
        RecurrentDecodeSample sample;
        sample.context = t;
        sample.timing = Timing::from_samples(
            timer.time(stream, 1, std::max(1, q.repetitions), [&] { launch_linear(p, q.batch, stream); }));
        r.samples.push_back(std::move(sample));
      }
    } else {
      const int64_t bd = q.batch * q.channels;
      DeviceBuffer h(bd * q.state * sizeof(float)), x(bd * sizeof(float)), delta(x.bytes()), y(x.bytes()),
          a(q.channels * q.state * sizeof(float)), b(q.batch * q.state * sizeof(float)), c(b.bytes());
      fill_uniform_async(x.get<float>(), bd, q.seed * 31 + 4, -1.f, 1.f, stream);
      fill_uniform_async(delta.get<float>(), bd, q.seed * 31 + 5, 0.001f, 0.1f, stream);
      fill_uniform_async(b.get<float>(), q.batch * q.state, q.seed * 31 + 6, -1.f, 1.f, stream);
      fill_uniform_async(c.get<float>(), q.batch * q.state, q.seed * 31 + 7, -1.f, 1.f, stream);
      fill_uniform_async(a.get<float>(), q.channels * q.state, q.seed * 31 + 8, -8.f, -0.5f, stream);
      ScanStep p{h.get<float>(), y.get<float>(), x.get<float>(), delta.get<float>(), a.get<float>(), b.get<float>(),
                 c.get<float>(), q.batch, q.channels, q.state};
      for (const int64_t t : q.contexts) {
        fill_uniform_async(h.get<float>(), bd * q.state, q.seed ^ static_cast<uint64_t>(t), -1.f, 1.f, stream);
        RecurrentDecodeSample sample;
        sample.context = t;
        sample.timing = Timing::from_samples(
            timer.time(stream, 1, std::max(1, q.repetitions), [&] { launch_scan(p, stream); }));
        r.samples.push_back(std::move(sample));
      }
    }
    CUDA_CHECK(cudaStreamSynchronize(stream));
  } catch (const CudaError& e) {
    r.samples.clear();
    r.error = (e.code() == cudaErrorMemoryAllocation ? "out of device memory for the recurrent state: "
                                                      : "CUDA error: ") + std::string(e.what());
    cudaGetLastError();
    return r;
  }
  r.ok = true;
  return r;
}

std::vector<float> linear_attention_step_cuda(int64_t batch, int64_t heads, int64_t kv_heads, int64_t head_dim,
                                              std::vector<float>& s, std::vector<float>& z, const std::vector<float>& q,
                                              const std::vector<float>& k, const std::vector<float>& v) {
  const cudaStream_t stream = nullptr;
  DeviceBuffer ds, dz, dq, dk, dv, dout;
  upload(s, ds, stream);
  upload(z, dz, stream);
  upload(q, dq, stream);
  upload(k, dk, stream);
  upload(v, dv, stream);
  dout.allocate(q.size() * sizeof(float));
  CUDA_CHECK(cudaMemsetAsync(dout.get(), 0xFF, dout.bytes(), stream));  // NaN: an output no thread wrote
  const LinearStep p{ds.get<float>(), dz.get<float>(), dout.get<float>(), dq.get<float>(), dk.get<float>(),
                     dv.get<float>(), heads, kv_heads, head_dim};
  launch_linear(p, batch, stream);
  std::vector<float> out;
  download(dout, out, stream);
  download(ds, s, stream);
  download(dz, z, stream);
  CUDA_CHECK(cudaStreamSynchronize(stream));
  return out;
}

std::vector<float> selective_scan_step_cuda(int64_t batch, int64_t channels, int64_t state, std::vector<float>& h,
                                            const std::vector<float>& x, const std::vector<float>& delta,
                                            const std::vector<float>& a, const std::vector<float>& b,
                                            const std::vector<float>& c) {
  const cudaStream_t stream = nullptr;
  DeviceBuffer dh, dx, ddelta, da, db, dc, dy;
  upload(h, dh, stream);
  upload(x, dx, stream);
  upload(delta, ddelta, stream);
  upload(a, da, stream);
  upload(b, db, stream);
  upload(c, dc, stream);
  dy.allocate(x.size() * sizeof(float));
  CUDA_CHECK(cudaMemsetAsync(dy.get(), 0xFF, dy.bytes(), stream));
  const ScanStep p{dh.get<float>(), dy.get<float>(), dx.get<float>(), ddelta.get<float>(), da.get<float>(),
                   db.get<float>(), dc.get<float>(), batch, channels, state};
  launch_scan(p, stream);
  std::vector<float> y;
  download(dy, y, stream);
  download(dh, h, stream);
  CUDA_CHECK(cudaStreamSynchronize(stream));
  return y;
}

}  // namespace attnscope::kernels
