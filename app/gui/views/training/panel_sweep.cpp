// panel_sweep.cpp — training against N: forward + backward time and peak memory of naive and flash on log-log
// axes, measured on the worker point by point. Points not measured are marked where the backend said they would
// lie, at the peak the backend predicts for them (it refuses a run before allocating when the peak would pass the
// budget): over the memory budget, a cross; not run because a shorter N passed the time cap, a hollow triangle.
// Both are also named under the plots. The budget line is the capacity the backend may use, or the smaller budget set here.
#include <imgui.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "app/gui/plot/plot.hpp"
#include "app/gui/presenter/theme.hpp"
#include "app/gui/views/scaling/panels.hpp"
#include "app/gui/views/training/panels.hpp"
#include "app/gui/widgets/layout.hpp"

namespace attnscope::gui {
namespace {

struct SeriesArrays {
  std::vector<double> n, time_ms, bytes;            // measured
  std::vector<std::string> notes;
  std::vector<double> oom_n, oom_bytes;             // over the budget: at the bytes needed
  std::vector<std::string> oom_notes;
  std::vector<double> capped_n, capped_bytes;       // not run (time cap): at the peak the backend predicts
  std::vector<std::string> capped_notes;
};

SeriesArrays arrays_of(const TrainingSweepSeries& s) {
  SeriesArrays a;
  for (const TrainingSweepPoint& p : s.points) {
    const std::string name = algorithm_name(s.algorithm);
    if (p.status == TrainingPointStatus::Measured) {
      a.n.push_back(static_cast<double>(p.n));
      a.time_ms.push_back(p.forward_ms + p.backward_ms);
      a.bytes.push_back(static_cast<double>(p.peak_bytes));
      a.notes.push_back("forward " + format_time_ms(p.forward_ms) + " + backward " + format_time_ms(p.backward_ms) +
                        "\npeak " + format_bytes(static_cast<double>(p.peak_bytes)) + ", saved " +
                        format_bytes(static_cast<double>(p.saved_bytes)));
    } else if (p.status == TrainingPointStatus::OverBudget && p.peak_bytes > 0) {
      a.oom_n.push_back(static_cast<double>(p.n));
      a.oom_bytes.push_back(static_cast<double>(p.peak_bytes));
      a.oom_notes.push_back("over the budget at N = " + std::to_string(p.n) + ": needs " +
                            format_bytes(static_cast<double>(p.peak_bytes)));
    } else if (p.status == TrainingPointStatus::OverTimeCap && p.peak_bytes > 0) {
      a.capped_n.push_back(static_cast<double>(p.n));
      a.capped_bytes.push_back(static_cast<double>(p.peak_bytes));
      a.capped_notes.push_back("not run (time cap) at N = " + std::to_string(p.n) + ": would need " +
                               format_bytes(static_cast<double>(p.peak_bytes)) + " (the backend's prediction)");
    }
  }
  return a;
}

void settings_row(ViewContext& ctx, TrainingViewState& view) {
  const float f = ctx.ui.font_px;
  const TaskState st = ctx.worker->task_state(kTrainingSweepChannel);
  const bool busy = st.pending || st.running;
  ImGui::BeginDisabled(busy);
  if (ImGui::Button("Run sweep")) start_training_sweep(ctx, view);
  ImGui::EndDisabled();
  if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled))
    ImGui::SetTooltip("Forward + backward of naive and flash at each N on the worker; points appear as measured");
  const float spacing = ImGui::GetStyle().ItemSpacing.x;
  flow_same_line(ImGui::CalcTextSize("memory budget (MiB, 0 = capacity)").x + spacing + f * 6);
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted("memory budget (MiB, 0 = capacity)");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(f * 6);
  ImGui::InputInt("##budget", &view.budget_mib, 0, 0);
  view.budget_mib = std::max(0, view.budget_mib);
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("Points whose forward + backward peak would pass this are refused and marked; Run sweep applies it");
  flow_same_line(ImGui::CalcTextSize("time cap (s)").x + spacing + f * 5);
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted("time cap (s)");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(f * 5);
  double cap = view.sweep_config.time_cap_s;
  if (ImGui::InputDouble("##cap", &cap, 0, 0, "%.1f")) view.sweep_config.time_cap_s = std::max(0.05, cap);
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("A series stops after a point whose forward + backward took longer than this");
  task_progress(ctx, kTrainingSweepChannel.name, "training_sweep_cancel");
}

}  // namespace

