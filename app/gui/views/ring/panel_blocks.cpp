// panel_blocks.cpp — the N×N score matrix cut into the schedule's chunks: each (query chunk, key chunk) block in the
// colour of the rank that computes it, labelled by the step it is computed at ("s2"); blocks the causal mask skips
// are grey with a cross, diagonal blocks show their masked half in grey. The blocks of the replayed step are lit,
// the others faded. A strip on the left gives the rank that holds each chunk's queries.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "app/gui/presenter/palette.hpp"
#include "app/gui/views/ring/panels.hpp"
#include "app/gui/widgets/layout.hpp"

namespace attnscope::gui::ring {

ImU32 rank_color(int rank, float alpha) {
  const float hue = std::fmod(0.08f + 0.618034f * static_cast<float>(std::max(0, rank)), 1.0f);
  float r = 0, g = 0, b = 0;
  ImGui::ColorConvertHSVtoRGB(hue, 0.62f, 0.86f, r, g, b);
  return ImGui::GetColorU32(ImVec4(r, g, b, alpha));
}

void draw_blocks(ViewContext& ctx, const RingViewState& s) {
  heading(ctx, "Who computes what");
  if (!s.result || !s.result->ok) {
    ImGui::TextDisabled("computing…");
    return;
  }
  const RingPlan& plan = s.result->of(shown_schedule(s)).run.plan;
  const int W = plan.ranks;
  const RingReplay replay{W};
  const int step = replay.step_at(s.position);
  char caption[160];
  std::snprintf(caption, sizeof caption, "%s, N = %lld in %d chunks; colour: rank, label: step; lit: step %d",
                ring_schedule_name(plan.schedule), static_cast<long long>(plan.n), plan.chunk_count(), step);
  ImGui::PushTextWrapPos(0.0f);
  ImGui::TextUnformatted(caption);
  ImGui::PopTextWrapPos();
  const float em = ImGui::GetFontSize();
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float legend_h = ImGui::GetTextLineHeightWithSpacing();
  const float strip = em * 1.6f;
  const float side = std::max(em * 4, std::min(avail.x - strip, avail.y - legend_h - ImGui::GetStyle().ItemSpacing.y));
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  ImGui::Dummy(ImVec2(side + strip, side));
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const Palette& pal = palette();
  const ImVec2 m0(origin.x + strip, origin.y);
  dl->AddRectFilled(m0, ImVec2(m0.x + side, m0.y + side), pal.plot_bg);
  const double n = static_cast<double>(plan.n);
  auto px = [&](int64_t token) { return m0.x + static_cast<float>(token / n) * side; };
  auto py = [&](int64_t token) { return m0.y + static_cast<float>(token / n) * side; };
  // Which rank holds each chunk (its queries, and its K/V shard at step 0).
  std::vector<int> holder(static_cast<size_t>(plan.chunk_count()), 0);
  for (int r = 0; r < W; ++r)
    for (int c : plan.rank_chunks[static_cast<size_t>(r)]) holder[static_cast<size_t>(c)] = r;
  const ImU32 masked = pal.empty_cell, divider = pal.cell_divider;
  // Every block the causal mask fully masks: grey with a cross (the schedule lists the ones a rank skips).
  for (const RingBlock& b : plan.blocks) {
    const ImVec2 a(px(b.k.begin), py(b.q.begin)), z(px(b.k.end), py(b.q.end));
    const bool lit = b.step == step;
    const float alpha = lit ? 1.0f : 0.30f;
    if (b.kind == RingBlockKind::Skipped) {
      dl->AddRectFilled(a, z, masked);
      if (z.x - a.x > em * 0.8f) {
        dl->AddLine(ImVec2(a.x + 2, a.y + 2), ImVec2(z.x - 2, z.y - 2), divider);
        dl->AddLine(ImVec2(z.x - 2, a.y + 2), ImVec2(a.x + 2, z.y - 2), divider);
      }
    } else if (b.kind == RingBlockKind::Partial) {
      // Allowed: key ≤ query, the lower-left triangle of a diagonal block; the rest masked.
      dl->AddRectFilled(a, z, masked);
      dl->AddTriangleFilled(ImVec2(a.x, a.y), ImVec2(a.x, z.y), ImVec2(z.x, z.y), rank_color(b.rank, alpha));
    } else {
      dl->AddRectFilled(a, z, rank_color(b.rank, alpha));
    }
    if (lit && b.kind != RingBlockKind::Skipped) dl->AddRect(a, z, pal.outline, 0.0f, 0, 2.0f);
    const float w = z.x - a.x, h = z.y - a.y;
    char text[16];
    std::snprintf(text, sizeof text, b.kind == RingBlockKind::Skipped ? "skip" : "s%d", b.step);
    const ImVec2 ts = ImGui::CalcTextSize(text);
    if (ts.x + 4 < w && ts.y + 2 < h) {
      // Diagonal blocks: the label in the allowed (lower-left) part.
      const ImVec2 at = b.kind == RingBlockKind::Partial ? ImVec2(a.x + 3, z.y - ts.y - 2)
                                                         : ImVec2(a.x + (w - ts.x) / 2, a.y + (h - ts.y) / 2);
      dl->AddText(at, b.kind == RingBlockKind::Skipped ? pal.text_muted : IM_COL32(20, 20, 20, lit ? 255 : 150), text);
    }
  }
  for (const SeqRange& c : plan.chunks) {
    dl->AddLine(ImVec2(px(c.begin), m0.y), ImVec2(px(c.begin), m0.y + side), divider);
    dl->AddLine(ImVec2(m0.x, py(c.begin)), ImVec2(m0.x + side, py(c.begin)), divider);
  }
  dl->AddRect(m0, ImVec2(m0.x + side, m0.y + side), pal.plot_border);
  // The rank strip: who holds each chunk's queries.
  for (int c = 0; c < plan.chunk_count(); ++c) {
    const SeqRange ch = plan.chunks[static_cast<size_t>(c)];
    if (ch.size() == 0) continue;
    const ImVec2 a(origin.x, py(ch.begin)), z(origin.x + strip - 3, py(ch.end));
    dl->AddRectFilled(a, z, rank_color(holder[static_cast<size_t>(c)]));
    char text[24];
    std::snprintf(text, sizeof text, "r%d", holder[static_cast<size_t>(c)]);
    const ImVec2 ts = ImGui::CalcTextSize(text);
    if (ts.y < z.y - a.y && ts.x < strip - 3) dl->AddText(ImVec2(a.x + 1, (a.y + z.y - ts.y) / 2), IM_COL32(20, 20, 20, 255), text);
  }
  ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetColorU32(ImGuiCol_TextDisabled));
  text_fit("rows: queries · columns: keys · grey: masked");
  ImGui::PopStyleColor();
}

}  // namespace attnscope::gui::ring
