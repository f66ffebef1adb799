// selective_scan.cu — see selective_scan.hpp for the passes and the contract.
#include "kernels/selective_scan/selective_scan.hpp"

#include <algorithm>

#include "core/beyond_runs.hpp"
#include "core/selective_scan.hpp"
#include "kernels/common/cuda_util.cuh"

namespace attnscope::kernels {
namespace {

constexpr int kThreads = 128;  // channels per block in passes 1 and 3

struct ScanArgs {
  const float *x, *delta, *a, *b, *c, *d_skip, *h_in;  // h_in may be null (zeros)
  float *y, *h_out;
  float *end, *decay, *enter;  // [B, D, chunks, Nst]
  int64_t batch, length, channels, state, chunk, chunks;
  __device__ int64_t xt(int64_t bb, int64_t t, int64_t ch) const { return (bb * length + t) * channels + ch; }
  __device__ int64_t bt(int64_t bb, int64_t t, int64_t n) const { return (bb * length + t) * state + n; }
  __device__ int64_t slot(int64_t bb, int64_t ch, int64_t k) const { return ((bb * channels + ch) * chunks + k) * state; }
};

// Pass 1. blockIdx = (channel block, chunk, batch). kMaxState ≥ Nst: the states live in registers (indexing is
// unrolled over kMaxState with a guard, so no local-memory arrays for the small sizes).
template <int kMaxState>
__global__ void __launch_bounds__(kThreads) scan_local(ScanArgs s) {
  const int64_t ch = int64_t{blockIdx.x} * kThreads + threadIdx.x, k = blockIdx.y, bb = blockIdx.z;
  if (ch >= s.channels) return;
  const int ns = static_cast<int>(s.state);
  float h[kMaxState], p[kMaxState], a_row[kMaxState];
#pragma unroll
  for (int n = 0; n < kMaxState; ++n) {
    h[n] = 0.f;
    p[n] = 1.f;
    a_row[n] = n < ns ? s.a[ch * s.state + n] : 0.f;
  }
  const int64_t t0 = k * s.chunk, t1 = t0 + s.chunk < s.length ? t0 + s.chunk : s.length;
  const float skip = s.d_skip[ch];
  for (int64_t t = t0; t < t1; ++t) {
    const float dt = s.delta[s.xt(bb, t, ch)], x = s.x[s.xt(bb, t, ch)];
    const float* bt = s.b + s.bt(bb, t, 0);
    const float* ct = s.c + s.bt(bb, t, 0);
    float y = skip * x;
#pragma unroll
    for (int n = 0; n < kMaxState; ++n) {
      if (n < ns) {
        const float decay = __expf(dt * a_row[n]);
        h[n] = decay * h[n] + dt * __ldg(bt + n) * x;
        p[n] *= decay;
        y += __ldg(ct + n) * h[n];
      }
    }
    s.y[s.xt(bb, t, ch)] = y;
  }
  float* end = s.end + s.slot(bb, ch, k);
  float* dec = s.decay + s.slot(bb, ch, k);
#pragma unroll
  for (int n = 0; n < kMaxState; ++n)
    if (n < ns) {
      end[n] = h[n];
      dec[n] = p[n];
    }
}

// Pass 2. One thread per (batch, channel, state): the entering state of every chunk, in order.
__global__ void __launch_bounds__(256) scan_carry(ScanArgs s) {
  const int64_t e = int64_t{blockIdx.x} * 256 + threadIdx.x;
  if (e >= s.batch * s.channels * s.state) return;
  const int64_t n = e % s.state, ch = (e / s.state) % s.channels, bb = e / (s.state * s.channels);
  float h = s.h_in ? s.h_in[e] : 0.f;  // [B, D, Nst]: e is its index
  for (int64_t k = 0; k < s.chunks; ++k) {
    const int64_t at = s.slot(bb, ch, k) + n;
    s.enter[at] = h;
    h = s.decay[at] * h + s.end[at];
  }
  s.h_out[e] = h;
}

// Pass 3. As pass 1's grid: adds each step's share of the entering state. Chunks entered with a zero state (the
// first, without h_in) add nothing and return early.
template <int kMaxState>
__global__ void __launch_bounds__(kThreads) scan_apply(ScanArgs s) {
  const int64_t ch = int64_t{blockIdx.x} * kThreads + threadIdx.x, k = blockIdx.y, bb = blockIdx.z;
  if (ch >= s.channels) return;
  const int ns = static_cast<int>(s.state);
  float enter[kMaxState], p[kMaxState], a_row[kMaxState];
  bool any = false;
  const float* in = s.enter + s.slot(bb, ch, k);
#pragma unroll
  for (int n = 0; n < kMaxState; ++n) {
    enter[n] = n < ns ? in[n] : 0.f;
    p[n] = 1.f;
    a_row[n] = n < ns ? s.a[ch * s.state + n] : 0.f;
    any = any || enter[n] != 0.f;
  }
  if (!any) return;
  const int64_t t0 = k * s.chunk, t1 = t0 + s.chunk < s.length ? t0 + s.chunk : s.length;
  for (int64_t t = t0; t < t1; ++t) {
    const float dt = s.delta[s.xt(bb, t, ch)];
    const float* ct = s.c + s.bt(bb, t, 0);
    float add = 0.f;
#pragma unroll
    for (int n = 0; n < kMaxState; ++n)
      if (n < ns) {
        p[n] *= __expf(dt * a_row[n]);
        add += __ldg(ct + n) * p[n] * enter[n];
      }
    s.y[s.xt(bb, t, ch)] += add;
  }
}

template <int kMaxState>
void launch_passes(const ScanArgs& args, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>((args.channels + kThreads - 1) / kThreads), static_cast<unsigned>(args.chunks),
                  static_cast<unsigned>(args.batch));
  scan_local<kMaxState><<<grid, kThreads, 0, stream>>>(args);
  CUDA_CHECK_LAUNCH("selective scan: local pass");
  const int64_t carries = args.batch * args.channels * args.state;
  scan_carry<<<static_cast<unsigned>((carries + 255) / 256), 256, 0, stream>>>(args);
  CUDA_CHECK_LAUNCH("selective scan: carry pass");
  scan_apply<kMaxState><<<grid, kThreads, 0, stream>>>(args);
  CUDA_CHECK_LAUNCH("selective scan: apply pass");
}

void launch_scan(const ScanArgs& args, cudaStream_t stream) {
  if (args.state <= 16) launch_passes<16>(args, stream);
  else if (args.state <= 64) launch_passes<64>(args, stream);
  else launch_passes<256>(args, stream);
}

}  // namespace

