// panel_timing.cpp — every algorithm on the current experiment: median with min–max, achieved rates, speed-up over
// naive (measured in the same run), and the history of runs as a plot. Each algorithm is labelled with the dtype
// it ran at ("flash fp32", "flash-tc fp16"): one the backend has no kernel for at the experiment's dtype runs at
// the closest one it has (run_dtype.hpp), marked "*" and explained under the table.
#include <imgui.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <algorithm>

#include "app/gui/plot/plot.hpp"
#include "app/gui/views/scaling/panels.hpp"
#include "app/gui/presenter/theme.hpp"
#include "app/gui/widgets/layout.hpp"

namespace attnscope::gui {
namespace {

void controls(ViewContext& ctx, ScalingViewState& view) {
  const TaskState st = ctx.worker->task_state(kTimingChannel);
  ImGui::BeginDisabled(st.pending || st.running || !ctx.state.errors.empty());
  if (ImGui::Button("Run again")) start_timing(ctx, view);
  ImGui::EndDisabled();
  if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled))
    ImGui::SetTooltip("Time every algorithm this backend has on the experiment (set in Explore)");
  const float runs_w = ctx.ui.font_px * 4;
  flow_same_line(runs_w + ImGui::GetStyle().ItemInnerSpacing.x + ImGui::CalcTextSize("timed runs").x);
  ImGui::SetNextItemWidth(runs_w);
  int64_t runs = view.timing_repetitions;
  std::string problem;  // a value outside 1..100 is not applied: the reason under this row
  if (checked_int_field("timed runs", &runs, 0, "timed runs per algorithm after one warm-up", int_range_rule(1, 100),
                        &problem))
    view.timing_repetitions = static_cast<int>(runs);
  flow_same_line(checkbox_width("time each new experiment"));
  ImGui::Checkbox("time each new experiment", &view.auto_time);
  if (!problem.empty())
    field_error("timed runs " + problem + " — showing " + std::to_string(view.timing_repetitions) +
                    ", the last valid value",
                0);
  task_progress(ctx, kTimingChannel.name, "timing_cancel");
}

void latest_table(ViewContext& ctx, const TimingRun& run) {
  const AlgorithmTiming* naive = nullptr;
  for (auto& a : run.algorithms)
    if (a.algorithm == Algorithm::Naive && a.ok) naive = &a;  // at the experiment's dtype (naive runs every dtype)
  // Columns at their content's width; when they add up to more than the panel, the table scrolls sideways. A
  // scrolling table is a child window: its height is the rows' (header + one per algorithm) plus the scroll bar.
  const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerH | ImGuiTableFlags_SizingFixedFit |
                                ImGuiTableFlags_ScrollX;
  const ImGuiStyle& style = ImGui::GetStyle();
  const float row_h = ImGui::GetTextLineHeight() + 2 * style.CellPadding.y;
  const float table_h = static_cast<float>(run.algorithms.size() + 1) * row_h + style.ScrollbarSize + 2 * style.CellPadding.y;
  if (!ImGui::BeginTable("latest", 6, flags, ImVec2(0, table_h))) return;
  ImGui::TableSetupColumn("algorithm");
  ImGui::TableSetupColumn("median");
  ImGui::TableSetupColumn("min – max");
  ImGui::TableSetupColumn("FLOP/s");
  ImGui::TableSetupColumn("GiB/s");
  ImGui::TableSetupColumn("vs naive");
  ImGui::TableHeadersRow();
  for (const AlgorithmTiming& a : run.algorithms) {
    ImGui::TableNextRow();
    ImGui::TableNextColumn();
    timing_label_cell(a, run.spec);
    if (!a.ok) {
      ImGui::TableNextColumn();
      ImGui::TextColored(error_color(), "%s", a.out_of_memory ? "out of memory" : "failed");
      if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", a.error.c_str());
      continue;
    }
    const double s = a.timing.median_ms * 1e-3;
    ImGui::TableNextColumn();
    ImGui::TextUnformatted(format_time_ms(a.timing.median_ms).c_str());
    ImGui::TableNextColumn();
    ImGui::Text("%s – %s", format_time_ms(a.timing.min_ms).c_str(), format_time_ms(a.timing.max_ms).c_str());
    if (ImGui::IsItemHovered()) {
      std::string samples;
      for (double v : a.timing.samples_ms) samples += format_time_ms(v) + "  ";
      ImGui::SetTooltip("%zu timed runs: %s\nquartiles %s – %s", a.timing.samples_ms.size(), samples.c_str(),
                        format_time_ms(a.timing.q1_ms).c_str(), format_time_ms(a.timing.q3_ms).c_str());
    }
    if (a.timing.noisy()) {  // the spread is wide: said in the cell, the rule in the note under the table
      ImGui::SameLine();
      ImGui::TextColored(warning_color(), "noisy");
      if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", a.timing.noisy_text().c_str());
    }
    ImGui::TableNextColumn();
    ImGui::TextUnformatted(s > 0 ? format_flops_rate(a.flops / s).c_str() : "—");
    ImGui::TableNextColumn();
    ImGui::Text("%.3g", s > 0 ? a.bytes_moved / s / kBytesPerGiB : 0.0);
    if (ImGui::IsItemHovered())
      ImGui::SetTooltip("bytes moved by the cost model (%s) / median time", format_bytes(a.bytes_moved).c_str());
    ImGui::TableNextColumn();
    if (naive && a.timing.median_ms > 0) ImGui::Text("%.2f×", naive->timing.median_ms / a.timing.median_ms);
    else ImGui::TextDisabled("—");
  }
  ImGui::EndTable();
  (void)ctx;
}

