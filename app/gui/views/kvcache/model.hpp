// model.hpp — the "KV cache" mode's state (held by UiState::kv_view): the shape and context asked for, the
// decode loops measured on the worker for MHA, GQA and MQA, the generation clock of the cache-filling picture, and
// where the last frame drew its plots and legend (for tests and `render --layout`).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/backend.hpp"
#include "core/kv_cache.hpp"
#include "core/cost_model.hpp"
#include "app/gui/runtime/compute_worker.hpp"

namespace attnscope::gui {

// One head layout's decode loop and the plotted series taken from it.
struct KvLayoutRun {
  std::string name;               // "MHA", "GQA", "MQA"
  int64_t kv_heads = 0;
  DecodeLoopResult loop;
  std::vector<double> context, ms, gbs, floor_ms;  // per timed step: cache length, median ms, GB/s, floor ms
  std::vector<double> ms_below, ms_above;  // per timed step: median − min and max − median (the error bars)
  std::vector<Timing> timing;              // per timed step: the repetitions' spread
};

// One cache element type's decode loop on the GQA layout (fp16: the GQA run itself; fp8 and int8: a loop with a
// quantised cache, which reports its output error against an fp16 cache of the same tokens).
struct KvDtypeRun {
  KvDtype dtype = KvDtype::F16;
  DecodeLoopResult loop;
};

struct KvRunResult {
  std::string key;                // the task key it answers
  std::vector<KvLayoutRun> runs;  // MHA, GQA, MQA in that order
  std::vector<KvDtypeRun> dtype_runs;  // fp16, fp8, int8 in that order, all on the GQA layout
  int64_t kv_group = 16;          // tokens per scale of the quantised loops
  MemoryInfo memory;              // the backend's free memory when the task ran
  double bandwidth_gbs = 0;       // copy bandwidth: read + written bytes / time (0: not measured)
  std::string bandwidth_source;
  bool bandwidth_measured_now = false;  // by Backend::measure_ceilings during this run (kept for the session)
  int storage_bytes = 2;          // bytes per cached element the loop stored (CPU twin: 4)
  // What was actually run, for the labels of every measured figure (the shape's dtype is what was asked; the
  // backend may store another: the CPU twin keeps fp32).
  std::string backend;            // the backend's name ("CPU", "CUDA")
  std::string storage;            // the loop's cache storage ("fp16", "fp32 (CPU twin)")
  DType asked_dtype = DType::F16; // the dtype chosen in the toolbar when the loop ran
  int64_t page_tokens = 16;       // 0: contiguous
};

// "CPU backend, fp32 cache (CPU twin), 16-token pages": what the decode loops ran, as every measured figure is
// labelled. Adds "(fp16 asked)" when the backend stored another type than the one chosen.
std::string kv_measurement_label(const KvRunResult& r);

// A point on screen (pixels), where the last frame drew something.
struct ScreenPoint {
  float x = 0, y = 0;
};

// The three head layouts the mode compares, in its columns' order (MHA: a KV head per query head; GQA: groups;
// MQA: one KV head).
enum class KvLayout { Mha = 0, Gqa = 1, Mqa = 2 };

struct KvViewState {
  bool initialised = false;
  int preset = 0;                 // index in model_presets(); model_presets().size() = custom shape
  int layers = 32, heads = 32, kv_heads = 8, head_dim = 128;
  DType dtype = DType::F16;       // of the cached K and V
  int context = 4096;             // L: for the sizes and the cache-filling picture
  int page_index = 0;             // in kKvPageSizes
  int batch = 1;
  float stated_free_gib = 80.0f;  // GiB (2³⁰ bytes), used when the backend does not know its free memory
  int loop_context = 0;           // tokens the decode loop generates; 0: chosen from the backend on the first frame
  int kv_group_index = 0;         // in kKvGroups: tokens per scale of the fp8 / int8 caches
  KvDtype fill_dtype = KvDtype::F16;  // the element type the cache picture draws
  std::shared_ptr<const KvRunResult> result;
  std::string asked_key;
  // Copy bandwidth the backend measured for an earlier run of this session (0: none yet). A backend whose decode
  // loop does not measure it alongside (the CPU twin) is asked once, not on every run: the figure is the machine's,
  // not the experiment's, and measuring it costs as much as a short decode loop.
  double session_copy_gbs = 0;