uint64_t selective_scan_cuda_workspace_bytes(const ScanShape& s, int64_t chunk) {
  const int64_t chunks = (s.length + std::max<int64_t>(1, chunk) - 1) / std::max<int64_t>(1, chunk);
  return 3 * static_cast<uint64_t>(s.batch * s.channels * chunks * s.state) * sizeof(float);
}

SequenceRunResult run_selective_scan_cuda(const SelectiveScanRunRequest& request, const std::string& device,
                                          void* stream_ptr, std::vector<float>* h_out) {
  SequenceRunResult r;
  r.backend = "cuda";
  r.device = device;
  if (!request.inputs) {
    r.error = "no inputs given";
    return r;
  }
  const ScanInputs& in = *request.inputs;
  if (auto problems = validate(in); !problems.empty()) {
    r.error = problems.front();
    return r;
  }
  const ScanShape& s = in.shape;
  if (request.chunk < 1) {
    r.error = "the selective scan needs chunks of at least 1 step (asked for " + std::to_string(request.chunk) + ")";
    return r;
  }
  const int64_t chunk = request.chunk, chunks = (s.length + chunk - 1) / chunk;
  if (chunks > 65535 || s.batch > 65535) {
    r.error = "selective scan (CUDA): " + std::to_string(chunks) + " chunks of " + std::to_string(chunk) +
              " steps and batch " + std::to_string(s.batch) + " must each be at most 65535; choose longer chunks";
    return r;
  }
  const auto stream = static_cast<cudaStream_t>(stream_ptr);
  r.kernel = "selective scan (S6), chunks of " + std::to_string(chunk) + " steps: local, carry, apply (CUDA, fp32)";
  try {
    auto upload = [&](const std::vector<float>& host, DeviceBuffer& to) {
      to.allocate(host.size() * sizeof(float));
      CUDA_CHECK(cudaMemcpyAsync(to.get(), host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice, stream));
    };
    DeviceBuffer x, delta, a, b, c, d_skip, h_in, y, h_last;
    upload(in.x, x);
    upload(in.delta, delta);
    upload(in.a, a);
    upload(in.b, b);
    upload(in.c, c);
    upload(in.d_skip, d_skip);
    if (!in.h_in.empty()) upload(in.h_in, h_in);
    const size_t state_floats = static_cast<size_t>(s.batch * s.channels * s.state);
    y.allocate(in.x.size() * sizeof(float));
    h_last.allocate(state_floats * sizeof(float));
    DeviceBuffer workspace(selective_scan_cuda_workspace_bytes(s, chunk));
    // Poison the outputs (all bits set: NaN) so an element no pass writes shows.
    CUDA_CHECK(cudaMemsetAsync(y.get(), 0xFF, y.bytes(), stream));
    CUDA_CHECK(cudaMemsetAsync(h_last.get(), 0xFF, h_last.bytes(), stream));
    ScanArgs args{};
    args.x = x.get<float>();
    args.delta = delta.get<float>();
    args.a = a.get<float>();
    args.b = b.get<float>();
    args.c = c.get<float>();
    args.d_skip = d_skip.get<float>();
    args.h_in = in.h_in.empty() ? nullptr : h_in.get<float>();
    args.y = y.get<float>();
    args.h_out = h_last.get<float>();
    const size_t slots = static_cast<size_t>(s.batch * s.channels * chunks * s.state);
    args.end = workspace.get<float>();
    args.decay = args.end + slots;
    args.enter = args.decay + slots;
    args.batch = s.batch;
    args.length = s.length;
    args.channels = s.channels;
    args.state = s.state;
    args.chunk = chunk;
    args.chunks = chunks;
    EventTimer timer;
    r.timing = Timing::from_samples(timer.time(stream, std::max(0, request.warmup), std::max(1, request.repetitions),
                                               [&] { launch_scan(args, stream); }));
    if (request.want_output) {
      r.output.resize(in.x.size());
      CUDA_CHECK(cudaMemcpyAsync(r.output.data(), y.get(), y.bytes(), cudaMemcpyDeviceToHost, stream));
    }
    if (h_out) {
      h_out->resize(state_floats);
      CUDA_CHECK(cudaMemcpyAsync(h_out->data(), h_last.get(), h_last.bytes(), cudaMemcpyDeviceToHost, stream));
    }
    CUDA_CHECK(cudaStreamSynchronize(stream));
    r.bytes_allocated = workspace.bytes() + h_last.bytes();
  } catch (const CudaError& e) {
    r.output.clear();
    r.out_of_memory = e.code() == cudaErrorMemoryAllocation;
    r.error = (r.out_of_memory ? "out of device memory while allocating: " : "CUDA error: ") + std::string(e.what());
    cudaGetLastError();
    return r;
  }
  r.flops = selective_scan_flops(s);
  r.bytes_moved = selective_scan_bytes(s);
  r.state_bytes = selective_scan_state_bytes(s.batch, s.channels, s.state);
  r.ok = true;
  return r;
}

}  // namespace attnscope::kernels
