// panel_sm_timeline.cpp — inside one SM: what each warpgroup of one CTA of the warp-specialised Hopper kernel did
// over time, from the SM's own clock (core/sm_timeline.hpp). Rows: the producer's copies in flight and its waits for
// a free stage; per consumer warpgroup, its CUDA cores (softmax, epilogue, waits) and its tensor cores (QKᵀ, P·V,
// asynchronous). Where one consumer's softmax sits under the other's tensor-core bars, the ping-pong overlap is
// there as it happened. The timeline comes from the FA-3 design's run when this backend records one, else from a
// file recorded on a Hopper GPU (`attnscope bench --sm-timeline FILE`, opened with --flash-view sm-timeline=FILE).
#include <imgui.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "app/gui/plot/plot.hpp"
#include "app/gui/presenter/theme.hpp"
#include "app/gui/views/flash/panels.hpp"
#include "app/gui/widgets/format.hpp"
#include "app/gui/widgets/layout.hpp"

namespace attnscope::gui {
namespace {

// Okabe–Ito colours by activity (the plot palette's), waits in the muted text colour.
ImU32 activity_color(SmActivity a) {
  const auto& pal = plot::GetStyle().palette;
  switch (a) {
    case SmActivity::Waiting: return with_alpha(palette().text_muted, 120);
    case SmActivity::CopyInFlight: return pal[3];   // reddish purple
    case SmActivity::TensorScores: return pal[0];   // sky blue
    case SmActivity::TensorValues: return pal[2];   // bluish green
    case SmActivity::Softmax: return pal[1];        // orange
    case SmActivity::Epilogue: return pal[4];       // yellow
  }
  return pal[7];
}

// The drawn row of a span: 0 producer; per consumer c, 1 + 2c its CUDA cores, 2 + 2c its tensor cores.
int row_of(const SmSpan& s) {
  if (s.lane == 0) return 0;
  const bool tensor = s.activity == SmActivity::TensorScores || s.activity == SmActivity::TensorValues;
  return 1 + 2 * (s.lane - 1) + (tensor ? 1 : 0);
}

}  // namespace

void draw_sm_timeline_panel(FlashFrame& f) {
  const FlashViewResult& r = f.result;
  const SmTimeline* t = r.sm_timeline ? &*r.sm_timeline : f.view.loaded_timeline ? &*f.view.loaded_timeline : nullptr;
  const float em = ImGui::GetFontSize(), line = ImGui::GetTextLineHeight();
  const ImU32 text_col = ImGui::GetColorU32(ImGuiCol_Text), dim_col = ImGui::GetColorU32(ImGuiCol_TextDisabled);
  if (!t) {
    ImGui::TextWrapped("Inside one SM needs the warp-specialised Hopper kernel: %s",
                       r.sm_timeline_refused.empty() ? "no timeline was recorded for this experiment."
                                                     : r.sm_timeline_refused.c_str());
    ImGui::TextDisabled("Record one on an H100/H200: attnscope bench --backend cuda --algo flash-tc --n 4096 --dtype "
                        "fp16 --sm-timeline t.json; open it here with --flash-view sm-timeline=t.json");
    return;
  }
  const std::vector<SmSpan> spans = sm_timeline_spans(*t);
  const std::vector<SmLaneShares> shares = sm_lane_shares(*t, spans);
  // Heading line: where it ran and the consumers' shares.
  char head[320];
  const double span_ns = shares.empty() ? 0 : shares[0].span_ns;
  std::snprintf(head, sizeof head, "%s · SM %d · Q tile %d · %d steps in %s%s", t->device.c_str(), t->sm, t->q_tile,
                t->steps, format_time_ns(span_ns).c_str(),
                r.sm_timeline ? "" : (" · recorded: " + f.view.loaded_timeline_source).c_str());
  std::string detail = head;
  for (size_t lane = 1; lane < shares.size(); ++lane) {
    char buf[96];
    std::snprintf(buf, sizeof buf, " · WG%zu: tensor %.0f%%, softmax %.0f%%, waiting %.0f%%", lane, 100 * shares[lane].tensor,
                  100 * shares[lane].softmax, 100 * shares[lane].waiting);
    detail += buf;
  }
  const std::string shown = fit_with_ellipsis(detail.c_str(), ImGui::GetContentRegionAvail().x);
  ImGui::TextDisabled("%s", shown.c_str());
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("%s\nkernel: %s\n%s\nshares of the CTA's span, unions per kind; SM clock at %.3g ns per cycle",
                      detail.c_str(), t->kernel.c_str(), t->spec.c_str(), t->ns_per_cycle);

  // Plot area: row labels on the left, the time axis and the colour key below.
  static const char* labels[] = {"copies", "WG1 cores", "WG1 tensor", "WG2 cores", "WG2 tensor"};
  constexpr int kRows = 5;
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 origin = ImGui::GetCursorScreenPos(), avail = ImGui::GetContentRegionAvail();
  float label_w = 0;
  for (const char* l : labels) label_w = std::max(label_w, ImGui::CalcTextSize(l).x);
  const float bottom = line * 2.2f;  // tick labels and the colour key
  const ImVec2 p0(origin.x + label_w + em * 0.5f, origin.y);
  const ImVec2 p1(origin.x + avail.x - em * 0.5f, origin.y + std::max(line * 2.5f, avail.y - bottom));
  const float pw = p1.x - p0.x, row_h = (p1.y - p0.y) / kRows;
  const double end = std::max(1.0, span_ns);
  auto px = [&](double ns) { return p0.x + pw * static_cast<float>(ns / end); };
  dl->AddRectFilled(p0, p1, palette().plot_bg);
  for (int row = 0; row < kRows; ++row) {
    const float y = p0.y + row_h * static_cast<float>(row);
    if (row > 0) dl->AddLine(ImVec2(p0.x, y), ImVec2(p1.x, y), palette().grid_major);
    if (row_h >= line * 0.8f)
      dl->AddText(ImVec2(origin.x, y + (row_h - line) * 0.5f), text_col, labels[row]);
  }
  // Waits drawn thin at the row's middle, work full height; copies overlap, so they are translucent.
  const SmSpan* hovered = nullptr;
  const ImVec2 mouse = ImGui::GetIO().MousePos;
  for (const SmSpan& s : spans) {
    const int row = row_of(s);
    const float y0 = p0.y + row_h * static_cast<float>(row), y1 = y0 + row_h;
    const bool wait = s.activity == SmActivity::Waiting;
    const float pad = wait ? row_h * 0.38f : row_h * 0.12f;
    const float x0 = px(static_cast<double>(s.start_ns)), x1 = std::max(x0 + 1.0f, px(static_cast<double>(s.end_ns)));
    ImU32 col = activity_color(s.activity);
    if (s.activity == SmActivity::CopyInFlight) col = with_alpha(col, 110);
    dl->AddRectFilled(ImVec2(x0, y0 + pad), ImVec2(x1, y1 - pad), col);
    if (mouse.x >= x0 && mouse.x <= x1 && mouse.y >= y0 && mouse.y <= y1 && !wait) hovered = &s;
  }
  dl->AddRect(p0, p1, palette().plot_border);
  // Time axis.
  const TimeTicks ticks = time_ticks(end, std::max(2, static_cast<int>(pw / (em * 5))));
  char buf[64];
  for (double x = 0; x <= end * 1.0001; x += ticks.step_ns) {
    const float sx = px(x);
    dl->AddLine(ImVec2(sx, p1.y), ImVec2(sx, p1.y + em * 0.25f), text_col);
    std::snprintf(buf, sizeof buf, "%g", x / ticks.unit_ns);
    const float w = ImGui::CalcTextSize(buf).x;
    dl->AddText(ImVec2(std::clamp(sx - w * 0.5f, p0.x - w * 0.5f, p1.x - w), p1.y + em * 0.25f), text_col, buf);
  }
  std::snprintf(buf, sizeof buf, "%s", ticks.unit);
  dl->AddText(ImVec2(origin.x, p1.y + em * 0.25f), dim_col, buf);
  // Colour key, one line.
  float kx = origin.x;
  const float ky = p1.y + em * 0.25f + line;
  for (SmActivity a : {SmActivity::TensorScores, SmActivity::TensorValues, SmActivity::Softmax, SmActivity::CopyInFlight,
                       SmActivity::Epilogue, SmActivity::Waiting}) {
    const char* name = sm_activity_name(a);
    const float w = em * 0.8f + em * 0.3f + ImGui::CalcTextSize(name).x + em;
    if (kx + w > origin.x + avail.x) break;
    dl->AddRectFilled(ImVec2(kx, ky + line * 0.2f), ImVec2(kx + em * 0.8f, ky + line * 0.8f), activity_color(a));
    dl->AddText(ImVec2(kx + em * 1.1f, ky), dim_col, name);
    kx += w;
  }
  ImGui::SetCursorScreenPos(p0);
  ImGui::InvisibleButton("sm_timeline_area", ImVec2(std::max(1.0f, pw), std::max(1.0f, p1.y - p0.y)));
  if (ImGui::IsItemHovered() && hovered)
    ImGui::SetTooltip("%s\n%s, %s (from %s to %s)", hovered->what.c_str(), sm_activity_name(hovered->activity),
                      format_time_ns(static_cast<double>(hovered->end_ns - hovered->start_ns)).c_str(),
                      format_time_ns(static_cast<double>(hovered->start_ns)).c_str(),
                      format_time_ns(static_cast<double>(hovered->end_ns)).c_str());
}

}  // namespace attnscope::gui
