// backward_cuda.cu — run_backward_cuda: plan -> upload -> poison the gradients -> forward (timed) -> backward
// (timed) -> download. See backward_cuda.hpp for the contract.
#include "kernels/backward_cuda.hpp"

#include <cublas_v2.h>

#include <algorithm>
#include <functional>
#include <optional>

#include "kernels/backward_flash/backward_flash.hpp"
#include "kernels/backward_naive/backward_naive.hpp"
#include "kernels/common/cuda_util.cuh"
#include "kernels/flash_fp32/flash_fp32.hpp"
#include "kernels/naive/naive_attention.hpp"

namespace attnscope::kernels {
namespace {

// The stream and cuBLAS handle of a call whose caller gives none: created for that call and destroyed when it ends,
// so nothing outlives the run (a process-wide handle would be reported as a leak by memcheck's leak check, and a
// handle destroyed at static destruction may outlive the driver). Callers that run many times (the backend, the
// benchmark) pass their own.
class CallContext {
 public:
  CallContext() {
    CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    if (cublasCreate(&cublas_) != CUBLAS_STATUS_SUCCESS) {
      cudaStreamDestroy(stream_);
      throw CudaError(cudaErrorUnknown, "cublasCreate failed");
    }
  }
  ~CallContext() {
    cublasDestroy(cublas_);
    cudaStreamDestroy(stream_);
  }
  CallContext(const CallContext&) = delete;
  CallContext& operator=(const CallContext&) = delete;
  cudaStream_t stream() const { return stream_; }
  cublasHandle_t cublas() const { return cublas_; }

