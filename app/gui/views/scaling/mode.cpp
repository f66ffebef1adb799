// mode.cpp — the Scaling mode: what attention costs as it runs. Starts the worker tasks (ceilings once,
// a timing run whenever the experiment changes, the N sweep when its panel is first shown), takes their results, and shows one
// panel at a time under a tab bar (Scaling, Timing, Memory, Roofline).
//
// Contents
//   shared helpers  algorithm_color, scaling_heading, task_progress, format_ms, format_flops_rate, format_tokens
//   the mode        draw_scaling_mode: take results -> start tasks -> panel tabs
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "app/gui/shell/modes.hpp"
#include "app/gui/widgets/widgets.hpp"
#include "app/gui/plot/plot.hpp"
#include "app/gui/views/scaling/panels.hpp"
#include "app/gui/presenter/theme.hpp"

namespace attnscope::gui {

// ---------------------------------------------------------------- shared helpers
ImU32 algorithm_color(Algorithm algorithm) {
  const auto& palette = plot::GetStyle().palette;
  switch (algorithm) {
    case Algorithm::Naive: return palette[5];
    case Algorithm::Flash: return palette[0];
    case Algorithm::BlockSparse: return palette[2];
    case Algorithm::Flash1: return palette[7];  // grey: orange would sit next to naive's vermillion
    case Algorithm::Gathered: return palette[4];
    case Algorithm::FlashTensorCore: return palette[3];  // reddish purple: apart from naive's vermillion
    case Algorithm::Decode: return palette[6];
    case Algorithm::Reference: return palette[7];
  }
  return palette[7];
}

void algorithm_label(Algorithm algorithm) { algorithm_label(algorithm, algorithm_name(algorithm)); }

void algorithm_label(Algorithm algorithm, const std::string& text) {
  ImGui::PushStyleColor(ImGuiCol_Text, algorithm_color(algorithm));
  ImGui::TextUnformatted(text.c_str());
  ImGui::PopStyleColor();
}

void timing_label_cell(const AlgorithmTiming& a, const AttentionSpec& experiment) {
  auto tooltip = [&] {
    if (!ImGui::IsItemHovered()) return;
    std::string text = timing_label(a);
    if (!a.kernel.empty()) text += "\nkernel: " + a.kernel;
    if (a.dtype_substituted)
      text += std::string("\n* ran at ") + dtype_name(a.dtype) + " on the same values: the experiment's " +
              dtype_name(experiment.dtype) + " is refused here (" + a.dtype_refused + ")";
    ImGui::SetTooltip("%s", text.c_str());
  };
  algorithm_label(a.algorithm, timing_label(a));
  tooltip();
  if (a.dtype_substituted) {
    ImGui::SameLine(0, 0);
    ImGui::TextDisabled("*");
    tooltip();
  }
}

bool task_progress(ViewContext& ctx, const char* channel, const char* cancel_id, bool cancellable) {
  if (!ctx.worker) return false;
  const TaskState st = ctx.worker->task_state(channel);
  if (!st.pending && !st.running) {
    if (!st.error.empty()) ImGui::TextColored(error_color(), "failed: %s", st.error.c_str());
    return false;
  }
  const float cancel_w =
      cancellable ? ImGui::CalcTextSize("Cancel").x + ImGui::GetStyle().FramePadding.x * 2 : -ImGui::GetStyle().ItemSpacing.x;
  char overlay[64];
  std::snprintf(overlay, sizeof overlay, st.running ? "%.0f%% · %s" : "waiting for the worker", 100 * st.progress,
                format_time_ms(st.seconds * 1e3).c_str());
  ImGui::ProgressBar(static_cast<float>(st.progress),
                     ImVec2(std::max(ctx.ui.font_px * 6, ImGui::GetContentRegionAvail().x - cancel_w -
                                                             ImGui::GetStyle().ItemSpacing.x),
                            0),
                     overlay);
  if (cancellable) {
    ImGui::SameLine();
    ImGui::PushID(cancel_id);
    if (ImGui::Button("Cancel")) ctx.worker->cancel_task(channel);
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Stop after the step that is running now; what was measured stays");
    ImGui::PopID();
  }
  if (!st.status.empty()) ImGui::TextDisabled("%s", st.status.c_str());
  return true;
}

// ---------------------------------------------------------------- the mode
namespace {

void take_results(ViewContext& ctx, ScalingViewState& view) {
  ComputeWorker& worker = *ctx.worker;
  if (auto run = worker.take_task_result(kTimingChannel)) view.history.push_back(std::move(*run));
  if (auto c = worker.take_task_result(kCeilingsChannel)) view.ceilings = std::move(*c);
  if (auto s = worker.take_task_result(kSweepChannel)) {
    view.sweep = std::move(*s);
    view.live.reset();
  }
  if (view.live) {
    std::lock_guard lock(view.live->mutex);
    if (view.live->version != view.live_version_seen) {
      view.live_version_seen = view.live->version;
      view.sweep = view.live->partial;  // a few dozen points: copied only when one arrives
    }
  }
}

}  // namespace

void start_sweep(ViewContext& ctx, ScalingViewState& view) {
  view.live = std::make_shared<SweepLive>();
  view.live_version_seen = 0;
  view.sweep.reset();
  view.sweep_started = true;
  ctx.worker->submit_task(kSweepChannel, make_sweep_task(view.sweep_config, view.live));
}

void start_timing(ViewContext& ctx, ScalingViewState& view) {
  const SpecResult spec = to_spec(ctx.state.config, ctx.worker->limits());
  if (!spec.ok) return;
  view.timed_generation = ctx.state.generation;
  ctx.worker->submit_task(kTimingChannel,
                          make_timing_task(ctx.state.config, spec.spec, view.timing_repetitions, ++view.runs_started));
}

void draw_scaling_mode(ViewContext& ctx) {
  ScalingViewState& view = ctx.ui.scaling;
  if (!ctx.worker) return;
  // A lesson's or scene's panel ("timing") selects its tab.
  static const char* const kLessonNames[] = {"sweep", "timing", "memory", "roofline"};  // kScalingPanelNames' order
  if (ctx.ui.view_request.mode == "Scaling") {
    for (int i = 0; i < 4; ++i)
      if (ctx.ui.view_request.panel == kLessonNames[i]) view.requested_panel = kScalingPanelNames[i];
    ctx.ui.view_request = ViewRequest{};
  }
  take_results(ctx, view);

  // Tasks, in the order they should run: the ceilings (about a second), the experiment's timing, the sweep.
  if (!view.ceilings_requested) {
    view.ceilings_requested = true;
    ctx.worker->submit_task(kCeilingsChannel, make_ceilings_task());
  }
  if (view.auto_time && ctx.state.generation > 0 && view.timed_generation != ctx.state.generation &&
      ctx.state.errors.empty())
    start_timing(ctx, view);
  if (!view.sweep_configured) {
    const SpecResult spec = to_spec(ctx.state.config, ctx.worker->limits());
    view.sweep_config = initial_sweep_config(spec.ok ? spec.spec : AttentionSpec{}, ctx.state.capabilities,
                                             view.sparse_mask);
    view.sweep_configured = true;
  }

  if (ImGui::BeginTabBar("scaling_panels")) {
    for (int i = 0; i < 4; ++i) {
      ImGuiTabItemFlags flags = 0;
      if (!view.requested_panel.empty() && view.requested_panel == kScalingPanelNames[i]) {
        flags |= ImGuiTabItemFlags_SetSelected;
        view.requested_panel.clear();
      }
      if (ImGui::BeginTabItem(kScalingPanelNames[i], nullptr, flags)) {
        view.panel = static_cast<ScalingPanel>(i);
        // The sweep is started, and runs, only while its panel is shown (not in a frame that is switching away).
        if (view.panel == ScalingPanel::Scaling && view.requested_panel.empty()) {
          ctx.worker->mark_visible(kSweepView);
          if (!view.sweep_started) start_sweep(ctx, view);
        }
        // Scrolls vertically when large text makes a panel's minimum sizes taller than the window.
        ImGui::BeginChild("scaling_panel", ImVec2(0, 0), false);
        switch (view.panel) {
          case ScalingPanel::Scaling: draw_sweep_panel(ctx, view); break;
          case ScalingPanel::Timing: draw_timing_panel(ctx, view); break;
          case ScalingPanel::Memory: draw_memory_panel(ctx, view); break;
          case ScalingPanel::Roofline: draw_roofline_panel(ctx, view); break;
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
