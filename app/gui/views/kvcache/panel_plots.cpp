// panel_plots.cpp — decode time per token and achieved bandwidth against the floor, one shared legend.
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "app/gui/plot/plot.hpp"
#include "app/gui/views/kvcache/panels.hpp"
#include "app/gui/widgets/layout.hpp"
#include "app/gui/presenter/theme.hpp"
#include "core/cost_model.hpp"
#include "core/kv_cache.hpp"

namespace attnscope::gui::kv {

// ---------------------------------------------------------------- plots
// A vertical marker at the picture's token count, drawn over the plot just ended.
void mark_tokens(double tokens) {
  const plot::PlotGeometry& g = plot::LastPlotGeometry();
  if (tokens < g.x_min || tokens > g.x_max) return;
  const float x = plot::to_pixel(tokens, plot::AxisRange{g.x_min, g.x_max}, g.x_scale, g.min.x, g.max.x);
  ImGui::GetWindowDrawList()->AddLine(ImVec2(x, g.min.y), ImVec2(x, g.max.y), with_alpha(palette().text, 110), 1.5f);
}

// One legend for both plots, in a row above them (outside their data areas). Returns its height.
float draw_shared_legend(ViewContext& ctx, KvViewState& s, const KvRunResult& r, float width) {
  const float em = ctx.ui.font_px;
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 p0 = ImGui::GetCursorScreenPos();
  float x = p0.x, y = p0.y, right = p0.x;
  const float swatch = em * 1.6f;
  auto entry = [&](ImU32 color, bool dashed, bool marker, const std::string& text) {
    const float w = swatch + em * 0.4f + ImGui::CalcTextSize(text.c_str()).x;
    if (x > p0.x && x + w > p0.x + width) {
      x = p0.x;
      y += em * 1.25f;
    }
    const float cy = y + em * 0.55f;
    if (dashed) {
      for (float dx = 0; dx < swatch; dx += em * 0.5f)
        dl->AddLine(ImVec2(x + dx, cy), ImVec2(x + std::min(swatch, dx + em * 0.3f), cy), color, 2.0f);
    } else {
      dl->AddLine(ImVec2(x, cy), ImVec2(x + swatch, cy), color, 2.0f);
    }
    if (marker) dl->AddCircleFilled(ImVec2(x + swatch * 0.5f, cy), em * 0.25f, color);
    dl->AddText(ImVec2(x + swatch + em * 0.4f, y), text_color(), text.c_str());
    x += w + em * 1.2f;
    right = std::max(right, x);
  };
  for (size_t i = 0; i < r.runs.size(); ++i) {
    char text[64];
    std::snprintf(text, sizeof text, "%s (%lld KV heads)", r.runs[i].name.c_str(),
                  static_cast<long long>(r.runs[i].kv_heads));
    entry(layout_color(static_cast<int>(i)), false, true, text);
  }
  if (r.bandwidth_gbs > 0) {
    entry(ceiling_color(), true, false, "floor = bytes ÷ copy bandwidth");
  }
  entry(with_alpha(palette().text, 110), false, false, "picture's token count");
  const float h = y - p0.y + em * 1.2f;
  s.legend_min = screen(p0);
  s.legend_max = screen(ImVec2(right, p0.y + h));
  ImGui::Dummy(ImVec2(width, h));
  return h;
}

void draw_plots(ViewContext& ctx, KvViewState& s, ImVec2 size) {
  const float em = ctx.ui.font_px;
  if (!s.result) {
    ImGui::TextDisabled("running the decode loop for MHA, GQA and MQA…");
    return;
  }
  const KvRunResult& r = *s.result;
  for (const auto& run : r.runs)
    if (!run.loop.ok) ImGui::TextColored(error_color(), "%s: %s", run.name.c_str(), run.loop.error.c_str());
  const float legend_h = draw_shared_legend(ctx, s, r, size.x);
  const float footer_h = em * 1.3f;
  const float plot_h = std::max(em * 8.0f, size.y - legend_h - footer_h - ImGui::GetStyle().ItemSpacing.y * 2);
  const float w = (size.x - ImGui::GetStyle().ItemSpacing.x) * 0.5f;
  const double marker = static_cast<double>(tokens_now(s));
  const bool batched = s.batch > 1;
  const char* time_title = batched ? "Decode time per step (a token for each sequence), one layer##kv_time"
                                   : "Decode time per token, one layer##kv_time";
  if (plot::BeginPlot(time_title, ImVec2(w, plot_h), plot::PlotFlags_NoLegend)) {
    plot::SetupAxis(plot::Axis::X, "context (tokens in the cache)");
    plot::SetupAxis(plot::Axis::Y, batched ? "time per step (ms)" : "time per token (ms)", plot::Scale::Log10);
    plot::SetupAxisFormat(plot::Axis::X, format_tokens_exact);
    // A third of a decade of room above and below, so no marker touches the frame.
    double lo = 0, hi = 0;
    auto include = [&](double v) {
      if (v > 0 && std::isfinite(v)) {
        lo = lo > 0 ? std::min(lo, v) : v;
        hi = std::max(hi, v);
      }
    };
    for (const auto& run : r.runs) {
      for (const auto* series : {&run.ms, &run.floor_ms})
        for (double v : *series) include(v);
      for (const Timing& t : run.timing) {  // the error bars' ends
        include(t.min_ms);
        include(t.max_ms);
      }
    }
    if (lo > 0 && hi > 0) plot::SetupAxisLimits(plot::Axis::Y, lo / 2.0, hi * 2.0);
    for (size_t i = 0; i < r.runs.size(); ++i) {
      const auto& run = r.runs[i];
      plot::ItemStyle measured;
      measured.color = layout_color(static_cast<int>(i));
      measured.marker = plot::Marker::Circle;
      plot::PlotLine(run.name.c_str(), run.context, run.ms, measured);
      plot::PlotErrorBars(run.name.c_str(), run.context, run.ms, run.ms_below, run.ms_above, measured);  // min – max
      plot::ItemStyle floor = measured;
      floor.marker = plot::Marker::None;
      floor.dashed = true;
      if (r.bandwidth_gbs > 0) plot::PlotLine((run.name + " floor").c_str(), run.context, run.floor_ms, floor);
    }
    plot::EndPlot();
    const plot::PlotGeometry& g = plot::LastPlotGeometry();
    s.time_plot_min = screen(g.min);
    s.time_plot_max = screen(g.max);
    s.time_points = g.points_drawn;
    mark_tokens(marker);
  }
  ImGui::SameLine();
  if (plot::BeginPlot("Achieved bandwidth: K/V bytes read / time##kv_bw", ImVec2(w, plot_h), plot::PlotFlags_NoLegend)) {
    plot::SetupAxis(plot::Axis::X, "context (tokens in the cache)");
    plot::SetupAxis(plot::Axis::Y, "bandwidth (GiB/s)");
    plot::SetupAxisFormat(plot::Axis::X, format_tokens_exact);
    // The runs measure GB/s (10^9 bytes); shown in GiB/s (2^30 bytes) like every byte count of the app.
    constexpr double kGiBPerGB = 1e9 / kBytesPerGiB;
    // From 0, with room above the copy bandwidth for its label.
    double top = r.bandwidth_gbs * kGiBPerGB;
    for (const auto& run : r.runs)
      for (double g : run.gbs) top = std::max(top, g * kGiBPerGB);
    if (top > 0) plot::SetupAxisLimits(plot::Axis::Y, 0, top * 1.3);
    for (size_t i = 0; i < r.runs.size(); ++i) {
      plot::ItemStyle st;
      st.color = layout_color(static_cast<int>(i));
      st.marker = plot::Marker::Circle;
      std::vector<double> gibs(r.runs[i].gbs);
      for (double& g : gibs) g *= kGiBPerGB;
      plot::PlotLine(r.runs[i].name.c_str(), r.runs[i].context, gibs, st);
    }
    if (r.bandwidth_gbs > 0 && !r.runs.empty() && !r.runs.front().context.empty()) {
      const double xs[2] = {r.runs.front().context.front(), r.runs.front().context.back()};
      const double ys[2] = {r.bandwidth_gbs * kGiBPerGB, r.bandwidth_gbs * kGiBPerGB};
      plot::ItemStyle st;
      st.color = ceiling_color();
      st.dashed = true;
      plot::PlotLine("copy bandwidth", xs, ys, 2, st);
      char text[64];
      std::snprintf(text, sizeof text, "copy bandwidth %s (the floor's)", format_bandwidth(r.bandwidth_gbs * 1e9).c_str());
      plot::PlotText(text, xs[0], ys[0], ImVec2(em * 0.3f, -em * 1.15f), ceiling_color());
    }
    plot::EndPlot();
    const plot::PlotGeometry& g = plot::LastPlotGeometry();
    s.bw_plot_min = screen(g.min);
    s.bw_plot_max = screen(g.max);
    s.bw_points = g.points_drawn;
    mark_tokens(marker);
  }
  // The footer: where it ran, and the compute the loop achieved (every layout does the same 4·B·H·L·d FLOPs, so a
  // backend whose times do not fall with the KV heads is bound by compute, not by the bytes).
  std::string footer = "measured: " + kv_measurement_label(r);
  std::string compute;
  for (const auto& run : r.runs) {
    if (!run.loop.ok || run.loop.samples.empty()) continue;
    const DecodeStepSample& last = run.loop.samples.back();
    const double flops =
        decode_cost(s.batch, s.heads, run.kv_heads, s.head_dim, DType::F16, last.context).flops;
    char b[64];
    std::snprintf(b, sizeof b, "%s%s %s", compute.empty() ? "" : ", ", run.name.c_str(),
                  format_rate(last.decode_ms > 0 ? flops / (last.decode_ms * 1e-3) / 1e9 : 0.0).c_str());
    compute += b;
  }
  const bool stale = r.key != task_key(s);
  const char* stale_text = "measured for the previous shape ·";
  if (!compute.empty() && !r.runs.front().loop.samples.empty()) {
    footer += " · compute at " + format_tokens_exact(static_cast<double>(r.runs.front().loop.samples.back().context)) +
              " tokens: " + compute + " GFLOP/s";
    const float room = size.x - (stale ? ImGui::CalcTextSize(stale_text).x + ImGui::GetStyle().ItemSpacing.x : 0.0f);
    const char* why = " (the same FLOPs for every layout)";
    if (ImGui::CalcTextSize((footer + why).c_str()).x <= room) footer += why;
  }
  if (stale) {
    // The shape changed since this was measured: a new loop is running, or the shape is not valid.
    ImGui::TextColored(warning_color(), "%s", stale_text);
    ImGui::SameLine();
  }
  // One line, shortened with an ellipsis to the width left (whole in the tooltip).
  const std::string shown = fit_with_ellipsis(footer.c_str(), ImGui::GetContentRegionAvail().x);
  ImGui::TextDisabled("%s", shown.c_str());
  const std::string source = r.bandwidth_gbs > 0 ? r.bandwidth_source : std::string("copy bandwidth not measured: no floor drawn");
  tooltip(shown == footer ? source.c_str() : (footer + "\n" + source).c_str());
}

}  // namespace attnscope::gui::kv