// Under the table: measurements whose repetitions disagree, dtypes that were substituted (and why), and the kernels
// the backend named.
void run_notes(const TimingRun& run) {
  const ImVec4 dim = ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled);
  std::string noisy;
  for (const AlgorithmTiming& a : run.algorithms)
    if (a.ok && a.timing.noisy()) noisy += (noisy.empty() ? "" : ", ") + timing_label(a);
  if (!noisy.empty()) {
    ImGui::PushStyleColor(ImGuiCol_Text, warning_color());
    ImGui::TextWrapped("noisy: %s — their runs disagree (quartiles over 10%% of the median apart or max over 1.3 × "
                       "min; hover \"noisy\" for how much). Other work on the machine?", noisy.c_str());
    ImGui::PopStyleColor();
  }
  bool any_substituted = false;
  for (const AlgorithmTiming& a : run.algorithms) any_substituted |= a.dtype_substituted;
  if (any_substituted) {
    std::string names;
    for (const AlgorithmTiming& a : run.algorithms)
      if (a.dtype_substituted) names += (names.empty() ? "" : ", ") + timing_label(a);
    ImGui::PushStyleColor(ImGuiCol_Text, dim);
    ImGui::TextWrapped("* %s: no kernel for the experiment's %s on this backend, so run at the closest dtype it has, "
                       "on the same input values (hover for the backend's reason).",
                       names.c_str(), dtype_name(run.spec.dtype));
    ImGui::PopStyleColor();
  }
  bool any_kernel = false;
  for (const AlgorithmTiming& a : run.algorithms) any_kernel |= !a.kernel.empty();
  if (!any_kernel) return;
  ImGui::TextDisabled("kernels that ran:");
  for (const AlgorithmTiming& a : run.algorithms) {
    if (a.kernel.empty()) continue;
    ImGui::PushStyleColor(ImGuiCol_Text, dim);
    ImGui::TextWrapped("  %s: %s", timing_label(a).c_str(), a.kernel.c_str());
    ImGui::PopStyleColor();
  }
}

}  // namespace

