// panel_memory.cpp — peak memory of training against inference, measured by the backend for the experiment: for
// naive and for flash three stacked bars (forward-only = inference; forward + saved = what the forward of training
// holds when it ends; forward + backward = the peak of the backward pass), each cut by what holds the bytes
// (Q/K/V/O, saved P or lse, dO and the gradients, workspace), on a linear byte axis, with the capacity the backend
// may use drawn as a line when it is on the scale and named in words either way.
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "app/gui/presenter/theme.hpp"
#include "app/gui/views/scaling/panels.hpp"
#include "app/gui/views/training/panels.hpp"
#include "app/gui/widgets/layout.hpp"

namespace attnscope::gui {
namespace {

constexpr const char* kStageNames[] = {"inference", "+ saved", "+ backward"};
constexpr const char* kStageShortNames[] = {"inf.", "+ sav.", "+ bwd"};  // when the full names do not fit a bar's slot

const TrainingMemory& stage_of(const BackwardRunResult& r, int stage) {
  return stage == 0 ? r.forward_only : stage == 1 ? r.forward_saved : r.forward_backward;
}

// A tick step in bytes: a power of two giving about four ticks under `top`.
double tick_step(double top) { return std::exp2(std::ceil(std::log2(std::max(top, 1.0) / 4.0))); }

}  // namespace

void draw_training_memory_panel(ViewContext& ctx, TrainingViewState& view, float height) {
  const float f = ctx.ui.font_px;
  heading(ctx, "Training vs inference: peak memory by what holds it");
  if (!view.run) {
    ImGui::TextDisabled("Training the experiment with naive and flash on the worker…");
    return;
  }
  const TrainingRun& run = *view.run;
  char detail[200];
  std::snprintf(detail, sizeof detail, "%s · %s backend · measured: the bytes the passes allocated",
                run.experiment.c_str(), ctx.state.backend_name.c_str());
  detail_after_heading(detail, ImGui::GetStyle().ItemSpacing.x);

  const BackwardRunResult* results[] = {&run.naive, &run.flash};
  const Algorithm algorithms[] = {Algorithm::Naive, Algorithm::Flash};
  double top = 0;
  for (const BackwardRunResult* r : results)
    for (int s = 0; s < 3; ++s) top = std::max(top, static_cast<double>(stage_of(*r, s).total()));
  const uint64_t capacity = std::max(run.naive.capacity_bytes, run.flash.capacity_bytes);
  const std::string capacity_words = run.naive.capacity_words.empty() ? run.flash.capacity_words : run.naive.capacity_words;
  // The capacity is drawn when it is within 1.5× the tallest bar; far above, the bars would be slivers.
  const bool capacity_on_scale = capacity > 0 && static_cast<double>(capacity) <= 1.5 * top;
  if (capacity_on_scale) top = static_cast<double>(capacity);
  const double step = tick_step(top * 1.05);
  const double axis_top = std::ceil(top * 1.05 / step) * step;

  std::string lines;
  for (int a = 0; a < 2; ++a) {
    const BackwardRunResult& r = *results[a];
    if (!r.ok || r.forward_only.total() == 0) continue;
    char buf[200];
    std::snprintf(buf, sizeof buf, "%s: training peak %.1f× inference\n", algorithm_name(algorithms[a]),
                  static_cast<double>(r.forward_backward.total()) / static_cast<double>(r.forward_only.total()));
    lines += buf;
  }
  if (run.naive.ok && run.flash.ok && run.flash.forward_backward.saved > 0) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "saved P / saved lse: %.0f×\n",
                  static_cast<double>(run.naive.forward_backward.saved) /
                      static_cast<double>(run.flash.forward_backward.saved));
    lines += buf;
  }
  lines += "capacity: " + (capacity ? format_bytes(static_cast<double>(capacity)) : std::string("unknown")) + ", " +
           (capacity_words.empty() ? std::string("not reported") : capacity_words) +
           (capacity && !capacity_on_scale ? " (off the scale)" : "");
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const float avail_w = ImGui::GetContentRegionAvail().x;
  const float legend_w = std::min(avail_w * 0.36f, f * 17);
  const float axis_w = ImGui::CalcTextSize("1023.9 MiB").x + f * 0.5f;
  const float line_h = ImGui::GetTextLineHeight();
  // Tall enough for the legend column beside the bars (its ratios wrap when the text is large).
  const float legend_h = line_h * (2.0f + 1.3f + 4 * 1.25f + 0.5f) +
                         ImGui::CalcTextSize(lines.c_str(), nullptr, false, legend_w).y;
  height = std::max(height, legend_h + line_h);
  const float plot_x0 = origin.x + axis_w, plot_x1 = origin.x + avail_w - legend_w - f;
  const float plot_y0 = origin.y + line_h * 2.0f, plot_y1 = origin.y + height - line_h * 2.6f;
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImU32 text = ImGui::GetColorU32(ImGuiCol_Text), dim = ImGui::GetColorU32(ImGuiCol_TextDisabled);
  auto y_of = [&](double bytes) {
    return plot_y1 - static_cast<float>(bytes / axis_top) * (plot_y1 - plot_y0);
  };
  ImGui::Dummy(ImVec2(avail_w, height));
  if (plot_y1 - plot_y0 < line_h * 3 || plot_x1 - plot_x0 < f * 8) return;

  dl->AddText(ImVec2(origin.x, origin.y), dim, "peak memory (bytes)");
  for (double v = 0; v <= axis_top + step * 0.01; v += step) {
    const float y = y_of(v);
    dl->AddLine(ImVec2(plot_x0, y), ImVec2(plot_x1, y), IM_COL32(255, 255, 255, 30));
    const std::string label = format_bytes(v);
    const ImVec2 size = ImGui::CalcTextSize(label.c_str());
    dl->AddText(ImVec2(plot_x0 - size.x - f * 0.3f, y - size.y * 0.5f), dim, label.c_str());
  }
  // Two groups of three bars.
  const float group_w = (plot_x1 - plot_x0) / 2;
  const float bar_w = group_w / 3.0f * 0.62f;
  std::string hovered;
  for (int a = 0; a < 2; ++a) {
    const BackwardRunResult& r = *results[a];
    const float gx = plot_x0 + group_w * static_cast<float>(a);
    const std::string name = algorithm_name(algorithms[a]);
    const ImVec2 name_size = ImGui::CalcTextSize(name.c_str());
    dl->AddText(ImVec2(gx + (group_w - name_size.x) / 2, plot_y1 + line_h * 1.25f), algorithm_color(algorithms[a]),
                name.c_str());
    if (!r.ok) {
      const std::string why = r.error.empty() ? "not run" : r.error;
      dl->AddText(nullptr, 0, ImVec2(gx + f * 0.5f, plot_y0 + line_h), ImGui::ColorConvertFloat4ToU32(error_color()), why.c_str(), nullptr,
                  group_w - f);
      if (!r.out_of_memory) continue;
    }
    for (int s = 0; s < 3; ++s) {
      const TrainingMemory& m = stage_of(r, s);
      if (!r.ok && s < 2) continue;  // refused: only the predicted peak
      const float cx = gx + group_w * (static_cast<float>(s) + 0.5f) / 3.0f;
      const float x0 = cx - bar_w / 2, x1 = cx + bar_w / 2;
      double below = 0;
      const auto segments = memory_segments(m, algorithms[a]);
      for (int k = 0; k < 4; ++k) {
        const double bytes = static_cast<double>(segments[static_cast<size_t>(k)].bytes);
        if (bytes <= 0) continue;
        const float ya = y_of(below), yb = y_of(std::min(below + bytes, axis_top));
        dl->AddRectFilled(ImVec2(x0, yb), ImVec2(x1, ya), memory_category_color(k));
        if (ImGui::IsMouseHoveringRect(ImVec2(x0, yb), ImVec2(x1, ya)))
          hovered = name + ", " + kStageNames[s] + ": " + segments[static_cast<size_t>(k)].category + " " +
                    format_bytes(bytes);
        below += bytes;
      }
      dl->AddRect(ImVec2(x0, y_of(std::min(below, axis_top))), ImVec2(x1, plot_y1), IM_COL32(20, 22, 26, 255));
      // The total above the bar, rounded when the exact form is wider than the bar's slot.
      const float slot = group_w / 3.0f - 4;
      std::string total = (r.ok ? "" : "needs ") + format_bytes(static_cast<double>(m.total()));
      if (ImGui::CalcTextSize(total.c_str()).x > slot) total = format_bytes_in_unit(static_cast<double>(m.total()), binary_unit_of(static_cast<double>(m.total())), 0);
      const ImVec2 ts = ImGui::CalcTextSize(total.c_str());
      dl->AddText(ImVec2(cx - ts.x / 2, y_of(std::min(below, axis_top)) - ts.y - 2), text, total.c_str());
      bool full_names = true;
      for (const char* n : kStageNames) full_names = full_names && ImGui::CalcTextSize(n).x <= slot;
      const char* stage = full_names ? kStageNames[s] : kStageShortNames[s];
      const ImVec2 ss = ImGui::CalcTextSize(stage);
      dl->AddText(ImVec2(cx - ss.x / 2, plot_y1 + 2), dim, stage);
    }
  }
  dl->AddLine(ImVec2(plot_x0, plot_y1), ImVec2(plot_x1, plot_y1), dim);
  if (capacity_on_scale) {
    const float y = y_of(static_cast<double>(capacity));
    dl->AddLine(ImVec2(plot_x0, y), ImVec2(plot_x1, y), ImGui::ColorConvertFloat4ToU32(error_color()), 2.0f);
    dl->AddText(ImVec2(plot_x0 + 4, y - line_h - 1), ImGui::ColorConvertFloat4ToU32(error_color()), "capacity");
  }

  // Legend and the ratios beside the bars.
  const float lx = plot_x1 + f;
  float ly = plot_y0;
  dl->AddText(ImVec2(lx, ly), text, "what holds the bytes");
  ly += line_h * 1.3f;
  const char* categories[] = {"Q, K, V, O", "saved: P (naive), lse (flash)", "dO, dQ, dK, dV", "workspace"};
  for (int k = 0; k < 4; ++k) {
    dl->AddRectFilled(ImVec2(lx, ly + 2), ImVec2(lx + line_h - 4, ly + line_h - 2), memory_category_color(k));
    dl->AddText(nullptr, 0, ImVec2(lx + line_h + 2, ly), text, categories[k], nullptr, legend_w - line_h);
    ly += line_h * 1.25f;
  }
  ly += line_h * 0.5f;
  dl->AddText(nullptr, 0, ImVec2(lx, ly), dim, lines.c_str(), nullptr, legend_w);
  if (!hovered.empty()) ImGui::SetTooltip("%s", hovered.c_str());
}

}  // namespace attnscope::gui