  // The cache-filling picture: which layout it draws and its generation clock (tokens in the cache).
  KvLayout drawn_layout = KvLayout::Gqa;
  double tokens = -1;             // -1: as many as the decode loop generated (capped at L)
  bool playing = false;
  float speed = 1.0f;             // ×1: the whole context L is generated in kPlaySeconds
  static constexpr double kPlaySeconds = 20.0;

  // The core's page model of one sequence, appended as the clock advances (rebuilt when it goes back).
  PagedKvCache pages;
  int64_t pages_context = -1, pages_page_tokens = -1, pages_tokens = -1;

  // Where the last frame drew (screen pixels), for tests.
  ScreenPoint legend_min, legend_max;          // the plots' shared legend
  ScreenPoint time_plot_min, time_plot_max;    // data areas
  ScreenPoint bw_plot_min, bw_plot_max;
  int time_points = 0, bw_points = 0;     // points drawn inside the axes
  ScreenPoint fill_min, fill_max;              // the K block of the cache-filling picture (rows = layers)
  int64_t fill_tokens = 0, fill_pages = 0;  // what it showed: tokens in the cache and pages in use (one layer)
  int64_t fill_quantised_tokens = 0;        // of them, in closed scale groups (drawn in the dtype's colour)
  ScreenPoint dtype_table_min, dtype_table_max;  // the fp16 / fp8 / int8 table
};

constexpr int64_t kKvPageSizes[] = {16, 32, 64, 128, 256};
constexpr int64_t kKvGroups[] = {16, 64, 256, 1024};       // tokens per scale offered for fp8 / int8
inline constexpr KvDtype kKvDtypes[3] = {KvDtype::F16, KvDtype::Fp8E4M3, KvDtype::Int8};  // the dtype table's columns
inline constexpr const char* kKvLayoutNames[3] = {"MHA", "GQA", "MQA"};  // indexed by KvLayout

// The GQA column: the preset's own KV heads when it is grouped, else the largest divisor of the heads up to a
// quarter of them.
int64_t gqa_heads(int64_t heads, int64_t model_kv);
// The shape of model_presets()[s.preset] (nothing for the custom shape).
void apply_preset(KvViewState& s);
// What the decode loops depend on: a new key runs them again.
std::string task_key(const KvViewState& s);
// The cost model's decode step: FLOPs (4·B·H·len·d, the same for every layout) and bytes (read Q, K and V once per
// KV head, write O).
AlgorithmCost decode_cost(int64_t batch, int64_t heads, int64_t kv, int64_t d, DType dtype, int64_t len);
// The floor: those bytes over the copy bandwidth (GB/s), in ms; 0 when the bandwidth is not known.
double floor_ms_for(int64_t batch, int64_t heads, int64_t kv, int64_t d, DType dtype, int64_t len, double gbs);
// Tokens the decode loop generated (0 before its result).
int64_t generated_tokens(const KvViewState& s);
// Tokens in the pictured cache now: the clock, or (before anyone touched it) what the loop generated, within [0, L].
int64_t tokens_now(const KvViewState& s);
void set_tokens(KvViewState& s, double t);  // the clock, clamped to [0, L]

// The worker's task: the decode loops of MHA, GQA and MQA for the state's shape (tasks.cpp).
inline constexpr TaskChannel<std::shared_ptr<const KvRunResult>> kKvChannel{"kv-cache", "KV cache"};
TaskFn<std::shared_ptr<const KvRunResult>> make_kv_task(const KvViewState& s, const std::string& key);

}  // namespace attnscope::gui
