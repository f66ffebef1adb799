// panel_versions.cpp — FlashAttention v1 → v3 measured on the traced experiment: FA-1's loop order, FA-2's and the
// FA-3 design (the warp-specialised Hopper kernel), each timed untraced by the backend at one dtype, with the bytes
// the cost model says it moves to and from main memory and the throughput that time implies. A version this backend
// cannot run says why instead of a number. Choosing an order in the toolbar replays that version's trace.
#include <imgui.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "app/gui/presenter/theme.hpp"
#include "app/gui/runtime/run_dtype.hpp"
#include "app/gui/views/flash/panels.hpp"
#include "app/gui/widgets/layout.hpp"

namespace attnscope::gui {
namespace {

const FlashVersionRow* find_version(const FlashViewResult& r, const char* name) {
  for (const auto& v : r.versions)
    if (v.version == name) return &v;
  return nullptr;
}

bool measured(const FlashVersionRow& v) { return v.refused.empty() && v.run.ok && v.run.timing.median_ms > 0; }

}  // namespace

void draw_flash_versions_panel(FlashFrame& f) {
  const FlashViewResult& r = f.result;
  const bool gpu = f.ctx.state.capabilities.sm_traces;
  const ImGuiStyle& style = ImGui::GetStyle();
  const ImGuiTableFlags flags = ImGuiTableFlags_BordersInnerH | ImGuiTableFlags_BordersOuterH |
                                ImGuiTableFlags_SizingFixedFit | ImGuiTableFlags_RowBg | ImGuiTableFlags_ScrollX;
  const float table_h = 4 * (ImGui::GetTextLineHeight() + 2 * style.CellPadding.y) + style.ScrollbarSize + 2;
  const FlashVersionRow* fa1 = find_version(r, "FA-1");
  const double fa1_ms = fa1 && measured(*fa1) ? fa1->run.timing.median_ms : 0;
  if (ImGui::BeginTable("versions", 6, flags, ImVec2(0, table_h))) {
    ImGui::TableSetupColumn("version");
    ImGui::TableSetupColumn("ran");
    ImGui::TableSetupColumn("time (median)");
    ImGui::TableSetupColumn("× FA-1");
    ImGui::TableSetupColumn(gpu ? "HBM bytes" : "bytes moved");
    ImGui::TableSetupColumn("throughput");
    ImGui::TableHeadersRow();
    if (ImGui::IsItemHovered())
      ImGui::SetTooltip("each version timed by the backend on the same inputs at %s (one warm-up, then %d timed runs);\n"
                        "bytes and FLOPs from the cost model (hover a value for its formula); × FA-1 = FA-1's median "
                        "time ÷ this one's", dtype_name(r.versions_dtype), kFlashTimedRuns);
    for (const FlashVersionRow& v : r.versions) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(v.version.c_str());
      if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", v.design.c_str());
      ImGui::TableNextColumn();
      if (!v.refused.empty()) {
        ImGui::TextDisabled("not on this backend");
        if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", v.refused.c_str());
        for (int c = 0; c < 4; ++c) {
          ImGui::TableNextColumn();
          ImGui::TextDisabled("—");
        }
        continue;
      }
      std::string what = algorithm_with_dtype(v.run.algorithm, v.run.dtype);
      if (v.run.algorithm == Algorithm::FlashTensorCore) what += std::string(" (") + tensor_core_path_name(v.path) + ")";
      ImGui::TextUnformatted(what.c_str());
      if (!v.run.kernel.empty() && ImGui::IsItemHovered()) ImGui::SetTooltip("kernel: %s", v.run.kernel.c_str());
      ImGui::TableNextColumn();
      if (v.run.ok) {
        ImGui::TextUnformatted(format_time_ms(v.run.timing.median_ms).c_str());
        if (ImGui::IsItemHovered())
          ImGui::SetTooltip("median of %d runs; range %s", kFlashTimedRuns,
                            format_time_range_ms(v.run.timing.median_ms, v.run.timing.min_ms, v.run.timing.max_ms).c_str());
        if (v.run.timing.noisy()) {
          ImGui::SameLine();
          ImGui::TextColored(warning_color(), "noisy");
          if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", v.run.timing.noisy_text().c_str());
        }
      } else {
        ImGui::TextColored(error_color(), "failed");
        if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", v.run.error.c_str());
      }
      ImGui::TableNextColumn();
      if (measured(v) && fa1_ms > 0) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "×%.3g", fa1_ms / v.run.timing.median_ms);
        ImGui::TextUnformatted(buf);
      } else {
        ImGui::TextDisabled("—");
      }
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(format_bytes(v.run.cost.hbm_bytes).c_str());
      if (ImGui::IsItemHovered() && !v.run.cost.lines.empty()) {
        ImGui::BeginTooltip();
        for (const CostLine& l : v.run.cost.lines)
          ImGui::Text("%s = %s   [%s = %s]", l.label.c_str(),
                      (l.unit == "B" ? format_bytes(l.value) : format_si(l.value, l.unit)).c_str(), l.formula.c_str(),
                      l.substituted.c_str());
        ImGui::EndTooltip();
      }
      ImGui::TableNextColumn();
      if (measured(v)) {
        const double seconds = v.run.timing.median_ms * 1e-3;
        ImGui::TextUnformatted(format_si(v.run.cost.flops / seconds, "FLOP/s").c_str());
        if (ImGui::IsItemHovered())
          ImGui::SetTooltip("%s of the cost model's FLOPs per second; its bytes at that time: %s/s",
                            format_si(v.run.cost.flops, "FLOP").c_str(), format_bytes(v.run.cost.hbm_bytes / seconds).c_str());
      } else {
        ImGui::TextDisabled("—");
      }
    }
    ImGui::EndTable();
  }
  // What makes FA-1 slow, in this run's numbers: how many CTAs it had, and how often it moved O.
  char line[256];
  const int64_t ctas = r.spec.batch * r.spec.q_heads;
  // FA-1's K/V tile: the CUDA kernel's 64 keys; the CPU twin's, the toolbar's Bc.
  const int64_t bc = f.ctx.state.capabilities.host_cpu ? std::max(1, r.key.tiles.bc) : 64;
  const int64_t passes = (r.spec.kv_len + bc - 1) / bc;
  std::snprintf(line, sizeof line, "FA-1: %lld CTA%s (one per batch·head), O read and written %lld×; FA-2: a CTA per Q "
                "tile, O written once", static_cast<long long>(ctas), ctas == 1 ? "" : "s", static_cast<long long>(passes));
  ImGui::PushStyleColor(ImGuiCol_Text, style.Colors[ImGuiCol_TextDisabled]);
  const std::string shown = fit_with_ellipsis(line, ImGui::GetContentRegionAvail().x);
  ImGui::TextUnformatted(shown.c_str());
  ImGui::PopStyleColor();
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("%s%sOne pass per K/V tile of %lld keys. Pick an order in the toolbar to replay that version's own\n"
                      "trace above.", shown == line ? "" : line, shown == line ? "" : "\n\n", static_cast<long long>(bc));
}

}  // namespace attnscope::gui
