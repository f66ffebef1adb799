// panel_controls.cpp — the Context parallel mode's controls: the shape the ring runs, the plain/zigzag toggle and the
// replay (play / pause, step back / forward, the step slider).
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "app/gui/presenter/palette.hpp"
#include "app/gui/views/ring/panels.hpp"
#include "app/gui/widgets/layout.hpp"

namespace attnscope::gui::ring {

void draw_controls(ViewContext& ctx, RingViewState& s) {
  heading(ctx, "Context parallel");
  detail_after_heading("simulated ranks", ImGui::GetFontSize());
  const float em = ImGui::GetFontSize(), label_w = em * 6.2f;
  RingRequest& r = s.request;
  int64_t ranks = r.ranks;
  if (checked_int_row("ranks W", "##ranks", &ranks, 1, label_w,
                      "simulated GPUs in the ring: the sequence is split across them", int_range_rule(1, 64)))
    r.ranks = static_cast<int>(ranks);
  checked_int_row("tokens N", "##n", &r.n, 256, label_w, "sequence length, split into shards (plain: W, zigzag: 2W)",
                  int_range_rule(1, 8192));
  checked_int_row("heads", "##heads", &r.heads, 1, label_w, "query heads", int_range_rule(1, 64));
  checked_int_row("KV heads", "##kvheads", &r.kv_heads, 1, label_w,
                  "K/V heads (GQA: each is shared by heads / KV heads query heads); the shards carry these",
                  int_range_rule(1, 64));
  checked_int_row("head dim", "##d", &r.head_dim, 16, label_w, "head dimension d", int_range_rule(1, 256));
  row_label("link GB/s", label_w);
  double link = r.link_gbs;
  ImGui::SetNextItemWidth(-1);
  if (ImGui::InputDouble("##link", &link, 0, 0, "%.0f", ImGuiInputTextFlags_EnterReturnsTrue) && link > 0 &&
      std::isfinite(link))
    r.link_gbs = std::clamp(link, 0.001, 1e6);
  tooltip("modelled link bandwidth per direction, GB/s (10^9 bytes/s); 450 = NVLink 4 (H100/H200). Transfer time = "
          "shard bytes / bandwidth");
  ImGui::Checkbox("causal", &r.causal);
  tooltip("causal mask, key ≤ query: the plain ring then leaves early ranks idle; zigzag evens the work out");
  int shown = static_cast<int>(s.shown);
  if (flow_same_line(checkbox_width("plain") + em)) ImGui::SameLine(0, em);
  ImGui::RadioButton("plain", &shown, 0);
  tooltip("plain ring: rank r holds shard r of W contiguous shards");
  if (flow_same_line(checkbox_width("zigzag"))) ImGui::SameLine();
  ImGui::RadioButton("zigzag", &shown, 1);
  tooltip("zigzag: 2W chunks, rank r holds chunks r and 2W−1−r (one early, one late)");
  s.shown = static_cast<RingShown>(shown);
  if (!s.problem.empty()) {
    ImGui::PushStyleColor(ImGuiCol_Text, static_cast<ImU32>(palette().error_text));
    ImGui::TextWrapped("%s", s.problem.c_str());
    ImGui::PopStyleColor();
  }

  // Replay: one step at a time round the ring.
  const int W = s.result && s.result->ok ? s.result->plain.run.plan.ranks : r.ranks;
  if (ImGui::Button("◀##ringback")) {
    s.playing = false;
    s.position = std::max(0.0, std::ceil(s.position) - 1.0);
  }
  tooltip("previous step (Left arrow)");
  ImGui::SameLine();
  if (ImGui::Button(s.playing ? "‖ pause" : "▶ play", ImVec2(em * 4.6f, 0))) s.playing = !s.playing;
  tooltip("play / pause the replay of the ring's steps (Space)");
  ImGui::SameLine();
  if (ImGui::Button("▶##ringfwd")) {
    s.playing = false;
    s.position = std::min(static_cast<double>(W), std::floor(s.position) + 1.0);
  }
  tooltip("next step (Right arrow)");
  float position = static_cast<float>(s.position);
  char label[48];
  std::snprintf(label, sizeof label, "step %d of %d", std::min(W - 1, static_cast<int>(position)), W);
  ImGui::SetNextItemWidth(-1);
  if (ImGui::SliderFloat("##ringstep", &position, 0.0f, static_cast<float>(W), label)) {
    s.playing = false;
    s.position = position;
  }
  tooltip("replay position: at each step every rank computes with the K/V shard it holds, then passes it on");
  ImGui::PushTextWrapPos(0.0f);
  ImGui::TextDisabled("compute: measured on this CPU rank by rank (least of %d runs); transfers: modelled as shard "
                      "bytes / link bandwidth", kRingViewRuns);
  ImGui::PopTextWrapPos();
}

}  // namespace attnscope::gui::ring
