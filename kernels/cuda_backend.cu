// cuda_backend.cu — CudaBackend: runs the naive and flash fp32 kernels behind core::Backend.
//
// Contents
//   memory planning          plan_device_memory, out_of_memory_message (checked before any allocation)
//   cost counts              FLOPs and bytes of what the kernels execute
//   EventTimer               CUDA-event timing of repetitions after warm-up
//   CudaBackend::run         upload -> (block mask) -> poison O -> warm-up, timed reps -> optional trace -> download
//   trace assembly           device trace buffers -> core Trace
//   CudaBackend::score_image GPU pooling of one head's S or P
#include "kernels/cuda_backend.hpp"

#include <cublas_v2.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>

#include "core/block_mask.hpp"
#include "core/cost_model.hpp"
#include "core/visit_schedule.hpp"
#include "core/backward.hpp"
#include "core/beyond_runs.hpp"
#include "kernels/backward_cuda.hpp"
#include "kernels/bench/measure.hpp"
#include "kernels/common/cuda_util.cuh"
#include "kernels/decode/decode.hpp"
#include "kernels/flash1/flash1.hpp"
#include "kernels/flash_fp32/flash_fp32.hpp"
#include "kernels/flash_tc/flash_tc.hpp"
#include "kernels/layer/layer_timing.hpp"
#include "kernels/linear_attention/linear_attention.hpp"
#include "kernels/recurrent_decode/recurrent_decode.hpp"
#include "kernels/selective_scan/selective_scan.hpp"
#include "kernels/naive/naive_attention.hpp"
#include "kernels/score_pool/score_pool.hpp"

namespace attnscope::kernels {

// ---------------------------------------------------------------- split visit lists
namespace {
// A split plan (core/visit_schedule.hpp) and its device buffers: work items, split tiles, the partials' workspace.
struct SplitOnDevice {
  VisitSplitPlan plan;
  std::vector<WorkItem> kernel_items;  // as the kernel reads them (the fp32 kernel's hold K/V tile ranges)
  DeviceBuffer items, split_tiles, partials;

  uint64_t bytes(const AttentionSpec& spec, int br) const {
    if (!plan.split()) return 0;
    return plan.items.size() * sizeof(WorkItem) + plan.split_tiles.size() * sizeof(SplitTile) +
           4 * static_cast<uint64_t>(split_partial_floats(plan, spec.batch * spec.q_heads, br, spec.head_dim));
  }
  void upload(const AttentionSpec& spec, int br, cudaStream_t stream) {
    const std::vector<WorkItem>& host_items = kernel_items.empty() ? plan.items : kernel_items;
    items.allocate(host_items.size() * sizeof(WorkItem));
    split_tiles.allocate(plan.split_tiles.size() * sizeof(SplitTile));
    partials.allocate(4 * static_cast<size_t>(split_partial_floats(plan, spec.batch * spec.q_heads, br, spec.head_dim)));
    CUDA_CHECK(cudaMemcpyAsync(items.get(), host_items.data(), items.bytes(), cudaMemcpyHostToDevice, stream));
    CUDA_CHECK(cudaMemcpyAsync(split_tiles.get(), plan.split_tiles.data(), split_tiles.bytes(), cudaMemcpyHostToDevice,
                               stream));
  }
  // ", split: 1 Q tile of 128 visits into 11 pieces (longest CTA 12 visits, median 9)" or "".
  std::string words() const {
    if (!plan.split()) return {};
    int64_t cut_visits = 0, pieces = 0;
    for (const SplitTile& t : plan.split_tiles) pieces += t.pieces;
    for (const WorkItem& w : plan.items)
      if (w.partial >= 0) cut_visits += w.visits();
    return ", split: " + std::to_string(plan.split_tiles.size()) + " long Q tile" +
           (plan.split_tiles.size() == 1 ? "" : "s") + " (" + std::to_string(cut_visits) + " visits) into " +
           std::to_string(pieces) + " pieces, longest CTA " + std::to_string(plan.longest_split) + " visits (was " +
           std::to_string(plan.longest_unsplit) + ", median " + std::to_string(plan.median_visits) + ")";
  }
};

// The fp32 kernel's split: lists of non-empty 64 x 64 tiles from the block mask; the kernel's items hold K/V tile
// ranges [first tile, last tile + 1) (empty tiles inside a range are skipped by the kernel as always).
SplitOnDevice fp32_split_plan(const AttentionSpec& spec, VisitSplit mode) {
  const BlockMask bm = build_block_mask(spec, kFlashBr, kFlashBc, /*count_pairs=*/false);
  std::vector<int32_t> offsets{0}, tiles;
  for (int64_t i = 0; i < bm.tiles.tr; ++i) {
    for (int64_t j = 0; j < bm.tiles.tc; ++j)
      if (bm.at(i, j) != TileKind::Empty) tiles.push_back(static_cast<int32_t>(j));
    offsets.push_back(static_cast<int32_t>(tiles.size()));
  }
  SplitOnDevice s;
  s.plan = plan_visit_split(offsets, mode);
  for (const WorkItem& w : s.plan.items) {
    WorkItem k = w;
    k.visit_begin = w.visits() > 0 ? tiles[static_cast<size_t>(w.visit_begin)] : 0;
    k.visit_end = w.visits() > 0 ? tiles[static_cast<size_t>(w.visit_end - 1)] + 1 : 0;
    s.kernel_items.push_back(k);
  }
  return s;
}
}  // namespace

// ---------------------------------------------------------------- memory planning
DevicePlan plan_device_memory(Algorithm algorithm, const AttentionSpec& spec, bool record_trace, int probe_count) {
  DevicePlan plan;
  const uint64_t e = static_cast<uint64_t>(dtype_bytes(spec.dtype));
  const uint64_t q = static_cast<uint64_t>(spec.q_elements()), kv = static_cast<uint64_t>(spec.kv_elements());
  plan.inputs_bytes = (2 * q + 2 * kv) * e;  // Q, O, K, V
  plan.staging_bytes = spec.dtype == DType::F32 ? 0 : std::max(q, kv) * 4;
  if (algorithm == Algorithm::Naive) {
    plan.workspace_bytes = naive_workspace_bytes(spec);
  } else if (algorithm == Algorithm::Flash1) {
    // The block mask, m and l of every query row, and the per-step trace.
    Flash1Params p;
    p.batch = spec.batch;
    p.q_heads = spec.q_heads;
    p.q_len = spec.q_len;
    p.kv_len = spec.kv_len;
    plan.workspace_bytes = static_cast<uint64_t>(p.tr() * p.tc()) + flash1_workspace_bytes(spec);
    if (record_trace) plan.workspace_bytes += flash1_trace_bytes(p, probe_count);
  } else if (algorithm == Algorithm::FlashTensorCore) {
    // The dense schedule: offsets and one 16-byte visit per tile (run() adds the exact schedule it builds).
    const int64_t tr = (spec.q_len + kFlashTcBr - 1) / kFlashTcBr, tc = (spec.kv_len + kFlashTcBc - 1) / kFlashTcBc;
    plan.workspace_bytes = static_cast<uint64_t>(tr + 1) * 4 + static_cast<uint64_t>(tr * tc) * sizeof(KernelVisit);
    if (record_trace)
      plan.workspace_bytes += flash_tc_trace_bytes(tr * spec.q_heads * spec.batch, static_cast<int32_t>(tc), probe_count);
  } else {
    FlashParams p;
    p.batch = spec.batch;
    p.q_heads = spec.q_heads;
    p.q_len = spec.q_len;
    p.kv_len = spec.kv_len;
    plan.workspace_bytes = static_cast<uint64_t>(p.tr()) * p.tc();
    if (record_trace) plan.workspace_bytes += flash_trace_bytes(p, probe_count);
  }
  if (!spec.mask.grid.cells.empty()) plan.workspace_bytes += spec.mask.grid.cells.size();
  return plan;
}

std::string out_of_memory_message(Algorithm algorithm, const AttentionSpec& spec, const DevicePlan& plan,
                                  uint64_t free_bytes, const std::string& device_name) {
  if (plan.total() <= free_bytes) return {};
  std::string what;
  if (algorithm == Algorithm::Naive) {
    const double one = static_cast<double>(plan.workspace_bytes) / 2.0;
    what = " (S and P: " + format_bytes_binary(one) + " each = " + std::to_string(spec.batch) + " batch x " +
           std::to_string(spec.q_heads) + " heads x " + std::to_string(spec.q_len) + " x " +
           std::to_string(spec.kv_len) + " x " + std::to_string(dtype_bytes(spec.dtype)) + " bytes; Q, K, V, O: " +
           format_bytes_binary(static_cast<double>(plan.inputs_bytes)) + ")";
  } else {
    what = " (Q, K, V, O: " + format_bytes_binary(static_cast<double>(plan.inputs_bytes)) +
           "; block mask and trace: " + format_bytes_binary(static_cast<double>(plan.workspace_bytes)) + ")";
  }
  return std::string(algorithm_name(algorithm)) + " attention at " + spec.summary() + " needs " +
         format_bytes_binary(static_cast<double>(plan.total())) + what + " but only " +
         format_bytes_binary(static_cast<double>(free_bytes)) + " is free on " + device_name +
         (algorithm == Algorithm::Naive ? ": use flash (no N x N matrix), or fewer heads, a smaller batch or a shorter N"
                                        : ": use fewer heads, a smaller batch or a shorter N");
}

namespace {

// FLOPs and bytes come from core's cost model (core/cost_model.hpp), the same formulas every backend reports:
// algorithm_cost for naive and decode, tiled_flash_cost and schedule_cost for the flash kernels, which skip the
// tiles a mask leaves empty.

// ---------------------------------------------------------------- the backend
class CudaBackend final : public Backend {
 public:
  CudaBackend(DeviceInfo info, const CudaBackendOptions& options) : info_(std::move(info)), options_(options) {
    CUDA_CHECK(cudaSetDevice(info_.index));
    CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    if (cublasCreate(&cublas_) != CUBLAS_STATUS_SUCCESS) throw CudaError(cudaErrorUnknown, "cublasCreate failed");
  }
  ~CudaBackend() override {
    if (cublas_) cublasDestroy(cublas_);
    if (stream_) cudaStreamDestroy(stream_);
  }

