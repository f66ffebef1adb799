// panel_online_softmax.cpp — one query row's online softmax, replayed from the kernel's probe values.
//   scores      s_j = q·k_j / √d of the row (reference, double) against key j; the tiles the kernel has folded
//               in by the replayed instant in colour, the rest grey; the running max m after each tile as a
//               staircase over that tile's keys
//   per tile    l (normaliser Σ exp(s − m)), the rescale factor exp(m_old − m_new) applied to l and acc, and
//               ‖acc‖ (the unnormalised output's norm), one point per tile step
//   at the end  the exact softmax of the whole row (core/reference.hpp) and the kernel's reconstruction
//               p_j = exp(s_j − m) / l from its final m and l, with the largest difference
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

#include "app/gui/views/flash/panels.hpp"
#include "app/gui/plot/plot.hpp"
#include "app/gui/presenter/theme.hpp"

namespace attnscope::gui {
namespace {

const ImU32 kArrived = IM_COL32(86, 180, 233, 255);
const ImU32 kPending = IM_COL32(110, 110, 118, 150);
const ImU32 kMax = IM_COL32(230, 159, 0, 255);
ImU32 current_color() { return palette().now_marker; }  // follows the theme

// One per-step quantity as a small plot: done steps drawn, axes fitted to every step so they never jump.
void step_plot(const char* title, const char* y_label, const std::vector<double>& values, int done, ImVec2 size,
               bool unit_range) {
  plot::PlotStyle& style = plot::GetStyle();
  const int saved_ticks = style.target_ticks;
  style.target_ticks = 3;
  if (plot::BeginPlot(title, size, plot::PlotFlags_NoLegend)) {
    const int n = static_cast<int>(values.size());
    plot::SetupAxis(plot::Axis::X, "tile step", plot::Scale::Linear);
    plot::SetupAxis(plot::Axis::Y, y_label, plot::Scale::Linear);
    plot::SetupAxisLimits(plot::Axis::X, 0.5, std::max(1.5, n + 0.5));
    if (unit_range) {
      plot::SetupAxisLimits(plot::Axis::Y, -0.05, 1.05);
    } else {
      const plot::AxisRange range = plot::fit_range(values, plot::Scale::Linear, 0.08);
      plot::SetupAxisLimits(plot::Axis::Y, range.min, range.max);
    }
    std::vector<double> xs(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) xs[static_cast<size_t>(i)] = i + 1;
    plot::ItemStyle line;
    line.color = kArrived;
    line.marker = plot::Marker::Circle;
    line.marker_size = 3.0f;
    plot::PlotLine(title, xs.data(), values.data(), done, line);
    if (done > 0) {
      plot::ItemStyle now;
      now.color = current_color();
      now.marker = plot::Marker::Circle;
      now.marker_size = 5.0f;
      now.in_legend = false;
      plot::PlotScatter("##now", &xs[static_cast<size_t>(done - 1)], &values[static_cast<size_t>(done - 1)], 1, now);
    }
    plot::EndPlot();
  }
  style.target_ticks = saved_ticks;
}

// The scores and the softmax fill every corner of their plots, so their legends go beside the data, never over
// it: right of the data area when the plot is wide enough to give up a legend's width, else below it.
class OutsideLegend {
 public:
  explicit OutsideLegend(float plot_width) : saved_(plot::GetStyle().legend_corner) {
    plot::GetStyle().legend_corner = plot_width >= ImGui::GetFontSize() * 24 ? plot::LegendCorner::OutsideEast
                                                                              : plot::LegendCorner::OutsideSouth;
  }
  ~OutsideLegend() { plot::GetStyle().legend_corner = saved_; }
  OutsideLegend(const OutsideLegend&) = delete;
  OutsideLegend& operator=(const OutsideLegend&) = delete;

