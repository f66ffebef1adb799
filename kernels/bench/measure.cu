// measure.cu — copy bandwidth, the naive path's pieces against their prediction, flash fp32 and its tracing cost
// (see measure.hpp).
#include <cublas_v2.h>

#include <chrono>
#include <cmath>

#include "core/reference.hpp"
#include "core/rng.hpp"
#include "kernels/common/cuda_util.cuh"
#include "kernels/flash_fp32/flash_fp32.hpp"
#include "kernels/bench/measure.hpp"
#include "kernels/naive/naive_attention.hpp"

namespace attnscope::kernels {
namespace {

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : (v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]));
}

struct CublasHandle {
  cublasHandle_t h{};
  CublasHandle() {
    if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS) throw CudaError(cudaErrorUnknown, "cublasCreate failed");
  }
  ~CublasHandle() { cublasDestroy(h); }
};

struct Stream {
  cudaStream_t s{};
  Stream() { CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking)); }
  ~Stream() { cudaStreamDestroy(s); }
};

AttentionSpec spec_for(const MeasureConfig& c, int64_t n, DType dtype) {
  AttentionSpec s;
  s.batch = c.batch;
  s.q_heads = s.kv_heads = c.heads;
  s.q_len = s.kv_len = n;
  s.head_dim = c.head_dim;
  s.dtype = dtype;
  auto parsed = parse_mask(c.mask);
  if (!parsed.ok) throw std::invalid_argument("mask: " + parsed.error);
  s.mask = parsed.mask;
  return s;
}

// Device inputs of a spec, random (never zeros).
struct Problem {
  AttentionSpec spec;
  DeviceBuffer q, k, v, o;
  Problem(const AttentionSpec& s, cudaStream_t stream, uint64_t seed) : spec(s) {
    auto in = generate_inputs(s, Generator::Gaussian, seed);
    upload_as(s.dtype, in.q.data(), in.q.size(), q, stream);
    upload_as(s.dtype, in.k.data(), in.k.size(), k, stream);
    upload_as(s.dtype, in.v.data(), in.v.size(), v, stream);
    o.allocate(in.q.size() * dtype_bytes(s.dtype));
  }
};

NaiveParams naive_params(const Problem& p, const MaskView& mask, void* s, void* pm, cublasHandle_t h) {
  NaiveParams np;
  np.dtype = p.spec.dtype;
  set_shape(np, p.spec);
  np.mask = mask;
  np.q = p.q.get();
  np.k = p.k.get();
  np.v = p.v.get();
  np.s = s;
  np.p = pm;
  np.o = p.o.get();
  np.cublas = h;
  return np;
}

}  // namespace

double measure_copy_bandwidth(uint64_t bytes, int repetitions, std::string* error) {
  try {
    Stream stream;
    DeviceBuffer a(bytes), b(bytes);
    CUDA_CHECK(cudaMemsetAsync(a.get(), 0x3C, bytes, stream.s));
    EventTimer timer;
    auto samples = timer.time(stream.s, 2, repetitions, [&] {
      CUDA_CHECK(cudaMemcpyAsync(b.get(), a.get(), bytes, cudaMemcpyDeviceToDevice, stream.s));
    });
    return 2.0 * static_cast<double>(bytes) / (median_of(samples) * 1e-3) / 1e9;
  } catch (const CudaError& e) {
    if (error) *error = e.what();
    return 0;
  }
}

namespace {
__global__ void fill_random(float* out, size_t count, uint64_t seed) {
  for (size_t i = blockIdx.x * size_t{blockDim.x} + threadIdx.x; i < count; i += size_t{gridDim.x} * blockDim.x)
    out[i] = static_cast<float>(unit_interval(splitmix64(seed ^ i))) - 0.5f;  // uniform in [-0.5, 0.5)
}
}  // namespace

