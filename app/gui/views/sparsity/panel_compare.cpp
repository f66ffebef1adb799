// panel_compare.cpp — patterns A and B side by side: each pattern's mask (allowed fraction per cell)
// shaded by its block mask (empty / partial / full tiles), then a table of their numbers: element and block
// density, what block-sparse computes, predicted speed-up over dense flash (cost model: FLOPs and bytes) and
// measured speed-up (median of repeated runs through the Backend on the worker).
#include <imgui.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "app/gui/widgets/widgets.hpp"
#include "app/gui/views/sparsity/panels.hpp"
#include "app/gui/widgets/layout.hpp"
#include "app/gui/presenter/theme.hpp"

namespace attnscope::gui {
namespace {

const char* const kMaskTextures[2] = {"sparsity-mask-A", "sparsity-mask-B"};
const char* const kBlockTextures[2] = {"sparsity-blocks-A", "sparsity-blocks-B"};

std::string percent(double f) {
  char buf[32];
  if (f > 0 && f < 0.001) std::snprintf(buf, sizeof buf, "%.2g %%", 100.0 * f);
  else std::snprintf(buf, sizeof buf, "%.1f %%", 100.0 * f);
  return buf;
}
std::string times(double x) {
  char buf[32];
  if (x <= 0) return "–";
  std::snprintf(buf, sizeof buf, "%.2f×", x);
  return buf;
}
std::string ms(const MeasuredRun& r) {
  if (!r.ok) return r.error.empty() ? "–" : "failed";
  return format_time_ms_table(r.timing.median_ms);
}

void upload_blocks(ViewContext& ctx, int which) {
  SparsityViewState& s = ctx.ui.sparsity_view;
  if (!s.numbers[which] || s.blocks_texture_key[which] == s.numbers[which]->key) return;
  const BlockMask& m = s.numbers[which]->block_mask;
  std::vector<Rgba8> texels(m.kinds.size());
  for (size_t i = 0; i < texels.size(); ++i) texels[i] = block_overlay_color(m.kinds[i]);
  ctx.heatmap.upload_overlay(kBlockTextures[which], texels, static_cast<int>(m.tiles.tc), static_cast<int>(m.tiles.tr));
  s.blocks_texture_key[which] = s.numbers[which]->key;
}

// One pattern's picture: the mask, the block mask's tints on top, its name and text above.
void draw_pattern_picture(ViewContext& ctx, int which, float side) {
  SparsityViewState& s = ctx.ui.sparsity_view;
  UiState& ui = ctx.ui;
  PatternRef p = which == 0 ? PatternRef{ui.terms, ui.draft.causal, ui.grid} : s.b.ref();
  std::string text = pattern_label(p);
  if (p.causal) text += text == "dense" ? " + causal" : "+causal";
  ImGui::BeginGroup();
  ImGui::Text("%c", which == 0 ? 'A' : 'B');
  ImGui::SameLine();
  // The pattern's text on one line above its picture, shortened to the picture's width (whole in the tooltip).
  ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyle().Colors[ImGuiCol_TextDisabled]);
  text_fit(text.c_str(), std::max(1.0f, side - ImGui::CalcTextSize("A").x - ImGui::GetStyle().ItemSpacing.x));
  ImGui::PopStyleColor();
  const ImVec2 p0 = ImGui::GetCursorScreenPos(), p1(p0.x + side, p0.y + side);
  ImDrawList* dl = ImGui::GetWindowDrawList();
  dl->AddRectFilled(p0, p1, IM_COL32(20, 20, 24, 255));
  if (s.numbers[which]) {
    upload_pattern_picture(ctx, which);
    upload_blocks(ctx, which);
    const BlockMask& m = s.numbers[which]->block_mask;
    const int64_t n = m.tiles.cols;
    dl->AddImage(to_texture_id(ctx.heatmap.overlay_texture(kMaskTextures[which])), p0, p1);
    // The tiles cover Tc·Bc >= N tokens: map them with the picture's tokens per pixel, clipped to N.
    const float covered_x = static_cast<float>(m.tiles.tc * m.tiles.bc) / static_cast<float>(n) * side;
    const float covered_y = static_cast<float>(m.tiles.tr * m.tiles.br) / static_cast<float>(m.tiles.rows) * side;
    dl->PushClipRect(p0, p1, true);
    dl->AddImage(to_texture_id(ctx.heatmap.overlay_texture(kBlockTextures[which])), p0,
                 ImVec2(p0.x + covered_x, p0.y + covered_y));
    dl->PopClipRect();
  } else {
    const char* msg = s.error[which].empty() ? "computing…" : "invalid pattern";
    dl->AddText(ImVec2(p0.x + 6, p0.y + 6), ImGui::GetColorU32(ImGuiCol_TextDisabled), msg);
  }
  dl->AddRect(ImVec2(p0.x - 1, p0.y - 1), ImVec2(p1.x + 1, p1.y + 1), ImGui::GetColorU32(ImGuiCol_TextDisabled));
  ImGui::Dummy(ImVec2(side, side));
  ImGui::EndGroup();
}

// A legend entry: the colour a thumbnail cell of that tile kind has (legend_swatch_color), and its name.
void swatch(Rgba8 color, const char* label) {
  const float h = ImGui::GetTextLineHeight(), sw = h * 0.8f;
  const ImVec2 p = ImGui::GetCursorScreenPos();
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 a(p.x, p.y + (h - sw) * 0.5f), b(p.x + sw, p.y + (h + sw) * 0.5f);
  dl->AddRectFilled(a, b, IM_COL32(color[0], color[1], color[2], 255));
  dl->AddRect(a, b, ImGui::GetColorU32(ImGuiCol_TextDisabled));
  ImGui::Dummy(ImVec2(sw, h));
  ImGui::SameLine(0, h * 0.3f);
  ImGui::TextUnformatted(label);
}

}  // namespace