  std::string name() const override { return "cuda"; }
  BackendCapabilities capabilities() const override {
    BackendCapabilities c;
    c.memory = BackendCapabilities::Memory::Device;
    c.host_cpu = false;
    c.sm_traces = true;
    c.tensor_cores = true;
    c.sweep_time_cap_s = 5.0;
    c.decode_loop_context = 16384;
    c.parallel_units = info_.sm_count;  // one flash CTA per SM at a time, as the straggler prediction assumes
    return c;
  }
  std::string device_name() const override { return info_.name; }
  const DeviceInfo& info() const { return info_; }

  bool supports(Algorithm algorithm, const AttentionSpec& spec, std::string* why_not) const override {
    auto no = [&](std::string why) {
      if (why_not) *why_not = std::move(why);
      return false;
    };
    switch (algorithm) {
      case Algorithm::Naive:
        if (spec.head_dim > 256) return no("naive (CUDA) supports head dim up to 256");
        return true;
      case Algorithm::Flash:
      case Algorithm::BlockSparse:
        if (spec.dtype != DType::F32)
          return no(std::string(algorithm_name(algorithm)) + " (CUDA) is the fp32 teaching kernel: choose dtype fp32 "
                    "(fp16/bf16 storage runs on naive; the tensor-core flash kernel is flash-tc)");
        if (spec.head_dim > kFlashMaxHeadDim)
          return no(std::string(algorithm_name(algorithm)) + " (CUDA) supports head dim up to " +
                    std::to_string(kFlashMaxHeadDim));
        return true;
      case Algorithm::Flash1:  // kernels/flash1/: fp32 arithmetic on any storage
        if (spec.head_dim > kFlash1MaxHeadDim)
          return no("flash1 (CUDA) supports head dim up to " + std::to_string(kFlash1MaxHeadDim));
        return true;
      case Algorithm::Decode:  // kernels/decode/
        if (spec.dtype == DType::F32) return no("decode (CUDA) reads fp16 or bf16 caches on tensor cores: choose fp16 or bf16");
        if (spec.head_dim != 64 && spec.head_dim != 128) return no("decode (CUDA) is built for head dim 64 or 128");
        return true;
      case Algorithm::FlashTensorCore:  // kernels/flash_tc/
        if (spec.dtype == DType::F32)
          return no("flash-tc runs fp16 or bf16 on tensor cores: choose dtype fp16 or bf16 (the fp32 kernel is flash)");
        if (spec.head_dim != 64 && spec.head_dim != 128)
          return no("flash-tc is built for head dim 64 and 128 (this spec has " + std::to_string(spec.head_dim) +
                    "); naive runs any head dim up to 256");
        if (info_.cc_major < 8) return no("flash-tc needs tensor cores of compute capability 8.0 or newer");
        return true;
      case Algorithm::Reference: return no("the double-precision reference runs on the CPU backend");
      default: return no(std::string(algorithm_name(algorithm)) + " has no CUDA kernel yet");
    }
  }

  SpecLimits limits() const override {
    SpecLimits l;
    l.max_head_dim = 256;
    l.score_matrix_bytes = std::numeric_limits<uint64_t>::max();  // memory is checked against the device instead
    l.backend = "CUDA";
    return l;
  }

