// backend.hpp — the one seam between the app and whatever runs attention (CPU twins or CUDA kernels).
// The UI builds a RunRequest, a Backend answers with a RunResult; the UI never knows which backend ran
// except to label it. Errors (invalid spec, unsupported algorithm, out of memory) are answers, not throws.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/kv_cache.hpp"
#include "core/reference.hpp"
#include "core/ring_attention.hpp"
#include "core/selective_scan.hpp"
#include "core/spec.hpp"
#include "core/sm_timeline.hpp"
#include "core/trace.hpp"
#include "core/visit_schedule.hpp"

namespace attnscope {

enum class Algorithm {
  Reference,        // core/reference.hpp, double precision
  Naive,            // S and P materialised in memory, as frameworks' unfused path
  Flash,            // FlashAttention-2 order: outer loop over Q tiles, inner over K/V tiles
  Flash1,           // FlashAttention-1 order: outer over K/V tiles, inner over Q tiles, O rewritten each pass
  BlockSparse,      // flash over the block mask: empty tiles skipped, partial tiles masked per element
  Gathered,         // per Q tile, only the allowed keys' indices (strided / dilated patterns)
  Decode,           // one new query per sequence against a KV cache
  FlashTensorCore,  // fp16/bf16 tensor-core flash (CUDA)
};
const char* algorithm_name(Algorithm a);  // "reference", "naive", "flash", "flash1", "block-sparse", ...
std::optional<Algorithm> parse_algorithm(std::string_view s);
std::vector<Algorithm> all_algorithms();

struct TileConfig {
  int br = 64;  // rows of a Q tile
  int bc = 64;  // columns (keys) of a K/V tile
};

// Which implementation runs flash-tc (a kernel with one implementation per GPU generation): auto picks the one the
// device and the build have (wgmma on compute capability 9.0 with sm_90a in the binary, else mma.sync); mma forces
// mma.sync (sm_80+); wgmma asks for the Hopper one and fails, in words, where it cannot run. An explicit option
// (`attnscope bench --flash-tc-path`), never an environment variable.
// Which implementation of flash-tc runs on CUDA (kernels/flash_tc/flash_tc.hpp): Auto picks the fastest the device
// and launch allow; WarpSpecializedNoPingPong is the warp-specialised kernel without turn taking between its consumer
// warpgroups, an experiment that shows what ping-pong scheduling adds.
enum class TensorCorePath { Auto, Mma, Wgmma, WarpSpecialized, WarpSpecializedNoPingPong };
// "auto", "mma", "wgmma", "ws", "ws-no-pingpong"
const char* tensor_core_path_name(TensorCorePath p);
std::optional<TensorCorePath> parse_tensor_core_path(std::string_view s);

struct RunRequest {
  Algorithm algorithm = Algorithm::Flash;
  const AttentionInputs* inputs = nullptr;  // not owned; must outlive run()
  TileConfig tiles;
  int warmup = 1;
  int repetitions = 5;
  bool want_output = true;
  bool record_trace = false;                // off in benchmarks: tracing costs time
  std::vector<int32_t> probe_rows;          // query rows of (batch 0, head 0) to probe, when tracing
  TensorCorePath tensor_core_path = TensorCorePath::Auto;  // flash-tc on CUDA: which implementation
  // Block-sparse / gathered schedules: split long visit lists (core/visit_schedule.hpp). Unset = the backend's
  // default (CPU auto; CUDA off until measured on the GPU).
  std::optional<VisitSplit> visit_split;
  // Inside one SM (core/sm_timeline.hpp): one more launch of the warp-specialised flash-tc kernel, instrumented, logs
  // what each warpgroup of one CTA did. Backends without that kernel refuse it in words.
  bool record_sm_timeline = false;
  int32_t sm_timeline_q_tile = -1;  // the CTA's Q tile (of head 0, batch 0); -1: the tile with the most visits
};

// The repetitions of one measurement. Quartiles by linear interpolation between the sorted samples
// (q at fraction f lies at index f·(n − 1)), so the median is q2.
struct Timing {
  std::vector<double> samples_ms;
  double median_ms = 0, min_ms = 0, max_ms = 0;
  double q1_ms = 0, q3_ms = 0;  // first and third quartiles
  static Timing from_samples(std::vector<double> samples_ms);
  double iqr_ms() const { return q3_ms - q1_ms; }
  // The spread is wide: IQR / median > kNoisyIqrShare (from 4 repetitions: fewer have no meaningful quartiles) or
  // max / min > kNoisyMaxOverMin (from 2). A figure whose repetitions disagree that much is not one number.
  bool noisy() const;
  // "" when not noisy, else what the user reads beside the figure: "noisy: max 1.6 × min — other work on the
  // machine?" (the larger of the two spreads).
  std::string noisy_text() const;
};
inline constexpr double kNoisyIqrShare = 0.10;
inline constexpr double kNoisyMaxOverMin = 1.3;

struct RunResult {
  bool ok = false;
  std::string error;               // names the problem and what to do
  bool out_of_memory = false;      // then bytes_needed / bytes_free say by how much
  std::string backend, device;
  Algorithm algorithm = Algorithm::Flash;
  std::string kernel;              // what ran, in words ("flash-tc fp16 d128, block-sparse: 2048 visits of 128x64 ...")
  std::vector<float> output;       // Q's layout
  Timing timing;
  double flops = 0;                // by the cost model, for this algorithm and mask
  double bytes_moved = 0;          // by the cost model
  uint64_t bytes_allocated = 0;    // what this algorithm allocated beyond inputs and output (S/P, workspace)
  uint64_t bytes_needed = 0, bytes_free = 0;
  int64_t fully_masked_rows = 0;
  std::optional<Trace> trace;
  std::optional<SmTimeline> sm_timeline;
};

enum class ScoreKind { Scores, Probabilities };

// A pooled picture of one head's S or P: cells_q x cells_k cells covering a window of the matrix.
// Cell value: for S the entry of largest magnitude in the cell; for P the mean; masked entries ignored.
// A cell whose every entry is masked holds NaN. Each cell also carries the share of its pairs the mask allows
// (allowed pairs / pairs of the cell), so a pooled picture can show the mask's density, not only whether any
// pair of the cell is allowed.
struct ScoreImageRequest {
  const AttentionInputs* inputs = nullptr;
  int64_t batch = 0, head = 0;
  ScoreKind kind = ScoreKind::Scores;
  int64_t q0 = 0, k0 = 0, q1 = -1, k1 = -1;  // window [q0, q1) x [k0, k1); -1 = to the end
  int cells_q = 512, cells_k = 512;           // at most; a smaller window is shown 1:1
};

struct ScoreImage {
  bool ok = false;
  std::string error;
  int rows = 0, cols = 0;
  int64_t q0 = 0, k0 = 0, q1 = 0, k1 = 0;
  std::vector<float> values;      // rows x cols, NaN = fully masked cell
  std::vector<float> allowed;     // rows x cols, allowed pairs / pairs of the cell, in [0, 1] (0 where NaN)
  float min_value = 0, max_value = 0;  // over finite cells
  int64_t fully_masked_rows = 0;
  double elapsed_ms = 0;
};

struct MemoryInfo {
  bool known = false;
  uint64_t total_bytes = 0, free_bytes = 0;
};

// The device's roofline ceilings, measured once by a small benchmark: a large copy (bandwidth) and a large
// matrix multiply (compute). Bandwidth counts bytes read + written, as the cost model counts bytes moved.
struct DeviceCeilings {
  bool ok = false;
  std::string error;                 // why they could not be measured
  std::string device;
  double copy_bytes_per_s = 0;       // large device-to-device copy (CPU: memcpy across threads), read + written
  uint64_t copy_bytes = 0;           // size of the copied buffer
  double gemm_flops_per_s = 0;       // fp32 GEMM, 2·n³ FLOPs per n×n×n product
  int64_t gemm_n = 0;
  std::string gemm_what;             // "cuBLAS SGEMM 8192³", "blocked float matmul 1024³ (2 threads)"
  double gemm16_flops_per_s = 0;     // fp16 tensor-core GEMM (CUDA), 0 when not measured
  double seconds = 0;                // how long the benchmark took
};

// What a backend can do and how it runs, asked by the UI instead of branching on the backend's name (a name is
// shown only as a label). Which algorithm runs at which dtype and head_dim is Backend::supports(); decode runs on
// every backend (Backend::decode_loop, the CPU twin by default).
struct BackendCapabilities {
  enum class Memory { Host, Device };
  Memory memory = Memory::Host;        // where a run's buffers live: host memory (RAM) or device memory (HBM)
  bool host_cpu = true;                // computes on the host's cores, the ones the UI draws with (a software
                                       // renderer competes with timed runs, so the UI slows itself while measuring)
  bool sm_traces = false;              // a trace's units are a GPU's SMs, not worker threads
  bool tensor_cores = false;           // has the tensor-core flash kernel (flash-tc)
  int parallel_units = 0;              // CTAs / tile tasks running at once: SMs or worker threads (0: unknown)
  double sweep_time_cap_s = 1.0;       // per-run time cap the Scaling sweep starts with
  int64_t decode_loop_context = 2048;  // context length the KV-cache mode's measured decode loop starts with
  VisitSplit visit_split_default = VisitSplit::Off;  // what a RunRequest without visit_split gets