DeviceCeilings measure_cuda_ceilings() {
  DeviceCeilings c;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    int device = 0;
    CUDA_CHECK(cudaGetDevice(&device));
    cudaDeviceProp prop{};
    CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
    c.device = prop.name;
    c.copy_bytes = 1ull << 30;
    std::string err;
    c.copy_bytes_per_s = measure_copy_bandwidth(c.copy_bytes, 10, &err) * 1e9;
    if (!err.empty()) throw CudaError(cudaErrorUnknown, err);
    const int n = 8192;
    const size_t elems = size_t{n} * n;
    Stream stream;
    CublasHandle cublas;
    if (cublasSetStream(cublas.h, stream.s) != CUBLAS_STATUS_SUCCESS) throw CudaError(cudaErrorUnknown, "cublasSetStream");
    DeviceBuffer a(elems * 4), b(elems * 4), out(elems * 4);
    fill_random<<<1024, 256, 0, stream.s>>>(a.get<float>(), elems, 1);
    fill_random<<<1024, 256, 0, stream.s>>>(b.get<float>(), elems, 2);
    CUDA_CHECK_LAUNCH("fill_random");
    EventTimer timer;
    const float one = 1.f, zero = 0.f;
    auto gemm = [&](cudaDataType_t t, const void* x, const void* y, void* z) {
      if (cublasGemmEx(cublas.h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, x, t, n, y, t, n, &zero, z, t, n,
                       CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT) != CUBLAS_STATUS_SUCCESS)
        throw CudaError(cudaErrorUnknown, "cublasGemmEx failed");
    };
    const double flop = 2.0 * n * n * double{n};
    c.gemm_flops_per_s = flop / (median_of(timer.time(stream.s, 1, 5, [&] {
                                   gemm(CUDA_R_32F, a.get(), b.get(), out.get());
                                 })) * 1e-3);
    c.gemm_n = n;
    c.gemm_what = "cuBLAS SGEMM " + std::to_string(n) + "³ (fp32, no TF32)";
    // fp16 operands (converted from the random fp32 ones), fp32 accumulation, fp16 output: tensor cores.
    DeviceBuffer a16(elems * 2), b16(elems * 2), out16(elems * 2);
    std::vector<float> host(elems);
    CUDA_CHECK(cudaMemcpy(host.data(), a.get(), elems * 4, cudaMemcpyDeviceToHost));
    upload_as(DType::F16, host.data(), elems, a16, stream.s);
    CUDA_CHECK(cudaMemcpy(host.data(), b.get(), elems * 4, cudaMemcpyDeviceToHost));
    upload_as(DType::F16, host.data(), elems, b16, stream.s);
    c.gemm16_flops_per_s = flop / (median_of(timer.time(stream.s, 2, 5, [&] {
                                     gemm(CUDA_R_16F, a16.get(), b16.get(), out16.get());
                                   })) * 1e-3);
    c.ok = true;
  } catch (const CudaError& e) {
    c.error = e.what();
    cudaGetLastError();
  }
  c.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return c;
}

