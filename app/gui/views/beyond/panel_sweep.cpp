// panel_sweep.cpp — (a) time and memory against N on log-log axes for naive, flash, a sliding window, linear
// attention and the selective scan at one model width: fitted slopes in words (slope 1.98 → O(N²)), the N where the
// recurrent models overtake attention marked on the time plot, points not measured marked where they would lie.
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

namespace attnscope::gui {
namespace {

constexpr ImU32 kMarkGrey = IM_COL32(200, 200, 200, 255);

// The pairs whose crossover is marked: each recurrent model against flash, and linear attention against naive.
constexpr BeyondKind kCrossPairs[][2] = {{BeyondKind::Linear, BeyondKind::Flash},
                                         {BeyondKind::Scan, BeyondKind::Flash},
                                         {BeyondKind::Linear, BeyondKind::Naive}};

void settings_row(ViewContext& ctx, BeyondViewState& view) {
  const float f = ctx.ui.font_px;
  BeyondSweepConfig& c = view.sweep_config;
  const TaskState st = ctx.worker->task_state(kBeyondSweepChannel);
  ImGui::BeginDisabled(st.pending || st.running);
  if (ImGui::Button("Run sweep")) start_beyond_sweep(ctx, view);
  ImGui::EndDisabled();
  if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled))
    ImGui::SetTooltip("Time the five kinds at each N on the worker; points appear as they are measured");
  const float spacing = ImGui::GetStyle().ItemSpacing.x;
  flow_same_line(ImGui::CalcTextSize("window").x + spacing + f * 5);
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted("window");
  ImGui::SameLine();
  int window = static_cast<int>(c.window);
  ImGui::SetNextItemWidth(f * 5);
  if (ImGui::InputInt("##window", &window, 0, 0)) c.window = std::clamp(window, 1, 1 << 20);
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("The sliding window's width w in tokens: each query sees its w latest keys (block-sparse flash)");
  flow_same_line(ImGui::CalcTextSize("cap").x + spacing + f * 4.5f);
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted("cap");
  ImGui::SameLine();
  float cap = static_cast<float>(c.time_cap_s);
  ImGui::SetNextItemWidth(f * 4.5f);
  if (ImGui::InputFloat("##beyond_cap", &cap, 0, 0, "%.2g s")) c.time_cap_s = std::max(0.0f, cap);
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("A point whose one run is predicted (from the series' last measured point, by FLOPs) to take\n"
                      "longer than this is not run and is marked ▲; 0 = no cap");
  beyond_task_progress(ctx, kBeyondSweepChannel.name, "beyond_sweep_cancel");
}

struct Arrays {
  std::vector<double> n, t, below, above, mem, cap_n, cap_t, io_n, io;
  std::vector<std::string> notes, cap_notes;
};

Arrays arrays_of(const BeyondSeries& s) {
  Arrays a;
  for (const SweepPoint& p : s.points) {
    const double n = static_cast<double>(p.n);
    if (p.bytes_io) {
      a.io_n.push_back(n);
      a.io.push_back(static_cast<double>(p.bytes_io));
    }
    if (p.status == PointStatus::Measured) {
      a.n.push_back(n);
      a.t.push_back(p.timing.median_ms);
      a.below.push_back(p.timing.median_ms - p.timing.min_ms);
      a.above.push_back(p.timing.max_ms - p.timing.median_ms);
      a.mem.push_back(static_cast<double>(p.bytes_allocated));
      char note[200];
      std::snprintf(note, sizeof note, "N = %lld: median %s (min %s, %zu runs), allocated %s",
                    static_cast<long long>(p.n), format_time_ms(p.timing.median_ms).c_str(),
                    format_time_ms(p.timing.min_ms).c_str(), p.timing.samples_ms.size(),
                    format_bytes(static_cast<double>(p.bytes_allocated)).c_str());
      a.notes.push_back(note);
    } else if (p.status != PointStatus::Cancelled && p.predicted_ms > 0) {
      a.cap_n.push_back(n);
      a.cap_t.push_back(p.predicted_ms);
      a.cap_notes.push_back(std::string(point_status_name(p.status)) + " at N = " + std::to_string(p.n) +
                            " (drawn at the predicted time)\n" + p.note);
    }
  }
  return a;
}