 private:
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
};

// Device storage of `dtype` -> host floats (fp16/bf16 through a transient fp32 staging buffer).
void download(DType dtype, const DeviceBuffer& from, std::vector<float>& to, size_t count, cudaStream_t stream) {
  to.resize(count);
  download_as_float(dtype, from.get(), count, to.data(), stream);
}

void run_checked(const AttentionInputs& in, const std::vector<float>& d_out, Algorithm algorithm,
                 const BackwardCudaOptions& options, cudaStream_t stream, cublasHandle_t cublas, CudaBackwardRun& r) {
  const AttentionSpec& spec = in.spec;
  if (auto why = backward_unsupported(algorithm, spec); !why.empty()) throw std::invalid_argument(why);
  if (in.q.size() != static_cast<size_t>(spec.q_elements()) || in.k.size() != static_cast<size_t>(spec.kv_elements()) ||
      in.v.size() != static_cast<size_t>(spec.kv_elements()))
    throw std::invalid_argument("the input arrays do not match the spec's shapes (" + spec.summary() + ")");
  if (d_out.size() != in.q.size())
    throw std::invalid_argument("dO must have Q's shape: " + std::to_string(in.q.size()) + " elements, not " +
                                std::to_string(d_out.size()));
  if (options.warmup < 0 || options.repetitions < 1 || options.repetitions > 10000)
    throw std::invalid_argument("repetitions must be 1..10000 and warm-up >= 0");

  // Out of memory is an answer: plan everything, compare with what is free, allocate only if it fits.
  size_t free_b = 0, total_b = 0;
  CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  const BackwardDevicePlan plan = plan_backward_memory(algorithm, spec);
  r.bytes_needed = plan.total();
  r.bytes_free = free_b;
  r.gradients.bytes_allocated = plan.saved_bytes + plan.workspace_bytes;
  if (plan.total() > free_b) {
    r.out_of_memory = true;
    r.gradients.error = std::string(algorithm_name(algorithm)) + " forward + backward at " + spec.summary() +
                        " needs " + format_bytes_binary(static_cast<double>(plan.total())) + " (inputs and O, dO " +
                        format_bytes_binary(static_cast<double>(plan.inputs_bytes)) + "; gradients " +
                        format_bytes_binary(static_cast<double>(plan.gradients_bytes)) + "; saved for the backward " +
                        format_bytes_binary(static_cast<double>(plan.saved_bytes)) + "; workspace " +
                        format_bytes_binary(static_cast<double>(plan.workspace_bytes)) + ") but only " +
                        format_bytes_binary(static_cast<double>(free_b)) + " is free" +
                        (algorithm == Algorithm::Naive ? ": use flash (it saves lse, not P)" : "");
    return;
  }

  const DType dtype = spec.dtype;  // fp32 for flash (backward_unsupported); naive stores any dtype
  DeviceBuffer q, k, v, go;
  upload_as(dtype, in.q.data(), in.q.size(), q, stream);
  upload_as(dtype, in.k.data(), in.k.size(), k, stream);
  upload_as(dtype, in.v.data(), in.v.size(), v, stream);
  upload_as(dtype, d_out.data(), d_out.size(), go, stream);
  const size_t q_bytes = in.q.size() * dtype_bytes(dtype), kv_bytes = in.k.size() * dtype_bytes(dtype);
  DeviceBuffer o(q_bytes), dq(q_bytes), dk(kv_bytes), dv(kv_bytes);
  DeviceMask mask(spec.mask, stream);
  // Poison the gradients: 0xFF bytes are NaN in fp32, fp16 and bf16, so an element no launch writes comes back NaN. (Flash zeroes dQ as
  // its accumulator; dK and dV must still be written by the CTA of every K/V tile, visited or not.)
  for (DeviceBuffer* g : {&dq, &dk, &dv}) CUDA_CHECK(cudaMemsetAsync(g->get(), 0xFF, g->bytes(), stream));
  EventTimer timer;
  std::function<void()> forward, backward;

  // Naive: S and P as the forward leaves them; dP is written over S (no longer needed), then dS over dP.
  DeviceBuffer s, p;
  NaiveParams np;
  NaiveBackwardParams nb;
  // Flash: lse from the forward, D from the pre-pass, the block mask of 64 x 64 tiles (forward and backward).
  DeviceBuffer lse, row_dot;
  std::optional<DeviceTileKinds> tiles;
  FlashParams fp;
  FlashBackwardParams fb;
  if (algorithm == Algorithm::Naive) {
    s.allocate(naive_backward_workspace_bytes(spec) / 2);
    p.allocate(naive_backward_workspace_bytes(spec) / 2);
    np.dtype = dtype;
    set_shape(np, spec);
    np.mask = mask.view;
    np.q = q.get();
    np.k = k.get();
    np.v = v.get();
    np.s = s.get();
    np.p = p.get();
    np.o = o.get();
    np.cublas = cublas;
    nb.dtype = dtype;
    set_shape(nb, spec);
    nb.q = q.get();
    nb.k = k.get();
    nb.v = v.get();
    nb.o = o.get();
    nb.d_out = go.get();
    nb.p = p.get();
    nb.ds = s.get();
    nb.dq = dq.get();
    nb.dk = dk.get();
    nb.dv = dv.get();
    nb.cublas = cublas;
    forward = [&] { launch_naive(np, stream); };
    backward = [&] { launch_naive_backward(nb, stream); };
    r.kernel = std::string("naive ") + dtype_name(dtype) +
               " (fp32 arithmetic): forward S, P (cuBLAS + softmax), backward dV, dP, dQ, dK (cuBLAS) + dS row "
               "kernel; P and dP/dS are " + std::to_string(spec.batch * spec.q_heads) + " x " +
               std::to_string(spec.q_len) + " x " + std::to_string(spec.kv_len) + " each";
  } else {
    const size_t rows = static_cast<size_t>(spec.batch * spec.q_heads * spec.q_len);
    lse.allocate(rows * sizeof(float));
    row_dot.allocate(rows * sizeof(float));
    tiles.emplace(spec, kFlashBr, kFlashBc, stream);
    set_shape(fp, spec);
    fp.mask = mask.view;
    fp.q = q.get<float>();
    fp.k = k.get<float>();
    fp.v = v.get<float>();
    fp.o = o.get<float>();
    fp.lse = lse.get<float>();
    fp.tile_classes = tiles->kinds.get<uint8_t>();
    set_shape(fb, spec);
    fb.mask = mask.view;
    fb.q = q.get<float>();
    fb.k = k.get<float>();
    fb.v = v.get<float>();
    fb.o = o.get<float>();
    fb.d_out = go.get<float>();
    fb.lse = lse.get<float>();
    fb.row_dot = row_dot.get<float>();
    fb.dq = dq.get<float>();
    fb.dk = dk.get<float>();
    fb.dv = dv.get<float>();
    fb.tile_classes = tiles->kinds.get<uint8_t>();
    forward = [&] { launch_flash_fp32(fp, stream); };
    backward = [&] { launch_flash_backward(fb, stream); };
    r.kernel = "flash-2 fp32 (CUDA cores): forward with lse, backward " + std::to_string(fb.tc() * spec.kv_heads * spec.batch) +
               " CTAs of " + std::to_string(kFlashBackwardBc) + " keys, " + std::to_string(tiles->visited) +
               " non-empty " + std::to_string(kFlashBackwardBr) + "x" + std::to_string(kFlashBackwardBc) +
               " tiles per head";
  }
  // The forward first (all of its repetitions), then the backward: each backward repetition reads what the last
  // forward saved and rewrites every gradient element.
  r.timing.forward = Timing::from_samples(timer.time(stream, options.warmup, options.repetitions, forward));
  r.timing.backward = Timing::from_samples(timer.time(stream, options.warmup, options.repetitions, backward));

  download(dtype, dq, r.gradients.dq, in.q.size(), stream);
  download(dtype, dk, r.gradients.dk, in.k.size(), stream);
  download(dtype, dv, r.gradients.dv, in.v.size(), stream);
  if (options.want_forward_outputs) {
    download(dtype, o, r.output, in.q.size(), stream);
    if (algorithm == Algorithm::Flash) download(DType::F32, lse, r.lse, lse.bytes() / sizeof(float), stream);
  }
  CUDA_CHECK(cudaStreamSynchronize(stream));
  r.gradients.ok = true;
}

}  // namespace

BackwardDevicePlan plan_backward_memory(Algorithm algorithm, const AttentionSpec& spec) {
  BackwardDevicePlan plan;
  const uint64_t e = static_cast<uint64_t>(dtype_bytes(spec.dtype));
  const uint64_t q = static_cast<uint64_t>(spec.q_elements()) * e;
  const uint64_t kv = static_cast<uint64_t>(spec.kv_elements()) * e;
  plan.inputs_bytes = 3 * q + 2 * kv;     // Q, O, dO; K, V
  plan.gradients_bytes = q + 2 * kv;      // dQ; dK, dV
  // fp16/bf16: uploads and downloads go through a transient fp32 buffer of the larger of Q's and K's sizes.
  plan.staging_bytes = spec.dtype == DType::F32 ? 0 : std::max(q, kv) / e * 4;
  if (algorithm == Algorithm::Naive) {
    plan.saved_bytes = naive_backward_workspace_bytes(spec) / 2;      // P
    plan.workspace_bytes = naive_backward_workspace_bytes(spec) / 2;  // S, then dP, then dS
  } else {
    const uint64_t rows = static_cast<uint64_t>(spec.batch * spec.q_heads * spec.q_len);
    plan.saved_bytes = rows * sizeof(float);                                          // lse
    plan.workspace_bytes = flash_backward_workspace_bytes(spec) - rows * sizeof(float);  // D and the block mask
  }
  plan.workspace_bytes += spec.mask.grid.cells.size();
  return plan;
}

std::string backward_unsupported(Algorithm algorithm, const AttentionSpec& spec) {
  if (algorithm != Algorithm::Naive && algorithm != Algorithm::Flash)
    return std::string("the CUDA backward pass runs naive and flash, not ") + algorithm_name(algorithm);
  if (algorithm == Algorithm::Flash && spec.dtype != DType::F32)
    return "flash backward (CUDA) is the fp32 teaching kernel: choose dtype fp32 (naive stores fp16 and bf16)";
  if (algorithm == Algorithm::Flash && spec.head_dim > kFlashBackwardMaxHeadDim)
    return "flash backward (CUDA) supports head dim up to " + std::to_string(kFlashBackwardMaxHeadDim) +
           "; naive runs up to 256";
  if (algorithm == Algorithm::Naive && spec.head_dim > 256) return "naive backward (CUDA) supports head dim up to 256";
  if (spec.batch < 1 || spec.q_heads < 1 || spec.kv_heads < 1 || spec.q_len < 1 || spec.kv_len < 1 || spec.head_dim < 1)
    return "every size must be >= 1 (" + spec.summary() + ")";
  if (spec.q_heads % spec.kv_heads != 0) return "query heads must be a multiple of KV heads";
  if (spec.q_len > spec.kv_len) return "query length exceeds key length";
  return {};
}

CudaBackwardRun run_backward_cuda(const AttentionInputs& in, const std::vector<float>& d_out, Algorithm algorithm,
                                  const BackwardCudaOptions& options) {
  CudaBackwardRun r;
  try {
    if ((options.stream == nullptr) != (options.cublas == nullptr))
      throw std::invalid_argument("give both a stream and a cuBLAS handle, or neither");
    if (options.stream) {
      run_checked(in, d_out, algorithm, options, static_cast<cudaStream_t>(options.stream),
                  static_cast<cublasHandle_t>(options.cublas), r);
    } else {
      const CallContext context;
      run_checked(in, d_out, algorithm, options, context.stream(), context.cublas(), r);
    }
  } catch (const CudaError& e) {
    const uint64_t planned = r.gradients.bytes_allocated;
    r.gradients = BackwardResult{};
    r.gradients.bytes_allocated = planned;
    r.output.clear();
    r.lse.clear();
    if (e.code() == cudaErrorMemoryAllocation) {
      r.out_of_memory = true;
      r.gradients.error = std::string("out of device memory while allocating: ") + e.what();
    } else {
      r.gradients.error = std::string("CUDA error: ") + e.what();
    }
    cudaGetLastError();  // clear a sticky launch error so the next run starts clean
  } catch (const std::invalid_argument& e) {
    r.gradients = BackwardResult{};
    r.gradients.error = e.what();
  }
  return r;
}

}  // namespace attnscope::kernels