MeasureReport measure_device(const MeasureConfig& config) {
  MeasureReport report;
  report.config = config;
  try {
    int device = 0;
    CUDA_CHECK(cudaGetDevice(&device));
    cudaDeviceProp prop{};
    CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
    report.device = prop.name;
    // 1 GiB each way: far beyond any L2 (tens of MB), so the copy measures DRAM.
    report.copy_bytes = 1ull << 30;
    std::string err;
    report.copy_gbs = measure_copy_bandwidth(report.copy_bytes, 10, &err);
    if (!err.empty()) throw CudaError(cudaErrorUnknown, err);
    Stream stream;
    CublasHandle cublas;
    EventTimer timer;
    uint64_t seed = 1234567;
    for (int64_t n : config.lengths) {
      MeasureRow row;
      row.n = n;
      size_t free_b = 0, total_b = 0;
      CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
      // --- naive in the configured dtype: each piece, the whole, the prediction
      {
        auto spec = spec_for(config, n, config.naive_dtype);
        const uint64_t need = naive_workspace_bytes(spec) + 4ull * spec.q_elements() * 4;
        if (need > free_b) {
          row.skipped = true;
          row.note = "naive needs " + format_bytes_binary(static_cast<double>(need)) + ", " +
                     format_bytes_binary(static_cast<double>(free_b)) + " free";
          report.rows.push_back(row);
          continue;
        }
        Problem prob(spec, stream.s, ++seed);
        DeviceMask mask(spec.mask, stream.s);
        DeviceBuffer s(naive_workspace_bytes(spec) / 2), p(naive_workspace_bytes(spec) / 2);
        const auto np = naive_params(prob, mask.view, s.get(), p.get(), cublas.h);
        const int w = config.warmup, r = config.repetitions;
        row.gemm_qk_ms = median_of(timer.time(stream.s, w, r, [&] { launch_naive_scores(np, stream.s); }));
        row.softmax_ms = median_of(timer.time(stream.s, w, r, [&] { launch_masked_softmax(np, stream.s); }));
        row.softmax_registers_ms = median_of(timer.time(
            stream.s, w, r, [&] { launch_masked_softmax(np, stream.s, SoftmaxVariant::Registers); }));
        row.softmax_streaming_ms = median_of(timer.time(
            stream.s, w, r, [&] { launch_masked_softmax(np, stream.s, SoftmaxVariant::Streaming); }));
        row.gemm_pv_ms = median_of(timer.time(stream.s, w, r, [&] { launch_naive_output(np, stream.s); }));
        row.naive_ms = median_of(timer.time(stream.s, w, r, [&] { launch_naive(np, stream.s); }));
        const double softmax_bytes = static_cast<double>(naive_workspace_bytes(spec));  // S read + P written
        row.softmax_gbs = softmax_bytes / (row.softmax_ms * 1e-3) / 1e9;
        row.softmax_ratio = row.softmax_gbs / report.copy_gbs;
        row.predicted_ms = row.gemm_qk_ms + row.gemm_pv_ms + softmax_bytes / (report.copy_gbs * 1e9) * 1e3;
        row.naive_over_predicted = row.naive_ms / row.predicted_ms;
      }
      // --- the fp32 problem: naive fp32 vs flash fp32, and flash with tracing on
      if (config.flash) {
        auto spec = spec_for(config, n, DType::F32);
        Problem prob(spec, stream.s, ++seed);
        DeviceMask mask(spec.mask, stream.s);
        CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
        if (naive_workspace_bytes(spec) + (64ull << 20) < free_b) {
          DeviceBuffer s(naive_workspace_bytes(spec) / 2), p(naive_workspace_bytes(spec) / 2);
          const auto np = naive_params(prob, mask.view, s.get(), p.get(), cublas.h);
          row.naive_fp32_ms =
              median_of(timer.time(stream.s, config.warmup, config.repetitions, [&] { launch_naive(np, stream.s); }));
        }
        FlashParams fp;
        set_shape(fp, spec);
        fp.mask = mask.view;
        fp.q = prob.q.get<float>();
        fp.k = prob.k.get<float>();
        fp.v = prob.v.get<float>();
        fp.o = prob.o.get<float>();
        DeviceTileKinds tiles(spec, kFlashBr, kFlashBc, stream.s);
        fp.tile_classes = tiles.kinds.get<uint8_t>();
        const int64_t visited = tiles.visited;
        row.flash_fp32_ms =
            median_of(timer.time(stream.s, config.warmup, config.repetitions, [&] { launch_flash_fp32(fp, stream.s); }));
        row.flash_tflops = 4.0 * spec.batch * spec.q_heads * static_cast<double>(visited) * kFlashBr * kFlashBc *
                           spec.head_dim / (row.flash_fp32_ms * 1e-3) / 1e12;
        // Tracing on: the instrumented instantiation with four probe rows.
        const int64_t ctas = fp.ctas(), tc = fp.tc();
        DeviceBuffer sm(ctas * 4), count(ctas * 4), tile(ctas * tc * 4), start(ctas * tc * 8), end(ctas * tc * 8);
        const int32_t probe_rows[4] = {0, static_cast<int32_t>(n / 3), static_cast<int32_t>(n / 2),
                                       static_cast<int32_t>(n - 1)};
        DeviceBuffer prow(16), psteps(16), ptile(4 * tc * 4), pstate(4 * tc * 16);
        CUDA_CHECK(cudaMemcpy(prow.get(), probe_rows, 16, cudaMemcpyHostToDevice));
        FlashTraceBuffers tb;
        tb.cta_sm = sm.get<uint32_t>();
        tb.visit_count = count.get<int32_t>();
        tb.visit_tile = tile.get<int32_t>();
        tb.visit_start = start.get<uint64_t>();
        tb.visit_end = end.get<uint64_t>();
        tb.probe_count = 4;
        tb.probe_rows = prow.get<int32_t>();
        tb.probe_steps = psteps.get<int32_t>();
        tb.probe_tile = ptile.get<int32_t>();
        tb.probe_state = pstate.get<float>();
        FlashParams traced = fp;
        traced.trace = &tb;
        row.flash_traced_ms = median_of(
            timer.time(stream.s, config.warmup, config.repetitions, [&] { launch_flash_fp32(traced, stream.s); }));
        row.trace_overhead = row.flash_traced_ms / row.flash_fp32_ms - 1.0;
      }
      report.rows.push_back(row);
    }
  } catch (const CudaError& e) {
    report.error = e.what();
    cudaGetLastError();
  } catch (const std::invalid_argument& e) {
    report.error = e.what();
  }
  return report;
}

}  // namespace attnscope::kernels
