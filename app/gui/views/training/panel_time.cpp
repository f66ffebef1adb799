// panel_time.cpp — forward and backward time of naive and flash on the experiment (medians with min–max of the
// timed repetitions, measured by the backend), the backward's share, and the cost model's FLOPs: the backward does
// four matrix products from the saved P (naive) or five with S recomputed (flash), against the forward's two.
#include <imgui.h>

#include <cstdio>

#include "app/gui/presenter/theme.hpp"
#include "core/cost_model.hpp"
#include "app/gui/views/scaling/panels.hpp"
#include "app/gui/views/training/panels.hpp"

namespace attnscope::gui {

void draw_training_time_panel(ViewContext& ctx, TrainingViewState& view) {
  section_heading(ctx, "Forward and backward time");
  if (!view.run) return;
  const TrainingRun& run = *view.run;
  const BackwardRunResult* results[] = {&run.naive, &run.flash};
  const Algorithm algorithms[] = {Algorithm::Naive, Algorithm::Flash};
  // Columns as wide as their text; the table scrolls sideways when the panel is narrower.
  const ImGuiTableFlags flags = ImGuiTableFlags_BordersInnerH | ImGuiTableFlags_SizingFixedFit |
                                ImGuiTableFlags_ScrollX;
  const float table_h = ImGui::GetTextLineHeightWithSpacing() * 3.2f + ImGui::GetStyle().ScrollbarSize;
  if (ImGui::BeginTable("training_time", 6, flags, ImVec2(0, table_h))) {
    ImGui::TableSetupColumn("algorithm");
    ImGui::TableSetupColumn("forward (median, min–max)");
    ImGui::TableSetupColumn("backward (median, min–max)");
    ImGui::TableSetupColumn("backward ÷ forward");
    ImGui::TableSetupColumn("FLOPs fwd / bwd");
    ImGui::TableSetupColumn("peak: training ÷ inference");
    ImGui::TableHeadersRow();
    for (int a = 0; a < 2; ++a) {
      const BackwardRunResult& r = *results[a];
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      algorithm_label(algorithms[a]);
      if (ImGui::IsItemHovered() && !r.kernel.empty()) ImGui::SetTooltip("%s", r.kernel.c_str());
      ImGui::TableNextColumn();
      if (!r.ok) {
        ImGui::TextColored(error_color(), "%s", r.out_of_memory ? "out of memory" : "not run");
        if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", r.error.c_str());
        continue;
      }
      ImGui::TextUnformatted(format_time_range_ms(r.forward_timing.median_ms, r.forward_timing.min_ms,
                                                  r.forward_timing.max_ms).c_str());
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(format_time_range_ms(r.backward_timing.median_ms, r.backward_timing.min_ms,
                                                  r.backward_timing.max_ms).c_str());
      ImGui::TableNextColumn();
      ImGui::Text("%.2f×", r.forward_timing.median_ms > 0 ? r.backward_timing.median_ms / r.forward_timing.median_ms : 0.0);
      ImGui::TableNextColumn();
      ImGui::Text("%s / %s", format_si(r.forward_flops, "FLOP").c_str(), format_si(r.backward_flops, "FLOP").c_str());
      ImGui::TableNextColumn();
      ImGui::Text("%.1f×", r.forward_only.total() ? static_cast<double>(r.forward_backward.total()) /
                                                        static_cast<double>(r.forward_only.total())
                                                  : 0.0);
    }
    ImGui::EndTable();
  }
  ImGui::TextDisabled("%d timed runs after one warm-up; the forward is training's (it keeps P or lse)",
                      kTrainingTimedRuns);
}

}  // namespace attnscope::gui
