// model.hpp — the "Beyond attention" mode's state (UiState::beyond) and the worker tasks that fill it (issue 20):
//   sweep        time and memory against N for naive, flash, a sliding window (block-sparse), linear attention and
//                the selective scan at one model width, points streamed as measured; fitted slopes, crossovers
//   layer        one transformer block of a model preset timed by part (Backend::time_layer) against N; the N where
//                attention overtakes the MLP
//   decode       decode time per token against the context: KV-cache attention (Backend::decode_loop) and the
//                recurrent steps (Backend::recurrent_decode); state size against KV-cache size
//   approximation the softmax map beside the linear-attention map for the same Q, K, V, and the outputs' difference
// Pure helpers (crossovers, slope words, the maps) are here so they are tested without a display.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "app/gui/runtime/compute_worker.hpp"
#include "core/backend.hpp"
#include "core/cost_model.hpp"
#include "core/kv_cache.hpp"
#include "core/scaling.hpp"

namespace attnscope::gui {

// ---------------------------------------------------------------- the N sweep
enum class BeyondKind { Naive, Flash, SlidingWindow, Linear, Scan };
inline constexpr int kBeyondKinds = 5;
const char* beyond_kind_name(BeyondKind k);  // "naive", "flash", "sliding window", "linear attention", "selective scan"

struct BeyondSweepConfig {
  std::vector<int64_t> lengths;       // ascending
  int64_t batch = 1, heads = 8, head_dim = 64;  // the scan's width: channels = heads · head_dim
  int64_t window = 256;               // sliding window (keys i−w+1 … i), as block-sparse
  int64_t linear_chunk = 64, scan_chunk = 256, scan_state = 16;
  int warmup = 1, repetitions = 3;
  double min_timed_s = 0.2;           // small points repeat until about this much is timed (≤ 50 runs)
  double time_cap_s = 1.0;            // per run; a point predicted (by FLOPs from the last measured) above it is capped
  uint64_t seed = 7;
  int fit_points = 4;
};
// The attention series' spec at N: causal (the recurrent models are causal), fp32; the window series adds its window.
AttentionSpec beyond_spec(const BeyondSweepConfig& config, BeyondKind kind, int64_t n);
// N = 256 … 65536 at the experiment's heads and head dim; cap 1 s on a host CPU, 5 s on a device.
BeyondSweepConfig initial_beyond_sweep(const AttentionSpec& experiment, const BackendCapabilities& backend);

struct BeyondSeries {
  BeyondKind kind = BeyondKind::Flash;
  std::string label;               // "flash", "sliding window 256", ...
  std::vector<SweepPoint> points;  // one per length decided so far (Scaling's point type and statuses)
  PowerFit time_fit, memory_fit;   // over the largest measured points (fastest run; bytes allocated)
};
void fit_beyond_series(BeyondSeries& series, int fit_points);

// Where `faster` becomes faster than `slower` as N grows: between two measured N of both series whose order flips,
// interpolated on the log-log lines through them (medians). n = 0: no flip in the measured range; then
// `faster_everywhere` says whether `faster` won at every common N (else it never did).
struct Crossover {
  BeyondKind faster = BeyondKind::Linear, slower = BeyondKind::Flash;
  double n = 0, ms = 0;
  bool faster_everywhere = false;
  int common_points = 0;
};
Crossover find_crossover(const BeyondSeries& faster, const BeyondSeries& slower);
// "O(N²)" when the slope is within 0.25 of 2, "O(N)" within 0.25 of 1, "O(1)" below 0.25, else "O(N^1.43)".
std::string complexity_words(double slope);

struct BeyondSweepResult {
  std::string backend, device;
  BeyondSweepConfig config;
  std::vector<BeyondSeries> series;  // kBeyondKinds, in BeyondKind order
  bool cancelled = false;
  double seconds = 0;
};
struct BeyondSweepLive {
  std::mutex mutex;
  BeyondSweepResult partial;
  uint64_t version = 0;
};

// ---------------------------------------------------------------- the block's parts
struct LayerSweepConfig {
  ModelPreset model;                 // sizes: d_model, heads, KV heads, head dim, MLP width and gating
  std::vector<int64_t> lengths;      // N, ascending
  int64_t batch = 1;
  DType dtype = DType::F32;          // weights and activations: fp16 on a GPU (what models run), fp32 on the CPU
  int warmup = 1, repetitions = 3;
  double time_cap_s = 2.0;           // per block run; predicted from the last measured N (each part by its FLOPs);
                                     // a block predicted past 1 s runs once without warm-up
};
LayerTimingRequest layer_request(const LayerSweepConfig& config, int64_t n);
struct LayerPoint {
  int64_t n = 0;
  bool measured = false;
  std::string note;                  // why not measured
  std::vector<LayerPartTiming> parts;  // kLayerParts' order
};
struct LayerSweepResult {
  std::string backend, device;
  LayerSweepConfig config;
  std::vector<LayerPoint> points;
  std::string attention_what, gemm_what;  // the kernels that ran (from the first measured point)
  bool cancelled = false;
};
// The N where attention's median time first exceeds the MLP's, interpolated log-log between the measured N on
// either side; 0 when it never does in the measured range; −1 when it already does at the first measured N.
double attention_overtakes_mlp(const LayerSweepResult& result);

// ---------------------------------------------------------------- decode
struct BeyondDecodeConfig {
  ModelPreset model;
  int64_t batch = 1;
  int64_t max_context = 16384;   // KV cache: filled to here, a decode measured every max_context / 16 tokens
  int64_t scan_state = 16;
  int repetitions = 5;
};
struct BeyondDecodeResult {
  BeyondDecodeConfig config;
  DecodeLoopResult kv;                       // the cache: decode ms and cache bytes per measured context
  RecurrentDecodeResult linear, scan;        // constant state
  std::string error;
};

// ---------------------------------------------------------------- approximation
struct ApproximationConfig {
  int64_t n = 64, head_dim = 32;
  bool causal = true;
  Generator generator = Generator::Positional;  // sharp, local scores: what a kernel feature map smooths most
  uint64_t seed = 3;
};
struct ApproximationResult {
  ApproximationConfig config;
  int64_t n = 0;
  std::vector<double> softmax_map, linear_map;  // n x n, rows sum to 1 (masked: 0)
  double output_relative_difference = 0;         // ‖O_linear − O_softmax‖_F / ‖O_softmax‖_F
  double map_total_variation = 0;                // mean over rows of ½ Σ_j |P_ij − L_ij|
  double softmax_peak = 0, linear_peak = 0;      // mean over rows of the largest weight
  std::string linear_kernel;                     // what computed the linear output
  std::string error;
};
// φ(Q)φ(K)ᵀ normalised by rows for one head (n x n; causal: keys after the query are 0).
std::vector<double> linear_attention_map(const AttentionInputs& in, int64_t batch, int64_t head);
ApproximationResult compute_approximation(Backend& backend, const ApproximationConfig& config);

// ---------------------------------------------------------------- the mode's state
enum class BeyondPanel { Scaling, Layer, Decode, Approximation };
inline constexpr const char* kBeyondPanelNames[] = {"Time and memory", "Layer breakdown", "Decode", "Approximation"};
// The panels' names for lessons (a step's "panel" and "highlight"; views/lesson/model.cpp lists them).
inline constexpr const char* kBeyondLessonNames[] = {"beyond-sweep", "beyond-layer", "beyond-decode",
                                                     "beyond-approximation"};

struct BeyondViewState {
  BeyondPanel panel = BeyondPanel::Scaling;
  std::string requested_panel;  // a kBeyondPanelNames entry (render --panel) or a lesson name, then cleared
  bool configured = false;
  int preset = 1;               // index in model_presets(): the block, decode and width of the model