 private:
  plot::LegendCorner saved_;
};

}  // namespace

void draw_online_softmax_panel(FlashFrame& f) {
  const FlashViewResult& r = f.result;
  const Trace& trace = r.trace;
  const float em = ImGui::GetFontSize(), line = ImGui::GetTextLineHeight();
  const RowProbe* probe = nullptr;
  for (auto& p : trace.probes)
    if (p.batch == 0 && p.head == 0 && p.row == r.row) probe = &p;
  const int steps = probe ? static_cast<int>(probe->steps.size()) : 0;
  // Steps done at the replayed instant: the probe's visits that have ended (when the trace's visits and the
  // probe's steps pair up one to one; otherwise all of them).
  const bool paired = static_cast<int>(r.replay.probe_visits.size()) == steps;
  const int done = paired ? std::min(steps, r.replay.probe_steps_done(f.time_ns)) : steps;
  f.view.readout.probe_steps_shown = done;

  char detail[200];
  const int32_t q_tile = trace.br > 0 ? r.row / trace.br : 0;
  std::snprintf(detail, sizeof detail, "row %d of head 0 · Q tile %d · %s %d · step %d of %d", r.row, q_tile,
                f.ctx.state.capabilities.trace_unit(), r.replay.probe_unit, done, steps);
  flash_heading(f.ctx, "Online softmax", detail);
  if (!probe || steps == 0) {
    ImGui::TextWrapped("The kernel reported no probe steps for row %d (a row whose every tile is skipped has none).",
                       r.row);
    return;
  }

  // ---- scores with the running max
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float footer_h = line * 2.4f;
  const float plots_h = avail.y - footer_h;
  const float scores_h = std::floor(plots_h * 0.36f), steps_h = std::floor(plots_h * 0.32f);
  const size_t n_keys = r.row_scores.size();
  std::vector<char> arrived(n_keys, 0);
  int32_t current_tile = -1;
  for (int s = 0; s < done; ++s) {
    // The step's keys: its K/V tile, or (flash-tc, gathered) its block of gathered keys.
    for (int64_t k : r.visit_keys(q_tile, probe->steps[static_cast<size_t>(s)].k_tile))
      if (k >= 0 && k < static_cast<int64_t>(n_keys)) arrived[static_cast<size_t>(k)] = 1;
  }
  if (paired && done < steps) {
    const TileVisit& next = r.replay.probe_visits[static_cast<size_t>(done)];
    if (next.start_ns <= f.time_ns) current_tile = next.k_tile;  // being folded in right now
  }
  std::vector<double> ax, ay, px, py;
  for (size_t k = 0; k < n_keys; ++k) {
    const double s = r.row_scores[k];
    if (!std::isfinite(s)) continue;  // masked: never scored
    (arrived[k] ? ax : px).push_back(static_cast<double>(k));
    (arrived[k] ? ay : py).push_back(s);
  }
  std::vector<double> mx, my;  // staircase: m after step s over that step's keys
  for (int s = 0; s < done; ++s) {
    const ProbeStep& st = probe->steps[static_cast<size_t>(s)];
    if (!std::isfinite(st.m)) continue;
    const std::vector<int64_t> keys = r.visit_keys(q_tile, st.k_tile);
    if (keys.empty()) continue;
    const double k0 = static_cast<double>(*std::min_element(keys.begin(), keys.end()));
    const double k1 = std::min<double>(static_cast<double>(n_keys), static_cast<double>(*std::max_element(keys.begin(), keys.end())) + 1);
    mx.insert(mx.end(), {k0, k1});
    my.insert(my.end(), {st.m, st.m});
  }
  std::vector<double> all_scores = ay;
  all_scores.insert(all_scores.end(), py.begin(), py.end());
  f.view.readout.softmax_legends_over_data = 0;
  f.view.readout.softmax_legends = 0;
  auto note_legend = [&f] {
    const plot::PlotGeometry& g = plot::LastPlotGeometry();
    f.view.readout.softmax_legends += g.legend_entries > 0 ? 1 : 0;
    f.view.readout.softmax_legends_over_data += g.legend_over_data() ? 1 : 0;
  };
  const OutsideLegend scores_legend(ImGui::GetContentRegionAvail().x);
  if (plot::BeginPlot("scores of the row, tile by tile", ImVec2(-1, scores_h))) {
    plot::SetupAxis(plot::Axis::X, "key j (token index)", plot::Scale::Linear);
    plot::SetupAxis(plot::Axis::Y, "s = q·k/√d", plot::Scale::Linear);
    plot::SetupAxisLimits(plot::Axis::X, 0, static_cast<double>(std::max<size_t>(1, n_keys)));
    const plot::AxisRange yr = plot::fit_range(all_scores, plot::Scale::Linear, 0.08);
    plot::SetupAxisLimits(plot::Axis::Y, yr.min, yr.max);
    plot::ItemStyle pending;
    pending.color = kPending;
    pending.marker = plot::Marker::Square;
    pending.marker_size = 1.4f;
    plot::PlotScatter("not yet folded in", px, py, pending);
    plot::ItemStyle got = pending;
    got.color = kArrived;
    plot::PlotScatter("folded in", ax, ay, got);
    plot::ItemStyle m_style;
    m_style.color = kMax;
    m_style.line_weight = 2.5f;
    plot::PlotLine("m after each tile", mx, my, m_style);
    plot::EndPlot();
    note_legend();
    // Tile boundaries and the tile in progress, over the data area.
    const plot::PlotGeometry& g = plot::LastPlotGeometry();
    ImDrawList* dl = ImGui::GetWindowDrawList();
    const plot::AxisRange xr{g.x_min, g.x_max};
    if (trace.bc > 0 && (g.max.x - g.min.x) / static_cast<float>(std::max(1, trace.tc)) >= 4.0f)
      for (int32_t j = 1; j < trace.tc; ++j) {
        const float x = plot::to_pixel(static_cast<double>(j) * trace.bc, xr, plot::Scale::Linear, g.min.x, g.max.x);
        dl->AddLine(ImVec2(x, g.min.y), ImVec2(x, g.max.y), palette().grid_major);
      }
    if (current_tile >= 0 && !r.gathered) {
      const float x0 = plot::to_pixel(static_cast<double>(current_tile) * trace.bc, xr, plot::Scale::Linear, g.min.x, g.max.x);
      const float x1 = plot::to_pixel(std::min<double>(static_cast<double>(n_keys), (current_tile + 1.0) * trace.bc), xr,
                                      plot::Scale::Linear, g.min.x, g.max.x);
      dl->AddRect(ImVec2(x0, g.min.y), ImVec2(x1, g.max.y), current_color(), 0, 0, 2.0f);
    } else if (current_tile >= 0) {  // a gathered block: a mark at each of its keys
      for (int64_t k : r.visit_keys(q_tile, current_tile)) {
        const float x = plot::to_pixel(static_cast<double>(k) + 0.5, xr, plot::Scale::Linear, g.min.x, g.max.x);
        dl->AddLine(ImVec2(x, g.min.y), ImVec2(x, g.min.y + (g.max.y - g.min.y) * 0.08f), current_color(), 2.0f);
      }
    }
    const ImVec2 scale = ImGui::GetIO().DisplayFramebufferScale;
    auto& ro = f.view.readout;
    ro.softmax_plot_x = g.min.x * scale.x, ro.softmax_plot_y = g.min.y * scale.y;
    ro.softmax_plot_w = (g.max.x - g.min.x) * scale.x, ro.softmax_plot_h = (g.max.y - g.min.y) * scale.y;
  }

  // ---- l, rescale, ‖acc‖ per tile step
  std::vector<double> ls, rescales, norms;
  for (auto& st : probe->steps) {
    ls.push_back(st.l);
    rescales.push_back(st.rescale);
    norms.push_back(st.acc_norm);
  }
  const float gap = ImGui::GetStyle().ItemSpacing.x;
  const float w3 = std::floor((ImGui::GetContentRegionAvail().x - 2 * gap) / 3.0f);
  step_plot("l = Σ exp(s−m)", "l", ls, done, ImVec2(w3, steps_h), false);
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("the normaliser after each tile: l·rescale + Σ exp(s_j − m_new)");
  ImGui::SameLine(0, gap);
  step_plot("exp(m_old−m_new)", "rescale", rescales, done, ImVec2(w3, steps_h), true);
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("the factor l and acc are multiplied by when a tile raises the running max\n"
                      "(1: the max did not change; 0 on the first tile with an allowed key)");
  ImGui::SameLine(0, gap);
  step_plot("‖acc‖ = ‖l·O‖", "norm", norms, done, ImVec2(w3, steps_h), false);
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("Euclidean norm of the unnormalised output Σ exp(s_j − m) v_j");

  // ---- the end: exact softmax beside the kernel's reconstruction
  const bool finished = done == steps;
  const float final_h = std::max(em * 6.5f, ImGui::GetContentRegionAvail().y - footer_h);
  if (plot::BeginPlot("softmax of the row: exact vs from the kernel's m, l", ImVec2(-1, final_h))) {
    plot::SetupAxis(plot::Axis::X, "key j (token index)", plot::Scale::Linear);
    plot::SetupAxis(plot::Axis::Y, "p", plot::Scale::Linear);
    plot::SetupAxisLimits(plot::Axis::X, 0, static_cast<double>(std::max<size_t>(1, n_keys)));
    const plot::AxisRange pr = plot::fit_range(r.exact_p, plot::Scale::Linear, 0.06);
    plot::SetupAxisLimits(plot::Axis::Y, std::min(0.0, pr.min), pr.max);
    if (finished) {
      std::vector<double> keys(n_keys);
      for (size_t k = 0; k < n_keys; ++k) keys[k] = static_cast<double>(k);
      plot::ItemStyle exact;
      exact.color = kArrived;
      exact.line_weight = 2.0f;
      plot::PlotLine("exact (reference)", keys, r.exact_p, exact);
      plot::ItemStyle kernel;
      kernel.color = kMax;
      kernel.marker = plot::Marker::Cross;
      kernel.marker_size = 2.5f;
      plot::PlotScatter("kernel: exp(s − m)/l", keys, r.kernel_p, kernel);
    } else {
      char wait[128];
      std::snprintf(wait, sizeof wait, "appears when the row's last tile is folded in (step %d)", steps);
      plot::PlotText(wait, static_cast<double>(n_keys) * 0.5, (std::min(0.0, pr.min) + pr.max) * 0.5,
                     ImVec2(-ImGui::CalcTextSize(wait).x * 0.5f, 0), palette().text_muted);
    }
    plot::EndPlot();
    note_legend();
  }
  const ProbeStep& last = probe->steps.back();
  if (finished) {
    ImGui::Text("largest |p_exact − p_kernel| = %.3g over %zu keys", r.max_abs_diff, n_keys);
    ImGui::TextDisabled("kernel's final m = %.4g, l = %.4g after %d steps", last.m, last.l, steps);
  } else {
    const ProbeStep* now = done > 0 ? &probe->steps[static_cast<size_t>(done - 1)] : nullptr;
    if (now) ImGui::Text("after step %d: m = %.4g, l = %.4g, rescale = %.3g", done, now->m, now->l, now->rescale);
    else ImGui::TextUnformatted("no tile of this row folded in yet");
    ImGui::TextDisabled("step %d of %d; the comparison appears at the end", done, steps);
  }
}

}  // namespace attnscope::gui
