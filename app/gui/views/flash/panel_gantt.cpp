// panel_gantt.cpp — every CTA of the traced run as a bar on its SM (GPU) or worker thread (CPU) over time, from its
// first K/V step's start to its last step's end. Waves (rows of bars starting together) and the tail (the end of
// the run, when units have run out of CTAs) are visible; the tail is shaded. Hover: CTA, head, Q tile, K/V tiles,
// duration. Click a row to follow that unit in the tile-streaming panel. The yellow line is the replayed instant.
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "app/gui/capture/export_ui.hpp"
#include "app/gui/capture/figure_registry.hpp"
#include "app/gui/views/flash/panels.hpp"
#include "app/gui/widgets/layout.hpp"
#include "app/gui/widgets/widgets.hpp"
#include "app/gui/presenter/theme.hpp"

namespace attnscope::gui {
namespace {


// "0–7" or "0–3, 6, 9–11": the K/V tiles a CTA visited, in compressed runs of its visit order.
std::string tile_runs(const CtaRecord& c) {
  std::string out;
  size_t i = 0;
  int shown = 0;
  while (i < c.visits.size()) {
    size_t j = i;
    while (j + 1 < c.visits.size() && c.visits[j + 1].k_tile == c.visits[j].k_tile + 1) ++j;
    if (++shown > 6) { out += ", …"; break; }
    if (!out.empty()) out += ", ";
    out += std::to_string(c.visits[i].k_tile);
    if (j > i) out += "–" + std::to_string(c.visits[j].k_tile);
    i = j + 1;
  }
  return out;
}

// The chart as a figure, from the trace (not from the pixels): one Bars series per colour (head or pass, two shades
// by Q tile parity as on screen), a row per unit that ran CTAs (the first at the top), time in the unit the axis
// shows, the replayed instant as a vertical line. The builder keeps the traced result alive by its shared_ptr.
capture::Figure gantt_figure(const FlashViewResult& r, int64_t time_ns, const std::string& unit_name, double font_px,
                             int width, int height) {
  const Trace& trace = r.trace;
  const TraceReplay& replay = r.replay;
  const bool fa1 = r.key.order == FlashOrder::Flash1;
  const double end = std::max<double>(1.0, static_cast<double>(replay.end_ns));
  const TimeTicks ticks = time_ticks(end, 8);
  capture::Figure fig;
  std::vector<int32_t> row_unit;
  for (int32_t u = 0; u < static_cast<int32_t>(replay.by_unit.size()); ++u)
    if (!replay.by_unit[static_cast<size_t>(u)].empty()) row_unit.push_back(u);
  const int32_t rows = std::max<int32_t>(1, static_cast<int32_t>(row_unit.size()));
  fig.title = "CTAs over time: " + std::to_string(trace.ctas.size()) + " CTAs of " +
              algorithm_name(flash_order_algorithm(r.key.order)) + " on " + std::to_string(row_unit.size()) + " " +
              unit_name + "s; colour = " + (fa1 ? "pass" : "head") + ", shade = Q tile parity";
  // At least a page's width, and rows tall enough to tell apart (the legend is the title: bars fill the area).
  fig.width = std::max(width, 960);
  fig.height = std::max({height, 320, static_cast<int>(font_px * (6.5 + 1.6 * std::min(rows, 64)))});
  fig.font_px = font_px;
  fig.show_legend = false;
  fig.x = {std::string("time since the first tile started (") + ticks.unit + ", " + (trace.clock.empty() ? "clock" : trace.clock) + ")",
           false, 0, end / ticks.unit_ns, {}};
  for (double t = 0; t <= end * 1.0001; t += ticks.step_ns) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", t / ticks.unit_ns);
    fig.x.ticks.push_back({t / ticks.unit_ns, buf});
  }
  fig.y = {unit_name, false, rows - 0.5, -0.5, {}};
  const int32_t label_every = std::max(1, rows / 12);
  for (int32_t row = 0; row < static_cast<int32_t>(row_unit.size()); ++row)
    fig.y.ticks.push_back({static_cast<double>(row), row % label_every == 0 ? std::to_string(row_unit[static_cast<size_t>(row)]) : std::string()});
  std::map<std::pair<int32_t, int32_t>, size_t> series_of;  // (hue, parity) -> series
  for (int32_t row = 0; row < static_cast<int32_t>(row_unit.size()); ++row)
    for (const auto& span : replay.by_unit[static_cast<size_t>(row_unit[static_cast<size_t>(row)])]) {
      const CtaRecord& c = trace.ctas[static_cast<size_t>(span.cta)];
      const int32_t hue = fa1 ? c.visits.front().k_tile : c.head + 3 * c.batch;
      const int32_t parity = c.q_tile % 2;
      auto [it, added] = series_of.try_emplace({hue, parity}, fig.series.size());
      if (added) {
        capture::FigureSeries bars;
        bars.kind = capture::FigureSeries::Kind::Bars;
        bars.label = (fa1 ? "pass " + std::to_string(hue) : "batch " + std::to_string(c.batch) + " head " + std::to_string(c.head)) +
                     (parity == 0 ? ", even Q tiles" : ", odd Q tiles");
        bars.color = flash_unit_color(hue, 1.0f, parity == 0 ? 0.85f : 0.62f);
        bars.bar_height = 0.76;
        bars.in_legend = series_of.size() <= 8;
        fig.series.push_back(std::move(bars));
      }
      capture::FigureSeries& bars = fig.series[it->second];
      bars.xs.push_back(static_cast<double>(span.start) / ticks.unit_ns);
      bars.x_end.push_back(static_cast<double>(span.end) / ticks.unit_ns);
      bars.ys.push_back(row);
    }
  capture::FigureSeries instant;
  instant.label = "replayed instant";
  instant.color = IM_COL32(250, 220, 60, 255);
  instant.xs = {static_cast<double>(time_ns) / ticks.unit_ns, static_cast<double>(time_ns) / ticks.unit_ns};
  instant.ys = {rows - 0.5, -0.5};
  fig.series.push_back(std::move(instant));
  if (replay.tail_start_ns < replay.end_ns)
    fig.texts.push_back({"tail from here →", static_cast<double>(replay.tail_start_ns) / ticks.unit_ns, rows - 0.5,
                         static_cast<float>(-font_px * 8.8), static_cast<float>(-font_px * 0.3), IM_COL32(255, 180, 90, 255)});
  return fig;
}

void publish_gantt_export(FlashFrame& f, const std::string& unit_name, ImVec2 min, ImVec2 max, bool open_menu) {
  capture::ExportSource source;
  source.id = "gantt";
  source.title = "CTAs over time";
  const double font_px = ImGui::GetFontSize();
  const int width = std::max(200, static_cast<int>(max.x - min.x)), height = std::max(160, static_cast<int>(max.y - min.y));
  source.figure = [result = f.view.result, time_ns = f.time_ns, unit_name, font_px, width, height] {
    return result ? gantt_figure(*result, time_ns, unit_name, font_px, width, height) : capture::Figure{};
  };
  source.x = min.x;
  source.y = min.y;
  source.w = max.x - min.x;
  source.h = max.y - min.y;
  source.frame = ImGui::GetFrameCount();
  capture::publish(std::move(source));
  capture::figure_context_menu("gantt", open_menu);
}

}  // namespace

