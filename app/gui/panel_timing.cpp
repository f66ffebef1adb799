// panel_timing.cpp — every algorithm on the current experiment: median with min–max, achieved rates, speed-up over
// naive (measured in the same run), and the history of runs as a plot.
#include <imgui.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <algorithm>

#include "app/gui/plot.hpp"
#include "app/gui/scaling_panels.hpp"

namespace attnscope::gui {
namespace {

void controls(ViewContext& ctx, ScalingViewState& view) {
  const TaskState st = ctx.worker->task_state(kTimingChannel);
  ImGui::BeginDisabled(st.pending || st.running || !ctx.state.errors.empty());
  if (ImGui::Button("Run again")) start_timing(ctx, view);
  ImGui::EndDisabled();
  if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled))
    ImGui::SetTooltip("Time every algorithm this backend has on the experiment (set in Explore)");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(ctx.ui.font_px * 4);
  if (ImGui::InputInt("timed runs", &view.timing_repetitions, 0))
    view.timing_repetitions = std::clamp(view.timing_repetitions, 1, 100);
  ImGui::SameLine();
  ImGui::Checkbox("time each new experiment", &view.auto_time);
  task_progress(ctx, kTimingChannel, "timing_cancel");
}

void latest_table(ViewContext& ctx, const TimingRun& run) {
  const AlgorithmTiming* naive = nullptr;
  for (auto& a : run.algorithms)
    if (a.algorithm == Algorithm::Naive && a.ok) naive = &a;
  const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerH | ImGuiTableFlags_SizingFixedFit;
  if (!ImGui::BeginTable("latest", 6, flags)) return;
  ImGui::TableSetupColumn("algorithm");
  ImGui::TableSetupColumn("median");
  ImGui::TableSetupColumn("min – max");
  ImGui::TableSetupColumn("FLOP/s");
  ImGui::TableSetupColumn("GB/s");
  ImGui::TableSetupColumn("vs naive");
  ImGui::TableHeadersRow();
  for (const AlgorithmTiming& a : run.algorithms) {
    ImGui::TableNextRow();
    ImGui::TableNextColumn();
    algorithm_label(a.algorithm);
    if (!a.ok) {
      ImGui::TableNextColumn();
      ImGui::TextColored(ImVec4(1, 0.45f, 0.4f, 1), "%s", a.out_of_memory ? "out of memory" : "failed");
      if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", a.error.c_str());
      continue;
    }
    const double s = a.timing.median_ms * 1e-3;
    ImGui::TableNextColumn();
    ImGui::TextUnformatted(format_ms(a.timing.median_ms).c_str());
    ImGui::TableNextColumn();
    ImGui::Text("%s – %s", format_ms(a.timing.min_ms).c_str(), format_ms(a.timing.max_ms).c_str());
    if (ImGui::IsItemHovered()) {
      std::string samples;
      for (double v : a.timing.samples_ms) samples += format_ms(v) + "  ";
      ImGui::SetTooltip("%zu timed runs: %s", a.timing.samples_ms.size(), samples.c_str());
    }
    ImGui::TableNextColumn();
    ImGui::TextUnformatted(s > 0 ? format_flops_rate(a.flops / s).c_str() : "—");
    ImGui::TableNextColumn();
    ImGui::Text("%.3g", s > 0 ? a.bytes_moved / s * 1e-9 : 0.0);
    if (ImGui::IsItemHovered())
      ImGui::SetTooltip("bytes moved by the cost model (%s) / median time", format_bytes(a.bytes_moved).c_str());
    ImGui::TableNextColumn();
    if (naive && a.timing.median_ms > 0) ImGui::Text("%.2f×", naive->timing.median_ms / a.timing.median_ms);
    else ImGui::TextDisabled("—");
  }
  ImGui::EndTable();
  (void)ctx;
}

}  // namespace

