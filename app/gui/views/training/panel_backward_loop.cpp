// panel_backward_loop.cpp — FlashAttention-2's backward tile loop replayed from a real trace (BackwardTrace, from
// the flash backward run of a reduced copy of the experiment). The outer loop is over K/V tiles: each task keeps one
// K/V tile and its dK, dV accumulators on chip and visits every Q tile of its group's heads, recomputing S and P
// from Q, K and lse, adding into dK and dV and atomically into the visited rows of dQ.
//   left, device memory: the K/V tiles of each KV head (tinted in the colour of the unit holding one resident now,
//                        filled as far as its dK/dV have accumulated) and the dQ tiles of each query head (filled by
//                        the share of K/V tiles that have added into them; the one being updated now outlined)
//   right, on chip:      the followed unit's resident K_j, V_j with dK_j, dV_j filling, the Q tile it is visiting
//                        with dO, lse and D, the recomputed S/P tile, and dQ's atomic add back to memory
// Colours per unit and subscripts come from the FlashAttention mode (flash/panels.hpp).
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "app/gui/presenter/theme.hpp"
#include "app/gui/views/flash/panels.hpp"
#include "app/gui/views/training/panels.hpp"
#include "app/gui/widgets/layout.hpp"

namespace attnscope::gui {
namespace {

const ImU32 kEdge = IM_COL32(20, 22, 26, 255);
const ImU32 kEmpty = IM_COL32(60, 64, 72, 255);

void tile(ImDrawList* dl, ImVec2 a, ImVec2 b, float fill, ImU32 color, ImU32 edge = kEdge, float edge_w = 1.0f) {
  dl->AddRectFilled(a, b, kEmpty);
  if (fill > 0) dl->AddRectFilled(ImVec2(a.x, b.y - (b.y - a.y) * std::clamp(fill, 0.0f, 1.0f)), b, color);
  dl->AddRect(a, b, edge, 0, 0, edge_w);
}

void label_at(ImDrawList* dl, ImVec2 center, ImU32 color, const std::string& text) {
  const ImVec2 s = ImGui::CalcTextSize(text.c_str());
  dl->AddText(ImVec2(center.x - s.x / 2, center.y - s.y / 2), color, text.c_str());
}

void toolbar(ViewContext& ctx, TrainingViewState& view, const BackwardLoopAt& at) {
  const float em = ctx.ui.font_px;
  if (ImGui::Button(view.playing ? "‖ pause" : "▶ play", ImVec2(em * 4.6f, 0))) view.playing = !view.playing;
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("play / pause the replay of the trace");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(em * 5.5f);
  float speed = static_cast<float>(view.speed);
  if (ImGui::SliderFloat("##loop_speed", &speed, 0.1f, 10.0f, "×%.2g", ImGuiSliderFlags_Logarithmic)) view.speed = speed;
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("playback speed: at ×1 the whole run plays in %g s", TrainingViewState::kPlaySeconds);
  ImGui::SameLine();
  const double end_us = static_cast<double>(at.end_ns) * 1e-3;
  double t_us = std::min(view.time_ns, static_cast<double>(at.end_ns)) * 1e-3;
  const double zero = 0;
  char fmt[80];
  std::snprintf(fmt, sizeof fmt, "t = %%.1f of %.1f µs", end_us);
  ImGui::SetNextItemWidth(std::max(em * 10, ImGui::GetContentRegionAvail().x));
  if (ImGui::SliderScalar("##loop_time", ImGuiDataType_Double, &t_us, &zero, &end_us, fmt)) {
    view.time_ns = t_us * 1e3;
    view.playing = false;
  }
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("trace time since the first Q-tile visit started (drag to scrub; the replay pauses)");
}

}  // namespace

void draw_backward_loop_panel(ViewContext& ctx, TrainingViewState& view) {
  const float em = ctx.ui.font_px;
  if (!view.run || !view.run->trace) {
    heading(ctx, "The backward tile loop (FlashAttention-2)");
    if (view.run && !view.run->trace_error.empty()) ImGui::TextColored(error_color(), "%s", view.run->trace_error.c_str());
    else ImGui::TextDisabled("Tracing the flash backward on the worker…");
    return;
  }
  const BackwardTrace& trace = *view.run->trace;
  flash_heading(ctx, "The backward tile loop (FlashAttention-2)",
                view.run->traced_experiment + " · Br " + std::to_string(trace.br) + " × Bc " + std::to_string(trace.bc) +
                    " · " + std::to_string(trace.units) + " " + ctx.state.capabilities.trace_unit() + "s · " +
                    trace.source + " trace");
  // The clock.
  const BackwardLoopAt whole = backward_loop_at(trace, 0);
  const double end = static_cast<double>(std::max<int64_t>(1, whole.end_ns));
  if (view.requested_fraction) {
    view.time_ns = std::clamp(*view.requested_fraction, 0.0, 1.0) * end;
    view.playing = false;
    view.requested_fraction.reset();
  }
  if (view.time_ns < 0) view.time_ns = TrainingViewState::kStartFraction * end;
  if (view.playing) {
    view.time_ns += ImGui::GetIO().DeltaTime * view.speed * end / TrainingViewState::kPlaySeconds;
    if (view.time_ns > end) view.time_ns = 0;
    ctx.ui.animating = true;
  }
  const BackwardLoopAt at = backward_loop_at(trace, static_cast<int64_t>(view.time_ns));
  toolbar(ctx, view, at);

  // The followed task: the running one of the lowest unit, else the last to have finished.
  int followed = -1;
  for (const BackwardTaskAt& t : at.tasks)
    if (t.running && (followed < 0 || t.unit < at.tasks[static_cast<size_t>(followed)].unit)) followed = t.task;
  if (followed < 0)
    for (const BackwardTaskAt& t : at.tasks)
      if (t.finished) followed = t.task;
  if (followed < 0 && !at.tasks.empty()) followed = 0;

  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float legend_h = ImGui::GetTextLineHeightWithSpacing() * 2.2f;
  const float h = std::max(em * 14, avail.y - legend_h);
  ImGui::Dummy(ImVec2(avail.x, h));
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImU32 text = ImGui::GetColorU32(ImGuiCol_Text), dim = ImGui::GetColorU32(ImGuiCol_TextDisabled);
  const float line_h = ImGui::GetTextLineHeight();

  // ---- left: device memory
  const float left_w = avail.x * 0.56f;
  int32_t kv_heads = 0, heads = 0;
  for (const BackwardTaskRecord& t : trace.tasks) {
    kv_heads = std::max(kv_heads, t.kv_head + 1);
    for (const BackwardQVisit& v : t.visits) heads = std::max(heads, v.head + 1);
  }
  const float label_w = ImGui::CalcTextSize("dQ head 00").x + em * 0.5f;
  float y = origin.y;
  const char* memory_title = "memory: K/V tiles (dK, dV filling) and dQ tiles (K/V tiles added in)";
  dl->AddText(nullptr, 0, ImVec2(origin.x, y), text, memory_title, nullptr, left_w);
  y += ImGui::CalcTextSize(memory_title, nullptr, false, left_w).y + line_h * 0.4f;
  const int rows = kv_heads + heads;
  const float row_h = std::min(em * 3.0f, (h - line_h * 3.0f) / std::max(1, rows) - 3);
  const float strip_w = left_w - label_w - em;
  auto cell_box = [&](float top, int index, int count, ImVec2* a, ImVec2* b) {
    const float x0 = origin.x + label_w + strip_w * static_cast<float>(index) / static_cast<float>(count);
    const float x1 = origin.x + label_w + strip_w * static_cast<float>(index + 1) / static_cast<float>(count);
    *a = ImVec2(x0, top);
    *b = ImVec2(x1 - 1, top + row_h);
  };
  // K/V tiles of batch 0.
  for (int32_t g = 0; g < kv_heads; ++g) {
    dl->AddText(ImVec2(origin.x, y + (row_h - line_h) / 2), dim, ("K/V head " + std::to_string(g)).c_str());
    for (const BackwardTaskAt& t : at.tasks) {
      if (t.batch != 0 || t.kv_head != g) continue;
      ImVec2 a, b;
      cell_box(y, t.kv_tile, trace.tc, &a, &b);
      const float fill = t.visits ? static_cast<float>(t.visits_done) / static_cast<float>(t.visits) : 0.0f;
      const bool resident = t.running;
      tile(dl, a, b, fill, resident ? flash_unit_color(t.unit, 0.9f) : memory_category_color(2),
           t.task == followed ? IM_COL32(255, 255, 255, 255) : kEdge, t.task == followed ? 2.5f : 1.0f);
      if (resident && b.x - a.x > ImGui::CalcTextSize("w0").x)
        label_at(dl, ImVec2((a.x + b.x) / 2, (a.y + b.y) / 2), IM_COL32(10, 10, 12, 255),
                 (ctx.state.capabilities.sm_traces ? "SM" : "w") + std::to_string(t.unit));
    }
    y += row_h + 3;
  }
  y += line_h * 0.4f;
  // dQ tiles per query head of batch 0, and which are being added into now.
  std::vector<int32_t> updating(static_cast<size_t>(heads) * static_cast<size_t>(std::max(1, trace.tr)), -1);
  for (const BackwardTaskAt& t : at.tasks) {
    if (!t.running || t.current < 0 || t.batch != 0) continue;
    const BackwardQVisit& v = trace.tasks[static_cast<size_t>(t.task)].visits[static_cast<size_t>(t.current)];
    if (v.pairs > 0) updating[static_cast<size_t>(v.head) * static_cast<size_t>(trace.tr) + static_cast<size_t>(v.q_tile)] = t.unit;
  }
  for (int32_t hq = 0; hq < heads; ++hq) {
    dl->AddText(ImVec2(origin.x, y + (row_h - line_h) / 2), dim, ("dQ head " + std::to_string(hq)).c_str());
    for (int32_t i = 0; i < trace.tr; ++i) {
      const size_t cell = static_cast<size_t>(hq) * static_cast<size_t>(trace.tr) + static_cast<size_t>(i);
      ImVec2 a, b;
      cell_box(y, i, trace.tr, &a, &b);
      const int32_t total = at.dq_updates_total[cell];
      const float fill = total ? static_cast<float>(at.dq_updates[cell]) / static_cast<float>(total) : 0.0f;
      const int32_t unit = updating[cell];
      tile(dl, a, b, fill, memory_category_color(2), unit >= 0 ? flash_unit_color(unit) : kEdge, unit >= 0 ? 3.0f : 1.0f);
    }
    y += row_h + 3;
  }

  // ---- right: the followed unit's on-chip tiles, laid out top to bottom by the measured height of each text
  const float rx = origin.x + left_w + em, rw = avail.x - left_w - em;
  auto wrapped = [&](float at_y, ImU32 color, const char* what) {
    dl->AddText(nullptr, 0, ImVec2(rx, at_y), color, what, nullptr, rw);
    return at_y + ImGui::CalcTextSize(what, nullptr, false, rw).y + 3;
  };
  if (followed >= 0 && rw > em * 8) {
    const BackwardTaskAt& t = at.tasks[static_cast<size_t>(followed)];
    const BackwardTaskRecord& rec = trace.tasks[static_cast<size_t>(followed)];
    char title[160];
    std::snprintf(title, sizeof title, "on chip, %s %d: K/V tile %d of KV head %d", ctx.state.capabilities.trace_unit(),
                  t.unit, t.kv_tile, t.kv_head);
    float ry = wrapped(origin.y, flash_unit_color(t.unit), title) + line_h * 0.3f;
    const float gap = em * 0.5f;
    const float box = std::max(line_h * 1.6f, std::min((rw - 3 * gap) / 4.0f, h * 0.2f));
    const float fill = t.visits ? static_cast<float>(t.visits_done) / static_cast<float>(t.visits) : 0.0f;
    const std::string j = subscript(t.kv_tile);
    const char* resident_names[] = {"K", "V", "dK", "dV"};
    for (int k = 0; k < 4; ++k) {
      const ImVec2 a(rx + static_cast<float>(k) * (box + gap), ry), b(a.x + box, ry + box);
      tile(dl, a, b, k < 2 ? 1.0f : fill, k < 2 ? flash_unit_color(t.unit, 0.55f) : memory_category_color(2));
      label_at(dl, ImVec2((a.x + b.x) / 2, (a.y + b.y) / 2), text, resident_names[k] + j);
    }
    ry = wrapped(ry + box + 2, dim, "resident for the whole task; dK, dV accumulate") + line_h * 0.3f;
    // The Q tile visited now.
    if (t.current >= 0) {
      const BackwardQVisit& v = rec.visits[static_cast<size_t>(t.current)];
      const std::string i = subscript(v.q_tile);
      const char* streamed[] = {"Q", "dO", "lse, D", "S, P"};
      for (int k = 0; k < 4; ++k) {
        const ImVec2 a(rx + static_cast<float>(k) * (box + gap), ry), b(a.x + box, ry + box * 0.7f);
        tile(dl, a, b, 1.0f, k == 3 ? IM_COL32(120, 110, 170, 255) : flash_unit_color(t.unit, 0.35f));
        label_at(dl, ImVec2((a.x + b.x) / 2, (a.y + b.y) / 2), text, streamed[k] + (k == 3 ? std::string("") : i));
      }
      char line[240];
      std::snprintf(line, sizeof line,
                    "visit %d of %d: head %d, Q tile %d, %lld allowed pairs%s. S, P recomputed from Q, K and lse; "
                    "dQ%s += scale · dS K%s (atomic add to memory)",
                    t.current + 1, t.visits, v.head, v.q_tile, static_cast<long long>(v.pairs),
                    v.pairs == 0 ? " (empty: skipped)" : "", i.c_str(), j.c_str());
      ry = wrapped(ry + box * 0.7f + 2, dim, line);
    } else {
      ry = wrapped(ry, dim, t.finished ? "this task has finished: dK, dV written to memory once" : "waiting for a worker");
    }
    char counts[160];
    std::snprintf(counts, sizeof counts, "%d of %zu K/V tile tasks running now; dK%s, dV%s: %d of %d Q tiles added",
                  at.running_tasks, at.tasks.size(), j.c_str(), j.c_str(), t.visits_done, t.visits);
    wrapped(ry + line_h * 0.3f, text, counts);
  }

  // Legend under the picture.
  const ImVec2 s(line_h - 4, line_h - 4);
  auto key = [&](ImU32 color, const char* what) {
    const ImVec2 p = ImGui::GetCursorScreenPos();
    dl->AddRectFilled(ImVec2(p.x, p.y + 2), ImVec2(p.x + s.x, p.y + 2 + s.y), color);
    ImGui::Dummy(ImVec2(s.x, s.y));
    ImGui::SameLine();
    ImGui::TextUnformatted(what);
  };
  key(memory_category_color(2), "gradient accumulated (fill = share done)");
  flow_same_line(ImGui::CalcTextSize("a unit's resident K/V tile (its colour)").x + s.x + em);
  key(flash_unit_color(0, 0.9f), "a unit's resident K/V tile (its colour)");
  flow_same_line(ImGui::CalcTextSize("dQ tile being added into (outline)").x + s.x + em);
  key(kEmpty, "dQ tile being added into (outline)");
}

}  // namespace attnscope::gui