  // Training's forward + backward on the GPU (kernels/backward_cuda.hpp). The memory stacks are the device
  // allocations of the run, which follow plan_backward_memory exactly; the backward tile loop is not traced here.
  BackwardRunResult run_backward(const BackwardRequest& request) override {
    BackwardRunResult r;
    r.backend = name();
    r.device = device_name();
    r.algorithm = request.algorithm;
    if (!request.inputs) {
      r.error = "no inputs given";
      return r;
    }
    const AttentionInputs& in = *request.inputs;
    const AttentionSpec& spec = in.spec;
    if (auto why = backward_unsupported(request.algorithm, spec); !why.empty()) {
      r.error = why;
      return r;
    }
    if (request.d_out && request.d_out->size() != static_cast<size_t>(spec.q_elements())) {
      r.error = "dO has " + std::to_string(request.d_out->size()) + " elements but O has " +
                std::to_string(spec.q_elements()) + " (" + spec.summary() + "): dO must have Q's layout";
      return r;
    }
    const BackwardDevicePlan plan = plan_backward_memory(request.algorithm, spec);
    const MemoryInfo mem = memory();
    r.capacity_bytes = request.memory_budget_bytes ? request.memory_budget_bytes : (mem.known ? mem.free_bytes : 0);
    r.capacity_words = request.memory_budget_bytes ? "the budget asked for" : "free device memory of " + info_.name;
    const bool naive = request.algorithm == Algorithm::Naive;
    const uint64_t e = static_cast<uint64_t>(dtype_bytes(spec.dtype));
    const uint64_t q_bytes = e * static_cast<uint64_t>(spec.q_elements());
    const uint64_t kv_bytes = e * static_cast<uint64_t>(spec.kv_elements());
    r.forward_only.tensors = 2 * q_bytes + 2 * kv_bytes;  // Q, K, V, O
    r.forward_only.workspace = naive ? naive_workspace_bytes(spec) : 0;  // naive's S and P; flash keeps nothing
    r.forward_saved.tensors = r.forward_only.tensors;
    r.forward_saved.saved = plan.saved_bytes;
    r.forward_saved.workspace = plan.workspace_bytes;
    r.forward_backward.tensors = r.forward_only.tensors;
    r.forward_backward.saved = plan.saved_bytes;
    r.forward_backward.gradients = plan.gradients_bytes + q_bytes;  // dQ, dK, dV and dO
    r.forward_backward.workspace = plan.workspace_bytes + plan.staging_bytes;
    // As the CPU backend counts them: 2·2·B·H·d FLOPs per allowed pair forward; the backward four products
    // (naive, from the saved P) or five (flash: S recomputed) against those two.
    const PatternStats stats = pattern_stats(spec, request.tiles, false);
    r.forward_flops = 4.0 * static_cast<double>(spec.batch * spec.q_heads * spec.head_dim) *
                      static_cast<double>(spec.q_len) * static_cast<double>(spec.kv_len) * stats.allowed_fraction;
    r.backward_flops = r.forward_flops * (naive ? 2.0 : 2.5);
    if (r.capacity_bytes > 0 && plan.total() > r.capacity_bytes) {
      r.out_of_memory = true;
      r.bytes_needed = plan.total();
      r.bytes_free = r.capacity_bytes;
      r.error = std::string(algorithm_name(request.algorithm)) + " training needs " +
                format_bytes_binary(static_cast<double>(plan.total())) + " of device memory (saved " +
                format_bytes_binary(static_cast<double>(plan.saved_bytes)) + ") but " + r.capacity_words + " is " +
                format_bytes_binary(static_cast<double>(r.capacity_bytes)) +
                (naive ? ": use flash, or a smaller N" : ": use a smaller N or batch");
      return r;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    const std::vector<float> drawn = request.d_out ? std::vector<float>{} : random_d_out(spec, request.d_out_seed);
    BackwardCudaOptions options;
    options.warmup = std::max(0, request.warmup);
    options.repetitions = std::max(1, request.repetitions);
    options.want_forward_outputs = false;
    options.stream = stream_;
    options.cublas = cublas_;
    CudaBackwardRun run = run_backward_cuda(in, request.d_out ? *request.d_out : drawn, request.algorithm, options);
    r.ok = run.gradients.ok;
    r.error = run.gradients.error;
    r.out_of_memory = run.out_of_memory;
    r.bytes_needed = run.bytes_needed;
    r.bytes_free = run.bytes_free;
    r.kernel = run.kernel;
    r.forward_timing = run.timing.forward;
    r.backward_timing = run.timing.backward;
    if (r.ok && request.want_gradients) {
      r.dq = std::move(run.gradients.dq);
      r.dk = std::move(run.gradients.dk);
      r.dv = std::move(run.gradients.dv);
    }
    return r;
  }

  DecodeLoopResult decode_loop(const DecodeLoopRequest& request) override {
    std::lock_guard<std::mutex> lock(mutex_);
    return run_decode_loop_cuda(request, info_, stream_);
  }

  // Beyond attention (issue 20): our linear-attention and scan kernels; the block's GEMMs on cuBLAS. Each call
  // selects this backend's device first (the worker thread's current device may be another).
  SequenceRunResult run_linear_attention(const LinearAttentionRunRequest& request) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (SequenceRunResult r; !select_device(r.error)) return r;
    return run_linear_attention_cuda(request, device_name(), stream_);
  }
  SequenceRunResult run_selective_scan(const SelectiveScanRunRequest& request) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (SequenceRunResult r; !select_device(r.error)) return r;
    return run_selective_scan_cuda(request, device_name(), stream_);
  }
  RecurrentDecodeResult recurrent_decode(const RecurrentDecodeRequest& request) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (RecurrentDecodeResult r; !select_device(r.error)) return r;
    return recurrent_decode_cuda(request, device_name(), stream_);
  }
  LayerTimingResult time_layer(const LayerTimingRequest& request) override {
    LayerTimingResult r;
    r.backend = name();
    r.device = device_name();
    LayerGemmTimings gemms;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!select_device(r.error)) return r;
      gemms = time_layer_gemms_cuda(request, stream_, cublas_);
    }
    if (!gemms.ok) {
      r.error = gemms.error;
      r.out_of_memory = gemms.out_of_memory;
      return r;
    }
    // Attention through run() (which takes the lock itself), on inputs of the block's shape and dtype. The fp32
    // flash kernel does not store fp16/bf16, so flash at those dtypes means the tensor-core kernel; `what` says so.
    const AttentionSpec spec = layer_attention_spec(request);
    Algorithm algorithm = request.attention;
    if (algorithm == Algorithm::Flash && spec.dtype != DType::F32 && supports(Algorithm::FlashTensorCore, spec, nullptr))
      algorithm = Algorithm::FlashTensorCore;
    if (std::string why; !supports(algorithm, spec, &why)) {
      r.error = "attention (" + std::string(algorithm_name(algorithm)) + "): " + why;
      return r;
    }
    try {
      const AttentionInputs inputs = generate_inputs(spec, Generator::Gaussian, request.seed);
      RunRequest run_request;
      run_request.algorithm = algorithm;
      run_request.inputs = &inputs;
      run_request.warmup = request.warmup;
      run_request.repetitions = request.repetitions;
      run_request.want_output = false;
      const RunResult a = run(run_request);
      if (!a.ok) {
        r.error = "attention (" + std::string(algorithm_name(algorithm)) + "): " + a.error;
        r.out_of_memory = a.out_of_memory;
        return r;
      }
      const std::vector<double> flops = layer_part_flops(request);
      r.parts = {gemms.parts[0],
                 {kLayerParts[1], a.timing, flops[1], a.kernel.empty() ? algorithm_name(algorithm) : a.kernel},
                 gemms.parts[1], gemms.parts[2]};
    } catch (const std::bad_alloc&) {
      r.error = "no host memory for the attention inputs of " + spec.summary();
      r.out_of_memory = true;
      return r;
    }
    r.weight_bytes = gemms.weight_bytes;
    r.ok = true;
    return r;
  }

  // cudaSetDevice(this backend's device); false with the reason in `error` when it fails.
  bool select_device(std::string& error) const {
    if (const cudaError_t e = cudaSetDevice(info_.index); e != cudaSuccess) {
      error = "cannot select " + info_.name + ": " + cudaGetErrorString(e);
      return false;
    }
    return true;
  }

  DeviceCeilings measure_ceilings() override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cudaSetDevice(info_.index) != cudaSuccess) {
      DeviceCeilings c;
      c.error = "cannot select " + info_.name;
      return c;
    }
    return measure_cuda_ceilings();
  }

  MemoryInfo memory() const override {
    MemoryInfo m;
    size_t free_b = 0, total_b = 0;
    if (cudaSetDevice(info_.index) == cudaSuccess && cudaMemGetInfo(&free_b, &total_b) == cudaSuccess) {
      m.known = true;
      m.free_bytes = free_b;
      m.total_bytes = total_b;
    }
    return m;
  }

  RunResult run(const RunRequest& request) override {
    std::lock_guard<std::mutex> lock(mutex_);  // one stream, one cuBLAS handle: runs are serialised
    RunResult r;
    r.backend = name();
    r.device = device_name();
    r.algorithm = request.algorithm;
    try {
      run_checked(request, r);
    } catch (const CudaError& e) {
      r.ok = false;
      r.output.clear();
      if (e.code() == cudaErrorMemoryAllocation) {
        r.out_of_memory = true;
        r.error = std::string("out of device memory while allocating: ") + e.what();
      } else {
        r.error = std::string("CUDA error: ") + e.what();
      }
      cudaGetLastError();
    } catch (const std::invalid_argument& e) {
      r.ok = false;
      r.error = e.what();
    }
    return r;
  }

  ScoreImage score_image(const ScoreImageRequest& request) override {
    std::lock_guard<std::mutex> lock(mutex_);
    ScoreImage img;
    try {
      score_image_checked(request, img);
    } catch (const CudaError& e) {
      img = ScoreImage{};
      img.error = std::string(e.code() == cudaErrorMemoryAllocation ? "out of device memory while allocating: "
                                                                    : "CUDA error: ") + e.what();
      cudaGetLastError();
    } catch (const std::invalid_argument& e) {
      img = ScoreImage{};
      img.error = e.what();
    }
    return img;
  }

 private:
  void run_checked(const RunRequest& req, RunResult& r) {
    if (!req.inputs) throw std::invalid_argument("no inputs given");
    const AttentionInputs& in = *req.inputs;
    const AttentionSpec& spec = in.spec;
    // S's size limit applies only to the algorithms that store S (naive, reference); the others run tile by tile.
    if (auto problems = validate(spec, limits(), materialises_scores(req.algorithm)); !problems.empty())
      throw std::invalid_argument(problems.front());
    std::string why;
    if (!supports(req.algorithm, spec, &why)) throw std::invalid_argument(why);
    if (in.q.size() != static_cast<size_t>(spec.q_elements()) || in.k.size() != static_cast<size_t>(spec.kv_elements()) ||
        in.v.size() != static_cast<size_t>(spec.kv_elements()))
      throw std::invalid_argument("the input arrays do not match the spec's shapes (" + spec.summary() + ")");
    if (req.warmup < 0 || req.repetitions < 1 || req.repetitions > 10000)
      throw std::invalid_argument("repetitions must be 1..10000 and warm-up >= 0");
    if (req.algorithm == Algorithm::Decode) {  // its own data flow: kernels/decode/
      CUDA_CHECK(cudaSetDevice(info_.index));
      run_decode_request(req, r, info_, stream_);
      return;
    }
    const bool flash = req.algorithm != Algorithm::Naive;
    const bool trace = req.record_trace && flash;
    if (req.record_trace && !flash)
      throw std::invalid_argument("tracing is recorded by the flash kernels; naive attention has no tiles to trace");
    if (req.record_sm_timeline && req.algorithm != Algorithm::FlashTensorCore)
      throw std::invalid_argument("the inside-one-SM timeline is logged by flash-tc's warp-specialised kernel: choose "
                                  "the algorithm flash-tc (fp16 or bf16) on an H100 or H200");
    for (int32_t row : req.probe_rows)
      if (row < 0 || row >= spec.q_len)
        throw std::invalid_argument("probe row " + std::to_string(row) + " is outside 0.." +
                                    std::to_string(spec.q_len - 1));
    static_assert(kFlash1MaxProbes == kFlashMaxProbes, "one probe limit for the traced flash kernels");
    if (req.probe_rows.size() > static_cast<size_t>(kFlashMaxProbes))
      throw std::invalid_argument("at most " + std::to_string(kFlashMaxProbes) + " probe rows");

    // Out of memory is an answer: plan everything, compare with what is free, allocate only if it fits.
    CUDA_CHECK(cudaSetDevice(info_.index));
    size_t free_b = 0, total_b = 0;
    CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
    const int probes = trace ? static_cast<int>(req.probe_rows.size()) : 0;
    DevicePlan plan = plan_device_memory(req.algorithm, spec, trace, probes);
    // flash-tc: the schedule (core/visit_schedule.hpp) is built on the host first; its exact size replaces the
    // dense estimate.
    // Splitting long visit lists (core/visit_schedule.hpp): off unless asked for, until measured on the GPU. A traced
    // launch runs unsplit (its records are one CTA per Q tile); the timed launches are split as asked.
    const VisitSplit split_mode = req.visit_split.value_or(VisitSplit::Off);
    std::optional<VisitSchedule> schedule;
    if (req.algorithm == Algorithm::FlashTensorCore) {
      schedule = build_visit_schedule(spec, kFlashTcBr, kFlashTcBc, split_mode);
      plan.workspace_bytes = schedule->device_bytes() + spec.mask.grid.cells.size() +
                             4 * static_cast<uint64_t>(split_partial_floats(schedule->split, spec.batch * spec.q_heads,
                                                                            kFlashTcBr, spec.head_dim));
      if (trace)
        plan.workspace_bytes += flash_tc_trace_bytes(schedule->tr * spec.q_heads * spec.batch,
                                                     std::max(1, schedule->max_visits_per_tile()), probes);
    }
    // The fp32 kernel on a block-sparse pattern: its split plan over the 64 x 64 block mask's non-empty tiles.
    std::optional<SplitOnDevice> fp32_split;
    if (req.algorithm == Algorithm::BlockSparse && split_mode == VisitSplit::Auto) {
      fp32_split.emplace(fp32_split_plan(spec, split_mode));
      plan.workspace_bytes += fp32_split->bytes(spec, kFlashBr);
    }
    r.bytes_needed = plan.total();
    r.bytes_free = free_b;
    r.bytes_allocated = plan.workspace_bytes;
    if (auto oom = out_of_memory_message(req.algorithm, spec, plan, free_b, info_.name); !oom.empty()) {
      r.out_of_memory = true;
      r.error = oom;
      return;
    }

    DeviceBuffer q, k, v;
    upload_as(spec.dtype, in.q.data(), in.q.size(), q, stream_);
    upload_as(spec.dtype, in.k.data(), in.k.size(), k, stream_);
    upload_as(spec.dtype, in.v.data(), in.v.size(), v, stream_);
    DeviceBuffer o(static_cast<size_t>(spec.q_elements()) * dtype_bytes(spec.dtype));
    DeviceMask mask(spec.mask, stream_);
    // Poison O: 0xFF bytes are NaN in fp32, fp16 and bf16, so an element no launch writes stays NaN.
    CUDA_CHECK(cudaMemsetAsync(o.get(), 0xFF, o.bytes(), stream_));
    EventTimer timer;
    DeviceBuffer empty_rows(sizeof(unsigned long long));
    CUDA_CHECK(cudaMemsetAsync(empty_rows.get(), 0, empty_rows.bytes(), stream_));

    if (!flash) {
      DeviceBuffer s(naive_workspace_bytes(spec) / 2), p(naive_workspace_bytes(spec) / 2);
      NaiveParams np;
      np.dtype = spec.dtype;
      set_shape(np, spec);
      np.mask = mask.view;
      np.q = q.get();
      np.k = k.get();
      np.v = v.get();
      np.s = s.get();
      np.p = p.get();
      np.o = o.get();
      np.cublas = cublas_;
      np.empty_rows = empty_rows.get<unsigned long long>();
      np.softmax = options_.naive_softmax;
      np.pipelined_grid_limit = options_.pipelined_grid_limit;
      r.timing = Timing::from_samples(
          timer.time(stream_, req.warmup, req.repetitions, [&] { launch_naive(np, stream_); }));
      const AlgorithmCost w = algorithm_cost(Algorithm::Naive, spec, TileConfig{}, PatternStats{});
      r.flops = w.flops;
      r.bytes_moved = w.hbm_bytes;
    } else if (req.algorithm == Algorithm::Flash1) {
      run_flash1(req, r, q, k, v, o, mask, empty_rows, trace, timer);
    } else if (schedule) {
      DeviceBuffer offsets(schedule->offsets.size() * sizeof(int32_t)),
          visits(std::max<size_t>(1, schedule->visits.size()) * sizeof(KernelVisit)),
          keys(std::max<size_t>(1, schedule->keys.size()) * sizeof(int32_t)),
          bits(std::max<size_t>(1, schedule->bits.size()) * sizeof(uint64_t));
      auto put = [&](DeviceBuffer& dst, const auto& host) {
        if (!host.empty())
          CUDA_CHECK(cudaMemcpyAsync(dst.get(), host.data(), host.size() * sizeof(host[0]), cudaMemcpyHostToDevice,
                                     stream_));
      };
      put(offsets, schedule->offsets);
      put(visits, schedule->visits);
      put(keys, schedule->keys);
      put(bits, schedule->bits);
      FlashTcParams tp;
      tp.dtype = spec.dtype;
      set_shape(tp, spec);
      tp.q = q.get();
      tp.k = k.get();
      tp.v = v.get();
      tp.o = o.get();
      tp.tr = static_cast<int32_t>(schedule->tr);
      tp.gathered = schedule->gathered;
      tp.offsets = offsets.get<int32_t>();
      tp.visits = visits.get<KernelVisit>();
      tp.keys = keys.get<int32_t>();
      tp.bits = bits.get<uint64_t>();
      tp.empty_rows = empty_rows.get<unsigned long long>();
      tp.path = req.tensor_core_path;
      SplitOnDevice tc_split;
      tc_split.plan = schedule->split;
      if (schedule->split.split()) {
        tc_split.upload(spec, kFlashTcBr, stream_);
        tp.items = tc_split.items.get<WorkItem>();
        tp.item_count = static_cast<int32_t>(schedule->split.items.size());
        tp.split_tiles = tc_split.split_tiles.get<SplitTile>();
        tp.split_count = static_cast<int32_t>(schedule->split.split_tiles.size());
        tp.partial_slots = schedule->split.partial_slots;
        tp.partials = tc_split.partials.get<float>();
      }
      r.timing = Timing::from_samples(
          timer.time(stream_, req.warmup, req.repetitions, [&] { launch_flash_tc(tp, stream_); }));
      const AlgorithmCost w = schedule_cost(spec, *schedule);
      r.flops = w.flops;
      r.bytes_moved = w.hbm_bytes;
      r.kernel = std::string("flash-tc ") + flash_tc_path(tp) + " " + dtype_name(spec.dtype) + " d" +
                 std::to_string(spec.head_dim) +
                 (schedule->gathered ? ", gathered keys: " : ", block-sparse: ") +
                 std::to_string(schedule->visits.size()) + " visits of " + std::to_string(kFlashTcBr) + "x" +
                 std::to_string(kFlashTcBc) + " (" + std::to_string(schedule->masked_visits) + " masked per pair)" +
                 tc_split.words();
      if (req.record_sm_timeline) r.sm_timeline = record_sm_timeline(req, tp, *schedule, r.kernel);
      if (trace) {
        const int32_t stride = std::max(1, schedule->max_visits_per_tile());
        tp.items = nullptr;  // the traced launch runs one CTA per Q tile
        tp.split_count = 0;
        tp.empty_rows = nullptr;  // counted by the timed launches
        tp.path = TensorCorePath::Mma;  // the instrumented kernel is the mma.sync one
        r.trace = traced_launch(req, r, schedule->tr, stride, kFlashTcBr, kFlashTcBc,
                                (spec.kv_len + kFlashTcBc - 1) / kFlashTcBc, [&](const FlashTraceBuffers* tb) {
                                  tp.trace = tb;
                                  tp.trace_stride = stride;
                                  launch_flash_tc(tp, stream_);
                                });
      }
    } else {
      FlashParams fp;
      set_shape(fp, spec);
      fp.mask = mask.view;
      fp.q = q.get<float>();
      fp.k = k.get<float>();
      fp.v = v.get<float>();
      fp.o = o.get<float>();
      DeviceTileKinds tiles(spec, kFlashBr, kFlashBc, stream_);
      fp.tile_classes = tiles.kinds.get<uint8_t>();
      fp.empty_rows = empty_rows.get<unsigned long long>();
      if (fp32_split && fp32_split->plan.split()) {
        fp32_split->upload(spec, kFlashBr, stream_);
        fp.items = fp32_split->items.get<WorkItem>();
        fp.item_count = static_cast<int32_t>(fp32_split->plan.items.size());
        fp.split_tiles = fp32_split->split_tiles.get<SplitTile>();
        fp.split_count = static_cast<int32_t>(fp32_split->plan.split_tiles.size());
        fp.partial_slots = fp32_split->plan.partial_slots;
        fp.partials = fp32_split->partials.get<float>();
      }
      const int64_t visited = tiles.visited;
      r.timing = Timing::from_samples(
          timer.time(stream_, req.warmup, req.repetitions, [&] { launch_flash_fp32(fp, stream_); }));
      const AlgorithmCost w = tiled_flash_cost(spec, kFlashBr, kFlashBc, visited, 4.0);  // fp32 storage on the device
      r.flops = w.flops;
      r.bytes_moved = w.hbm_bytes;
      r.kernel = "flash fp32 (CUDA cores), " + std::to_string(visited) + " tiles of " + std::to_string(kFlashBr) + "x" +
                 std::to_string(kFlashBc) + (fp32_split ? fp32_split->words() : std::string());
      if (trace)
        r.trace = traced_launch(req, r, fp.tr(), fp.tc(), kFlashBr, kFlashBc, fp.tc(), [&](const FlashTraceBuffers* tb) {
          fp.empty_rows = nullptr;  // counted by the timed launches; this one counts nothing
          fp.items = nullptr;       // one CTA per Q tile, as the trace's records are
          fp.split_count = 0;
          fp.trace = tb;
          launch_flash_fp32(fp, stream_);
        });
    }
    // Each launch counted the rows with no allowed key; all launches count the same.
    unsigned long long counted = 0;
    CUDA_CHECK(cudaMemcpyAsync(&counted, empty_rows.get(), sizeof counted, cudaMemcpyDeviceToHost, stream_));
    CUDA_CHECK(cudaStreamSynchronize(stream_));
    const int launches = req.warmup + std::max(1, req.repetitions);
    r.fully_masked_rows = static_cast<int64_t>(counted / launches);
    if (req.want_output) {
      r.output.resize(static_cast<size_t>(spec.q_elements()));
      download_as_float(spec.dtype, o.get(), r.output.size(), r.output.data(), stream_);
    }
    CUDA_CHECK(cudaStreamSynchronize(stream_));
    r.ok = true;
  }

  // Inside one SM: one more launch of the warp-specialised kernel, instrumented, for one CTA of head 0, batch 0.
  SmTimeline record_sm_timeline(const RunRequest& req, FlashTcParams tp, const VisitSchedule& schedule,
                                const std::string& kernel) {
    int32_t q_tile = req.sm_timeline_q_tile;
    if (q_tile >= static_cast<int32_t>(schedule.tr))
      throw std::invalid_argument("timeline Q tile " + std::to_string(q_tile) + " is outside 0.." +
                                  std::to_string(schedule.tr - 1));
    if (q_tile < 0) {  // the longest visit list: the CTA with the most to overlap
      q_tile = 0;
      for (int32_t t = 1; t < static_cast<int32_t>(schedule.tr); ++t)
        if (schedule.offsets[t + 1] - schedule.offsets[t] > schedule.offsets[q_tile + 1] - schedule.offsets[q_tile])
          q_tile = t;
    }
    const int32_t steps = (schedule.offsets[q_tile + 1] - schedule.offsets[q_tile] + 1) / 2;
    const int32_t capacity = steps + 1;  // the consumers' last P·V and turn take one step past the last
    const int64_t slot_count = 3 * int64_t{capacity} * kSmEventKinds;
    DeviceBuffer slots(slot_count * 8), calibration(4 * 8), sm(4);
    for (DeviceBuffer* b : {&slots, &calibration, &sm}) CUDA_CHECK(cudaMemsetAsync(b->get(), 0, b->bytes(), stream_));
    SmTimelineBuffers tb;
    tb.q_tile = q_tile;
    tb.capacity = capacity;
    tb.slots = slots.get<unsigned long long>();
    tb.calibration = calibration.get<unsigned long long>();
    tb.sm = sm.get<uint32_t>();
    tp.timeline = &tb;
    tp.path = TensorCorePath::WarpSpecialized;
    tp.trace = nullptr;
    tp.items = nullptr;  // the warp-specialised kernel runs the unsplit schedule
    tp.split_count = 0;
    tp.empty_rows = nullptr;  // counted by the timed launches
    launch_flash_tc(tp, stream_);
    CUDA_CHECK(cudaStreamSynchronize(stream_));
    std::vector<unsigned long long> h_slots(static_cast<size_t>(slot_count)), h_cal(4);
    std::vector<uint32_t> h_sm(1);
    CUDA_CHECK(cudaMemcpy(h_slots.data(), slots.get(), slots.bytes(), cudaMemcpyDeviceToHost));
    CUDA_CHECK(cudaMemcpy(h_cal.data(), calibration.get(), calibration.bytes(), cudaMemcpyDeviceToHost));
    CUDA_CHECK(cudaMemcpy(h_sm.data(), sm.get(), sm.bytes(), cudaMemcpyDeviceToHost));

    SmTimeline t;
    t.kernel = kernel;
    t.device = info_.name;
    t.spec = req.inputs->spec.summary();
    t.q_tile = q_tile;
    t.sm = static_cast<int32_t>(h_sm[0]);
    t.steps = steps;
    // SM cycles to ns over the CTA's own span (globaltimer ÷ clock64); the nominal clock when the span is too short
    // for the global timer's resolution.
    const double gt = static_cast<double>(h_cal[2]) - static_cast<double>(h_cal[0]);
    const double clk = static_cast<double>(h_cal[3]) - static_cast<double>(h_cal[1]);
    int clock_khz = 0;
    CUDA_CHECK(cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, info_.index));
    t.ns_per_cycle = gt >= 10000 && clk > 0 ? gt / clk : (clock_khz > 0 ? 1e6 / clock_khz : 1.0);
    t.lane_names = {"producer: the copy thread (TMA)", "consumer warpgroup 0 (rows 0-63)",
                    "consumer warpgroup 1 (rows 64-127)"};
    // Each lane's reached slots, in time order (one thread's program order).
    unsigned long long first = ~0ull;
    for (unsigned long long c : h_slots)
      if (c != 0) first = std::min(first, c);
    t.lanes.resize(3);
    for (int lane = 0; lane < 3; ++lane) {
      std::vector<std::pair<unsigned long long, SmEventRecord>> reached;
      for (int32_t step = 0; step < capacity; ++step)
        for (int kind = 0; kind < kSmEventKinds; ++kind) {
          const unsigned long long c = h_slots[static_cast<size_t>((int64_t{lane} * capacity + step) * kSmEventKinds + kind)];
          if (c == 0) continue;
          reached.push_back({c, {static_cast<SmEvent>(kind), step,
                                 static_cast<int64_t>(std::llround(static_cast<double>(c - first) * t.ns_per_cycle))}});
        }
      std::stable_sort(reached.begin(), reached.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      for (auto& [cycle, record] : reached) t.lanes[static_cast<size_t>(lane)].push_back(record);
    }
    return t;
  }

  // FlashAttention-1 (kernels/flash1/): timed launches, then one instrumented launch when a trace is asked for.
  void run_flash1(const RunRequest& req, RunResult& r, const DeviceBuffer& q, const DeviceBuffer& k,
                  const DeviceBuffer& v, DeviceBuffer& o, const DeviceMask& mask, DeviceBuffer& empty_rows, bool trace,
                  EventTimer& timer) {
    const AttentionSpec& spec = req.inputs->spec;
    Flash1Params fp;
    fp.dtype = spec.dtype;
    set_shape(fp, spec);
    fp.mask = mask.view;
    fp.q = q.get();
    fp.k = k.get();
    fp.v = v.get();
    fp.o = o.get();
    DeviceBuffer m(flash1_workspace_bytes(spec) / 2), l(flash1_workspace_bytes(spec) / 2);
    fp.m = m.get<float>();
    fp.l = l.get<float>();
    DeviceTileKinds tiles(spec, kFlash1Br, kFlash1Bc, stream_);
    fp.tile_classes = tiles.kinds.get<uint8_t>();
    fp.empty_rows = empty_rows.get<unsigned long long>();
    r.timing = Timing::from_samples(timer.time(stream_, req.warmup, req.repetitions, [&] { launch_flash1(fp, stream_); }));
    const AlgorithmCost w = algorithm_cost(Algorithm::Flash1, spec, TileConfig{kFlash1Br, kFlash1Bc}, PatternStats{});
    r.flops = w.flops;
    r.bytes_moved = w.hbm_bytes;
    r.kernel = std::string("flash1 ") + dtype_name(spec.dtype) + " storage, fp32 arithmetic (CUDA cores): " +
               std::to_string(fp.ctas()) + " CTAs (one per batch and head), each " + std::to_string(fp.tc()) +
               " passes over " + std::to_string(fp.tr()) + " Q tiles of " + std::to_string(kFlash1Br) + "x" +
               std::to_string(kFlash1Bc);
    if (trace) {
      fp.empty_rows = nullptr;  // counted by the timed launches
      r.trace = traced_flash1_launch(req, r, fp);
    }
  }

  // FA-1's trace in the CPU twin's shape: one record per (pass j, batch, head, Q tile i) holding its one step, id
  // j·(B·H·Tr) + (b·H + h)·Tr + i, on the SM of its (batch, head) CTA; probes one step per pass.
  Trace traced_flash1_launch(const RunRequest& req, RunResult& r, Flash1Params fp) {
    const AttentionSpec& spec = req.inputs->spec;
    const int64_t ctas = fp.ctas(), tr = fp.tr(), tc = fp.tc(), steps = tr * tc;
    const int probes = static_cast<int>(req.probe_rows.size());
    DeviceBuffer sm(ctas * 4), start(ctas * steps * 8), end(ctas * steps * 8), prow(std::max(1, probes) * 4),
        pstate(std::max<int64_t>(1, int64_t{probes} * tc) * 16);
    for (DeviceBuffer* b : {&sm, &start, &end, &pstate}) CUDA_CHECK(cudaMemsetAsync(b->get(), 0, b->bytes(), stream_));
    if (probes > 0)
      CUDA_CHECK(cudaMemcpyAsync(prow.get(), req.probe_rows.data(), probes * 4, cudaMemcpyHostToDevice, stream_));
    Flash1TraceBuffers tb;
    tb.cta_sm = sm.get<uint32_t>();
    tb.step_start = start.get<uint64_t>();
    tb.step_end = end.get<uint64_t>();
    tb.probe_count = probes;
    tb.probe_rows = prow.get<int32_t>();
    tb.probe_state = pstate.get<float>();
    fp.trace = &tb;
    launch_flash1(fp, stream_);
    CUDA_CHECK(cudaStreamSynchronize(stream_));
    std::vector<uint32_t> h_sm(static_cast<size_t>(ctas));
    std::vector<uint64_t> h_start(static_cast<size_t>(ctas * steps)), h_end(h_start.size());
    std::vector<float> h_state(static_cast<size_t>(std::max<int64_t>(1, int64_t{probes} * tc) * 4));
    CUDA_CHECK(cudaMemcpy(h_sm.data(), sm.get(), sm.bytes(), cudaMemcpyDeviceToHost));
    CUDA_CHECK(cudaMemcpy(h_start.data(), start.get(), start.bytes(), cudaMemcpyDeviceToHost));
    CUDA_CHECK(cudaMemcpy(h_end.data(), end.get(), end.bytes(), cudaMemcpyDeviceToHost));
    CUDA_CHECK(cudaMemcpy(h_state.data(), pstate.get(), pstate.bytes(), cudaMemcpyDeviceToHost));

    Trace t;
    t.source = "cuda";
    t.algorithm = algorithm_name(Algorithm::Flash1);
    t.device = info_.name;
    t.clock = "globaltimer";
    t.spec = spec.summary();
    t.br = kFlash1Br;
    t.bc = kFlash1Bc;
    t.tr = static_cast<int32_t>(tr);
    t.tc = static_cast<int32_t>(tc);
    t.units = info_.sm_count;
    const uint64_t origin = *std::min_element(h_start.begin(), h_start.end());
    const int64_t per_pass = ctas * tr;
    t.ctas.resize(static_cast<size_t>(per_pass * tc));
    for (int64_t bh = 0; bh < ctas; ++bh)
      for (int64_t j = 0; j < tc; ++j)
        for (int64_t i = 0; i < tr; ++i) {
          const size_t at = static_cast<size_t>((bh * tc + j) * tr + i);
          const int64_t id = j * per_pass + bh * tr + i;
          CtaRecord& rec = t.ctas[static_cast<size_t>(id)];
          rec.cta = static_cast<int32_t>(id);
          rec.batch = static_cast<int32_t>(bh / spec.q_heads);
          rec.head = static_cast<int32_t>(bh % spec.q_heads);
          rec.q_tile = static_cast<int32_t>(i);
          rec.unit = static_cast<int32_t>(h_sm[static_cast<size_t>(bh)]);
          rec.visits = {{static_cast<int32_t>(j), static_cast<int64_t>(h_start[at] - origin),
                         static_cast<int64_t>(h_end[at] - origin)}};
        }
    for (int s = 0; s < probes; ++s) {
      RowProbe probe;
      probe.row = req.probe_rows[static_cast<size_t>(s)];
      for (int64_t j = 0; j < tc; ++j) {
        const float* st = &h_state[static_cast<size_t>((int64_t{s} * tc + j) * 4)];
        probe.steps.push_back({static_cast<int32_t>(j), st[0], st[1], st[2], st[3]});
      }
      t.probes.push_back(std::move(probe));
    }
    r.bytes_allocated += sm.bytes() + start.bytes() + end.bytes() + prow.bytes() + pstate.bytes();
    return t;
  }

  // ---------------------------------------------------------------- trace assembly
  // One instrumented launch: `launch` runs the kernel with the trace buffers. tr Q tiles; `stride` visits per CTA
  // in the buffers; the trace names Br x Bc tiles and tc K/V tiles for the views.
  template <class Launch>
  Trace traced_launch(const RunRequest& req, RunResult& r, int64_t tr, int32_t stride, int br, int bc, int64_t view_tc,
                      Launch&& launch) {
    const AttentionSpec& spec = req.inputs->spec;
    const int64_t ctas = tr * spec.q_heads * spec.batch;
    const int64_t tc = stride;
    const int probes = static_cast<int>(req.probe_rows.size());
    DeviceBuffer sm(ctas * 4), count(ctas * 4), tile(ctas * tc * 4), start(ctas * tc * 8), end(ctas * tc * 8);
    DeviceBuffer prow(std::max(1, probes) * 4), psteps(std::max(1, probes) * 4),
        ptile(std::max<int64_t>(1, int64_t{probes} * tc) * 4), pstate(std::max<int64_t>(1, int64_t{probes} * tc) * 16);
    for (DeviceBuffer* b : {&sm, &count, &tile, &start, &end, &psteps, &ptile, &pstate})
      CUDA_CHECK(cudaMemsetAsync(b->get(), 0, b->bytes(), stream_));
    if (probes > 0)
      CUDA_CHECK(cudaMemcpyAsync(prow.get(), req.probe_rows.data(), probes * 4, cudaMemcpyHostToDevice, stream_));
    FlashTraceBuffers tb;
    tb.cta_sm = sm.get<uint32_t>();
    tb.visit_count = count.get<int32_t>();
    tb.visit_tile = tile.get<int32_t>();
    tb.visit_start = start.get<uint64_t>();
    tb.visit_end = end.get<uint64_t>();
    tb.probe_count = probes;
    tb.probe_rows = prow.get<int32_t>();
    tb.probe_steps = psteps.get<int32_t>();
    tb.probe_tile = ptile.get<int32_t>();
    tb.probe_state = pstate.get<float>();
    launch(&tb);
    CUDA_CHECK(cudaStreamSynchronize(stream_));

    auto fetch = [&](const DeviceBuffer& b, auto* host) {
      CUDA_CHECK(cudaMemcpy(host, b.get(), b.bytes(), cudaMemcpyDeviceToHost));
    };
    std::vector<uint32_t> h_sm(ctas);
    std::vector<int32_t> h_count(ctas), h_tile(ctas * tc), h_steps(std::max(1, probes)),
        h_ptile(std::max<int64_t>(1, int64_t{probes} * tc));
    std::vector<uint64_t> h_start(ctas * tc), h_end(ctas * tc);
    std::vector<float> h_state(std::max<int64_t>(1, int64_t{probes} * tc) * 4);
    fetch(sm, h_sm.data());
    fetch(count, h_count.data());
    fetch(tile, h_tile.data());
    fetch(start, h_start.data());
    fetch(end, h_end.data());
    fetch(psteps, h_steps.data());
    fetch(ptile, h_ptile.data());
    fetch(pstate, h_state.data());

    Trace t;
    t.source = "cuda";
    t.algorithm = algorithm_name(req.algorithm);
    t.device = info_.name;
    t.clock = "globaltimer";
    t.spec = spec.summary();
    t.br = br;
    t.bc = bc;
    t.tr = static_cast<int32_t>(tr);
    t.tc = static_cast<int32_t>(view_tc);
    t.units = info_.sm_count;
    uint64_t origin = std::numeric_limits<uint64_t>::max();
    for (int64_t c = 0; c < ctas; ++c)
      for (int v = 0; v < h_count[c]; ++v) origin = std::min(origin, h_start[c * tc + v]);
    t.ctas.reserve(ctas);
    for (int64_t c = 0; c < ctas; ++c) {
      CtaRecord rec;
      rec.cta = static_cast<int32_t>(c);
      rec.q_tile = static_cast<int32_t>(c % tr);
      rec.head = static_cast<int32_t>((c / tr) % spec.q_heads);
      rec.batch = static_cast<int32_t>(c / (tr * spec.q_heads));
      rec.unit = static_cast<int32_t>(h_sm[c]);
      for (int v = 0; v < h_count[c]; ++v)
        rec.visits.push_back({h_tile[c * tc + v], static_cast<int64_t>(h_start[c * tc + v] - origin),
                              static_cast<int64_t>(h_end[c * tc + v] - origin)});
      t.ctas.push_back(std::move(rec));
    }
    for (int s = 0; s < probes; ++s) {
      RowProbe probe;
      probe.row = req.probe_rows[s];
      for (int step = 0; step < h_steps[s]; ++step) {
        const float* st = &h_state[(int64_t{s} * tc + step) * 4];
        probe.steps.push_back({h_ptile[int64_t{s} * tc + step], st[0], st[1], st[2], st[3]});
      }
      t.probes.push_back(std::move(probe));
    }
    r.bytes_allocated += sm.bytes() + count.bytes() + tile.bytes() + start.bytes() + end.bytes() + prow.bytes() +
                         psteps.bytes() + ptile.bytes() + pstate.bytes();
    return t;
  }

  // ---------------------------------------------------------------- score image
  void score_image_checked(const ScoreImageRequest& req, ScoreImage& img) {
    if (!req.inputs) throw std::invalid_argument("no inputs given");
    const AttentionInputs& in = *req.inputs;
    const AttentionSpec& spec = in.spec;
    // The picture is pooled tile by tile on the device: it never holds S, so S's size limit does not apply.
    if (auto problems = validate(spec, limits(), false); !problems.empty()) throw std::invalid_argument(problems.front());
    if (req.batch < 0 || req.batch >= spec.batch || req.head < 0 || req.head >= spec.q_heads)
      throw std::invalid_argument("batch " + std::to_string(req.batch) + " / head " + std::to_string(req.head) +
                                  " is outside the spec");
    img.q0 = std::clamp<int64_t>(req.q0, 0, spec.q_len);
    img.k0 = std::clamp<int64_t>(req.k0, 0, spec.kv_len);
    img.q1 = req.q1 < 0 ? spec.q_len : std::clamp<int64_t>(req.q1, img.q0, spec.q_len);
    img.k1 = req.k1 < 0 ? spec.kv_len : std::clamp<int64_t>(req.k1, img.k0, spec.kv_len);
    const int64_t wq = img.q1 - img.q0, wk = img.k1 - img.k0;
    if (wq <= 0 || wk <= 0 || req.cells_q <= 0 || req.cells_k <= 0)
      throw std::invalid_argument("empty window or zero cells requested");
    img.rows = static_cast<int>(std::min<int64_t>(req.cells_q, wq));
    img.cols = static_cast<int>(std::min<int64_t>(req.cells_k, wk));
    CUDA_CHECK(cudaSetDevice(info_.index));
    EventPair events;
    const int64_t d = spec.head_dim;
    const float* q_host = in.q_row(req.batch, req.head, 0);
    const float* k_host = in.k_row(req.batch, spec.kv_head_of(req.head), 0);
    DeviceBuffer q(spec.q_len * d * 4), k(spec.kv_len * d * 4), cells(int64_t{img.rows} * img.cols * 4),
        allowed(int64_t{img.rows} * img.cols * 4);
    DeviceBuffer row_max(wq * 4), row_sum(wq * 4);
    CUDA_CHECK(cudaMemcpyAsync(q.get(), q_host, q.bytes(), cudaMemcpyHostToDevice, stream_));
    CUDA_CHECK(cudaMemcpyAsync(k.get(), k_host, k.bytes(), cudaMemcpyHostToDevice, stream_));
    DeviceMask mask(spec.mask, stream_);
    ScorePoolParams p;
    p.q = q.get<float>();
    p.k = k.get<float>();
    p.q_len = spec.q_len;
    p.kv_len = spec.kv_len;
    p.head_dim = d;
    p.scale = static_cast<float>(spec.softmax_scale());
    p.mask = mask.view;
    p.probabilities = req.kind == ScoreKind::Probabilities;
    p.q0 = img.q0;
    p.q1 = img.q1;
    p.k0 = img.k0;
    p.k1 = img.k1;
    p.rows = img.rows;
    p.cols = img.cols;
    p.row_max = row_max.get<float>();
    p.row_sum = row_sum.get<float>();
    p.cells = cells.get<float>();
    p.allowed = allowed.get<float>();
    CUDA_CHECK(cudaMemsetAsync(cells.get(), 0xFF, cells.bytes(), stream_));  // poison: NaN until written
    CUDA_CHECK(cudaEventRecord(events.start, stream_));
    launch_score_pool(p, stream_);
    CUDA_CHECK(cudaEventRecord(events.stop, stream_));
    img.values.resize(static_cast<size_t>(img.rows) * img.cols);
    CUDA_CHECK(cudaMemcpyAsync(img.values.data(), cells.get(), cells.bytes(), cudaMemcpyDeviceToHost, stream_));
    img.allowed.resize(img.values.size());
    CUDA_CHECK(cudaMemcpyAsync(img.allowed.data(), allowed.get(), allowed.bytes(), cudaMemcpyDeviceToHost, stream_));
    std::vector<float> maxima(p.probabilities ? wq : 0);
    if (p.probabilities)
      CUDA_CHECK(cudaMemcpyAsync(maxima.data(), row_max.get(), wq * 4, cudaMemcpyDeviceToHost, stream_));
    CUDA_CHECK(cudaStreamSynchronize(stream_));
    img.elapsed_ms = events.elapsed_ms();
    for (float m : maxima) img.fully_masked_rows += m == -INFINITY;
    bool any = false;
    for (float v : img.values) {
      if (std::isnan(v)) continue;
      if (!any) { img.min_value = img.max_value = v; any = true; }
      img.min_value = std::min(img.min_value, v);
      img.max_value = std::max(img.max_value, v);
    }
    img.ok = true;
  }

  DeviceInfo info_;
  CudaBackendOptions options_;
  cudaStream_t stream_{};
  cublasHandle_t cublas_{};
  std::mutex mutex_;
};

}  // namespace

const DeviceInfo* cuda_device_of(const Backend& backend) {
  auto* cuda = dynamic_cast<const CudaBackend*>(&backend);
  return cuda ? &cuda->info() : nullptr;
}

std::unique_ptr<Backend> make_cuda_backend(std::string* why_not, const CudaBackendOptions& options) {
  auto devices = list_cuda_devices(why_not);
  if (devices.empty()) return nullptr;
  try {
    return std::make_unique<CudaBackend>(devices.front(), options);
  } catch (const CudaError& e) {
    if (why_not) *why_not = std::string("the CUDA device could not be initialised: ") + e.what();
    return nullptr;
  }
}

}  // namespace attnscope::kernels
