// panel_timeline.cpp — the per-rank timeline of the simulated ranks: per rank a lane with its compute per step (rank
// colour, step number inside when it fits), the time it waits for the next shard (hatched) and the idle time after
// its last step (light); under it a thin bar for each incoming transfer (modelled: shard bytes / link bandwidth).
// Times in ms on a shared axis; a marker per lane at the replay position.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "app/gui/presenter/palette.hpp"
#include "app/gui/views/ring/panels.hpp"
#include "app/gui/widgets/format.hpp"
#include "app/gui/widgets/layout.hpp"

namespace attnscope::gui::ring {

namespace {

// Round tick spacing (1, 2 or 5 · 10^k) giving about `target` ticks over `span`.
double tick_step(double span, int target) {
  const double raw = span / std::max(1, target);
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * p >= raw) return m * p;
  return 10 * p;
}

}  // namespace

void draw_timeline(ViewContext& ctx, const RingViewState& s) {
  heading(ctx, "Per-rank timeline (simulated ranks)");
  if (!s.result || !s.result->ok) {
    ImGui::TextDisabled("computing…");
    return;
  }
  const RingRun& run = s.result->of(shown_schedule(s)).run;
  const RingTimeline& t = run.timeline;
  const int W = run.plan.ranks;
  const Palette& pal = palette();
  const float em = ImGui::GetFontSize();
  const ImU32 transfer_color = pal.accent, wait_color = pal.allocated_cell, idle_color = pal.empty_cell;
  char summary[200];
  std::snprintf(summary, sizeof summary, "%s · makespan %s · transfer %s in all, %.0f%% hidden behind compute",
                ring_schedule_name(run.plan.schedule), format_time_ms(t.makespan_ms).c_str(),
                format_time_ms(t.transfer_ms).c_str(), 100 * t.overlap_share());
  text_fit(summary);
  // Legend.
  ImDrawList* dl = ImGui::GetWindowDrawList();
  auto swatch = [&](ImU32 color, const char* label, bool hatched) {
    const ImVec2 p = ImGui::GetCursorScreenPos();
    const float h = ImGui::GetTextLineHeight();
    ImGui::Dummy(ImVec2(h * 1.4f, h));
    dl->AddRectFilled(ImVec2(p.x, p.y + h * 0.15f), ImVec2(p.x + h * 1.4f, p.y + h * 0.85f), color);
    if (hatched) dl->AddLine(ImVec2(p.x, p.y + h * 0.85f), ImVec2(p.x + h * 1.4f, p.y + h * 0.15f), pal.text_muted);
    ImGui::SameLine(0, em * 0.3f);
    ImGui::TextUnformatted(label);
  };
  swatch(rank_color(0), "compute (rank colour, measured)", false);
  const float next_w = em * 1.7f + ImGui::CalcTextSize("transfer in (modelled)").x;
  if (flow_same_line(next_w + em)) ImGui::SameLine(0, em);
  swatch(transfer_color, "transfer in (modelled)", false);
  if (flow_same_line(em * 1.7f + ImGui::CalcTextSize("waiting for the shard").x + em)) ImGui::SameLine(0, em);
  swatch(wait_color, "waiting for the shard", true);
  if (flow_same_line(em * 1.7f + ImGui::CalcTextSize("idle, done").x + em)) ImGui::SameLine(0, em);
  swatch(idle_color, "idle, done", false);

  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float label_w = ImGui::CalcTextSize("r63").x + em * 0.5f;
  const float axis_h = ImGui::GetTextLineHeightWithSpacing() + 4;
  const float lane_h = std::max(1.0f, std::min(em * 2.0f, std::floor((avail.y - axis_h) / std::max(1, W))));
  const float plot_w = std::max(em * 6, avail.x - label_w - em * 0.5f);
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  ImGui::Dummy(ImVec2(label_w + plot_w, lane_h * W + axis_h));
  const double span = std::max(1e-9, t.makespan_ms);
  const float x0 = origin.x + label_w;
  auto tx = [&](double ms) { return x0 + static_cast<float>(ms / span) * plot_w; };
  dl->AddRectFilled(ImVec2(x0, origin.y), ImVec2(x0 + plot_w, origin.y + lane_h * W), pal.plot_bg);
  const bool hide_times = ctx.ui.fixed_time_step > 0;
  for (int r = 0; r < W; ++r) {
    const RingRankTimes& rt = t.ranks[static_cast<size_t>(r)];
    const float y0 = origin.y + lane_h * r, bar_h = lane_h * (lane_h > em ? 0.62f : 0.75f);
    char label[24];
    std::snprintf(label, sizeof label, "r%d", r);
    // Every rank's label when lanes are a text line high, else every k-th so labels do not overlap.
    const int label_every = static_cast<int>(std::ceil(ImGui::GetTextLineHeight() / lane_h));
    if (r % std::max(1, label_every) == 0)
      dl->AddText(ImVec2(origin.x, y0 + (lane_h - ImGui::GetTextLineHeight()) / 2), pal.text, label);
    for (size_t step = 0; step < rt.steps.size(); ++step) {
      const RingStepTimes& st = rt.steps[step];
      const ImVec2 a(tx(st.start_ms), y0 + 1), z(std::max(tx(st.end_ms), tx(st.start_ms) + 1), y0 + bar_h);
      dl->AddRectFilled(a, z, rank_color(r));
      dl->AddLine(ImVec2(a.x, a.y), ImVec2(a.x, z.y), pal.cell_divider);
      char text[24];
      std::snprintf(text, sizeof text, "%zu", step);
      const ImVec2 ts = ImGui::CalcTextSize(text);
      if (ts.x + 2 < z.x - a.x && ts.y <= bar_h) dl->AddText(ImVec2((a.x + z.x - ts.x) / 2, a.y + (bar_h - ts.y) / 2),
                                                            IM_COL32(20, 20, 20, 255), text);
      if (st.wait_ms > 0) {
        const ImVec2 wa(tx(st.end_ms), y0 + 1), wz(tx(st.end_ms + st.wait_ms), y0 + bar_h);
        dl->AddRectFilled(wa, wz, wait_color);
        dl->AddLine(ImVec2(wa.x, wz.y), ImVec2(wz.x, wa.y), pal.text_muted);
      }
      if (st.recv_end_ms > st.recv_start_ms) {  // the shard for the next step arriving
        const float ty = y0 + bar_h + 1, th = std::max(2.0f, lane_h - bar_h - 3);
        dl->AddRectFilled(ImVec2(tx(st.recv_start_ms), ty),
                          ImVec2(std::max(tx(st.recv_end_ms), tx(st.recv_start_ms) + 1), ty + th), transfer_color);
      }
    }
    if (rt.idle_end_ms > 0)
      dl->AddRectFilled(ImVec2(tx(rt.steps.back().end_ms), y0 + 1), ImVec2(tx(t.makespan_ms), y0 + bar_h), idle_color);
    // Replay marker.
    const float mx = tx(ring_timeline_time(t, r, s.position));
    dl->AddLine(ImVec2(mx, y0), ImVec2(mx, y0 + lane_h), pal.now_marker, 2.0f);
  }
  dl->AddRect(ImVec2(x0, origin.y), ImVec2(x0 + plot_w, origin.y + lane_h * W), pal.plot_border);
  // Axis in ms.
  const float ay = origin.y + lane_h * W + 2;
  const double step_ms = tick_step(span, std::max(2, static_cast<int>(plot_w / (em * 5))));
  for (double v = 0; v <= span * 1.0001; v += step_ms) {
    const float x = tx(v);
    dl->AddLine(ImVec2(x, ay - 2), ImVec2(x, ay + 3), pal.plot_border);
    char text[32];
    std::snprintf(text, sizeof text, hide_times ? "" : "%g ms", v);
    const ImVec2 ts = ImGui::CalcTextSize(text);
    dl->AddText(ImVec2(std::min(x - ts.x / 2 > x0 ? x - ts.x / 2 : x0, x0 + plot_w - ts.x), ay + 3), pal.text_muted,
                text);
  }
}

}  // namespace attnscope::gui::ring
