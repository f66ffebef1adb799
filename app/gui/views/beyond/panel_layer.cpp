// panel_layer.cpp — (d) where one transformer block's time goes: the preset's QKV projection, attention, output
// projection and MLP timed on the backend at each N; their shares of the block stacked against N, and each part's
// time (log-log) with the N where attention overtakes the MLP marked. The formula's crossover (FLOPs) is beside it.
#include <imgui.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "app/gui/plot/plot.hpp"
#include "app/gui/presenter/theme.hpp"
#include "app/gui/views/beyond/panels.hpp"
#include "app/gui/widgets/format.hpp"
#include "app/gui/widgets/layout.hpp"
#include "app/gui/widgets/widgets.hpp"
#include "core/beyond_runs.hpp"

namespace attnscope::gui {
namespace {

// N where the formulas' attention FLOPs pass the MLP's (core/cost_model.hpp's attention_passes_mlp_tokens, with ρ at
// the given N: ½ causal, 1 dense).
double formula_crossover(const ModelPreset& m, int64_t n) {
  ModelCostRequest req;
  req.model = m;
  req.tokens = n;
  return model_cost(req).value("attention_passes_mlp_tokens");
}

// Filled bands between consecutive cumulative share lines, drawn over the last plot's data area (translucent, so
// the lines stay visible).
void fill_bands(const std::vector<double>& ns, const std::vector<std::vector<double>>& cumulative) {
  const plot::PlotGeometry& g = plot::LastPlotGeometry();
  if (ns.size() < 2 || g.max.x <= g.min.x) return;
  ImDrawList* list = ImGui::GetWindowDrawList();
  list->PushClipRect(g.min, g.max, true);
  const plot::AxisRange xr{g.x_min, g.x_max}, yr{g.y_min, g.y_max};
  auto px = [&](double n) { return plot::to_pixel(n, xr, g.x_scale, g.min.x, g.max.x); };
  auto py = [&](double v) { return plot::to_pixel(v, yr, g.y_scale, g.max.y, g.min.y); };
  for (size_t k = 0; k + 1 < cumulative.size(); ++k) {
    const ImU32 color = (layer_part_color(static_cast<int>(k)) & 0x00FFFFFF) | (90u << 24);
    for (size_t i = 0; i + 1 < ns.size(); ++i)
      list->AddQuadFilled(ImVec2(px(ns[i]), py(cumulative[k][i])), ImVec2(px(ns[i + 1]), py(cumulative[k][i + 1])),
                          ImVec2(px(ns[i + 1]), py(cumulative[k + 1][i + 1])),
                          ImVec2(px(ns[i]), py(cumulative[k + 1][i])), color);
  }
  list->PopClipRect();
}

}  // namespace

void draw_beyond_layer_panel(ViewContext& ctx, BeyondViewState& view) {
  const float f = ctx.ui.font_px;
  const ModelPreset& m = view.layer_config.model;
  heading(ctx, "Where a layer's time goes");
  char detail[200];
  std::snprintf(detail, sizeof detail, "%s block: d_model %lld, %lld/%lld heads × %lld, %s MLP %lld · %s · %s backend",
                m.title.c_str(), static_cast<long long>(m.d_model), static_cast<long long>(m.heads),
                static_cast<long long>(m.kv_heads), static_cast<long long>(m.head_dim), m.gated_mlp ? "SwiGLU" : "GELU",
                static_cast<long long>(m.mlp_hidden), dtype_name(view.layer_config.dtype), ctx.state.backend_name.c_str());
  detail_after_heading(detail, ImGui::GetStyle().ItemSpacing.x);
  const TaskState st = ctx.worker->task_state(kBeyondLayerChannel);
  ImGui::BeginDisabled(st.pending || st.running);
  if (ImGui::Button("Run")) start_beyond_layer(ctx, view);
  ImGui::EndDisabled();
  if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled))
    ImGui::SetTooltip("Time the block's four parts at each N on the worker");
  ImGui::SameLine();
  beyond_preset_combo(ctx, view);
  beyond_task_progress(ctx, kBeyondLayerChannel.name, "beyond_layer_cancel");

  const double formula_n = formula_crossover(m, view.layer_config.lengths.empty() ? 4096 : view.layer_config.lengths.back());
  if (!view.layer) {
    ImGui::TextDisabled("Timing the block on the worker…");
    return;
  }
  const LayerSweepResult& r = *view.layer;
  std::vector<double> ns;
  std::vector<std::vector<double>> ms(4), below(4), above(4), cumulative(5);  // below / above: to min and max
  int runs = 0;
  for (const LayerPoint& p : r.points) {
    if (!p.measured || p.parts.size() != 4) continue;
    ns.push_back(static_cast<double>(p.n));
    double total = 0;
    for (size_t k = 0; k < 4; ++k) total += p.parts[k].timing.median_ms;
    double sum = 0;
    cumulative[0].push_back(0);
    for (size_t k = 0; k < 4; ++k) {
      const Timing& t = p.parts[k].timing;
      ms[k].push_back(t.median_ms);
      below[k].push_back(t.median_ms - t.min_ms);
      above[k].push_back(t.max_ms - t.median_ms);
      runs = std::max(runs, static_cast<int>(t.samples_ms.size()));
      sum += t.median_ms;
      cumulative[k + 1].push_back(100 * sum / total);
    }
  }
  const double measured_n = attention_overtakes_mlp(r);
  std::string summary;
  char buf[240];
  if (measured_n > 0) std::snprintf(buf, sizeof buf, "Measured: attention overtakes the MLP at N ≈ %s", format_tokens(std::round(measured_n)).c_str());
  else if (measured_n < 0) std::snprintf(buf, sizeof buf, "Measured: attention already takes longer than the MLP at the first N");
  else if (ns.empty()) std::snprintf(buf, sizeof buf, "Measured: no point yet");
  else std::snprintf(buf, sizeof buf, "Measured: the MLP takes longer than attention at every N up to %s", format_tokens(ns.back()).c_str());
  summary = buf;
  std::snprintf(buf, sizeof buf, "   ·   FLOPs say N ≈ %s (4·ρ·N·H·d = %d·d_model·ffn per token; attnscope cost)",
                format_tokens(std::round(formula_n)).c_str(), m.gated_mlp ? 6 : 4);
  ImGui::PushStyleColor(ImGuiCol_Text, warning_color());
  ImGui::TextWrapped("%s", summary.c_str());
  ImGui::PopStyleColor();
  ImGui::SameLine(0, 0);
  ImGui::TextWrapped("%s", buf);
  // What ran the GEMMs: their description without the shapes ("cuBLAS GEMM (fp16, fp32 accumulation)", "cpu_gemm").
  std::string gemms = "the backend's GEMMs";
  if (const size_t times = r.gemm_what.find("×"); times != std::string::npos) {
    const size_t cut = r.gemm_what.rfind(' ', times);
    gemms = r.gemm_what.substr(0, cut == std::string::npos ? times : cut);
    if (gemms == "cpu_gemm") gemms += " (blocked, threaded)";
  }
  char spread[96];
  std::snprintf(spread, sizeof spread, " Bars: fastest to slowest of %d runs.", runs);
  std::string notes = "attention: " + r.attention_what + "; projections and MLP: " + gemms +
                      ". Pre-norms and residual adds left out." + (runs > 1 ? spread : "");
  for (const LayerPoint& p : r.points)
    if (!p.measured) {
      notes += " N = " + format_tokens(static_cast<double>(p.n)) + ": " + p.note + ".";
      break;
    }

  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const ImVec2 spacing = ImGui::GetStyle().ItemSpacing;
  const float notes_h = ImGui::CalcTextSize(notes.c_str(), nullptr, false, avail.x).y + spacing.y;
  const bool side_by_side = (avail.x - spacing.x) * 0.5f >= f * 24;
  const float plots_h = avail.y - notes_h - spacing.y;
  const float plot_h = std::max(f * 10, side_by_side ? plots_h : (plots_h - spacing.y) * 0.5f);
  const float plot_w = side_by_side ? (avail.x - spacing.x) * 0.5f : avail.x;
  std::vector<double> powers_of_two;
  for (double n = 16; n <= double(1 << 22); n *= 2) powers_of_two.push_back(n);

  // The legend beside the data: the filled bands are drawn over the data area after the plot.
  const plot::LegendCorner corner = plot::GetStyle().legend_corner;
  plot::GetStyle().legend_corner = plot::LegendCorner::OutsideEast;
  if (plot::BeginPlot("Share of the block's time (stacked)##layer_share", ImVec2(plot_w, plot_h))) {
    plot::SetupAxis(plot::Axis::X, "sequence length N (tokens)", plot::Scale::Log10);
    plot::SetupAxis(plot::Axis::Y, "share of the block (%)");
    plot::SetupAxisLimits(plot::Axis::Y, 0, 100);
    plot::SetupAxisTicks(plot::Axis::X, powers_of_two);
    plot::SetupAxisFormat(plot::Axis::X, [](double n) { return format_tokens(n); });
    for (int k = 3; k >= 0; --k) {  // legend top to bottom as the bands lie
      plot::ItemStyle line;
      line.color = layer_part_color(k);
      line.marker = plot::Marker::Circle;
      plot::PlotLine(kLayerParts[k], ns, cumulative[static_cast<size_t>(k + 1)], line);
    }
    plot::EndPlot();
    fill_bands(ns, cumulative);
  }
  if (side_by_side) {
    plot::GetStyle().legend_corner = corner;
    ImGui::SameLine();
  }  // stacked: this legend beside the data too, so it covers no line
  if (plot::BeginPlot("Time of each part##layer_time", ImVec2(plot_w, plot_h))) {
    plot::SetupAxis(plot::Axis::X, "sequence length N (tokens)", plot::Scale::Log10);
    plot::SetupAxis(plot::Axis::Y, "median time (ms)", plot::Scale::Log10);
    plot::SetupAxisTicks(plot::Axis::X, powers_of_two);
    plot::SetupAxisFormat(plot::Axis::X, [](double n) { return format_tokens(n); });
    double lo = 1e300, hi = 0;
    for (int k = 0; k < 4; ++k) {
      plot::ItemStyle line;
      line.color = layer_part_color(k);
      line.marker = plot::Marker::Circle;
      plot::PlotLine(kLayerParts[k], ns, ms[static_cast<size_t>(k)], line);
      plot::PlotErrorBars((std::string(kLayerParts[k]) + "##spread").c_str(), ns, ms[static_cast<size_t>(k)],
                          below[static_cast<size_t>(k)], above[static_cast<size_t>(k)],
                          plot::ItemStyle{.color = line.color, .in_legend = false});
      for (double t : ms[static_cast<size_t>(k)]) lo = std::min(lo, t), hi = std::max(hi, t);
    }
    if (measured_n > 0 && hi > 0) {
      char text[64];
      std::snprintf(text, sizeof text, "attention = MLP at N ≈ %s", format_tokens(std::round(measured_n)).c_str());
      plot_vertical_marker("##att_mlp", measured_n, lo, hi, layer_part_color(1), "");
      // Where the two lines meet: the MLP's time interpolated log-log at the crossover.
      double at = NAN;
      for (size_t i = 1; i < ns.size(); ++i)
        if (ns[i - 1] <= measured_n && measured_n <= ns[i]) {
          const double f = std::log(measured_n / ns[i - 1]) / std::log(ns[i] / ns[i - 1]);
          at = std::exp(std::log(ms[3][i - 1]) + f * std::log(ms[3][i] / ms[3][i - 1]));
        }
      plot::PlotScatter(text, &measured_n, &at, 1,
                        plot::ItemStyle{.color = layer_part_color(1), .marker = plot::Marker::Diamond, .marker_size = 7});
    }
    plot::EndPlot();
  }
  plot::GetStyle().legend_corner = corner;
  ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
  ImGui::TextWrapped("%s", notes.c_str());
  ImGui::PopStyleColor();
}

}  // namespace attnscope::gui