  const char* trace_unit() const { return sm_traces ? "SM" : "worker"; }                // "SM" | "worker"
  const char* memory_words() const { return memory == Memory::Device ? "device memory" : "host memory"; }
};

// ---- training: the backward pass (issue 19) ----
// One forward + backward of attention as training runs it: the forward keeps what the backward needs (naive: P of
// every head; flash: the per-row log-sum-exp), then dQ, dK and dV are computed from dO (core/backward.hpp has the
// math and the CPU twins).
struct BackwardRequest {
  Algorithm algorithm = Algorithm::Flash;   // Naive or Flash
  const AttentionInputs* inputs = nullptr;  // not owned; must outlive run_backward()
  const std::vector<float>* d_out = nullptr;  // dO in Q's layout (not owned); null: drawn from d_out_seed
  uint64_t d_out_seed = 1;                  // dO elements uniform in [-1, 1), a function of (seed, index)
  TileConfig tiles;
  int warmup = 1;
  int repetitions = 3;
  bool want_gradients = true;               // false: dq/dk/dv left empty (sweeps)
  bool record_trace = false;                // flash: the backward tile loop, from one extra untimed run
  uint64_t memory_budget_bytes = 0;         // refuse (out_of_memory) past this many bytes; 0: the backend's capacity
};

// Peak memory of one stage of training, by what holds it (bytes). The stages nest: forward-only (inference: Q, K,
// V, O and the forward's workspace), forward + saved (the forward of training: also what it keeps for the
// backward), forward + backward (also dO, dQ, dK, dV and the backward's workspace).
struct TrainingMemory {
  uint64_t tensors = 0;    // Q, K, V and O
  uint64_t saved = 0;      // kept by the forward for the backward: P (naive) or lse (flash)
  uint64_t gradients = 0;  // dO, dQ, dK, dV
  uint64_t workspace = 0;  // scratch of the running pass (naive: S/P of the forward, dP/dS of the backward; flash: D)
  uint64_t total() const { return tensors + saved + gradients + workspace; }
};

struct BackwardRunResult {
  bool ok = false;
  std::string error;               // names the problem and what to do
  bool out_of_memory = false;      // then bytes_needed / bytes_free say by how much
  uint64_t bytes_needed = 0, bytes_free = 0;
  std::string backend, device;
  Algorithm algorithm = Algorithm::Flash;
  std::string kernel;              // what ran, in words
  std::vector<float> dq, dk, dv;   // Q's and K/V's layouts (when want_gradients)
  Timing forward_timing;           // the training forward (keeps P or lse)
  Timing backward_timing;          // the backward alone
  TrainingMemory forward_only, forward_saved, forward_backward;  // measured: the bytes the passes allocated
  uint64_t capacity_bytes = 0;     // what the run may use (0: unknown)
  std::string capacity_words;      // what capacity_bytes is ("available host memory (MemAvailable)")
  double forward_flops = 0, backward_flops = 0;  // by the cost model
  std::optional<BackwardTrace> trace;
};

// ---- beyond quadratic attention (issue 20): linear attention, the selective scan, their recurrent decode step, and
// one transformer block's parts. Each backend answers these; the defaults (core/beyond_runs.cpp) run the CPU twins
// (linear_attention.hpp, selective_scan.hpp, cpu_gemm.hpp) on a process-wide pool, so a backend without kernels of
// its own still answers with measured numbers, labelled with the twin that ran.

// Linear attention with φ = elu + 1 on AttentionInputs: spec.mask.causal picks the chunked causal form, else the
// non-causal one (φ(K)ᵀV once per head); the mask must be dense otherwise (linear_attention_unsupported).
struct LinearAttentionRunRequest {
  const AttentionInputs* inputs = nullptr;  // not owned; must outlive the call
  int64_t chunk = 64;                       // causal: keys per chunk
  int warmup = 1, repetitions = 5;
  bool want_output = true;
};
// The selective scan (chunked parallel form) on ScanInputs.
struct SelectiveScanRunRequest {
  const ScanInputs* inputs = nullptr;  // not owned
  int64_t chunk = 256;                 // time steps per chunk
  int warmup = 1, repetitions = 5;
  bool want_output = true;
};
// What either answers. FLOPs and bytes by the formulas in beyond_runs.hpp.
struct SequenceRunResult {
  bool ok = false;
  std::string error;
  bool out_of_memory = false;
  std::string backend, device;
  std::string kernel;              // what ran, in words ("linear attention causal, chunks of 64 (CPU twin)")
  std::vector<float> output;       // linear attention: Q's layout; scan: y [B, L, D]
  Timing timing;
  double flops = 0, bytes_moved = 0;
  uint64_t bytes_allocated = 0;    // beyond inputs and output: the states and chunk buffers in flight
  uint64_t state_bytes = 0;        // the recurrent state a decoder keeps: fp32 S and z per KV head / h per channel
};

// Decode one token at a time against a state of constant size: the recurrent step of linear attention
// (LinearAttentionState::append + read per KV head and its query heads) or of the scan (one time step per channel).
enum class RecurrentModel { LinearAttention, SelectiveScan };
const char* recurrent_model_name(RecurrentModel m);  // "linear attention", "selective scan"
struct RecurrentDecodeRequest {
  RecurrentModel model = RecurrentModel::LinearAttention;
  int64_t batch = 1;
  int64_t heads = 32, kv_heads = 8, head_dim = 128;  // linear attention
  int64_t channels = 4096, state = 16;               // selective scan (channels = the model width)
  // The contexts t at which a step is timed. The step reads and writes the whole state whatever t is; the state is
  // set to values of the size t tokens leave (a sum of t feature products, a decayed scan state) rather than
  // rebuilt by t steps, so a long context costs no prefill.
  std::vector<int64_t> contexts;
  int repetitions = 20;  // timed steps per context (after one warm-up step)
  uint64_t seed = 1;
};
struct RecurrentDecodeSample {
  int64_t context = 0;
  Timing timing;  // one step: a token's append and its read-out, every batch and head / channel
};
struct RecurrentDecodeResult {
  bool ok = false;
  std::string error;
  std::string backend, device, kernel;
  uint64_t state_bytes = 0;  // per layer, fp32
  std::vector<RecurrentDecodeSample> samples;
};

// One transformer block's parts on B·N tokens, timed one after another (pre-norms and residual adds left out):
//   QKV projection    X[BN × d_model] · W[d_model × (H + 2·Hkv)·d]
//   attention         the backend's `attention` algorithm on (B, H, Hkv, N, d), causal or not
//   output projection A[BN × H·d] · W[H·d × d_model]
//   MLP               gated (SwiGLU): silu(X·W1) ∘ (X·W3) then · W2; else gelu(X·W1) · W2; W1, W3: d_model × ffn
// Weights and activations fp32 on the CPU; GEMMs by cpu_gemm (cuBLAS on a GPU backend that overrides).
struct LayerTimingRequest {
  int64_t batch = 1, tokens = 1024;
  int64_t d_model = 768, heads = 12, kv_heads = 12, head_dim = 64, mlp_hidden = 3072;
  bool gated_mlp = false;
  bool causal = true;
  Algorithm attention = Algorithm::Flash;
  // Storage of weights, activations and the attention inputs. A GPU backend runs its GEMMs in it (fp32
  // accumulation); the CPU's GEMMs are fp32 whatever it says, and its attention rounds storage to it.
  DType dtype = DType::F32;
  int warmup = 1, repetitions = 3;
  uint64_t seed = 1;
};
struct LayerPartTiming {
  std::string part;  // "QKV projection", "attention", "output projection", "MLP"
  Timing timing;
  double flops = 0;
  std::string what;  // "cpu_gemm 1024×768 · 768×2304", "flash causal (CPU twin)"
};
struct LayerTimingResult {
  bool ok = false;
  std::string error;
  bool out_of_memory = false;
  std::string backend, device;
  std::vector<LayerPartTiming> parts;  // the four parts above, in that order
  uint64_t weight_bytes = 0;           // the block's weights as stored for the run
};
inline constexpr const char* kLayerParts[] = {"QKV projection", "attention", "output projection", "MLP"};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;         // "cpu", "cuda"
  virtual std::string device_name() const = 0;  // "AMD EPYC ... (2 threads)", "NVIDIA H100 80GB HBM3"
  virtual BackendCapabilities capabilities() const = 0;
  // false with a reason when this backend cannot run the algorithm on this spec.
  virtual bool supports(Algorithm algorithm, const AttentionSpec& spec, std::string* why_not) const = 0;
  virtual RunResult run(const RunRequest& request) = 0;
  virtual ScoreImage score_image(const ScoreImageRequest& request) = 0;
  virtual MemoryInfo memory() const { return {}; }
  // The decode loop of kv_cache.hpp (append K/V -> decode, timed per token). Default: the CPU twin.
  virtual DecodeLoopResult decode_loop(const DecodeLoopRequest& request) { return run_cpu_decode_loop(request); }
  virtual SpecLimits limits() const { return {}; }
  // Forward + backward for training (see BackwardRunResult). Default: refused, in words.
  virtual BackwardRunResult run_backward(const BackwardRequest& request) {
    BackwardRunResult r;
    r.backend = name();
    r.algorithm = request.algorithm;
    r.error = "the " + name() + " backend has no backward pass yet; choose the CPU backend";
    return r;
  }
  // Beyond attention (issue 20); defaults: the CPU twins (core/beyond_runs.cpp).
  virtual SequenceRunResult run_linear_attention(const LinearAttentionRunRequest& request);
  virtual SequenceRunResult run_selective_scan(const SelectiveScanRunRequest& request);
  virtual RecurrentDecodeResult recurrent_decode(const RecurrentDecodeRequest& request);
  // The attention part runs through run() (this backend's kernel); the GEMMs by default on the CPU.
  virtual LayerTimingResult time_layer(const LayerTimingRequest& request);
  // Ring attention (issue 22) over `ranks` ranks. Default: the CPU twin on simulated ranks (core/ring_attention.hpp,
  // transfers modelled); a multi-GPU backend overrides it with NCCL send/recv and its flash kernel, filling the same
  // RingRun from CUDA events.
  virtual RingRun run_ring(const AttentionInputs& in, int ranks, RingSchedule schedule, const RingOptions& options);
  // Measures the ceilings (a second or two; call from the worker thread); the default says this backend does not.
  virtual DeviceCeilings measure_ceilings() {
    DeviceCeilings c;
    c.error = "the " + name() + " backend does not measure its ceilings";
    return c;
  }
};

// True for the algorithms that store a whole score matrix per head (naive, and the double-precision reference):
// only these fall under SpecLimits::score_matrix_bytes. Flash, block-sparse, gathered and decode work tile by tile.
bool materialises_scores(Algorithm a);

}  // namespace attnscope
