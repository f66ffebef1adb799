// panel_approximation.cpp — (c) what linear attention changes: for the same Q, K and V of one head, the softmax
// attention map P beside the linear-attention map φ(Q)φ(K)ᵀ normalised by rows, on one colour scale, with the
// relative difference of the two outputs and how far each row's weights moved.
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "app/gui/gl/colormap.hpp"
#include "app/gui/gl/heatmap_gl.hpp"
#include "app/gui/presenter/theme.hpp"
#include "app/gui/views/beyond/panels.hpp"
#include "app/gui/widgets/format.hpp"
#include "app/gui/widgets/layout.hpp"
#include "app/gui/widgets/widgets.hpp"

namespace attnscope::gui {
namespace {

ImU32 to_u32(const Rgba8& c) { return IM_COL32(c[0], c[1], c[2], 255); }

// One n x n map as cells at `origin`, `side` pixels square, coloured by value / max (masked cells: the frame colour).
void draw_map(ImDrawList* list, ImVec2 origin, float side, const std::vector<double>& map, int64_t n, double max,
              const std::vector<Rgba8>& colors) {
  const float cell = side / static_cast<float>(n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      const double v = map[static_cast<size_t>(i * n + j)];
      if (v <= 0) continue;
      const int index = std::clamp(static_cast<int>(v / max * static_cast<double>(colors.size() - 1)), 0,
                                   static_cast<int>(colors.size()) - 1);
      const ImVec2 a(origin.x + static_cast<float>(j) * cell, origin.y + static_cast<float>(i) * cell);
      list->AddRectFilled(a, ImVec2(a.x + cell + 0.5f, a.y + cell + 0.5f), to_u32(colors[static_cast<size_t>(index)]));
    }
  list->AddRect(origin, ImVec2(origin.x + side, origin.y + side), IM_COL32(110, 110, 120, 255));
}

}  // namespace

void draw_beyond_approximation_panel(ViewContext& ctx, BeyondViewState& view) {
  const float f = ctx.ui.font_px;
  ApproximationConfig& c = view.approximation_config;
  heading(ctx, "What the approximation changes");
  detail_after_heading("one head, the same Q, K and V · softmax exp(q·k/√d) against φ(q)·φ(k), φ = elu + 1",
                       ImGui::GetStyle().ItemSpacing.x);
  bool changed = false;
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted("N");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(f * 4);
  if (ImGui::BeginCombo("##approx_n", std::to_string(c.n).c_str())) {
    for (int64_t n : {32, 64, 128})
      if (ImGui::Selectable(std::to_string(n).c_str(), n == c.n)) changed |= std::exchange(c.n, n) != n;
    ImGui::EndCombo();
  }
  ImGui::SameLine();
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted("inputs");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(f * 7);
  const char* kinds[] = {"positional", "gaussian"};
  int kind = c.generator == Generator::Positional ? 0 : 1;
  if (ImGui::Combo("##approx_inputs", &kind, kinds, 2)) {
    c.generator = kind == 0 ? Generator::Positional : Generator::Gaussian;
    changed = true;
  }
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("positional: rotary-like Q and K, scores peak near the diagonal (local attention)\n"
                      "gaussian: i.i.d. N(0, 1) Q, K and V");
  ImGui::SameLine();
  changed |= ImGui::Checkbox("causal", &c.causal);
  if (changed) start_beyond_approximation(ctx, view);
  ImGui::SameLine();
  beyond_task_progress(ctx, kBeyondApproxChannel.name, "beyond_approx_cancel");
  if (!view.approximation) {
    ImGui::TextDisabled("Computing both maps on the worker…");
    return;
  }
  const ApproximationResult& r = *view.approximation;
  if (!r.error.empty()) {
    ImGui::TextColored(error_color(), "%s", r.error.c_str());
    return;
  }
  char buf[320];
  std::snprintf(buf, sizeof buf,
                "outputs differ by %.1f%% (‖O_linear − O_softmax‖ / ‖O_softmax‖) · rows' weights moved %.0f%% "
                "(mean total variation) · the largest weight of a row: %.2f softmax, %.2f linear",
                100 * r.output_relative_difference, 100 * r.map_total_variation, r.softmax_peak, r.linear_peak);
  ImGui::PushStyleColor(ImGuiCol_Text, warning_color());
  ImGui::TextWrapped("%s", buf);
  ImGui::PopStyleColor();
  const std::string note = "Rows are queries, columns keys; one colour scale for both maps (weight 0 … the "
                           "99th percentile of either; heavier cells in the top colour). Linear output: " + r.linear_kernel + ".";
  // One scale for both maps, topped at the 99th percentile of their non-zero weights (the first causal rows have
  // one key, weight 1, and would leave every other cell dark); heavier cells show the top colour.
  std::vector<double> weights;
  for (const auto* m : {&r.softmax_map, &r.linear_map})
    for (double v : *m)
      if (v > 0) weights.push_back(v);
  double max = 1;
  if (!weights.empty()) {
    const size_t at = static_cast<size_t>(0.99 * static_cast<double>(weights.size() - 1));
    std::nth_element(weights.begin(), weights.begin() + static_cast<std::ptrdiff_t>(at), weights.end());
    max = weights[at];
  }
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const ImVec2 spacing = ImGui::GetStyle().ItemSpacing;
  const float label_h = ImGui::GetTextLineHeightWithSpacing();
  const float note_h = ImGui::CalcTextSize(note.c_str(), nullptr, false, avail.x).y + spacing.y;
  const float bar_w = f * 4.5f;
  // At least 12 text heights a side, so each title fits above its map (the panel scrolls when that is too tall).
  const float side = std::max(f * 12, std::min((avail.x - bar_w - 3 * spacing.x) * 0.5f, avail.y - label_h - f * 1.4f - note_h - 2 * spacing.y));
  const std::vector<Rgba8> colors = make_colormap(ctx.heatmap.colormap_kind());
  const ImVec2 top = ImGui::GetCursorScreenPos();
  ImDrawList* list = ImGui::GetWindowDrawList();
  const char* titles[] = {"softmax attention P", "linear: φ(Q)φ(K)ᵀ by rows"};
  const std::vector<double>* maps[] = {&r.softmax_map, &r.linear_map};
  for (int k = 0; k < 2; ++k) {
    const ImVec2 origin(top.x + static_cast<float>(k) * (side + spacing.x), top.y + label_h);
    list->AddText(ImVec2(origin.x, top.y), ImGui::GetColorU32(ImGuiCol_Text), titles[k]);
    draw_map(list, origin, side, *maps[k], r.n, max, colors);
  }
  // The colour bar: weight 0 … max.
  const ImVec2 bar(top.x + 2 * (side + spacing.x), top.y + label_h);
  const float bar_h = side;
  for (int i = 0; i < 64; ++i) {
    const float y0 = bar.y + bar_h * (1 - static_cast<float>(i + 1) / 64), y1 = bar.y + bar_h * (1 - static_cast<float>(i) / 64);
    list->AddRectFilled(ImVec2(bar.x, y0), ImVec2(bar.x + f * 0.8f, y1 + 0.5f),
                        to_u32(colors[static_cast<size_t>(i * (static_cast<int>(colors.size()) - 1) / 63)]));
  }
  char top_label[32], mid_label[32];
  std::snprintf(top_label, sizeof top_label, "≥ %.2f", max);
  std::snprintf(mid_label, sizeof mid_label, "%.2f", max / 2);
  list->AddText(ImVec2(bar.x + f, bar.y - f * 0.5f), ImGui::GetColorU32(ImGuiCol_Text), top_label);
  list->AddText(ImVec2(bar.x + f, bar.y + bar_h * 0.5f - f * 0.5f), ImGui::GetColorU32(ImGuiCol_Text), mid_label);
  list->AddText(ImVec2(bar.x + f, bar.y + bar_h - f * 0.5f), ImGui::GetColorU32(ImGuiCol_Text), "0");
  list->AddText(ImVec2(bar.x, bar.y + bar_h + f * 0.3f), ImGui::GetColorU32(ImGuiCol_TextDisabled), "weight");
  ImGui::Dummy(ImVec2(2 * side + bar_w + 2 * spacing.x, side + label_h + f * 1.4f));
  ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
  ImGui::TextWrapped("%s", note.c_str());
  ImGui::PopStyleColor();
}

}  // namespace attnscope::gui