std::string slope_text(const BeyondSeries& s) {
  if (!s.time_fit.ok) return s.label + ": needs two measured points";
  char buf[160];
  std::snprintf(buf, sizeof buf, "%s %.2f → %s", s.label.c_str(), s.time_fit.slope,
                complexity_words(s.time_fit.slope).c_str());
  return buf;
}

std::string crossover_text(const Crossover& c, const BeyondSweepResult& r) {
  const std::string f = r.series[static_cast<size_t>(c.faster)].label, s = r.series[static_cast<size_t>(c.slower)].label;
  if (c.common_points == 0) return f + " vs " + s + ": not both measured yet";
  if (c.n > 0) return f + " faster than " + s + " from N ≈ " + format_tokens(std::round(c.n));
  if (c.faster_everywhere) return f + " faster than " + s + " at every measured N";
  return f + " slower than " + s + " at the largest N measured by both";
}

}  // namespace

void draw_beyond_sweep_panel(ViewContext& ctx, BeyondViewState& view) {
  const float f = ctx.ui.font_px;
  heading(ctx, "Beyond attention: time and memory against N");
  const BeyondSweepConfig& c = view.sweep ? view.sweep->config : view.sweep_config;
  char detail[200];
  std::snprintf(detail, sizeof detail, "B=%lld H=%lld d=%lld causal fp32 · scan D=%lld, state %lld · %s backend",
                static_cast<long long>(c.batch), static_cast<long long>(c.heads), static_cast<long long>(c.head_dim),
                static_cast<long long>(c.heads * c.head_dim), static_cast<long long>(c.scan_state),
                ctx.state.backend_name.c_str());
  detail_after_heading(detail, ImGui::GetStyle().ItemSpacing.x);
  settings_row(ctx, view);
  if (!view.sweep) {
    ImGui::TextDisabled("The sweep starts on the worker…");
    return;
  }
  const BeyondSweepResult& r = *view.sweep;

  // Slopes in words, then the crossovers: one item each, lines broken between items, never inside one.
  auto flow_items = [](const std::vector<std::string>& items) {
    for (size_t i = 0; i < items.size(); ++i) {
      const std::string text = (i + 1 < items.size() ? items[i] + "  ·" : items[i]);
      if (i > 0) flow_same_line(ImGui::CalcTextSize(text.c_str()).x);
      ImGui::TextUnformatted(text.c_str());
    }
  };
  std::vector<std::string> slopes;
  for (const BeyondSeries& s : r.series) slopes.push_back(slope_text(s));
  ImGui::TextDisabled("slope of time against N (log-log, fastest runs of the %d largest measured N):", c.fit_points);
  ImGui::PushStyleColor(ImGuiCol_Text, warning_color());
  flow_items(slopes);
  ImGui::PopStyleColor();
  std::vector<Crossover> crossings;
  std::vector<std::string> crossing_items;
  for (const auto& pair : kCrossPairs) {
    crossings.push_back(find_crossover(r.series[static_cast<size_t>(pair[0])], r.series[static_cast<size_t>(pair[1])]));
    crossing_items.push_back(crossover_text(crossings.back(), r));
  }
  flow_items(crossing_items);

  std::vector<Arrays> arrays;
  bool any_capped = false;
  for (const BeyondSeries& s : r.series) {
    arrays.push_back(arrays_of(s));
    any_capped |= !arrays.back().cap_n.empty();
  }
  std::string notes = "Each line is one call on the whole sequence (all heads); ▲ not run: predicted past the cap.";
  if (r.cancelled) notes += " The sweep was cancelled: later points are missing.";
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const ImVec2 spacing = ImGui::GetStyle().ItemSpacing;
  const float notes_h = ImGui::CalcTextSize(notes.c_str(), nullptr, false, avail.x).y + spacing.y;
  const bool side_by_side = (avail.x - spacing.x) * 0.5f >= f * 24;
  const float plots_h = avail.y - notes_h - spacing.y;
  const float plot_h = std::max(f * 10, side_by_side ? plots_h : (plots_h - spacing.y) * 0.5f);
  const float plot_w = side_by_side ? (avail.x - spacing.x) * 0.5f : avail.x;
  std::vector<double> powers_of_two;
  for (double n = 16; n <= double(1 << 22); n *= 2) powers_of_two.push_back(n);

  // The time plot's legend goes below its data, so it covers no line (its series span every corner of the log-log
  // plot and the crossover lines its whole height); its labels leave out the slopes, printed above. The memory
  // plot's legend takes the emptiest corner. Stacked (a narrow window, a lesson beside it): both beside the data.
  const plot::LegendCorner corner = plot::GetStyle().legend_corner;
  for (int memory = 0; memory < 2; ++memory) {
    plot::GetStyle().legend_corner = !side_by_side ? plot::LegendCorner::OutsideEast
                                     : memory      ? corner
                                                   : plot::LegendCorner::OutsideSouth;
    if (memory && side_by_side) ImGui::SameLine();
    const char* title = memory ? "Memory allocated beyond inputs and outputs##beyond_mem" : "Time of one call##beyond_time";
    if (!plot::BeginPlot(title, ImVec2(plot_w, plot_h))) continue;
    plot::SetupAxis(plot::Axis::X, "sequence length N (tokens)", plot::Scale::Log10);
    plot::SetupAxis(plot::Axis::Y, memory ? "allocated (bytes)" : "median time (ms)", plot::Scale::Log10);
    if (memory) plot::SetupAxisUnit(plot::Axis::Y, plot::Unit::Bytes);
    plot::SetupAxisTicks(plot::Axis::X, powers_of_two);
    plot::SetupAxisFormat(plot::Axis::X, [](double n) { return format_tokens(n); });
    double y_lo = 1e300, y_hi = 0;
    for (size_t i = 0; i < r.series.size(); ++i) {
      const BeyondSeries& s = r.series[i];
      const Arrays& a = arrays[i];
      const PowerFit& fit = memory ? s.memory_fit : s.time_fit;
      char label[160];
      if (fit.ok && memory) std::snprintf(label, sizeof label, "%s (∝ N^%.2f)", s.label.c_str(), fit.slope);
      else std::snprintf(label, sizeof label, "%s", s.label.c_str());
      plot::ItemStyle line;
      line.color = beyond_kind_color(s.kind);
      line.marker = plot::Marker::Circle;
      line.notes = a.notes.data();
      plot::PlotLine(label, a.n, memory ? a.mem : a.t, line);
      for (double t : a.t) y_lo = std::min(y_lo, t), y_hi = std::max(y_hi, t);
      if (!memory && !a.cap_n.empty()) {
        plot::ItemStyle mark;
        mark.color = line.color;
        mark.marker = plot::Marker::TriangleUp;
        mark.marker_filled = false;
        mark.marker_size = 6;
        mark.in_legend = false;
        mark.notes = a.cap_notes.data();
        plot::PlotScatter((std::string(label) + "##capped").c_str(), a.cap_n, a.cap_t, mark);
      }
    }
    if (memory && !arrays.empty() && !arrays[1].io_n.empty()) {
      plot::ItemStyle io;
      io.color = kMarkGrey;
      io.dashed = true;
      plot::PlotLine("Q, K, V, O (inputs, output)", arrays[1].io_n, arrays[1].io, io);
    }
    if (!memory) {
      if (any_capped) {
        plot::ItemStyle key;
        key.color = kMarkGrey;
        key.marker = plot::Marker::TriangleUp;
        key.marker_filled = false;
        plot::PlotScatter("capped (not run)", std::span<const double>(), std::span<const double>(), key);
      }
      bool any_crossing = false;
      for (size_t k = 0; k < crossings.size(); ++k) {
        const Crossover& x = crossings[k];
        if (x.n <= 0 || y_hi <= 0) continue;
        // The line in the faster series' colour; the diamond where the two series meet (its hover names the pair).
        const std::string id = "##cross" + std::to_string(k);
        plot_vertical_marker(id.c_str(), x.n, y_lo, y_hi, beyond_kind_color(x.faster), "");
        const std::string note = crossover_text(x, r);
        plot::PlotScatter((id + "pt").c_str(), &x.n, &x.ms, 1,
                          plot::ItemStyle{.color = beyond_kind_color(x.faster), .marker = plot::Marker::Diamond,
                                          .marker_size = 7, .in_legend = false, .notes = &note});
        any_crossing = true;
      }
      if (any_crossing) {
        plot::ItemStyle key;
        key.color = kMarkGrey;
        key.marker = plot::Marker::Diamond;
        plot::PlotScatter("crossover", std::span<const double>(), std::span<const double>(), key);
      }
    }
    plot::EndPlot();
  }
  plot::GetStyle().legend_corner = corner;
  ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
  ImGui::TextWrapped("%s", notes.c_str());
  ImGui::PopStyleColor();
}

}  // namespace attnscope::gui
