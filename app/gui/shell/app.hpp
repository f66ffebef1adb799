// app.hpp — the attnscope UI, independent of where frames go (GLFW window or headless EGL).
//
//   App::init      ImGui context, fonts, OpenGL3 renderer backend, heatmap GL resources, first job
//   App::frame     one frame: take worker results, apply the user's edits, draw the active mode, render
//   App::shutdown  the reverse of init
// Modes (tabs) are a table of draw functions (kModes in app.cpp): later views add a row.
#pragma once
#include <chrono>
#include <memory>
#include <string>

#include "app/gui/shell/app_state.hpp"
#include "app/gui/shell/experiment_history.hpp"
#include "app/gui/runtime/compute_worker.hpp"
#include "app/gui/gl/heatmap_gl.hpp"
#include "app/gui/platform/platform.hpp"
#include "app/gui/presenter/presenter.hpp"
#include "app/gui/widgets/layout.hpp"

struct ImFont;

namespace attnscope::gui {

class RecordingController;  // app/gui/recording/recording_ui.hpp

// What a panel draws with.
struct ViewContext {
  const AppState& state;  // read only: panels change UiState (drafts, view options), App applies them
  UiState& ui;
  HeatmapGl& heatmap;
  ImFont* heading_font = nullptr;
  ComputeWorker* worker = nullptr;  // for views' own tasks (submit_task / take_task_result)
  ImFont* bold_font = nullptr;      // body size, bold (narration's **bold**)
  ImFont* mono_font = nullptr;      // body size, monospaced (narration's `code`)
};

class App {
 public:
  App(ExperimentConfig initial, std::unique_ptr<Backend> backend);
  ~App();
  bool init(Platform& platform, std::string* error);
  void frame(Platform& platform);
  void shutdown();  // call before the Platform is destroyed

  // True when the picture on screen is the result of the current experiment (not computing, not stale).
  bool picture_current() const;
  // The picture is current, the worker has nothing left to do and the views have taken their results:
  // what a headless render waits for before capturing.
  bool settled() const;
  int frames_drawn() const { return frames_drawn_; }
  int frames_skipped() const { return frames_skipped_; }  // frame() calls while the framebuffer was 0×0 (minimised)
  // Something moves without input: a view animates, the worker computes (progress, a picture on its way), a
  // recording runs or a screenshot is pending. The main loop then draws at the display rate; otherwise it may
  // sleep until input arrives.
  bool wants_frames();
  bool failed() const { return !state_.errors.empty(); }
  const AppState& state() const { return state_; }
  const UiState& ui() const { return ui_; }
  UiState& ui() { return ui_; }  // what panels edit; tests drive the UI through it
  // Presenter mode: theme, colour map, spotlight, keys, menus, the experiment file dialog and the settings file.
  Presenter& presenter() { return presenter_; }

  // Deterministic time: with seconds > 0 every frame advances ImGui's clock (and every animation) by exactly
  // that much, whatever the real frame rate, and readouts that differ between runs are hidden. 0: real time.
  // Recording sets it to 1 / fps; `render --scene` too.
  void set_fixed_time_step(double seconds) { ui_.fixed_time_step = seconds; }
  RecordingController& recording() { return *recording_; }  // the Record button, dialog and frame read-back
  // What the last frame drew clipped or overlapping (widgets/layout.hpp's checker); empty when all fits.
  const std::vector<LayoutProblem>& layout_problems() const { return layout_problems_; }

 private:
  void take_results();
  void colorize_if_needed();  // the picture taken (or the colour scale changed): its colours on the GPU
  void carry_out_commands();  // UiState::commands, in order
  void apply_draft(bool record);
  void restore(const ExperimentConfig& config);  // an undo or redo step: entries and editor follow
  void submit(const ExperimentConfig& config, const AttentionSpec& spec);
  // The body font size for this target: from its size, UiState::font_scale and UiState::render_scale.
  float target_font_px(const Platform& platform) const;
  // Rasterises the fonts at `px` (body, heading, bold, mono), replaces the renderer's atlas texture and rescales
  // the style; between frames only.
  void rebuild_fonts(float px);
  void apply_style();  // ImGui's style for ui_.font_px

  AppState state_;
  UiState ui_;
  HeatmapGl heatmap_;
  std::unique_ptr<ComputeWorker> worker_;
  std::unique_ptr<RecordingController> recording_;
  Platform* platform_ = nullptr;  // set by init; must outlive shutdown()
  ImFont* heading_font_ = nullptr;
  ImFont* bold_font_ = nullptr;
  ImFont* mono_font_ = nullptr;
  bool renderer_started_ = false;
  bool font_warning_given_ = false;
  ExperimentHistory history_;
  Presenter presenter_;
  bool needs_colorize_ = false;
  bool initialised_ = false;
  int frames_drawn_ = 0;
  int frames_skipped_ = 0;
  std::vector<LayoutProblem> layout_problems_;
  std::chrono::steady_clock::time_point last_frame_;
};

// Names of the modes (tabs), in order; `attnscope render --mode NAME` picks one.
std::vector<std::string> mode_names();

// UiState's mask editor from a config's mask text (terms, grid, causal); false when the text does not parse.
bool load_mask_editor(UiState& ui, const std::string& mask_text, std::string* error);
// The mask text the editor's terms describe (causal is a separate config field).
std::string mask_text_from_editor(const UiState& ui);
// The text field's Enter: the typed text becomes the editor's terms and the draft's mask (an ApplyDraft request), or
// its error is kept beside the field (every bad term named). False on an error.
bool apply_mask_text(UiState& ui);
// The text field's Escape: the field shows the active mask again and an error about the abandoned text is dropped.
void cancel_mask_text(UiState& ui);

}  // namespace attnscope::gui
