// mode.cpp — the Training mode: what training costs against inference. Trains the experiment once with naive and
// once with flash whenever it changes (Backend::run_backward), runs the N sweep while its tab is shown, and shows
// one tab at a time: Memory and time, Sweep, Backward loop.
#include <imgui.h>

#include "app/gui/plot/plot.hpp"
#include "app/gui/shell/modes.hpp"
#include "app/gui/views/scaling/panels.hpp"
#include "app/gui/views/training/panels.hpp"

namespace attnscope::gui {

ImU32 memory_category_color(int index) {
  const auto& palette = plot::GetStyle().palette;
  static const int kPaletteIndex[] = {7, 5, 6, 4};  // grey tensors, vermillion saved, blue gradients, yellow workspace
  return palette[kPaletteIndex[index & 3]];
}

namespace {

void take_results(ViewContext& ctx, TrainingViewState& view) {
  ComputeWorker& worker = *ctx.worker;
  if (auto run = worker.take_task_result(kTrainingRunChannel)) {
    view.run = std::move(*run);
    view.time_ns = -1;  // a new trace: the replay starts over
  }
  if (auto s = worker.take_task_result(kTrainingSweepChannel)) {
    view.sweep = std::move(*s);
    view.live.reset();
  }
  if (view.live) {
    std::lock_guard lock(view.live->mutex);
    if (view.live->version != view.live_version_seen) {
      view.live_version_seen = view.live->version;
      view.sweep = view.live->partial;
    }
  }
}

void start_training_run(ViewContext& ctx, TrainingViewState& view) {
  const SpecResult spec = to_spec(ctx.state.config, ctx.worker->limits());
  view.run_generation = ctx.state.generation;
  if (!spec.ok) return;
  ctx.worker->submit_task(kTrainingRunChannel, make_training_run_task(ctx.state.config, spec.spec, ++view.runs_started));
}

}  // namespace

void start_training_sweep(ViewContext& ctx, TrainingViewState& view) {
  view.sweep_config.memory_budget_bytes = static_cast<uint64_t>(view.budget_mib) << 20;
  view.live = std::make_shared<TrainingSweepLive>();
  view.live_version_seen = 0;
  view.sweep.reset();
  view.sweep_started = true;
  ctx.worker->submit_task(kTrainingSweepChannel, make_training_sweep_task(view.sweep_config, view.live));
}

void draw_training_mode(ViewContext& ctx) {
  TrainingViewState& view = ctx.ui.training;
  if (!ctx.worker) return;
  static const char* const kLessonNames[] = {"training-memory", "training-sweep", "backward-loop"};  // kTrainingPanelNames' order
  if (ctx.ui.view_request.mode == "Training") {
    for (int i = 0; i < 3; ++i)
      if (ctx.ui.view_request.panel == kLessonNames[i]) view.requested_panel = kTrainingPanelNames[i];
    if (ctx.ui.view_request.animation) view.requested_fraction = *ctx.ui.view_request.animation;
    ctx.ui.view_request = ViewRequest{};
  }
  take_results(ctx, view);
  if (ctx.state.generation > 0 && view.run_generation != ctx.state.generation && ctx.state.errors.empty())
    start_training_run(ctx, view);
  if (!view.sweep_configured) {
    const SpecResult spec = to_spec(ctx.state.config, ctx.worker->limits());
    view.sweep_config = initial_training_sweep_config(spec.ok ? spec.spec : AttentionSpec{}, ctx.state.capabilities);
    view.sweep_configured = true;
  }

  if (ImGui::BeginTabBar("training_panels")) {
    for (int i = 0; i < 3; ++i) {
      ImGuiTabItemFlags flags = 0;
      if (!view.requested_panel.empty() && view.requested_panel == kTrainingPanelNames[i]) {
        flags |= ImGuiTabItemFlags_SetSelected;
        view.requested_panel.clear();
      }
      if (ImGui::BeginTabItem(kTrainingPanelNames[i], nullptr, flags)) {
        view.panel = static_cast<TrainingPanel>(i);
        if (view.panel == TrainingPanel::Sweep && view.requested_panel.empty()) {
          ctx.worker->mark_visible(kTrainingSweepView);
          if (!view.sweep_started) start_training_sweep(ctx, view);
        }
        ImGui::BeginChild("training_panel", ImVec2(0, 0), false);
        switch (view.panel) {
          case TrainingPanel::Memory: {
            task_progress(ctx, kTrainingRunChannel.name, "training_run_cancel");
            const float time_h = ImGui::GetTextLineHeightWithSpacing() * 9.0f;
            draw_training_memory_panel(ctx, view, std::max(ctx.ui.font_px * 14, ImGui::GetContentRegionAvail().y - time_h));
            draw_training_time_panel(ctx, view);
            break;
          }
          case TrainingPanel::Sweep: draw_training_sweep_panel(ctx, view); break;
          case TrainingPanel::BackwardLoop: draw_backward_loop_panel(ctx, view); break;
        }
        ImGui::EndChild();
        record_element_rect(ctx.ui, kLessonNames[i]);
        ImGui::EndTabItem();
      }
    }
    ImGui::EndTabBar();
  }
}

}  // namespace attnscope::gui