void draw_training_sweep_panel(ViewContext& ctx, TrainingViewState& view) {
  const float f = ctx.ui.font_px;
  heading(ctx, "Training against N: forward + backward, naive vs flash");
  const TrainingSweepConfig& c = view.sweep ? view.sweep->config : view.sweep_config;
  char detail[200];
  std::snprintf(detail, sizeof detail, "B=%lld H=%lld/%lld d=%lld fp32%s · %s backend", static_cast<long long>(c.batch),
                static_cast<long long>(c.heads), static_cast<long long>(c.kv_heads), static_cast<long long>(c.head_dim),
                c.causal ? " causal" : "", ctx.state.backend_name.c_str());
  detail_after_heading(detail, ImGui::GetStyle().ItemSpacing.x);
  settings_row(ctx, view);
  if (!view.sweep) {
    ImGui::TextDisabled("The sweep starts on the worker…");
    return;
  }
  const TrainingSweep& sweep = *view.sweep;
  std::vector<SeriesArrays> arrays;
  for (const auto& s : sweep.series) arrays.push_back(arrays_of(s));

  // Notes: one line per kind of point not measured, and what the budget line is.
  std::vector<std::string> notes;
  for (const auto& s : sweep.series) {
    std::string capped, over;
    for (const auto& p : s.points) {
      if (p.status == TrainingPointStatus::OverTimeCap) capped += (capped.empty() ? "" : ", ") + format_tokens(static_cast<double>(p.n));
      if (p.status == TrainingPointStatus::OverBudget || p.status == TrainingPointStatus::Failed)
        over = p.note;
    }
    const std::string name = algorithm_name(s.algorithm);
    if (!over.empty()) notes.push_back(over.rfind(name, 0) == 0 ? over : name + ": " + over);
    if (!capped.empty()) notes.push_back(name + " not run at N = " + capped + ": over the " +
                                         std::to_string(c.time_cap_s).substr(0, 4) + " s time cap");
  }
  if (sweep.capacity_bytes)
    notes.push_back("budget line: " + format_bytes(static_cast<double>(sweep.capacity_bytes)) + ", " +
                    sweep.capacity_words);
  if (sweep.cancelled) notes.push_back("the sweep was cancelled: later points are not shown");

  const ImVec2 avail = ImGui::GetContentRegionAvail();
  float notes_h = 0;
  for (const std::string& n : notes)
    notes_h += ImGui::CalcTextSize(n.c_str(), nullptr, false, avail.x).y + ImGui::GetStyle().ItemSpacing.y;
  const ImVec2 spacing = ImGui::GetStyle().ItemSpacing;
  const bool side_by_side = (avail.x - spacing.x) * 0.5f >= f * 24;
  const float plots_h = avail.y - notes_h - spacing.y;
  const float plot_h = std::max(f * 10, side_by_side ? plots_h : (plots_h - spacing.y) * 0.5f);
  const float plot_w = side_by_side ? (avail.x - spacing.x) * 0.5f : avail.x;
  std::vector<double> powers_of_two;
  for (double n = 64; n <= double(1 << 20); n *= 2) powers_of_two.push_back(n);

  if (plot::BeginPlot("Forward + backward time##train_time", ImVec2(plot_w, plot_h))) {
    plot::SetupAxis(plot::Axis::X, "sequence length N (tokens)", plot::Scale::Log10);
    plot::SetupAxis(plot::Axis::Y, "fwd + bwd, median (ms)", plot::Scale::Log10);
    plot::SetupAxisTicks(plot::Axis::X, powers_of_two);
    plot::SetupAxisFormat(plot::Axis::X, [](double n) { return format_tokens(n); });
    for (size_t i = 0; i < sweep.series.size(); ++i) {
      plot::ItemStyle line;
      line.color = algorithm_color(sweep.series[i].algorithm);
      line.marker = plot::Marker::Circle;
      line.notes = arrays[i].notes.data();
      plot::PlotLine(algorithm_name(sweep.series[i].algorithm), arrays[i].n, arrays[i].time_ms, line);
    }
    plot::EndPlot();
  }
  if (side_by_side) ImGui::SameLine();
  if (plot::BeginPlot("Peak memory of forward + backward##train_mem", ImVec2(plot_w, plot_h))) {
    plot::SetupAxis(plot::Axis::X, "sequence length N (tokens)", plot::Scale::Log10);
    plot::SetupAxis(plot::Axis::Y, "peak (bytes)", plot::Scale::Log10);
    plot::SetupAxisUnit(plot::Axis::Y, plot::Unit::Bytes);
    plot::SetupAxisTicks(plot::Axis::X, powers_of_two);
    plot::SetupAxisFormat(plot::Axis::X, [](double n) { return format_tokens(n); });
    bool any_oom = false, any_capped = false;
    for (size_t i = 0; i < sweep.series.size(); ++i) {
      const ImU32 color = algorithm_color(sweep.series[i].algorithm);
      plot::ItemStyle line;
      line.color = color;
      line.marker = plot::Marker::Circle;
      line.notes = arrays[i].notes.data();
      const char* name = algorithm_name(sweep.series[i].algorithm);
      plot::PlotLine(name, arrays[i].n, arrays[i].bytes, line);
      if (!arrays[i].capped_n.empty()) {
        any_capped = true;
        plot::ItemStyle mark;
        mark.color = color;
        mark.marker = plot::Marker::TriangleUp;
        mark.marker_filled = false;
        mark.marker_size = 6;
        mark.in_legend = false;
        mark.notes = arrays[i].capped_notes.data();
        plot::PlotScatter((std::string(name) + "##capped").c_str(), arrays[i].capped_n, arrays[i].capped_bytes, mark);
      }
      if (arrays[i].oom_n.empty()) continue;
      any_oom = true;
      plot::ItemStyle mark;
      mark.color = color;
      mark.marker = plot::Marker::Cross;
      mark.marker_size = 7;
      mark.in_legend = false;
      mark.notes = arrays[i].oom_notes.data();
      plot::PlotScatter((std::string(name) + "##oom").c_str(), arrays[i].oom_n, arrays[i].oom_bytes, mark);
      // Left of the first marked point: the last N sits at the plot's right edge.
      plot::PlotText("over budget", arrays[i].oom_n.front(), arrays[i].oom_bytes.front(),
                     ImVec2(-ImGui::CalcTextSize("over budget").x * 0.7f, -f), color);
    }
    if (sweep.capacity_bytes && !powers_of_two.empty()) {
      const double lo = static_cast<double>(c.lengths.empty() ? 256 : c.lengths.front());
      const double hi = static_cast<double>(c.lengths.empty() ? 32768 : c.lengths.back());
      const double xs[] = {lo, hi}, ys[] = {static_cast<double>(sweep.capacity_bytes), static_cast<double>(sweep.capacity_bytes)};
      plot::ItemStyle budget;
      budget.color = ImGui::ColorConvertFloat4ToU32(error_color());
      budget.dashed = true;
      plot::PlotLine("memory budget", xs, ys, 2, budget);
    }
    if (any_capped) {
      plot::ItemStyle key;
      key.color = IM_COL32(200, 200, 200, 255);
      key.marker = plot::Marker::TriangleUp;
      key.marker_filled = false;
      plot::PlotScatter("not run (time cap): predicted", std::span<const double>(), std::span<const double>(), key);
    }
    if (any_oom) {
      plot::ItemStyle key;
      key.color = IM_COL32(200, 200, 200, 255);
      key.marker = plot::Marker::Cross;
      plot::PlotScatter("over budget (bytes needed)", std::span<const double>(), std::span<const double>(), key);
    }
    plot::EndPlot();
  }
  ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
  for (const std::string& n : notes) ImGui::TextWrapped("%s", n.c_str());
  ImGui::PopStyleColor();
}

}  // namespace attnscope::gui