  BeyondSweepConfig sweep_config;
  bool sweep_started = false;
  std::shared_ptr<BeyondSweepLive> live;
  uint64_t live_version_seen = 0;
  std::optional<BeyondSweepResult> sweep;

  LayerSweepConfig layer_config;
  bool layer_started = false;
  std::optional<LayerSweepResult> layer;

  BeyondDecodeConfig decode_config;
  bool decode_started = false;
  std::optional<BeyondDecodeResult> decode;

  ApproximationConfig approximation_config;
  bool approximation_started = false;
  std::optional<ApproximationResult> approximation;
};

// Channels: each runs while its panel is on screen.
inline constexpr const char* kBeyondSweepView = "Beyond attention/sweep";
inline constexpr const char* kBeyondLayerView = "Beyond attention/layer";
inline constexpr const char* kBeyondDecodeView = "Beyond attention/decode";
inline constexpr const char* kBeyondApproxView = "Beyond attention/approximation";
inline constexpr TaskChannel<BeyondSweepResult> kBeyondSweepChannel{"Beyond.sweep", kBeyondSweepView};
inline constexpr TaskChannel<LayerSweepResult> kBeyondLayerChannel{"Beyond.layer", kBeyondLayerView};
inline constexpr TaskChannel<BeyondDecodeResult> kBeyondDecodeChannel{"Beyond.decode", kBeyondDecodeView};
inline constexpr TaskChannel<ApproximationResult> kBeyondApproxChannel{"Beyond.approximation", kBeyondApproxView};

TaskFn<BeyondSweepResult> make_beyond_sweep_task(const BeyondSweepConfig& config, std::shared_ptr<BeyondSweepLive> live);
TaskFn<LayerSweepResult> make_layer_sweep_task(const LayerSweepConfig& config);
TaskFn<BeyondDecodeResult> make_beyond_decode_task(const BeyondDecodeConfig& config);
TaskFn<ApproximationResult> make_approximation_task(const ApproximationConfig& config);

// Configures every panel from the experiment, the backend and the preset (view.preset): the CPU gets shorter ranges.
void configure_beyond(BeyondViewState& view, const AttentionSpec& experiment, const BackendCapabilities& backend);

}  // namespace attnscope::gui
