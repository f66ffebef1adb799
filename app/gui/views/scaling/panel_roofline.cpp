// panel_roofline.cpp — the roofline: achieved FLOP/s (cost-model FLOPs / measured median) against arithmetic
// intensity (cost-model FLOPs / bytes moved) for the latest timing run and every measured sweep point, under the
// device's ceilings measured once by Backend::measure_ceilings (a large copy and a large matrix multiply):
//   attainable(I) = min(peak FLOP/s, bandwidth · I); the ridge I* = peak / bandwidth separates memory-bound (left)
//   from compute-bound (right).
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <span>

#include "app/gui/plot/plot.hpp"
#include "app/gui/views/scaling/panels.hpp"
#include "app/gui/presenter/theme.hpp"
#include "app/gui/widgets/layout.hpp"

namespace attnscope::gui {
namespace {
// The legend's keys for marker styles (which source a point came from) are grey: colour names the algorithm.
constexpr ImU32 kRooflineKeyGrey = IM_COL32(200, 200, 200, 255);
}  // namespace

void draw_roofline_panel(ViewContext& ctx, ScalingViewState& view) {
  heading(ctx, "Roofline: achieved FLOP/s against arithmetic intensity");
  const std::string detail = ctx.state.backend_name + " backend · " + ctx.state.device_name;
  detail_after_heading(detail.c_str(), ImGui::GetStyle().ItemSpacing.x);

  const TaskState st = ctx.worker->task_state(kCeilingsChannel);
  ImGui::BeginDisabled(st.pending || st.running);
  if (ImGui::Button("Measure the ceilings again")) ctx.worker->submit_task(kCeilingsChannel, make_ceilings_task());
  ImGui::EndDisabled();
  if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled))
    ImGui::SetTooltip("A large copy (bandwidth) and a large matrix multiply (compute), on the worker");
  const DeviceCeilings* c = view.ceilings ? &*view.ceilings : nullptr;
  const bool have = c && c->ok && c->copy_bytes_per_s > 0 && c->gemm_flops_per_s > 0;
  // What was measured: beside the button when it fits, else under it, wrapped.
  auto after_button = [](const std::string& text, ImVec4 color) {
    flow_same_line(ImGui::CalcTextSize(text.c_str()).x);
    ImGui::PushStyleColor(ImGuiCol_Text, color);
    ImGui::TextWrapped("%s", text.c_str());
    ImGui::PopStyleColor();
  };
  if (!c) after_button("measuring…", ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
  else if (!c->ok) after_button(c->error, error_color());
  else {
    char measured[256];
    std::snprintf(measured, sizeof measured, "copy %s (%s buffer)  ·  %s: %s", format_bandwidth(c->copy_bytes_per_s).c_str(),
                  format_bytes(static_cast<double>(c->copy_bytes)).c_str(), c->gemm_what.c_str(),
                  format_flops_rate(c->gemm_flops_per_s).c_str());
    after_button(measured, ImGui::GetStyleColorVec4(ImGuiCol_Text));
    ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
    ImGui::TextWrapped("%sridge at %.3g FLOP/B (peak / bandwidth)  ·  measured on %s in %.1f s  ·  FLOPs and bytes "
                        "of the runs: cost model",
                        c->gemm16_flops_per_s > 0
                            ? ("fp16 tensor cores " + format_flops_rate(c->gemm16_flops_per_s) + "  ·  ").c_str()
                            : "",
                        c->gemm_flops_per_s / c->copy_bytes_per_s, c->device.c_str(), c->seconds);
    ImGui::PopStyleColor();
  }
  task_progress(ctx, kCeilingsChannel.name, "ceilings_cancel", /*cancellable=*/false);  // one benchmark, about a second

  // Points: the latest timing run (large) and the sweep's measured points (small), per algorithm.
  struct Points { std::vector<double> x, y; std::vector<std::string> notes; };
  std::map<Algorithm, Points> runs, sweep;
  const double peak = have ? std::max(c->gemm_flops_per_s, c->gemm16_flops_per_s) : 0;
  const bool tera = peak >= 1e12;
  const double unit = tera ? 1e12 : 1e9;
  auto add = [&](Points& p, double flops, double bytes, double ms, const std::string& what) {
    if (!(flops > 0 && bytes > 0 && ms > 0)) return;
    const double rate = flops / (ms * 1e-3);
    p.x.push_back(flops / bytes);
    p.y.push_back(rate / unit);
    char buf[256];
    std::snprintf(buf, sizeof buf, "%s\n%s in %s = %s\n%s / %s moved = %.3g FLOP/B", what.c_str(),
                  format_si(flops, "FLOP").c_str(), format_time_ms(ms).c_str(), format_flops_rate(rate).c_str(),
                  format_si(flops, "FLOP").c_str(), format_bytes(bytes).c_str(), flops / bytes);
    p.notes.push_back(buf);
  };
  if (!view.history.empty())
    for (const AlgorithmTiming& a : view.history.back().algorithms)
      if (a.ok) add(runs[a.algorithm], a.flops, a.bytes_moved, a.timing.median_ms, view.history.back().experiment);
  if (view.sweep)
    for (const auto& s : view.sweep->series)
      for (const auto& p : s.points)
        if (p.status == PointStatus::Measured)
          add(sweep[s.series.algorithm], p.flops, p.bytes_moved, p.timing.median_ms,
              "sweep: " + s.series.label + " at N = " + std::to_string(p.n));

  // Points above a roof ran faster than the benchmark that measured it: on a shared machine the benchmark was
  // slowed by other work. Said plainly rather than hidden.
  if (have) {
    int above = 0, total = 0;
    for (auto* m : {&runs, &sweep})
      for (auto& [alg, p] : *m)
        for (size_t i = 0; i < p.x.size(); ++i) {
          ++total;
          const double roof = std::min(c->gemm_flops_per_s, c->copy_bytes_per_s * p.x[i]) / unit;
          above += p.y[i] > 1.1 * roof;
        }
    if (above > 0) {
      ImGui::PushStyleColor(ImGuiCol_Text, warning_color());
      ImGui::TextWrapped("%d of %d points lie more than 10%% above the measured roof: the machine was busier during "
                         "the benchmark than during those runs; measure the ceilings again.",
                         above, total);
      ImGui::PopStyleColor();
    }
  }
  const char* y_label = tera ? "achieved TFLOP/s" : "achieved GFLOP/s";
  // The legend goes beside the data, never over it (the roofs run along the top, the slanted one through the lower
  // left, and points can fall in any corner): right of the data when 30 em of width allow it, else below, with room
  // for up to 9 entries in one column under a 10 em data area (the tab scrolls).
  const bool legend_east = ImGui::GetContentRegionAvail().x >= ImGui::GetFontSize() * 30;
  const float roofline_h =
      std::max(ImGui::GetFontSize() * (legend_east ? 10.0f : 22.0f), ImGui::GetContentRegionAvail().y);
  if (plot::BeginPlot("Roofline##roofline", ImVec2(-1, roofline_h))) {
    plot::SetupAxis(plot::Axis::X, "arithmetic intensity (FLOP per byte moved, cost model)", plot::Scale::Log10);
    plot::SetupAxis(plot::Axis::Y, y_label, plot::Scale::Log10);
    const plot::LegendCorner corner = plot::GetStyle().legend_corner;
    plot::GetStyle().legend_corner = legend_east ? plot::LegendCorner::OutsideEast : plot::LegendCorner::OutsideSouth;
    // The x range covers the points and the ridge, so both roofs show.
    double x_lo = 1e300, x_hi = 0, y_lo = 1e300;
    for (auto* m : {&runs, &sweep})
      for (auto& [alg, p] : *m)
        for (size_t i = 0; i < p.x.size(); ++i) {
          x_lo = std::min(x_lo, p.x[i]);
          x_hi = std::max(x_hi, p.x[i]);
          y_lo = std::min(y_lo, p.y[i]);
        }
    if (have) {
      const double ridge = c->gemm_flops_per_s / c->copy_bytes_per_s;
      x_lo = std::min(x_lo, ridge / 4);
      x_hi = std::max(x_hi, ridge * 4);
      if (c->gemm16_flops_per_s > 0) x_hi = std::max(x_hi, 4 * c->gemm16_flops_per_s / c->copy_bytes_per_s);
      x_lo /= 2;
      x_hi *= 2;
      y_lo = std::min(y_lo, c->copy_bytes_per_s * x_lo / unit);
      plot::SetupAxisLimits(plot::Axis::X, x_lo, x_hi);
      plot::SetupAxisLimits(plot::Axis::Y, y_lo / 2, peak / unit * 2.5);
      auto roof = [&](const char* label, double flops_peak, bool dashed) {
        const double r = flops_peak / c->copy_bytes_per_s;
        const double xs[3] = {x_lo, r, x_hi};
        const double ys[3] = {c->copy_bytes_per_s * x_lo / unit, flops_peak / unit, flops_peak / unit};
        plot::ItemStyle style;
        style.color = IM_COL32(230, 230, 235, 255);
        style.dashed = dashed;
        style.line_weight = 2.5f;
        plot::PlotLine(label, xs, ys, 3, style);
        plot::PlotText((format_flops_rate(flops_peak)).c_str(), x_hi, flops_peak / unit,
                       ImVec2(-ImGui::CalcTextSize(format_flops_rate(flops_peak).c_str()).x - 6, -ImGui::GetFontSize() - 2));
      };
      roof("ceilings (copy, fp32 matmul)", c->gemm_flops_per_s, false);
      if (c->gemm16_flops_per_s > 0) roof("fp16 tensor-core matmul", c->gemm16_flops_per_s, true);
      char bw[64];
      std::snprintf(bw, sizeof bw, "%s", format_bandwidth(c->copy_bytes_per_s).c_str());
      // Above the slanted roof (it rises to the right, so up-left of a point on it is clear of it).
      const double x_bw = std::sqrt(x_lo * c->gemm_flops_per_s / c->copy_bytes_per_s);
      plot::PlotText(bw, x_bw, c->copy_bytes_per_s * x_bw / unit,
                     ImVec2(-ImGui::CalcTextSize(bw).x - 4, -ImGui::GetFontSize() * 1.2f));
    }
    // The legend: one colour per algorithm (a swatch), then one grey key per marker style drawn — the points
    // themselves stay out of it, so an algorithm seen only in the sweep still has its colour named.
    std::set<Algorithm> algorithms;
    for (auto* m : {&runs, &sweep})
      for (auto& [alg, p] : *m)
        if (!p.x.empty()) algorithms.insert(alg);
    for (Algorithm alg : algorithms) {
      plot::ItemStyle key;
      key.color = algorithm_color(alg);
      key.marker = plot::Marker::Square;
      plot::PlotScatter(algorithm_name(alg), std::span<const double>(), std::span<const double>(), key);
    }
    const bool any_run = std::any_of(runs.begin(), runs.end(), [](const auto& e) { return !e.second.x.empty(); });
    const bool any_sweep = std::any_of(sweep.begin(), sweep.end(), [](const auto& e) { return !e.second.x.empty(); });
    if (any_run) {
      plot::ItemStyle key{.color = kRooflineKeyGrey, .marker = plot::Marker::Diamond};
      plot::PlotScatter("latest Timing run", std::span<const double>(), std::span<const double>(), key);
    }
    if (any_sweep) {
      plot::ItemStyle key{.color = kRooflineKeyGrey, .marker = plot::Marker::Circle, .marker_filled = false};
      plot::PlotScatter("Scaling sweep point", std::span<const double>(), std::span<const double>(), key);
    }
    for (auto& [alg, p] : sweep) {
      plot::ItemStyle s;
      s.color = (algorithm_color(alg) & 0x00FFFFFF) | (170u << 24);
      s.marker = plot::Marker::Circle;
      s.marker_filled = false;
      s.marker_size = 4;
      s.in_legend = false;
      s.notes = p.notes.data();
      plot::PlotScatter((std::string(algorithm_name(alg)) + "##sweep").c_str(), p.x, p.y, s);
    }
    for (auto& [alg, p] : runs) {
      plot::ItemStyle s;
      s.color = algorithm_color(alg);
      s.marker = plot::Marker::Diamond;
      s.marker_size = 7;
      s.in_legend = false;
      s.notes = p.notes.data();
      plot::PlotScatter((std::string(algorithm_name(alg)) + "##run").c_str(), p.x, p.y, s);
    }
    plot::EndPlot();
    plot::GetStyle().legend_corner = corner;
  }
}

}  // namespace attnscope::gui