void draw_gantt_panel(FlashFrame& f) {
  const FlashViewResult& r = f.result;
  const Trace& trace = r.trace;
  const TraceReplay& replay = r.replay;
  const bool fa1 = r.key.order == FlashOrder::Flash1;
  const char* unit_name = f.ctx.state.capabilities.trace_unit();
  const float em = ImGui::GetFontSize(), line = ImGui::GetTextLineHeight();
  const ImU32 text_col = ImGui::GetColorU32(ImGuiCol_Text), dim_col = ImGui::GetColorU32(ImGuiCol_TextDisabled);
  const double end = std::max<double>(1.0, static_cast<double>(replay.end_ns));

  // Busy fraction: Σ CTA durations / (units used × span).
  double busy = 0;
  int32_t used = 0;
  for (auto& spans : replay.by_unit) {
    used += spans.empty() ? 0 : 1;
    for (auto& s : spans) busy += static_cast<double>(s.end - s.start);
  }
  char detail[256];
  std::snprintf(detail, sizeof detail, "%zu CTAs · %d/%d %ss · ≤ %d at once · busy %.0f%% · tail %.0f%%",
                trace.ctas.size(), used, replay.units, unit_name, replay.max_concurrent,
                used > 0 ? 100.0 * busy / (used * end) : 0.0,
                100.0 * (end - static_cast<double>(replay.tail_start_ns)) / end);
  flash_heading(f.ctx, "CTAs over time", detail);
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("busy: Σ CTA durations ÷ (units used × span)\ntail: %s at the end with fewer than all used units busy\n"
                      "colour: %s; white outline: the probed row's CTA",
                      format_time_ns(end - static_cast<double>(replay.tail_start_ns)).c_str(),
                      fa1 ? "pass (K/V tile j)" : "head (two shades: even / odd Q tile)");

  // ---- plot area: unit labels on the left, time ticks and the axis label below
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  char widest[32];
  std::snprintf(widest, sizeof widest, "%s %d", unit_name, std::max(0, replay.units - 1));
  const float left = line * 1.2f + ImGui::CalcTextSize(widest).x + em * 0.4f;
  // Tick labels, axis title, colour legend, and room for descenders; a panel too short for two lines of bars above
  // all that drops the legend line (the legend is then in the heading's tooltip).
  const bool legend_line = avail.y - (line * 3.4f + em * 0.4f) >= line * 2;
  const float bottom = line * (legend_line ? 3.4f : 2.4f) + em * 0.4f;
  const ImVec2 p0(origin.x + left, origin.y + line * 0.2f);
  const ImVec2 p1(origin.x + avail.x - em * 0.8f, origin.y + std::max(line * 2, avail.y - bottom));
  const float pw = p1.x - p0.x, ph = p1.y - p0.y;
  // One row per unit that ran a CTA: on a GPU a small grid uses a few of 132 SMs, and idle rows would squash
  // the bars into hairlines. row_unit[r] is the unit drawn in row r; row_of[u] is its row, or -1.
  std::vector<int32_t> row_unit, row_of(static_cast<size_t>(std::max(1, replay.units)), -1);
  for (int32_t u = 0; u < static_cast<int32_t>(replay.by_unit.size()); ++u)
    if (!replay.by_unit[static_cast<size_t>(u)].empty() && u < static_cast<int32_t>(row_of.size())) {
      row_of[static_cast<size_t>(u)] = static_cast<int32_t>(row_unit.size());
      row_unit.push_back(u);
    }
  if (row_unit.empty()) row_unit.push_back(0), row_of[0] = 0;
  const int32_t rows = static_cast<int32_t>(row_unit.size());
  const float row_h = ph / static_cast<float>(rows);
  auto row_for = [&](int32_t unit) {
    return unit >= 0 && unit < static_cast<int32_t>(row_of.size()) ? row_of[static_cast<size_t>(unit)] : -1;
  };
  auto px = [&](double t_ns) { return p0.x + pw * static_cast<float>(t_ns / end); };
  dl->AddRectFilled(p0, p1, palette().plot_bg);

  // The tail, shaded.
  if (replay.tail_start_ns < replay.end_ns) {
    dl->AddRectFilled(ImVec2(px(static_cast<double>(replay.tail_start_ns)), p0.y), p1, IM_COL32(255, 160, 60, 28));
    const char* tail = "tail";
    const float tx = px(static_cast<double>(replay.tail_start_ns)) + em * 0.2f;
    if (p1.x - tx > ImGui::CalcTextSize(tail).x) dl->AddText(ImVec2(tx, p1.y - line), IM_COL32(255, 180, 90, 200), tail);
  }
  // The followed unit's row.
  if (const int32_t fr = row_for(f.unit); fr >= 0)
    dl->AddRectFilled(ImVec2(p0.x, p0.y + row_h * static_cast<float>(fr)),
                      ImVec2(p1.x, p0.y + row_h * static_cast<float>(fr + 1)), palette().grid_major);

  // ---- bars: colour by head (shade alternating with the Q tile), or by pass (K/V tile) in the FA-1 order
  int32_t bars = 0;
  const float pad = row_h >= 6 ? std::max(1.0f, row_h * 0.12f) : 0.0f;
  for (int32_t row = 0; row < rows; ++row) {
    const int32_t u = row_unit[static_cast<size_t>(row)];
    if (u >= static_cast<int32_t>(replay.by_unit.size())) continue;
    const float y0 = p0.y + row_h * static_cast<float>(row) + pad,
                y1 = std::max(y0 + 1, p0.y + row_h * static_cast<float>(row + 1) - pad);
    for (auto& span : replay.by_unit[static_cast<size_t>(u)]) {
      const CtaRecord& c = trace.ctas[static_cast<size_t>(span.cta)];
      const float x0 = px(static_cast<double>(span.start)), x1 = std::max(x0 + 1.0f, px(static_cast<double>(span.end)));
      const int32_t hue_index = fa1 ? c.visits.front().k_tile : c.head + 3 * c.batch;
      const float value = (c.q_tile % 2 == 0) ? 0.85f : 0.62f;
      dl->AddRectFilled(ImVec2(x0, y0), ImVec2(x1, y1), flash_unit_color(hue_index, 1.0f, value));
      // Step boundaries inside the bar, where each step is wide enough to see.
      if (c.visits.size() > 1 && (x1 - x0) / static_cast<float>(c.visits.size()) >= 4.0f && y1 - y0 >= 4)
        for (size_t v = 1; v < c.visits.size(); ++v) {
          const float x = px(static_cast<double>(c.visits[v].start_ns));
          dl->AddLine(ImVec2(x, y0), ImVec2(x, y1), IM_COL32(0, 0, 0, 110));
        }
      ++bars;
    }
  }
  // The probed row's CTA(s), outlined.
  for (int32_t ci : replay.probe_ctas) {
    const CtaRecord& c = trace.ctas[static_cast<size_t>(ci)];
    const float x0 = px(static_cast<double>(c.visits.front().start_ns)), x1 = std::max(x0 + 2, px(static_cast<double>(c.visits.back().end_ns)));
    const int32_t row = row_for(c.unit);
    if (row < 0) continue;
    const float y0 = p0.y + row_h * static_cast<float>(row), y1 = y0 + std::max(2.0f, row_h);
    dl->AddRect(ImVec2(x0 - 1, y0 - 1), ImVec2(x1 + 1, y1 + 1), palette().outline, 0, 0, 1.5f);
  }
  dl->AddRect(p0, p1, palette().plot_border);
  // The replayed instant.
  const float xt = px(static_cast<double>(f.time_ns));
  dl->AddLine(ImVec2(xt, p0.y - line * 0.2f), ImVec2(xt, p1.y), palette().now_marker, 2.0f);

  // ---- axes
  const TimeTicks ticks = time_ticks(end, std::max(2, static_cast<int>(pw / (em * 5))));
  char buf[160];
  for (double t = 0; t <= end * 1.0001; t += ticks.step_ns) {
    const float x = px(t);
    dl->AddLine(ImVec2(x, p1.y), ImVec2(x, p1.y + em * 0.3f), text_col);
    std::snprintf(buf, sizeof buf, "%g", t / ticks.unit_ns);
    const float w = ImGui::CalcTextSize(buf).x;
    dl->AddText(ImVec2(std::clamp(x - w * 0.5f, p0.x - w * 0.5f, p1.x - w), p1.y + em * 0.3f), text_col, buf);
  }
  std::snprintf(buf, sizeof buf, "time since the first tile started (%s, %s)", ticks.unit,
                trace.clock.empty() ? "clock" : trace.clock.c_str());
  dl->AddText(ImVec2(p0.x + (pw - ImGui::CalcTextSize(buf).x) * 0.5f, p1.y + em * 0.3f + line), text_col, buf);
  // Unit labels: as many as fit without overlapping.
  const int32_t label_every = std::max(1, static_cast<int32_t>(std::ceil(line / std::max(row_h, 0.1f))));
  for (int32_t row = 0; row < rows; row += label_every) {
    const int32_t u = row_unit[static_cast<size_t>(row)];
    std::snprintf(buf, sizeof buf, "%d", u);
    const ImVec2 size = ImGui::CalcTextSize(buf);
    const float y = p0.y + row_h * (static_cast<float>(row) + 0.5f) - size.y * 0.5f;
    dl->AddText(ImVec2(p0.x - em * 0.3f - size.x, y), u == f.unit ? text_col : dim_col, buf);
  }
  if (rows < replay.units)
    std::snprintf(buf, sizeof buf, "%s (the %d that ran CTAs)", unit_name, rows);
  else
    std::snprintf(buf, sizeof buf, "%s", unit_name);
  if (ImGui::CalcTextSize(buf).x > ph) std::snprintf(buf, sizeof buf, "%s", unit_name);
  if (ImGui::CalcTextSize(buf).x <= ph)  // the rows say it too; skipped where the chart is too short
    draw_text_vertical(dl, ImVec2(origin.x, p0.y + (ph + ImGui::CalcTextSize(buf).x) * 0.5f), text_col, buf);

  // ---- hover and click
  ImGui::SetCursorScreenPos(p0);
  ImGui::InvisibleButton("gantt_area", ImVec2(std::max(1.0f, pw), std::max(1.0f, ph)));
  publish_gantt_export(f, unit_name, origin, ImVec2(origin.x + avail.x, origin.y + avail.y),
                       ImGui::IsItemHovered() && ImGui::IsMouseClicked(ImGuiMouseButton_Right));
  if (ImGui::IsItemHovered()) {
    const ImVec2 m = ImGui::GetIO().MousePos;
    const int32_t u = row_unit[static_cast<size_t>(std::clamp(static_cast<int32_t>((m.y - p0.y) / row_h), 0, rows - 1))];
    const double t = (m.x - p0.x) / pw * end;
    const double slack = 3.0 / pw * end;  // a few pixels: thin bars stay hoverable
    if (ImGui::IsItemClicked()) f.view.follow_unit = u;
    const TraceReplay::Span* found = nullptr;
    if (u < static_cast<int32_t>(replay.by_unit.size()))
      for (auto& s : replay.by_unit[static_cast<size_t>(u)])
        if (static_cast<double>(s.start) - slack <= t && t <= static_cast<double>(s.end) + slack) { found = &s; break; }
    ImGui::BeginTooltip();
    if (found) {
      const CtaRecord& c = trace.ctas[static_cast<size_t>(found->cta)];
      ImGui::Text("CTA %d on %s %d", c.cta, unit_name, c.unit);
      ImGui::Text("batch %d, head %d, Q tile %d (rows %lld … %lld)", c.batch, c.head, c.q_tile,
                  static_cast<long long>(int64_t{c.q_tile} * trace.br),
                  static_cast<long long>(std::min<int64_t>(r.spec.q_len, int64_t{c.q_tile + 1} * trace.br) - 1));
      // flash-tc with a gathered schedule: visits are gathered key blocks (ordinals), not K/V tiles.
      ImGui::Text("%s (%zu): %s", r.gathered ? "gathered key blocks" : "K/V tiles", c.visits.size(), tile_runs(c).c_str());
      ImGui::Text("%s → %s: %s", format_time_ns(static_cast<double>(found->start)).c_str(),
                  format_time_ns(static_cast<double>(found->end)).c_str(),
                  format_time_ns(static_cast<double>(found->end - found->start)).c_str());
    } else {
      ImGui::Text("%s %d idle at %s", unit_name, u, format_time_ns(t).c_str());
    }
    ImGui::TextDisabled("click: follow %s %d in the tile-streaming panel", unit_name, u);
    ImGui::EndTooltip();
  }

  // Legend below the axis label: the longest wording that fits the panel, cut with an ellipsis when none does.
  const char* colour_of = fa1 ? "pass (K/V tile j)" : "head (two shades: even / odd Q tile)";
  char with_click[200], with_outline[200], colour_only[120];
  std::snprintf(with_click, sizeof with_click, "colour: %s · white outline: the probed row's CTA · click a row to follow it",
                colour_of);
  std::snprintf(with_outline, sizeof with_outline, "colour: %s · white outline: the probed row's CTA", colour_of);
  std::snprintf(colour_only, sizeof colour_only, "colour: %s", colour_of);
  const std::vector<const char*> wordings = {with_click, with_outline, colour_only};
  const float legend_room = avail.x;
  const std::string legend = fit_with_ellipsis(wordings[static_cast<size_t>(first_that_fits(wordings, legend_room))], legend_room);
  if (legend_line) dl->AddText(ImVec2(origin.x, p1.y + em * 0.3f + line * 2.1f), dim_col, legend.c_str());
  auto& ro = f.view.readout;
  const ImVec2 scale = ImGui::GetIO().DisplayFramebufferScale;
  ro.gantt_bars = bars;
  ro.gantt_x = p0.x * scale.x, ro.gantt_y = p0.y * scale.y, ro.gantt_w = pw * scale.x, ro.gantt_h = ph * scale.y;
}

TimeTicks time_ticks(double end_ns, int max_ticks) {
  TimeTicks t;
  if (end_ns >= 2e6) { t.unit_ns = 1e6; t.unit = "ms"; }
  else if (end_ns >= 2e3) { t.unit_ns = 1e3; t.unit = "µs"; }
  const double raw = end_ns / std::max(1, max_ticks);
  const double mag = std::pow(10.0, std::floor(std::log10(std::max(raw, 1e-9))));
  t.step_ns = mag * 10;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) { t.step_ns = m * mag; break; }
  return t;
}

}  // namespace attnscope::gui
