// app.cpp — the App lifecycle and per-frame flow (see app.hpp).
//
// Contents
//   mask editor <-> text     load_mask_editor, mask_text_from_editor
//   App::init / shutdown     ImGui, fonts, renderer backend, GL resources
//   App::frame               results -> edits -> widgets -> render
//   carry_out_commands       panels' requests: apply the draft (an undo step), undo, redo
//   apply_draft / submit     the user's entries become a job, or errors with the last picture kept
#include "app/gui/shell/modes.hpp"
#include "app/gui/shell/app.hpp"

#include <glad/gl.h>
#include <backends/imgui_impl_opengl3.h>
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include "app/gui/recording/recording_ui.hpp"
#include "app/gui/presenter/palette.hpp"
#include "app/gui/capture/export_ui.hpp"
#include "app/gui/capture/figure_registry.hpp"
#include "app/gui/capture/screenshot.hpp"
#include "app/gui/widgets/layout.hpp"
#include "app/gui/widgets/widgets.hpp"

namespace attnscope::gui {
namespace {

struct Mode {
  const char* name;
  const char* tooltip;
  void (*draw)(ViewContext&);
};
// The navigation: one row per mode. FlashAttention, Sparsity, Scaling, KV cache and Lessons join here.
const Mode kModes[] = {
    {"Explore", "The score matrix S or P of one head, for any size, mask and inputs", draw_explore_mode},
    {"FlashAttention", "Tiles streaming through one SM, every CTA over time, one row's online softmax: replayed from a real trace", draw_flash_mode},
    {"Sparsity", "Edit and paint sparsity patterns; density, predicted and measured speed-up, A vs B", draw_sparsity_mode},
    {"Scaling", "Time and memory against N (log-log, fitted slopes), every algorithm's timing, memory, the roofline", draw_scaling_mode},
    {"KV cache", "The cache growing per layer as tokens are generated; MHA vs GQA vs MQA; measured decode time per token", draw_kvcache_mode},
    {"Training", "Training vs inference: peak memory by what holds it, forward and backward time, naive vs flash against N, the backward tile loop replayed from a real trace", draw_training_mode},
    {"Beyond attention", "Linear attention and a selective scan measured against attention; decode state against KV cache; where a layer's time goes", draw_beyond_mode},
    {"Context parallel", "Ring attention on simulated ranks: who computes which block at which step, K/V shards moving round the ring, per-rank timeline, plain vs zigzag", draw_ring_mode},
    {"Lessons", "Guided lessons: each step sets the app's state and runs real kernels; the narration shows the measured numbers", draw_lessons_mode},
};

}  // namespace

bool load_mask_editor(UiState& ui, const std::string& mask_text, std::string* error) {
  MaskParseResult parsed = parse_mask(mask_text);
  if (!parsed.ok) {
    if (error) *error = parsed.error;
    return false;
  }
  ui.terms = parsed.mask.terms;
  ui.grid = parsed.mask.grid;
  if (parsed.mask.causal) ui.draft.causal = true;  // "causal" written as a term becomes the checkbox
  ui.mask_text = mask_text_from_editor(ui);
  return true;
}

bool apply_mask_text(UiState& ui) {
  std::string error;
  const bool causal_before = ui.draft.causal;
  ui.draft.causal = false;
  if (load_mask_editor(ui, ui.mask_text, &error)) {
    ui.draft.causal = ui.draft.causal || causal_before;
    ui.draft.mask = mask_text_from_editor(ui);
    ui.mask_text_error.clear();
    ui.request(UiCommand::ApplyDraft);
    return true;
  }
  ui.draft.causal = causal_before;
  ui.mask_text_error = error;  // the typed text stays in the field
  return false;
}

void cancel_mask_text(UiState& ui) {
  ui.mask_text = mask_text_from_editor(ui);
  ui.mask_text_error.clear();
}

std::string mask_text_from_editor(const UiState& ui) {
  MaskSpec mask;
  mask.terms = ui.terms;
  mask.grid = ui.grid;
  return mask.to_string();
}

App::App(ExperimentConfig initial, std::unique_ptr<Backend> backend) {
  state_.config = initial;
  ui_.draft = initial;
  worker_ = std::make_unique<ComputeWorker>(std::move(backend));
  recording_ = std::make_unique<RecordingController>(ui_);
  state_.backend_name = worker_->backend_name();
  state_.device_name = worker_->device_name();
  state_.capabilities = worker_->capabilities();
  std::string error;
  if (load_mask_editor(ui_, initial.mask, &error)) ui_.draft.mask = mask_text_from_editor(ui_);
  else ui_.mask_text = initial.mask;  // kept as typed; apply_draft reports the error
}

App::~App() { shutdown(); }

float App::target_font_px(const Platform& platform) const {
  // Sized for a projector: about 38 text lines fill the height at 1x, never below 14 px or above 40 px; the
  // presenter's font scale and an off-screen capture's render scale multiply that.
  const float scale = std::max(ui_.render_scale, 1e-3f);
  const float height = static_cast<float>(platform.framebuffer_height()) / scale;
  const float width = static_cast<float>(platform.framebuffer_width()) / scale;
  const float base = std::clamp(std::round(std::min(height / 38.f, width / 62.f)), 14.f, 40.f);
  return std::clamp(std::round(base * static_cast<float>(ui_.font_scale) * scale), 6.f, 320.f);
}

void App::apply_style() {
  ImGuiStyle& style = ImGui::GetStyle();
  style = ImGuiStyle();
  apply_theme_colors(presenter_.settings().theme);  // ImGui's and the plots' colours for the theme
  style.WindowRounding = 0;
  style.FrameRounding = 3;
  style.ScaleAllSizes(ui_.font_px / 13.f);
}

void App::rebuild_fonts(float px) {
  ImGuiIO& io = ImGui::GetIO();
  ui_.font_px = px;
  io.Fonts->Clear();
  // Latin-1, Greek, super/subscripts, punctuation (…, –), arrows and math operators (√, ≤, ×).
  static const ImWchar ranges[] = {0x0020, 0x00FF, 0x0370, 0x03FF, 0x1D2C, 0x1D6A, 0x2010, 0x2027,
                                   0x2070, 0x209F, 0x2190, 0x21FF, 0x2200, 0x22FF, 0x25A0, 0x25FF, 0};
  // DejaVu Sans where distributions put it ($ATTNSCOPE_FONT_DIR first); ImGui's built-in font is ASCII only.
  std::vector<std::filesystem::path> dirs;
  if (const char* env = std::getenv("ATTNSCOPE_FONT_DIR")) dirs.emplace_back(env);
  for (const char* d : {"/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/share/fonts/TTF",
                        "/usr/share/fonts/dejavu-sans-fonts", "/usr/local/share/fonts/dejavu"})
    dirs.emplace_back(d);
  auto find_font = [&](const char* file) -> std::string {
    for (auto& dir : dirs)
      if (std::error_code ec; std::filesystem::exists(dir / file, ec)) return (dir / file).string();
    return {};
  };
  const std::string regular = find_font("DejaVuSans.ttf"), bold = find_font("DejaVuSans-Bold.ttf"),
                    mono = find_font("DejaVuSansMono.ttf");
  ImFont* body = nullptr;
  if (!regular.empty()) body = io.Fonts->AddFontFromFileTTF(regular.c_str(), px, nullptr, ranges);
  if (!body) {
    if (!font_warning_given_)
      std::fprintf(stderr,
                   "attnscope: DejaVu Sans not found (looked in /usr/share/fonts/...; set ATTNSCOPE_FONT_DIR): using "
                   "ImGui's ASCII-only font, so symbols such as √, ≤ and × show as '?'. Install fonts-dejavu-core.\n");
    font_warning_given_ = true;
    ImFontConfig config;
    config.SizePixels = px;
    body = io.Fonts->AddFontDefault(&config);
  }
  heading_font_ = body;
  if (!bold.empty())
    if (ImFont* h = io.Fonts->AddFontFromFileTTF(bold.c_str(), std::round(px * 1.15f), nullptr, ranges))
      heading_font_ = h;
  bold_font_ = body;
  if (!bold.empty())
    if (ImFont* b = io.Fonts->AddFontFromFileTTF(bold.c_str(), px, nullptr, ranges)) bold_font_ = b;
  mono_font_ = body;
  if (!mono.empty())
    if (ImFont* m = io.Fonts->AddFontFromFileTTF(mono.c_str(), px, nullptr, ranges)) mono_font_ = m;
  io.FontDefault = body;
  io.Fonts->Build();
  // The renderer keeps the atlas as a texture: replace it (it exists once the renderer has started).
  if (renderer_started_) {
    ImGui_ImplOpenGL3_DestroyFontsTexture();
    ImGui_ImplOpenGL3_CreateFontsTexture();
  }
  apply_style();
}

bool App::init(Platform& platform, std::string* error) {
  IMGUI_CHECKVERSION();
  ImGui::CreateContext();
  capture::reset_screenshot_state();
  ImGuiIO& io = ImGui::GetIO();
  io.IniFilename = nullptr;  // the layout is computed from the window size, nothing to restore
  platform_ = &platform;
  presenter_.attach(platform);
  platform.imgui_init();
  rebuild_fonts(target_font_px(platform));
  if (!ImGui_ImplOpenGL3_Init("#version 330 core")) {
    *error = "the Dear ImGui OpenGL 3 renderer could not start on " + platform.gl_renderer();
    return false;
  }
  renderer_started_ = true;
  if (!heatmap_.init(error)) return false;
  state_.gl_renderer = platform.gl_renderer();
  state_.platform_name = platform.name();
  initialised_ = true;
  last_frame_ = std::chrono::steady_clock::now();
  ui_.request(UiCommand::ApplyDraft);  // the initial experiment: submitted now, the first undo step
  carry_out_commands();
  return true;
}

void App::shutdown() {
  if (!initialised_) return;
  initialised_ = false;
  presenter_.save_now(ui_);  // the settings as they are at exit (while the window can still say where it is)
  recording_->finish_and_wait();  // a recording in progress keeps what was recorded
  capture::clear_sources();  // their builders point into this App
  heatmap_.shutdown();
  ImGui_ImplOpenGL3_Shutdown();
  if (platform_) platform_->imgui_shutdown();
  ImGui::DestroyContext();
  worker_.reset();
}

std::vector<std::string> mode_names() {
  std::vector<std::string> names;
  for (auto& m : kModes) names.emplace_back(m.name);
  return names;
}

bool App::settled() const {
  return picture_current() && ui_.requested_mode.empty() && worker_ && worker_->idle();
}

bool App::picture_current() const {
  return ui_.commands.empty() && state_.shown && state_.shown->generation == state_.generation && !state_.computing &&
         heatmap_.has_image() && !needs_colorize_;
}

void App::submit(const ExperimentConfig& config, const AttentionSpec& spec) {
  ComputeJob job;
  job.generation = ++state_.generation;
  job.config = config;
  job.spec = spec;
  worker_->submit(std::move(job));
  state_.config = config;
  state_.computing = true;
}

void App::carry_out_commands() {
  std::vector<UiCommand> commands;
  commands.swap(ui_.commands);
  for (UiCommand c : commands) {
    switch (c) {
      case UiCommand::ApplyDraft: apply_draft(/*record=*/true); break;
      case UiCommand::Undo:
        if (auto previous = history_.undo()) restore(*previous);
        break;
      case UiCommand::Redo:
        if (auto next = history_.redo()) restore(*next);
        break;
    }
  }
}

void App::restore(const ExperimentConfig& config) {
  ui_.draft = config;
  std::string ignored;  // a recorded experiment was valid when it was applied
  load_mask_editor(ui_, config.mask, &ignored);
  ui_.draft.causal = config.causal;
  apply_draft(/*record=*/false);
}

void App::apply_draft(bool record) {
  const SpecResult spec = to_spec(ui_.draft, worker_->limits());
  state_.errors = spec.errors;
  if (!spec.ok) return;  // the last good picture stays; the entries stay in ui_.draft
  if (record) history_.record(ui_.draft);
  ExperimentConfig without_scale = ui_.draft;
  without_scale.scale = state_.config.scale;
  const bool same_numbers = state_.shown && without_scale == state_.config && state_.generation > 0;
  if (same_numbers) {
    // Only the colour scale changed: recolour on the GPU, no recomputation.
    if (state_.config.scale != ui_.draft.scale) {
      state_.config.scale = ui_.draft.scale;
      needs_colorize_ = true;
    }
    return;
  }
  submit(ui_.draft, spec.spec);
}

void App::take_results() {
  state_.computing = worker_->busy() || state_.generation != (state_.shown ? state_.shown->generation : 0);
  state_.computing_seconds = worker_->busy_seconds();
  std::optional<ComputeResult> result = worker_->take_result();
  if (!result) return;
  if (result->generation != state_.generation) return;  // stale: the user changed something since
  if (!result->error.empty()) {
    state_.errors = {result->error};
    state_.computing = false;
    return;
  }
  state_.shown = std::move(result);
  const ScoreImage& image = state_.shown->image;
  heatmap_.upload(image.values, image.allowed, image.rows, image.cols);
  needs_colorize_ = true;
  state_.computing = worker_->busy();
}

void App::colorize_if_needed() {
  if (!needs_colorize_ || !state_.shown) return;
  const ScoreImage& image = state_.shown->image;
  state_.scale = ValueScale::fit(state_.config.scale == ColorScale::Log, image.min_value, image.max_value);
  heatmap_.colorize(state_.scale);
  needs_colorize_ = false;
}

bool App::wants_frames() {
  return ui_.animating || state_.computing || worker_->computing() || recording_->busy();
}

void App::frame(Platform& platform) {
  // A minimised window has a 0×0 framebuffer: nothing can be drawn (a zero viewport, fonts sized from the height,
  // layouts divided by the width), so the frame is skipped. Results are still taken, so the picture is current
  // when the window comes back.
  if (platform.framebuffer_width() <= 0 || platform.framebuffer_height() <= 0) {
    take_results();
    colorize_if_needed();
    ++frames_skipped_;
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  const double ms = std::chrono::duration<double, std::milli>(now - last_frame_).count();
  last_frame_ = now;
  if (ui_.fixed_time_step <= 0) ui_.frame_ms = ui_.frame_ms == 0 ? ms : 0.9 * ui_.frame_ms + 0.1 * ms;
  ++frames_drawn_;
  ui_.animating = false;  // views set it again while they play
  drawn_field_errors().clear();  // field_error records this frame's problems beside their fields

  // Fonts are rasterised at the size they are shown (window size × presenter scale × capture scale), so text
  // stays crisp at every scale; the atlas can change only between frames.
  if (const float px = target_font_px(platform); px != ui_.font_px) rebuild_fonts(px);
  const Presenter::Changes presentation = presenter_.before_frame(heatmap_);  // theme, colour map
  if (presentation.style) apply_style();
  if (presentation.recolor) needs_colorize_ = true;

  take_results();
  colorize_if_needed();

  platform.imgui_new_frame();
  if (ui_.fixed_time_step > 0) ImGui::GetIO().DeltaTime = static_cast<float>(ui_.fixed_time_step);
  ImGui_ImplOpenGL3_NewFrame();
  ImGui::NewFrame();
  begin_layout_frame();

  const ImGuiViewport* viewport = ImGui::GetMainViewport();
  ImGui::SetNextWindowPos(viewport->Pos);
  ImGui::SetNextWindowSize(viewport->Size);
  const ImGuiWindowFlags flags = ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove |
                                 ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoBringToFrontOnFocus |
                                 ImGuiWindowFlags_MenuBar;
  ImGui::PushStyleVar(ImGuiStyleVar_WindowPadding, ImVec2(ui_.font_px * 0.5f, ui_.font_px * 0.3f));
  ImGui::Begin("attnscope", nullptr, flags);
  ImGui::PopStyleVar();
  // The worker runs only the work of views drawn in this frame (compute_worker.hpp): the open tab, the lesson pane,
  // and what the modes mark themselves (a panel shown on its own).
  worker_->begin_frame();
  ViewContext ctx{state_, ui_, heatmap_, heading_font_, worker_.get(), bold_font_, mono_font_};
  presenter_.draw_menu_bar(ctx);
  ui_.element_rects.clear();  // the panels record where they draw this frame
  // An open lesson: its narration pane beside the modes, which then draw in the body beside it.
  const bool in_lesson = begin_lesson_frame(ctx, ImGui::GetFrameHeightWithSpacing());
  if (in_lesson) worker_->mark_visible("Lessons");  // the narration shows the step's run
  if (ui_.mode_step != 0) {  // Ctrl Page Down / Up: the neighbouring tab, wrapping around
    const int count = static_cast<int>(std::size(kModes));
    ui_.requested_mode = kModes[((ui_.mode + ui_.mode_step) % count + count) % count].name;
    ui_.mode_step = 0;
  }
  if (ImGui::BeginTabBar("modes")) {
    for (int i = 0; i < static_cast<int>(std::size(kModes)); ++i) {
      ImGuiTabItemFlags tab_flags = 0;
      if (!ui_.requested_mode.empty() && ui_.requested_mode == kModes[i].name) {
        tab_flags |= ImGuiTabItemFlags_SetSelected;
        ui_.requested_mode.clear();
      }
      const bool open = ImGui::BeginTabItem(kModes[i].name, nullptr, tab_flags);
      if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", kModes[i].tooltip);
      if (open) {
        ui_.mode = i;
        worker_->mark_visible(kModes[i].name);
        // Leave one line at the bottom for the status bar.
        const float status_h = in_lesson ? 0.0f : ImGui::GetFrameHeightWithSpacing();
        ImGui::BeginChild("mode_body", ImVec2(0, -status_h), false, ImGuiWindowFlags_NoScrollbar);
        const ImVec2 body = ImGui::GetWindowPos(), body_size = ImGui::GetWindowSize(), fb = ImGui::GetIO().DisplayFramebufferScale;
        ui_.element_rects["view"] = {body.x * fb.x, body.y * fb.y, body_size.x * fb.x, body_size.y * fb.y};
        kModes[i].draw(ctx);
        ImGui::EndChild();
        ImGui::EndTabItem();
      }
    }
    capture::camera_tab_button(ctx);
    ImGui::EndTabBar();
  }
  end_lesson_frame(in_lesson);
  worker_->end_frame();
  draw_status_bar(ctx);
  draw_highlight(ctx);
  capture::draw_export_dialog(ui_.font_px);
  capture::draw_screenshot_dialog(ctx);
  ImGui::End();
  // Dialogs, the F1 list, messages, the spotlight; and the keys (presenter/key_bindings.hpp), among them Ctrl Z /
  // Ctrl Shift Z, which step through the experiments applied so far (not while a text field has the keyboard:
  // there they undo typing).
  presenter_.draw_overlays(ctx);
  recording_->draw(platform);  // the Record dialog and the REC line
  ImGui::Render();
  layout_problems_ = find_layout_problems();  // what this frame clipped (render prints it, tests assert none)
  carry_out_commands();  // edits made in this frame start their job now; the next frame shows "computing"

  platform.bind_target();
  const PackedColor clear = palette().window_bg;
  glClearColor(channel(clear, 0) / 255.f, channel(clear, 1) / 255.f, channel(clear, 2) / 255.f, 1.0f);
  glClear(GL_COLOR_BUFFER_BIT);
  recording_->render(ImGui::GetDrawData(), platform);  // and, while recording, the frame read back for the video
  platform.end_frame();
  presenter_.after_frame(ui_);  // settings saved 1 s after the last change
  capture::run_pending_screenshot(*this, platform);  // F12 / the camera button: drawn again off-screen
  // While the CPU backend computes, draw about ten frames a second: a software renderer (llvmpipe) would otherwise
  // take the very cores being measured, bending the timings and slowing the work the view waits for.
  if (state_.capabilities.host_cpu && worker_->computing()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
}

}  // namespace attnscope::gui
