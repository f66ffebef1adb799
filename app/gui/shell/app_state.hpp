// app_state.hpp — the application's state, split as the design asks: AppState (what is being studied and
// what was computed; owned by main through App) and UiState (what the user is typing, layout, view options).
// Panels read both and change only UiState; App turns UiState's draft into a new experiment.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/experiment.hpp"
#include "app/gui/gl/colormap.hpp"
#include "app/gui/runtime/compute_worker.hpp"
#include "app/gui/views/flash/model.hpp"
#include "app/gui/views/beyond/model.hpp"
#include "app/gui/views/explore/model.hpp"
#include "app/gui/views/kvcache/model.hpp"
#include "app/gui/views/lesson/model.hpp"
#include "app/gui/views/ring/model.hpp"
#include "app/gui/views/scaling/model.hpp"
#include "app/gui/views/sparsity/model.hpp"
#include "app/gui/views/training/model.hpp"
#include "core/mask.hpp"

namespace attnscope::gui {

struct AppState {
  ExperimentConfig config;             // the last valid experiment, submitted to the worker
  uint64_t generation = 0;                  // of that submission
  std::optional<ComputeResult> shown;       // the picture on screen: the last good result
  ValueScale scale;                         // colour scale of the shown picture
  std::vector<std::string> errors;          // why the user's current entries are not what is shown
  std::string backend_name, device_name;    // from the worker's backend: labels only
  BackendCapabilities capabilities;         // what it can do: the UI asks this, never the name
  std::string gl_renderer, platform_name;
  bool computing = false;
  double computing_seconds = 0;
};

struct PixelRect {
  float x = 0, y = 0, w = 0, h = 0;  // framebuffer pixels, origin top-left
};

// What a panel asks App to do with the experiment; App carries the commands out once per frame, in order, so a
// panel never changes AppState itself.
enum class UiCommand {
  ApplyDraft,  // validate UiState::draft; if valid, it becomes the experiment (and an undo step)
  Undo,        // back to the experiment before (Ctrl Z)
  Redo,        // forward again (Ctrl Shift Z)
};

// How a highlighted element is marked: an outline around it, or a spotlight (the rest of the window dimmed).
enum class HighlightMode { Outline, Spotlight };

// What lessons and scenes ask of the views: each field is taken (and cleared) by the mode that is on screen in
// its next frame, so the shell never reaches into a view's state.
struct ViewRequest {
  std::string mode;                           // the mode it is for: only that mode takes it (a tab switch lags a frame)
  std::optional<double> animation;            // replay position, fraction 0..1 of the run (FlashAttention, KV cache)
  std::optional<std::array<double, 4>> zoom;  // visible window x0, y0, x1, y1 as fractions of the matrix (Explore)
  std::string panel;                          // a panel to bring to the front ("tile-stream", "timing", ...)
  std::string model;                          // a model preset whose shape to show (KV cache)
};

struct UiState {
  ExperimentConfig draft;            // the user's entries, kept even when invalid
  std::vector<MaskTerm> terms;            // the mask editor's model of draft.mask
  BlockGrid grid;                         // a painted grid from a mask string (kept as given)
  std::string mask_text;                  // the text form, editable (any length: nothing typed or pasted is cut)
  bool mask_text_editing = false;
  std::string mask_text_error;            // parse error of the text field
  std::vector<UiCommand> commands;        // emitted by panels and keys; App carries them out once per frame
  void request(UiCommand c) { commands.push_back(c); }
  bool pending(UiCommand c) const {
    for (UiCommand x : commands)
      if (x == c) return true;
    return false;
  }

  int mode = 0;                           // index in the mode table (tabs)
  std::string requested_mode;             // a tab to select by name (--mode); cleared once selected
  int mode_step = 0;                      // ±1: select the next / previous tab (Ctrl Page Down / Up); then 0
  float font_px = 18;                     // body text size now drawn (App sets it from the two scales below)
  // Set by a view during a frame when it animates by itself (a replay or the cache filling plays), so the main
  // loop draws the next frame at the display rate instead of sleeping until input arrives. Cleared each frame.
  bool animating = false;
  float menu_bar_right_reserved = 0;      // px at the menu bar's right end taken by the Record button (last frame)
  double font_scale = 1.0;                // the presenter's text scale (Ctrl + / Ctrl − / Ctrl 0), 0.5 .. 4
  float render_scale = 1.0f;              // an off-screen capture at 2× or 4×: fonts and sizes follow
  double frame_ms = 0;                    // smoothed frame time
  // > 0 while recording or rendering a scene: each frame advances time by this (seconds) and readouts that differ
  // between runs (frame time, memory, compute times) are hidden, so the same scene gives the same pixels.
  double fixed_time_step = 0;
  // Where things were drawn in the last frame (for tests and `render --layout`).
  PixelRect heatmap_rect, colorbar_rect;
  // Panels record where they drew under their lesson/scene names ("tile-stream", "gantt", "heatmap", ...) each
  // frame; the shell outlines or spotlights `highlight` from these after the views have drawn.
  std::map<std::string, PixelRect> element_rects;
  std::string highlight;                  // "" : nothing highlighted
  HighlightMode highlight_mode = HighlightMode::Outline;
  // The highlight the viewer has taken the scrolling from: a highlighted panel is kept in view until the user
  // scrolls or clicks (record_element_rect); a new lesson step clears it.
  std::string highlight_scrolled_to;
  ViewRequest view_request;               // from a lesson step or a scene keyframe
  FlashViewState flash;                   // FlashAttention mode: order, tiles, row, replay clock, traced result
  HeatmapViewState heatmap_view;         // Explore heatmap: zoom, overlays, full-resolution window
  SparsityViewState sparsity_view;       // Sparsity mode: patterns A/B, painted grid, numbers
  KvViewState kv_view;                   // KV cache mode: shape, decode loops, the cache picture's clock
  ScalingViewState scaling;              // Scaling mode (timing, memory, sweep, roofline) and the status bar's memory
  TrainingViewState training;            // Training mode: memory and time of forward vs backward, sweep, backward loop
  BeyondViewState beyond;                // Beyond attention mode: N sweep, layer parts, decode, approximation
  RingViewState ring_view;               // Context parallel mode: ring shape, plain/zigzag results, replay clock
  LessonViewState lesson;                // the Lessons tab and the open lesson's narration pane (views/lesson)
  // Where the user is in a lesson (file and 1-based step), for the settings file; restore_lesson_position reopens it.
  LessonPosition lesson_position() const { return gui::lesson_position(lesson); }
};

}  // namespace attnscope::gui