void draw_timing_panel(ViewContext& ctx, ScalingViewState& view) {
  heading(ctx, "Timing: every algorithm on the experiment");
  const std::string detail = ctx.state.backend_name + " backend · " + ctx.state.device_name;
  detail_after_heading(detail.c_str(), ImGui::GetStyle().ItemSpacing.x);
  controls(ctx, view);
  if (view.history.empty()) {
    ImGui::TextDisabled("The first run starts on the worker…");
    return;
  }
  const TimingRun& latest = view.history.back();
  ImGui::TextWrapped("Run %d: %s, median of %d timed runs after a warm-up%s", latest.number, latest.experiment.c_str(),
                     latest.repetitions, latest.cancelled ? " (cancelled)" : "");
  // The table beside the history plot when 36 text heights (its widest rows) fit in 55% of the width; else the
  // table above (the full width, 60% of the height) and the plot under it. Each scrolls on its own if need be.
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float table_fit_w = ctx.ui.font_px * 36;
  const bool side_by_side = table_fit_w <= avail.x * 0.55f;
  const ImVec2 table_size = side_by_side ? ImVec2(table_fit_w, 0)
                                         : ImVec2(0, std::max(ctx.ui.font_px * 10, avail.y * 0.6f));
  ImGui::BeginChild("latest_table", table_size, false, ImGuiWindowFlags_HorizontalScrollbar);
  latest_table(ctx, latest);
  ImGui::Spacing();
  run_notes(latest);
  // Failures in full (out of memory: bytes needed against free), and what this backend cannot run here.
  for (const AlgorithmTiming& a : latest.algorithms)
    if (!a.ok) {
      ImGui::PushStyleColor(ImGuiCol_Text, error_color());
      ImGui::TextWrapped("%s: %s", timing_label(a).c_str(), a.error.c_str());
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
  ImGui::TextWrapped("Speed-up is the naive median over each median, measured in the same run. FLOP/s and GiB/s divide "
                     "the cost model's FLOPs and bytes by the median time.");
  ImGui::EndChild();
  if (side_by_side) ImGui::SameLine();

  // History: one series per (algorithm, dtype it ran at), x = run number.
  struct Series {
    Algorithm algorithm = Algorithm::Flash;
    std::vector<double> x, y, lo, hi;
    std::vector<std::string> notes;
  };
  std::map<std::string, Series> series;  // by label: "flash fp32"
  const std::vector<Algorithm> order = timed_algorithms();
  auto rank = [&](Algorithm alg) { return static_cast<double>(std::find(order.begin(), order.end(), alg) - order.begin()); };
  for (const TimingRun& run : view.history)
    for (const AlgorithmTiming& a : run.algorithms) {
      if (!a.ok) continue;
      Series& s = series[timing_label(a)];
      s.algorithm = a.algorithm;
      // Dodged: each algorithm a little to the side of its run, so the min–max bars do not overlap.
      s.x.push_back(run.number + 0.08 * (rank(a.algorithm) - 0.5 * static_cast<double>(order.size() - 1)));
      s.y.push_back(a.timing.median_ms);
      s.lo.push_back(a.timing.median_ms - a.timing.min_ms);
      s.hi.push_back(a.timing.max_ms - a.timing.median_ms);
      s.notes.push_back("run " + std::to_string(run.number) + ": " + run.experiment + "\n" + timing_label(a) +
                        (a.dtype_substituted ? " (dtype substituted)" : "") + ": min " + format_time_ms(a.timing.min_ms) +
                        ", max " + format_time_ms(a.timing.max_ms) + (a.kernel.empty() ? "" : "\n" + a.kernel));
    }
  const float history_h = std::max(ctx.ui.font_px * 10, ImGui::GetContentRegionAvail().y);
  if (plot::BeginPlot("History of runs (median, bars: min – max)##timing_history", ImVec2(-1, history_h))) {
    plot::SetupAxis(plot::Axis::X, "run", plot::Scale::Linear);
    plot::SetupAxisFormat(plot::Axis::X, [](double v) {
      return std::fabs(v - std::round(v)) < 1e-9 ? std::to_string(static_cast<long long>(std::round(v))) : std::string();
    });
    plot::SetupAxis(plot::Axis::Y, "time of one call (ms)", plot::Scale::Log10);
    const double last = view.history.back().number, first = view.history.front().number;
    plot::SetupAxisLimits(plot::Axis::X, first - 0.5, std::max(last, first + 1.0) + 0.5);
    // Legend in the timed order (naive, flash, flash-tc, …), not alphabetical.
    std::vector<const std::pair<const std::string, Series>*> ordered;
    for (auto& entry : series) ordered.push_back(&entry);
    std::stable_sort(ordered.begin(), ordered.end(),
                     [&](auto* a, auto* b) { return rank(a->second.algorithm) < rank(b->second.algorithm); });
    for (auto* entry : ordered) {
      const std::string& label = entry->first;
      const Series& s = entry->second;
      plot::ItemStyle st;
      st.color = algorithm_color(s.algorithm);
      st.marker = plot::Marker::Circle;
      st.notes = s.notes.data();
      plot::PlotLine(label.c_str(), s.x, s.y, st);
      plot::PlotErrorBars(label.c_str(), s.x, s.y, s.lo, s.hi, plot::ItemStyle{.color = st.color});
    }
    plot::EndPlot();
  }
}

}  // namespace attnscope::gui
