// model.hpp — the Explore heatmap's view: zoom/pan window, overlays (tile grid, block mask), the
// algorithm the picture is discussed for, and the visible window recomputed at full resolution on the worker.
//
// Contents
//   ViewWindow / zoom math    matrix-coordinate window; zoom about a point, pan, clamp, integer request
//   HeatmapViewState          what UiState holds for the Explore heatmap
//   block_overlay_color       the tint of each tile kind (the test classifies pixels with it)
// No GL and no ImGui here: the math is unit-tested.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/gui/gl/colormap.hpp"
#include "app/gui/runtime/compute_worker.hpp"
#include "core/backend.hpp"
#include "core/block_mask.hpp"

namespace attnscope::gui {

// The visible part of the q_len x kv_len matrix, in token positions: rows [q0, q1), keys [k0, k1).
// Fractional so that zooming about the cursor is smooth; requests round outwards to whole tokens.
struct ViewWindow {
  double q0 = 0, k0 = 0, q1 = 0, k1 = 0;
  double span_q() const { return q1 - q0; }
  double span_k() const { return k1 - k0; }
  bool operator==(const ViewWindow&) const = default;
};

// Smallest span the view zooms to, in tokens: a few single cells fill the picture.
constexpr double kMinViewSpan = 4.0;

ViewWindow full_window(int64_t n_q, int64_t n_k);
bool is_full_window(const ViewWindow& w, int64_t n_q, int64_t n_k);
// Keeps the window inside the matrix and its spans in [kMinViewSpan, n] (shifting, not shrinking, when it can).
ViewWindow clamp_window(ViewWindow w, int64_t n_q, int64_t n_k);
// factor > 1 zooms in. The matrix point (q, k) stays where it is on screen (clamping may shift it at the edges).
ViewWindow zoom_about(const ViewWindow& w, double factor, double q, double k, int64_t n_q, int64_t n_k);
// Moves the window by (dq, dk) tokens, clamped.
ViewWindow pan_window(const ViewWindow& w, double dq, double dk, int64_t n_q, int64_t n_k);

// Whole tokens covering the window (floor of the start, ceil of the end), for Backend::score_image.
struct WindowRequest {
  int64_t q0 = 0, k0 = 0, q1 = 0, k1 = 0;
  bool operator==(const WindowRequest&) const = default;
};
WindowRequest window_request(const ViewWindow& w, int64_t n_q, int64_t n_k);

// The pooled cell of an image (rows x cols cells over [q0, q1) x [k0, k1)) holding matrix position (q, k),
// and the token range it pools. False when (q, k) is outside the image.
struct CellHit {
  int row = 0, col = 0;
  int64_t q_begin = 0, q_end = 0, k_begin = 0, k_end = 0;  // inclusive ends
};
bool cell_at(const ScoreImage& image, double q, double k, CellHit* hit);

// The Explore control a problem of to_spec (core/spec.hpp validate: each sentence starts with the field's name,
// "head_dim 0: must be 1..256") belongs to, so it is drawn beside that field. Other: not a field's (a failed run).
enum class ExploreField { N, HeadDim, Heads, KvHeads, Mask, Other };
ExploreField explore_field_of(const std::string& problem);

// Tile kinds are drawn as a translucent tint over the picture: result = tint·alpha + picture·(1 − alpha).
Rgba8 block_overlay_color(TileKind kind);

// The window at full resolution, as the worker answers it.
struct WindowTaskResult {
  uint64_t generation = 0;  // of the Explore picture it belongs to
  WindowRequest request;
  ScoreImage image;
};
struct BlockMaskTaskResult {
  uint64_t generation = 0;
  int br = 0, bc = 0;
  std::shared_ptr<const BlockMask> mask;
  std::string error;
};

// Inputs of head 0 kept between window requests (only the worker thread touches the contents).
struct InputCache {
  std::string key;
  AttentionInputs inputs;
};

struct HeatmapViewState {
  ViewWindow view;                 // what is visible now
  int64_t view_n_q = 0, view_n_k = 0;  // the matrix size the view was made for (reset when N changes)
  std::optional<WindowRequest> pending_zoom;  // from `render --zoom` or a test: applied on the next frame

  bool show_tiles = false, show_blocks = false;
  int br = 64, bc = 64;            // tile size of the overlays and the flash discussion
  Algorithm algorithm = Algorithm::Flash;  // naive / flash / block-sparse: what the note under the picture says

  // Full-resolution window of the current view.
  std::optional<WindowTaskResult> window;  // the last one that arrived
  std::optional<WindowRequest> window_asked;  // submitted, not yet arrived
  uint64_t window_asked_generation = 0;
  bool window_uploaded = false;
  ValueScale window_scale;
  int window_scale_mode = -1;      // of the last colourising (recolour when the user switches linear/log)
  double view_changed_at = 0;      // ImGui time of the last zoom/pan: the request waits until the view rests
  std::shared_ptr<InputCache> inputs = std::make_shared<InputCache>();

  // Block mask for the overlay (Br x Bc tiles of the shown spec).
  std::shared_ptr<const BlockMask> block_mask;
  uint64_t block_mask_generation = 0;
  int block_mask_br = 0, block_mask_bc = 0;
  bool block_mask_asked = false;
  std::string block_mask_error;
  bool block_texture_current = false;
};

// The worker's tasks (tasks.cpp) and their channels.
inline constexpr TaskChannel<WindowTaskResult> kWindowChannel{"explore-window", "Explore"};
inline constexpr TaskChannel<BlockMaskTaskResult> kBlocksChannel{"explore-blocks", "Explore"};
// The window `request` of the shown picture, recomputed at full resolution (inputs cached in `cache`).
TaskFn<WindowTaskResult> make_window_task(const AttentionSpec& spec, const ExperimentConfig& config,
                                          uint64_t generation, const WindowRequest& request,
                                          std::shared_ptr<InputCache> cache);
// The block mask of `spec` for Br × Bc tiles.
TaskFn<BlockMaskTaskResult> make_block_mask_task(const AttentionSpec& spec, uint64_t generation, int br, int bc);

}  // namespace attnscope::gui
