// mode.cpp — the "Beyond attention" mode (issue 20): linear attention and a selective scan measured beside softmax
// attention, and where a transformer block's time goes. Takes the tasks' results, starts a panel's task the first
// time it is shown (each runs only while its panel is on screen), and shows one panel at a time under a tab bar.
//
// Contents: shared helpers (colours, preset picker, progress, vertical marker) · starting tasks · the mode
#include <imgui.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "app/gui/plot/plot.hpp"
#include "app/gui/shell/modes.hpp"
#include "app/gui/views/beyond/panels.hpp"
#include "app/gui/presenter/theme.hpp"
#include "app/gui/widgets/format.hpp"
#include "app/gui/widgets/widgets.hpp"

namespace attnscope::gui {

// ---------------------------------------------------------------- shared helpers
ImU32 beyond_kind_color(BeyondKind kind) {
  const auto& palette = plot::GetStyle().palette;
  switch (kind) {
    case BeyondKind::Naive: return palette[5];
    case BeyondKind::Flash: return palette[0];
    case BeyondKind::SlidingWindow: return palette[2];
    case BeyondKind::Linear: return palette[1];
    case BeyondKind::Scan: return palette[3];
  }
  return palette[7];
}

ImU32 layer_part_color(int part) {
  const auto& palette = plot::GetStyle().palette;
  static const int kColors[] = {6, 0, 4, 5};  // QKV blue, attention sky blue, out proj yellow, MLP vermillion
  return palette[kColors[std::clamp(part, 0, 3)]];
}

bool beyond_preset_combo(ViewContext& ctx, BeyondViewState& view) {
  const auto& presets = model_presets();
  bool changed = false;
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted("model");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(ctx.ui.font_px * 9);
  if (ImGui::BeginCombo("##beyond_preset", presets[static_cast<size_t>(view.preset)].title.c_str())) {
    for (size_t i = 0; i < presets.size(); ++i)
      if (ImGui::Selectable(presets[i].title.c_str(), static_cast<int>(i) == view.preset)) {
        changed = static_cast<int>(i) != view.preset;
        view.preset = static_cast<int>(i);
      }
    ImGui::EndCombo();
  }
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("The model whose block is timed and whose shapes the decode comparison uses\n%s",
                      presets[static_cast<size_t>(view.preset)].source.c_str());
  if (changed) {
    const auto& m = presets[static_cast<size_t>(view.preset)];
    view.layer_config.model = m;
    view.decode_config.model = m;
    if (view.layer_started) start_beyond_layer(ctx, view);
    if (view.decode_started) start_beyond_decode(ctx, view);
  }
  return changed;
}

bool beyond_task_progress(ViewContext& ctx, const char* channel, const char* cancel_id) {
  const TaskState st = ctx.worker->task_state(channel);
  if (!st.pending && !st.running) {
    if (!st.error.empty()) ImGui::TextColored(error_color(), "failed: %s", st.error.c_str());
    return false;
  }
  const float cancel_w = ImGui::CalcTextSize("Cancel").x + ImGui::GetStyle().FramePadding.x * 2;
  char overlay[64];
  std::snprintf(overlay, sizeof overlay, st.running ? "%.0f%% · %s" : "waiting for the worker", 100 * st.progress,
                format_time_ms(st.seconds * 1e3).c_str());
  ImGui::ProgressBar(static_cast<float>(st.progress),
                     ImVec2(std::max(ctx.ui.font_px * 6, ImGui::GetContentRegionAvail().x - cancel_w -
                                                             ImGui::GetStyle().ItemSpacing.x),
                            0),
                     overlay);
  ImGui::SameLine();
  ImGui::PushID(cancel_id);
  if (ImGui::Button("Cancel")) ctx.worker->cancel_task(channel);
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("Stop after the step that is running now; what was measured stays");
  ImGui::PopID();
  if (!st.status.empty()) ImGui::TextDisabled("%s", st.status.c_str());
  return true;
}

void plot_vertical_marker(const char* id, double x, double y0, double y1, ImU32 color, const char* text) {
  const double xs[] = {x, x}, ys[] = {y0, y1};
  plot::ItemStyle style;
  style.color = color;
  style.dashed = true;
  style.in_legend = false;
  style.line_weight = 1.5f;
  plot::PlotLine(id, xs, ys, 2, style);
  if (text && *text) plot::PlotText(text, x, y1, ImVec2(4, 2), color);
}

// ---------------------------------------------------------------- starting tasks
void start_beyond_sweep(ViewContext& ctx, BeyondViewState& view) {
  view.live = std::make_shared<BeyondSweepLive>();
  view.live_version_seen = 0;
  view.sweep.reset();
  view.sweep_started = true;
  ctx.worker->submit_task(kBeyondSweepChannel, make_beyond_sweep_task(view.sweep_config, view.live));
}

void start_beyond_layer(ViewContext& ctx, BeyondViewState& view) {
  view.layer.reset();
  view.layer_started = true;
  ctx.worker->submit_task(kBeyondLayerChannel, make_layer_sweep_task(view.layer_config));
}

void start_beyond_decode(ViewContext& ctx, BeyondViewState& view) {
  view.decode.reset();
  view.decode_started = true;
  ctx.worker->submit_task(kBeyondDecodeChannel, make_beyond_decode_task(view.decode_config));
}

void start_beyond_approximation(ViewContext& ctx, BeyondViewState& view) {
  view.approximation_started = true;
  ctx.worker->submit_task(kBeyondApproxChannel, make_approximation_task(view.approximation_config));
}

// ---------------------------------------------------------------- the mode
namespace {

void take_results(ViewContext& ctx, BeyondViewState& view) {
  ComputeWorker& worker = *ctx.worker;
  if (auto s = worker.take_task_result(kBeyondSweepChannel)) {
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
  if (auto l = worker.take_task_result(kBeyondLayerChannel)) view.layer = std::move(*l);
  if (auto d = worker.take_task_result(kBeyondDecodeChannel)) view.decode = std::move(*d);
  if (auto a = worker.take_task_result(kBeyondApproxChannel)) view.approximation = std::move(*a);
}

}  // namespace

void draw_beyond_mode(ViewContext& ctx) {
  BeyondViewState& view = ctx.ui.beyond;
  if (!ctx.worker) return;
  if (ctx.ui.view_request.mode == "Beyond attention") {
    for (int i = 0; i < 4; ++i)
      if (ctx.ui.view_request.panel == kBeyondLessonNames[i]) view.requested_panel = kBeyondPanelNames[i];
    const auto& presets = model_presets();
    for (size_t i = 0; i < presets.size(); ++i)
      if (!ctx.ui.view_request.model.empty() && presets[i].name == ctx.ui.view_request.model && view.preset != static_cast<int>(i)) {
        view.preset = static_cast<int>(i);
        view.configured = false;
        view.layer_started = view.decode_started = false;
      }
    ctx.ui.view_request = ViewRequest{};
  }
  if (!view.configured) {
    const SpecResult spec = to_spec(ctx.state.config, ctx.worker->limits());
    configure_beyond(view, spec.ok ? spec.spec : AttentionSpec{}, ctx.state.capabilities);
  }
  take_results(ctx, view);

  if (ImGui::BeginTabBar("beyond_panels")) {
    for (int i = 0; i < 4; ++i) {
      ImGuiTabItemFlags flags = 0;
      if (!view.requested_panel.empty() && view.requested_panel == kBeyondPanelNames[i]) {
        flags |= ImGuiTabItemFlags_SetSelected;
        view.requested_panel.clear();
      }
      if (ImGui::BeginTabItem(kBeyondPanelNames[i], nullptr, flags)) {
        view.panel = static_cast<BeyondPanel>(i);
        if (view.requested_panel.empty()) {
          // A panel's task starts, and runs, only while it is shown (not in a frame switching away).
          switch (view.panel) {
            case BeyondPanel::Scaling:
              ctx.worker->mark_visible(kBeyondSweepView);
              if (!view.sweep_started) start_beyond_sweep(ctx, view);
              break;
            case BeyondPanel::Layer:
              ctx.worker->mark_visible(kBeyondLayerView);
              if (!view.layer_started) start_beyond_layer(ctx, view);
              break;
            case BeyondPanel::Decode:
              ctx.worker->mark_visible(kBeyondDecodeView);
              if (!view.decode_started) start_beyond_decode(ctx, view);
              break;
            case BeyondPanel::Approximation:
              ctx.worker->mark_visible(kBeyondApproxView);
              if (!view.approximation_started) start_beyond_approximation(ctx, view);
              break;
          }
        }
        ImGui::BeginChild("beyond_panel", ImVec2(0, 0), false);
        switch (view.panel) {
          case BeyondPanel::Scaling: draw_beyond_sweep_panel(ctx, view); break;
          case BeyondPanel::Layer: draw_beyond_layer_panel(ctx, view); break;
          case BeyondPanel::Decode: draw_beyond_decode_panel(ctx, view); break;
          case BeyondPanel::Approximation: draw_beyond_approximation_panel(ctx, view); break;
        }
        ImGui::EndChild();
        record_element_rect(ctx.ui, kBeyondLessonNames[i]);
        ImGui::EndTabItem();
      }
    }
    ImGui::EndTabBar();
  }
}

}  // namespace attnscope::gui