void draw_sparsity_compare_panel(ViewContext& ctx) {
  SparsityViewState& s = ctx.ui.sparsity_view;
  const float em = ctx.ui.font_px;
  if (ctx.heading_font) ImGui::PushFont(ctx.heading_font);
  ImGui::TextUnformatted("A vs B");
  if (ctx.heading_font) ImGui::PopFont();

  const float avail_x = ImGui::GetContentRegionAvail().x;
  const float side = std::floor(std::max(40.0f, std::min((avail_x - em) * 0.5f, ImGui::GetContentRegionAvail().y * 0.36f)));
  draw_pattern_picture(ctx, 0, side);
  ImGui::SameLine(0, em);
  draw_pattern_picture(ctx, 1, side);
  const std::vector<Rgba8>& map = ctx.heatmap.colormap();
  char label[64];
  std::snprintf(label, sizeof label, "tiles %d × %d:", s.br, s.bc);
  ImGui::TextDisabled("%s", label);
  // The legend flows: an entry wraps whole when it does not fit.
  auto swatch_width = [](const char* text) {
    return ImGui::GetTextLineHeight() * 1.1f + ImGui::CalcTextSize(text).x;
  };
  flow_same_line(swatch_width("empty"));
  swatch(legend_swatch_color(TileKind::Empty, map), "empty");
  flow_same_line(swatch_width("partial"));
  swatch(legend_swatch_color(TileKind::Partial, map), "partial");
  flow_same_line(swatch_width("full"));
  swatch(legend_swatch_color(TileKind::Full, map), "full");
  // What a thumbnail cell is: both pictures have the same cells (the same N and picture size).
  if (const PatternNumbers* any = s.numbers[0] ? &*s.numbers[0] : (s.numbers[1] ? &*s.numbers[1] : nullptr)) {
    const std::string caption = mask_picture_caption(any->block_mask.tiles.rows, any->block_mask.tiles.cols,
                                                     any->picture_rows, any->picture_cols);
    ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyle().Colors[ImGuiCol_TextDisabled]);
    ImGui::TextWrapped("%s", caption.c_str());
    ImGui::PopStyleColor();
  }

  const PatternNumbers* nums[2] = {s.numbers[0] ? &*s.numbers[0] : nullptr, s.numbers[1] ? &*s.numbers[1] : nullptr};
  const bool any_gathered = (nums[0] && nums[0]->gathered_relevant) || (nums[1] && nums[1]->gathered_relevant);
  const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerH | ImGuiTableFlags_SizingStretchProp |
                                ImGuiTableFlags_ScrollX;
  // Rows: the header, ten numbers, two more when a pattern is gathered; sideways scrolling when the names and
  // both values do not fit the panel's width.
  const ImGuiStyle& st = ImGui::GetStyle();
  const float table_h = (any_gathered ? 14 : 12) * (ImGui::GetTextLineHeight() + 2 * st.CellPadding.y) + st.ScrollbarSize + 2;
  if (ImGui::BeginTable("numbers", 3, flags, ImVec2(0, table_h))) {
    ImGui::TableSetupColumn("", ImGuiTableColumnFlags_WidthFixed);  // as wide as its longest name
    ImGui::TableSetupColumn("A", ImGuiTableColumnFlags_WidthStretch, 1.0f);
    ImGui::TableSetupColumn("B", ImGuiTableColumnFlags_WidthStretch, 1.0f);
    ImGui::TableHeadersRow();
    auto row = [&](const char* name, const char* tip, auto&& value) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(name);
      if (tip && ImGui::IsItemHovered()) ImGui::SetTooltip("%s", tip);
      for (int i = 0; i < 2; ++i) {
        ImGui::TableNextColumn();
        if (!nums[i]) {
          ImGui::TextDisabled(s.error[i].empty() ? "…" : "invalid");
          if (!s.error[i].empty() && ImGui::IsItemHovered()) ImGui::SetTooltip("%s", s.error[i].c_str());
        } else {
          value(*nums[i]);
        }
      }
    };
    row("element density", "allowed (query, key) pairs / all pairs: counted exactly",
        [](const PatternNumbers& n) { ImGui::TextUnformatted(percent(n.element_density()).c_str()); });
    row("block density", "non-empty tiles / all tiles of Br × Bc",
        [](const PatternNumbers& n) { ImGui::TextUnformatted(percent(n.block_density()).c_str()); });
    row("tiles empty/partial/full", "from the block mask",
        [](const PatternNumbers& n) {
          ImGui::Text("%lld/%lld/%lld", static_cast<long long>(n.block_mask.stats.empty),
                      static_cast<long long>(n.block_mask.stats.partial), static_cast<long long>(n.block_mask.stats.full));
        });
    row("predicted (FLOPs)", "cost model: dense flash FLOPs / block-sparse FLOPs (pairs in non-empty tiles)",
        [](const PatternNumbers& n) {
          ImGui::TextUnformatted(times(n.predicted_flops_speedup()).c_str());
          if (ImGui::IsItemHovered())
            ImGui::SetTooltip("dense flash %s\nblock-sparse %s", format_si(n.flash.flops, "FLOP").c_str(),
                              format_si(n.block_sparse.flops, "FLOP").c_str());
        });
    row("predicted (bytes)", "cost model: dense flash bytes / block-sparse bytes (K/V tiles only where non-empty)",
        [](const PatternNumbers& n) {
          ImGui::TextUnformatted(times(n.predicted_bytes_speedup()).c_str());
          if (ImGui::IsItemHovered())
            ImGui::SetTooltip("dense flash %s\nblock-sparse %s", format_bytes(n.flash.hbm_bytes).c_str(),
                              format_bytes(n.block_sparse.hbm_bytes).c_str());
        });
    row("predicted (busiest CTA)",
        "critical path: CTAs (one per batch, head and Q tile) handed to the backend's units in order, each costing "
        "the tiles it visits; time follows the busiest unit, and with fewer CTAs than units the longest CTA",
        [](const PatternNumbers& n) {
          ImGui::TextUnformatted(times(n.stragglers.speedup).c_str());
          if (ImGui::IsItemHovered())
            ImGui::SetTooltip("busiest Q-tile row %lld tiles, median %lld, mean %.1f, of %lld\n%lld CTAs on %d units",
                              static_cast<long long>(n.stragglers.busiest_row_tiles),
                              static_cast<long long>(n.stragglers.median_row_tiles), n.stragglers.mean_row_tiles,
                              static_cast<long long>(n.stragglers.tiles_per_dense_row),
                              static_cast<long long>(n.stragglers.ctas), n.stragglers.units);
        });
    row("busiest CTA, tiles", "the critical path: tiles the longest CTA visits, unsplit → with long rows split",
        [](const PatternNumbers& n) {
          const PatternNumbers::Stragglers& st = n.stragglers;
          ImGui::Text("%lld → %lld", static_cast<long long>(st.busiest_row_tiles),
                      static_cast<long long>(st.busiest_cta_split));
          if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", critical_path_words(st).c_str());
        });
    row("predicted (split)",
        "critical path with long rows split: a Q tile visiting more than 2 x max(median, 4) tiles runs as pieces of "
        "about the median on separate CTAs, merged by log-sum-exp (core/visit_schedule.hpp)",
        [](const PatternNumbers& n) {
          const PatternNumbers::Stragglers& st = n.stragglers;
          ImGui::TextUnformatted(times(st.speedup_split).c_str());
          if (ImGui::IsItemHovered())
            ImGui::SetTooltip("%s\n%lld rows split; %lld CTAs on %d units\nthe measured run %s", critical_path_words(st).c_str(),
                              static_cast<long long>(st.split_rows), static_cast<long long>(st.ctas_split), st.units,
                              st.measured_split ? "split (this backend's default)"
                                                : "did not split (this backend's default; --visit-split auto)");
        });
    auto timing_row = [&](const char* name, const char* tip, MeasuredRun PatternNumbers::*run) {
      row(name, tip, [run](const PatternNumbers& n) {
        const MeasuredRun& r = n.*run;
        // Repetitions that disagree: the time in the warning colour (the column has no room for the word; the
        // note under the table says what the colour means, the tooltip by how much).
        const bool noisy = n.measured && r.ok && r.timing.noisy();
        if (noisy) ImGui::PushStyleColor(ImGuiCol_Text, warning_color());
        ImGui::TextUnformatted(n.measured ? ms(r).c_str() : "–");
        if (noisy) ImGui::PopStyleColor();
        if (ImGui::IsItemHovered()) {
          if (r.ok)
            ImGui::SetTooltip("median of %zu runs, min %s, max %s%s%s", r.timing.samples_ms.size(),
                              format_time_ms(r.timing.min_ms).c_str(), format_time_ms(r.timing.max_ms).c_str(),
                              noisy ? "\n" : "", noisy ? r.timing.noisy_text().c_str() : "");
          else if (!r.error.empty())
            ImGui::SetTooltip("%s", r.error.c_str());
        }
      });
    };
    timing_row("dense flash", "Algorithm flash: visits every tile, masks per element", &PatternNumbers::flash_run);
    timing_row("block-sparse", "skips empty tiles, masks only partial ones", &PatternNumbers::sparse_run);
    if (any_gathered)
      timing_row("gathered", "per Q tile only the allowed keys (strided / dilated)", &PatternNumbers::gathered_run);
    row("measured speed-up", "dense flash median / block-sparse median",
        [](const PatternNumbers& n) { ImGui::TextUnformatted(times(n.measured_speedup()).c_str()); });
    if (any_gathered)
      row("measured, gathered", "dense flash median / gathered median",
          [](const PatternNumbers& n) {
            ImGui::TextUnformatted(n.gathered_relevant ? times(n.measured_gathered_speedup()).c_str() : "–");
          });
    ImGui::EndTable();
  }

  // Progress of the worker, with cancel; where the measurements come from.
  for (int i = 0; i < 2; ++i) {
    const TaskState t = ctx.worker ? ctx.worker->task_state(kPatternChannels[i]) : TaskState{};
    if (!t.running && !t.pending) continue;
    char overlay[128];
    std::snprintf(overlay, sizeof overlay, "%c: %s", i == 0 ? 'A' : 'B', t.running ? t.status.c_str() : "waiting");
    ImGui::ProgressBar(static_cast<float>(t.progress), ImVec2(-em * 5, 0), overlay);
    ImGui::SameLine();
    ImGui::PushID(i);
    if (ImGui::Button("cancel")) {
      ctx.worker->cancel_task(kPatternChannels[i]);
      s.asked_key[i].clear();
      s.changed_at = 1e30;  // nothing restarts until the next edit
    }
    ImGui::PopID();
  }
  // The critical path of each pattern, on screen: what the busiest CTA carries, with and without splitting.
  for (int i = 0; i < 2; ++i) {
    if (!nums[i] || nums[i]->stragglers.busiest_row_tiles == 0) continue;
    const PatternNumbers::Stragglers& st = nums[i]->stragglers;
    ImGui::TextWrapped("%c: %s%s", i == 0 ? 'A' : 'B', critical_path_words(st).c_str(),
                       st.split_rows == 0 ? "" : st.measured_split ? " (measured split)" : " (measured unsplit)");
  }
  // Measured far from predicted: why, from the numbers at hand.
  for (int i = 0; i < 2; ++i) {
    if (!nums[i] || nums[i]->gap_reasons.empty()) continue;
    ImGui::PushStyleColor(ImGuiCol_Text, error_color());
    ImGui::TextWrapped("%c: measured %s, predicted %s (FLOPs) / %s (busiest CTA, as measured). Why:", i == 0 ? 'A' : 'B',
                       times(nums[i]->measured_speedup()).c_str(), times(nums[i]->predicted_flops_speedup()).c_str(),
                       times(nums[i]->stragglers.speedup_as_measured()).c_str());
    ImGui::PopStyleColor();
    for (const std::string& reason : nums[i]->gap_reasons) {
      ImGui::Bullet();
      ImGui::TextWrapped("%s", reason.c_str());
    }
  }
  const PatternNumbers* any = nums[0] ? nums[0] : nums[1];
  if (any && any->measured)
    ImGui::TextWrapped("measured: median of %d runs each on the %s backend (%s); predicted: cost model",
                       s.repetitions, any->backend.c_str(), any->device.c_str());
  bool any_noisy = false;
  for (const PatternNumbers* n : nums)
    if (n && n->measured)
      for (const MeasuredRun* r : {&n->flash_run, &n->sparse_run, &n->gathered_run})
        any_noisy = any_noisy || (r->ok && r->timing.noisy());
  if (any_noisy) {
    ImGui::PushStyleColor(ImGuiCol_Text, warning_color());
    ImGui::TextWrapped("times in this colour are noisy: their runs disagree (other work on the machine?); hover for "
                       "the spread");
    ImGui::PopStyleColor();
  }
}

}  // namespace attnscope::gui
