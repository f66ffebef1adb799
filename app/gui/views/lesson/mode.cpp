// mode.cpp — lessons in the app: the Lessons tab (draw_lessons_mode) and, while a lesson is open, the frame around
// every mode (begin_lesson_frame / end_lesson_frame): the step is applied when it changes, its run goes to the
// worker, Space / → / ← move through the steps, and the narration pane stays beside whatever mode is on screen.
#include <imgui.h>

#include <filesystem>

#include "app/gui/shell/modes.hpp"
#include "app/gui/views/lesson/panels.hpp"
#include "app/gui/widgets/widgets.hpp"

#ifndef ATTNSCOPE_SOURCE_DIR
#define ATTNSCOPE_SOURCE_DIR ""
#endif

namespace attnscope::gui {
namespace {

std::string executable_dir() {
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : exe.parent_path().string();
}

void ensure_catalogue(LessonViewState& view) {
  if (view.dir.empty()) view.dir = find_lessons_dir("", executable_dir(), ATTNSCOPE_SOURCE_DIR);
  if (view.scanned) return;
  view.catalogue = scan_lessons(view.dir, app_lesson_vocabulary());
  view.scanned = true;
}

// The step's state: applied once when the step changes (or "Return to step" asks again); its run submitted then.
void apply_current_step(ViewContext& ctx, LessonViewState& view) {
  if (view.applied_step == view.step) return;
  const LessonStep& step = view.lesson->steps[static_cast<size_t>(view.step)];
  apply_step(ctx.ui, step, view.lesson->source);
  view.step_config = ctx.ui.draft;
  view.applied_step = view.step;
  view.run_error.clear();
  if (!step.run || !ctx.worker) return;
  const std::string key = run_key(view.step_config, *step.run);
  if (view.runs.count(key) || view.asked_key == key) return;
  view.asked_key = key;
  ctx.worker->submit_task(kLessonRunChannel, make_lesson_run_task(view.step_config, *step.run));
}

void take_run_result(ViewContext& ctx, LessonViewState& view) {
  if (!ctx.worker) return;
  if (auto result = ctx.worker->take_task_result(kLessonRunChannel)) {
    if (result->key == view.asked_key) view.asked_key.clear();
    view.runs[result->key] = std::move(*result);
  }
  if (view.asked_key.empty()) return;
  const TaskState state = ctx.worker->task_state(kLessonRunChannel);
  if (!state.pending && !state.running && !state.error.empty()) {
    view.run_error = state.error;
    view.asked_key.clear();
  }
}

void handle_keys(LessonViewState& view) {
  const ImGuiIO& io = ImGui::GetIO();
  if (io.WantTextInput || io.KeyCtrl || io.KeyAlt) return;
  if (ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Space), false) ||
      ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_RightArrow), false)) {
    if (view.step + 1 < view.steps()) go_to_step(view, view.step + 1);
  }
  if (ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_LeftArrow), false) && view.step > 0)
    go_to_step(view, view.step - 1);
}

// The user has left the step: another tab, or an experiment other than the step's.
bool off_path(const ViewContext& ctx, const LessonViewState& view) {
  const LessonStep& step = view.lesson->steps[static_cast<size_t>(view.step)];
  const std::vector<std::string> names = mode_names();
  const bool other_mode = ctx.ui.mode >= 0 && ctx.ui.mode < static_cast<int>(names.size()) &&
                          names[static_cast<size_t>(ctx.ui.mode)] != step.mode && ctx.ui.requested_mode.empty();
  ExperimentConfig shown = ctx.state.config, expected = view.step_config;
  shown.scale = expected.scale;  // the colour scale is a view option
  return other_mode || (shown != expected && ctx.ui.commands.empty());
}

}  // namespace

void draw_lessons_mode(ViewContext& ctx) {
  ensure_catalogue(ctx.ui.lesson);
  ImGui::BeginChild("lessons_body", ImVec2(0, 0), true);
  draw_lesson_catalogue_panel(ctx);
  ImGui::EndChild();
}

bool begin_lesson_frame(ViewContext& ctx, float status_h) {
  LessonViewState& view = ctx.ui.lesson;
  take_run_result(ctx, view);
  if (!view.open()) return false;
  handle_keys(view);
  apply_current_step(ctx, view);
  // The pane: about a third of the window, never narrower than 20 em.
  const float em = ImGui::GetFontSize();
  const float avail_w = ImGui::GetContentRegionAvail().x;
  const float pane_w = std::min(std::max(avail_w * 0.34f, em * 20.0f), avail_w * 0.45f);
  ImGui::BeginChild("lesson_pane", ImVec2(pane_w, -status_h), true);
  draw_lesson_narration_panel(ctx, current_step_values(view), view.open() && off_path(ctx, view));
  ImGui::EndChild();
  record_element_rect(ctx.ui, "narration");
  if (!view.open()) return false;  // closed from the pane: the modes take the whole window from the next frame
  ImGui::SameLine();
  ImGui::BeginChild("lesson_body", ImVec2(0, -status_h), false, ImGuiWindowFlags_NoScrollbar);
  return true;
}

void end_lesson_frame(bool began) {
  if (began) ImGui::EndChild();
}

}  // namespace attnscope::gui