void draw_timing_panel(ViewContext& ctx, ScalingViewState& view) {
  scaling_heading(ctx, "Timing: every algorithm on the experiment");
  ImGui::SameLine();
  ImGui::TextDisabled("%s backend · %s", ctx.state.backend_name.c_str(), ctx.state.device_name.c_str());
  controls(ctx, view);
  if (view.history.empty()) {
    ImGui::TextDisabled("The first run starts on the worker…");
    return;
  }
  const TimingRun& latest = view.history.back();
  ImGui::Text("Run %d: %s, median of %d timed runs after a warm-up%s", latest.number, latest.experiment.c_str(),
              latest.repetitions, latest.cancelled ? " (cancelled)" : "");
  const float table_w = std::min(ctx.ui.font_px * 36, ImGui::GetContentRegionAvail().x * 0.55f);
  ImGui::BeginChild("latest_table", ImVec2(table_w, 0), false);
  latest_table(ctx, latest);
  ImGui::Spacing();
  // Failures in full (out of memory: bytes needed against free), and what this backend cannot run here.
  for (const AlgorithmTiming& a : latest.algorithms)
    if (!a.ok) {
      ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1, 0.55f, 0.5f, 1));
      ImGui::TextWrapped("%s: %s", algorithm_name(a.algorithm), a.error.c_str());
      ImGui::PopStyleColor();
    }
  if (!latest.not_run.empty()) {
    ImGui::TextDisabled("not run on this backend:");
    for (const std::string& line : latest.not_run) {
      ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
      ImGui::TextWrapped("  %s", line.c_str());
      ImGui::PopStyleColor();
    }
  }
  ImGui::Spacing();
  ImGui::TextWrapped("Speed-up is the naive median over each median, measured in the same run. FLOP/s and GB/s divide "
                     "the cost model's FLOPs and bytes by the median time.");
  ImGui::EndChild();
  ImGui::SameLine();

  // History: one series per algorithm, x = run number.
  std::map<Algorithm, std::vector<double>> xs, ys, lo, hi;
  std::map<Algorithm, std::vector<std::string>> notes;
  for (const TimingRun& run : view.history)
    for (const AlgorithmTiming& a : run.algorithms) {
      if (!a.ok) continue;
      // Dodged: each algorithm a little to the side of its run, so the min–max bars do not overlap.
      xs[a.algorithm].push_back(run.number + 0.08 * (static_cast<int>(a.algorithm) - 3));
      ys[a.algorithm].push_back(a.timing.median_ms);
      lo[a.algorithm].push_back(a.timing.median_ms - a.timing.min_ms);
      hi[a.algorithm].push_back(a.timing.max_ms - a.timing.median_ms);
      notes[a.algorithm].push_back("run " + std::to_string(run.number) + ": " + run.experiment + "\nmin " +
                                   format_ms(a.timing.min_ms) + ", max " + format_ms(a.timing.max_ms));
    }
  if (plot::BeginPlot("History of runs (median, bars: min – max)##timing_history", ImVec2(-1, -1))) {
    plot::SetupAxis(plot::Axis::X, "run", plot::Scale::Linear);
    plot::SetupAxisFormat(plot::Axis::X, [](double v) {
      return std::fabs(v - std::round(v)) < 1e-9 ? std::to_string(static_cast<long long>(std::round(v))) : std::string();
    });
    plot::SetupAxis(plot::Axis::Y, "time of one call (ms)", plot::Scale::Log10);
    const double last = view.history.back().number, first = view.history.front().number;
    plot::SetupAxisLimits(plot::Axis::X, first - 0.5, std::max(last, first + 1.0) + 0.5);
    plot::GetStyle().legend_corner = plot::LegendCorner::NorthWest;
    for (auto& [alg, x] : xs) {
      plot::ItemStyle st;
      st.color = algorithm_color(alg);
      st.marker = plot::Marker::Circle;
      st.notes = notes[alg].data();
      plot::PlotLine(algorithm_name(alg), x, ys[alg], st);
      plot::PlotErrorBars(algorithm_name(alg), x, ys[alg], lo[alg], hi[alg], plot::ItemStyle{.color = st.color});
    }
    plot::EndPlot();
  }
}

}  // namespace attnscope::gui
