// panel_ring_diagram.cpp — the ring of simulated ranks: a node per rank in its colour, an arrow r → r+1 for each link,
// and each rank's K/V shard as a tag that sits at the rank holding it and moves one hop along the ring in the second
// half of every step (RingReplay), the hop the NCCL send/recv makes while the next step computes.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "app/gui/presenter/palette.hpp"
#include "app/gui/views/ring/panels.hpp"
#include "app/gui/widgets/format.hpp"
#include "app/gui/widgets/layout.hpp"

namespace attnscope::gui::ring {

void draw_ring_diagram(ViewContext& ctx, const RingViewState& s) {
  heading(ctx, "The ring");
  if (!s.result || !s.result->ok) {
    ImGui::TextDisabled("computing…");
    return;
  }
  const RingRun& run = s.result->of(shown_schedule(s)).run;
  const RingPlan& plan = run.plan;
  const int W = plan.ranks;
  const RingReplay replay{W};
  const int step = replay.step_at(s.position);
  const double bytes = static_cast<double>(ring_shard_bytes(plan, s.result->spec, 0));
  char caption[200];
  std::snprintf(caption, sizeof caption, "step %d: rank r uses the K/V of rank (r − %d) mod %d; shard %s, %s a hop "
                "at %.0f GB/s", step, step, W, format_bytes(bytes).c_str(),
                format_time_ms(bytes / (run.timeline.link_gbs * 1e9) * 1e3).c_str(), run.timeline.link_gbs);
  ImGui::PushTextWrapPos(0.0f);
  ImGui::TextUnformatted(caption);
  ImGui::PopTextWrapPos();
  const float em = ImGui::GetFontSize();
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float size = std::max(em * 4, std::min(avail.x, avail.y));
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  ImGui::Dummy(ImVec2(avail.x, size));
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const Palette& pal = palette();
  const ImVec2 centre(origin.x + avail.x / 2, origin.y + size / 2);
  const float pi = 3.14159265f;
  const float node_r = std::clamp(size * 0.5f * pi / static_cast<float>(W) * 0.55f, em * 0.35f, em * 1.3f);
  const float radius = size / 2 - node_r - 2;
  auto at_angle = [&](double ring_coordinate, float r) {
    const float angle = -pi / 2 + 2 * pi * static_cast<float>(ring_coordinate / W);
    return ImVec2(centre.x + r * std::cos(angle), centre.y + r * std::sin(angle));
  };
  dl->AddCircle(centre, radius, pal.grid_major, 96, 1.5f);
  // Links r → r+1: arrowheads midway along the ring.
  for (int r = 0; r < W && W > 1; ++r) {
    const ImVec2 tip = at_angle(r + 0.5, radius), back = at_angle(r + 0.42, radius);
    const ImVec2 dir(tip.x - back.x, tip.y - back.y);
    const float len = std::max(1e-3f, std::sqrt(dir.x * dir.x + dir.y * dir.y));
    const ImVec2 u(dir.x / len, dir.y / len), nrm(-u.y, u.x);
    const float head = std::min(em * 0.45f, node_r);
    dl->AddTriangleFilled(tip, ImVec2(tip.x - u.x * head + nrm.x * head * 0.6f, tip.y - u.y * head + nrm.y * head * 0.6f),
                          ImVec2(tip.x - u.x * head - nrm.x * head * 0.6f, tip.y - u.y * head - nrm.y * head * 0.6f),
                          pal.grid_major);
  }
  for (int r = 0; r < W; ++r) {
    const ImVec2 p = at_angle(r, radius);
    dl->AddCircleFilled(p, node_r, rank_color(r));
    dl->AddCircle(p, node_r, pal.plot_border, 0, 1.5f);
    char text[24];
    std::snprintf(text, sizeof text, "r%d", r);
    const ImVec2 ts = ImGui::CalcTextSize(text);
    if (ts.x < node_r * 2) dl->AddText(ImVec2(p.x - ts.x / 2, p.y - ts.y / 2), IM_COL32(20, 20, 20, 255), text);
  }
  // The shards: inside the ring, at the rank holding them, moving one hop per step.
  const float tag_r = radius - node_r - em * 0.9f;
  for (int owner = 0; owner < W && tag_r > em; ++owner) {
    const ImVec2 p = at_angle(replay.shard_location(owner, s.position), tag_r);
    char text[16];
    std::snprintf(text, sizeof text, "KV%d", owner);
    const ImVec2 ts = ImGui::CalcTextSize(text);
    const bool labelled = W <= 16;
    const ImVec2 half = labelled ? ImVec2(ts.x / 2 + 3, ts.y / 2 + 1) : ImVec2(em * 0.3f, em * 0.3f);
    dl->AddRectFilled(ImVec2(p.x - half.x, p.y - half.y), ImVec2(p.x + half.x, p.y + half.y), rank_color(owner, 0.85f),
                      3.0f);
    dl->AddRect(ImVec2(p.x - half.x, p.y - half.y), ImVec2(p.x + half.x, p.y + half.y), pal.outline, 3.0f);
    if (labelled) dl->AddText(ImVec2(p.x - ts.x / 2, p.y - ts.y / 2), IM_COL32(20, 20, 20, 255), text);
  }
}

}  // namespace attnscope::gui::ring
