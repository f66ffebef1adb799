// panel_compare.cpp — plain vs zigzag on the same inputs: the schedule's imbalance, the simulated ranks' makespan,
// the share of transfer time hidden behind compute, and the merged output's max |error| against one rank.
#include <cstdio>
#include <string>

#include "app/gui/views/ring/panels.hpp"
#include "app/gui/widgets/format.hpp"
#include "app/gui/widgets/layout.hpp"

namespace attnscope::gui::ring {

namespace {
std::string printf_text(const char* format, double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}
}  // namespace

void draw_compare(ViewContext& ctx, const RingViewState& s) {
  heading(ctx, "Plain vs zigzag");
  if (!s.result || !s.result->ok) {
    ImGui::TextDisabled("%s", s.result && !s.result->error.empty() ? s.result->error.c_str() : "computing…");
    return;
  }
  const RingViewResult& r = *s.result;
  const bool hide_times = ctx.ui.fixed_time_step > 0;  // recordings: measured times differ run to run
  if (ImGui::BeginTable("ring_compare", 3, ImGuiTableFlags_SizingStretchProp | ImGuiTableFlags_RowBg)) {
    ImGui::TableSetupColumn("", ImGuiTableColumnFlags_WidthStretch, 2.2f);
    ImGui::TableSetupColumn("plain", ImGuiTableColumnFlags_WidthStretch, 1.0f);
    ImGui::TableSetupColumn("zigzag", ImGuiTableColumnFlags_WidthStretch, 1.0f);
    ImGui::TableHeadersRow();
    auto row = [&](const char* label, const char* tip, const std::string& plain, const std::string& zigzag) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      text_fit(label);
      tooltip(tip);
      ImGui::TableNextColumn();
      text_fit(plain.c_str());
      ImGui::TableNextColumn();
      text_fit(zigzag.c_str());
    };
    row("imbalance", "Σ over steps of the busiest rank's work / of the mean work (allowed pairs); 1 = balanced",
        printf_text("%.3f", r.plain.run.plan.imbalance()), printf_text("%.3f", r.zigzag.run.plan.imbalance()));
    row("makespan", "simulated ranks: the last rank's end, compute measured on this CPU, transfers modelled",
        hide_times ? "—" : format_time_ms(r.plain.run.timeline.makespan_ms),
        hide_times ? "—" : format_time_ms(r.zigzag.run.timeline.makespan_ms));
    row("transfer hidden", "share of modelled transfer time overlapped with compute",
        hide_times ? "—" : printf_text("%.0f %%", 100 * r.plain.run.timeline.overlap_share()),
        hide_times ? "—" : printf_text("%.0f %%", 100 * r.zigzag.run.timeline.overlap_share()));
    row("max |error|", "merged output (fp32, log-sum-exp merge) against the single-rank reference (double)",
        printf_text("%.2g", r.plain.max_error), printf_text("%.2g", r.zigzag.max_error));
    ImGui::EndTable();
  }
}

}  // namespace attnscope::gui::ring
