// panel_counters.cpp — naive against the chosen flash order on the traced experiment: bytes moved to and from
// main memory by the cost model (core/cost_model.hpp; hover a cell for its formula), the backend's measured time
// (untraced runs: median, min–max), memory allocated beyond Q, K, V and O, and the traced run's span (tracing
// costs time; the backend does not report the overhead itself, so the traced span is shown beside the median).
#include <imgui.h>

#include <cstdio>
#include <string>

#include "app/gui/views/flash/panels.hpp"
#include "app/gui/widgets/layout.hpp"
#include "app/gui/runtime/run_dtype.hpp"
#include "app/gui/presenter/theme.hpp"

namespace attnscope::gui {
namespace {

void cost_tooltip(const AlgorithmCost& cost) {
  if (!ImGui::IsItemHovered() || cost.lines.empty()) return;
  ImGui::BeginTooltip();
  for (const CostLine& l : cost.lines)
    ImGui::Text("%s = %s   [%s = %s]", l.label.c_str(),
                (l.unit == "B" ? format_bytes(l.value) : format_si(l.value, l.unit)).c_str(), l.formula.c_str(),
                l.substituted.c_str());
  ImGui::EndTooltip();
}

// "36.2 ms (31.6 – 40.1)": median, then min – max in the median's unit.
std::string timing_text(const FlashRunSummary& s) {
  if (!s.ok) return "—";
  return format_time_range_ms(s.timing.median_ms, s.timing.min_ms, s.timing.max_ms);
}

std::string ratio_text(double a, double b) {
  if (!(a > 0) || !(b > 0)) return "—";
  char buf[32];
  std::snprintf(buf, sizeof buf, "×%.3g", a / b);
  return buf;
}

}  // namespace

void draw_flash_counters_panel(FlashFrame& f) {
  const FlashViewResult& r = f.result;
  const FlashRunSummary& naive = r.naive;
  const FlashRunSummary& flash = r.flash;
  const bool gpu = f.ctx.state.capabilities.sm_traces;  // a GPU run: HBM and SMs
  // Columns as wide as their content; when they add up to more than the panel, the table scrolls sideways (its
  // height: the header, three rows and the scroll bar).
  const ImGuiStyle& style = ImGui::GetStyle();
  const ImGuiTableFlags flags = ImGuiTableFlags_BordersInnerH | ImGuiTableFlags_BordersOuterH |
                                ImGuiTableFlags_SizingFixedFit | ImGuiTableFlags_RowBg | ImGuiTableFlags_ScrollX;
  const float table_h = 4 * (ImGui::GetTextLineHeight() + 2 * style.CellPadding.y) + style.ScrollbarSize + 2;
  if (ImGui::BeginTable("counters", 5, flags, ImVec2(0, table_h))) {
    ImGui::TableSetupColumn("algorithm");
    ImGui::TableSetupColumn(gpu ? "HBM bytes" : "bytes moved");
    ImGui::TableSetupColumn("time: median (range)");
    ImGui::TableSetupColumn("allocated");
    ImGui::TableSetupColumn("FLOPs", ImGuiTableColumnFlags_WidthStretch);
    ImGui::TableHeadersRow();
    if (ImGui::IsItemHovered())
      ImGui::SetTooltip("bytes and FLOPs: the cost model (hover a value for its formula);\n"
                        "time: the backend's untraced runs (one warm-up, then %d timed)", kFlashTimedRuns);
    auto row = [&](const char* name, const FlashRunSummary& s) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(name);
      if (!s.kernel.empty() && ImGui::IsItemHovered()) ImGui::SetTooltip("kernel: %s", s.kernel.c_str());
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(format_bytes(s.cost.hbm_bytes).c_str());
      cost_tooltip(s.cost);
      ImGui::TableNextColumn();
      if (s.ok) {
        ImGui::TextUnformatted(timing_text(s).c_str());
        if (s.timing.noisy()) {  // the repetitions disagree: said beside the figure, why on hover
          ImGui::SameLine();
          ImGui::TextColored(warning_color(), "noisy");
          if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", s.timing.noisy_text().c_str());
        }
      } else {
        ImGui::TextColored(error_color(), "failed");
        if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", s.error.c_str());
      }
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(s.ok ? format_bytes(static_cast<double>(s.bytes_allocated)).c_str() : "—");
      if (ImGui::IsItemHovered()) ImGui::SetTooltip("what the algorithm allocated beyond Q, K, V and O (S and P, workspace)");
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(format_si(s.cost.flops, "FLOP").c_str());
      cost_tooltip(s.cost);
    };
    // Named with the dtype they ran at (the same for both; flash-tc never runs fp32, the fp32 kernels only fp32 on CUDA).
    const std::string naive_name = algorithm_with_dtype(Algorithm::Naive, naive.dtype),
                      flash_name = algorithm_with_dtype(flash.algorithm, flash.dtype);
    row(naive_name.c_str(), naive);
    row(flash_name.c_str(), flash);
    ImGui::TableNextRow();
    ImGui::TableNextColumn();
    ImGui::TextDisabled("naive ÷ it");
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("naive's value divided by %s's", algorithm_name(flash.algorithm));
    ImGui::TableNextColumn();
    ImGui::TextUnformatted(ratio_text(naive.cost.hbm_bytes, flash.cost.hbm_bytes).c_str());
    ImGui::TableNextColumn();
    ImGui::TextUnformatted(naive.ok && flash.ok ? ratio_text(naive.timing.median_ms, flash.timing.median_ms).c_str() : "—");
    ImGui::TableNextColumn();
    ImGui::TableNextColumn();
    ImGui::TextUnformatted(ratio_text(naive.cost.flops, flash.cost.flops).c_str());
    ImGui::EndTable();
  }
  // Tracing: the replayed run is an extra, traced run; its span beside the untraced median.
  char buf[256];
  if (flash.ok)
    std::snprintf(buf, sizeof buf, "traced run (replayed): %s first tile to last · traced ÷ untraced median %s",
                  format_time_ns(r.traced_span_ms * 1e6).c_str(),
                  ratio_text(r.traced_span_ms, flash.timing.median_ms).c_str());
  else
    std::snprintf(buf, sizeof buf, "traced run (replayed): %s first tile to last",
                  format_time_ns(r.traced_span_ms * 1e6).c_str());
  ImGui::PushStyleColor(ImGuiCol_Text, style.Colors[ImGuiCol_TextDisabled]);
  const std::string shown = fit_with_ellipsis(buf, ImGui::GetContentRegionAvail().x);
  ImGui::TextUnformatted(shown.c_str());
  ImGui::PopStyleColor();
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("%s%sTracing reads the clock around every tile step and records probes, so it costs time.\n"
                      "The backend does not report that overhead itself: the traced run's span (first tile start to\n"
                      "last tile end) is shown beside the untraced median (which includes the whole call).",
                      shown == buf ? "" : buf, shown == buf ? "" : "\n\n");
}

}  // namespace attnscope::gui
