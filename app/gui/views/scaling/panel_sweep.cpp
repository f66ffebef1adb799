// panel_sweep.cpp — the N sweep: time and memory against N on log-log axes for naive, flash and a sparse pattern,
// the fitted slope of each (time ∝ N^slope), and the points that did not run marked where they would lie.
//
// Contents
//   settings row     Run / N range / sparse mask / time cap / repetitions, progress and Cancel
//   series drawing   measured points with min–max bars; marked points at their predicted value
//   the panel        slopes line, the two plots, one line per kind of marked point
#include <imgui.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "app/gui/plot/plot.hpp"
#include "app/gui/views/scaling/panels.hpp"
#include "app/gui/presenter/theme.hpp"
#include "app/gui/widgets/layout.hpp"

namespace attnscope::gui {
namespace {

constexpr ImU32 kMarkGrey = IM_COL32(200, 200, 200, 255);

plot::Marker marker_of(PointStatus s) {
  switch (s) {
    case PointStatus::Capped: return plot::Marker::TriangleUp;
    case PointStatus::OutOfMemory: return plot::Marker::Cross;
    case PointStatus::OverLimits: return plot::Marker::Diamond;
    case PointStatus::Failed: return plot::Marker::Square;
    default: return plot::Marker::Circle;
  }
}

// A power-of-two picker for the N range.
bool length_combo(const char* id, int64_t* value, float width) {
  bool changed = false;
  ImGui::SetNextItemWidth(width);
  if (ImGui::BeginCombo(id, format_tokens(static_cast<double>(*value)).c_str())) {
    for (int64_t n = 64; n <= (int64_t{1} << 17); n *= 2) {
      const bool selected = n == *value;
      if (ImGui::Selectable(format_tokens(static_cast<double>(n)).c_str(), selected)) {
        *value = n;
        changed = true;
      }
    }
    ImGui::EndCombo();
  }
  return changed;
}

void settings_row(ViewContext& ctx, ScalingViewState& view) {
  const float f = ctx.ui.font_px;
  SweepConfig& c = view.sweep_config;
  const TaskState st = ctx.worker->task_state(kSweepChannel);
  const bool busy = st.pending || st.running;
  ImGui::BeginDisabled(busy);
  if (ImGui::Button("Run sweep")) {
    // The sparse series follows the mask field.
    for (auto& s : c.series)
      if (s.algorithm == Algorithm::BlockSparse) {
        s.mask = view.sparse_mask;
        s.label = "block-sparse " + view.sparse_mask;
      }
    start_sweep(ctx, view);
  }
  ImGui::EndDisabled();
  if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled))
    ImGui::SetTooltip("Time every series at each N on the worker; points appear as they are measured");
  int64_t first = c.lengths.empty() ? 256 : c.lengths.front(), last = c.lengths.empty() ? 65536 : c.lengths.back();
  // Each label goes with its field: a group flows to the next line as a whole when it does not fit.
  const float spacing = ImGui::GetStyle().ItemSpacing.x;
  auto labelled_w = [&](const char* label, float field_w) { return ImGui::CalcTextSize(label).x + spacing + field_w; };
  flow_same_line(labelled_w("N", f * 4) + spacing + labelled_w("…", f * 4));
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted("N");
  ImGui::SameLine();
  bool range_changed = length_combo("##first", &first, f * 4);
  ImGui::SameLine();
  ImGui::TextUnformatted("…");
  ImGui::SameLine();
  range_changed |= length_combo("##last", &last, f * 4);
  if (range_changed) c.lengths = sweep_lengths(std::min(first, last), std::max(first, last));
  flow_same_line(labelled_w("sparse", f * 8));
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted("sparse");
  ImGui::SameLine();
  static std::array<char, 128> mask_buf{};
  if (std::strncmp(mask_buf.data(), view.sparse_mask.c_str(), mask_buf.size()) != 0 && !ImGui::IsAnyItemActive())
    std::snprintf(mask_buf.data(), mask_buf.size(), "%s", view.sparse_mask.c_str());
  ImGui::SetNextItemWidth(f * 8);
  if (ImGui::InputText("##sparse_mask", mask_buf.data(), mask_buf.size())) view.sparse_mask = mask_buf.data();
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("The block-sparse series' mask, e.g. window:128 (a fixed window: time ∝ N)");
  flow_same_line(labelled_w("cap", f * 4.5f));
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted("cap");
  ImGui::SameLine();
  float cap = static_cast<float>(c.time_cap_s);
  ImGui::SetNextItemWidth(f * 4.5f);
  if (ImGui::InputFloat("##cap", &cap, 0, 0, "%.2g s")) c.time_cap_s = std::max(0.0f, cap);
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("A point whose one run is predicted (from the series' last measured point, by FLOPs) to take\n"
                      "longer than this is not run and is marked ▲; 0 = no cap");
  flow_same_line(labelled_w("runs", f * 4));
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted("runs");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(f * 4);
  char reps_tip[200];
  std::snprintf(reps_tip, sizeof reps_tip, "At least this many timed runs per point after %d warm-up (small points run "
                "more, about %.2g s in all);\nthe median is plotted, min–max as bars", c.warmup, c.min_timed_s);
  int64_t reps = c.repetitions;
  std::string problem;  // a value outside 1..50 is not applied: the reason under this row
  if (checked_int_field("##reps", &reps, 0, reps_tip, int_range_rule(1, 50), &problem)) c.repetitions = static_cast<int>(reps);
  if (!problem.empty())
    field_error("runs " + problem + " — showing " + std::to_string(c.repetitions) + ", the last valid value", 0);
  task_progress(ctx, kSweepChannel.name, "sweep_cancel");
}

struct SeriesArrays {
  std::vector<double> n, t, below, above, mem;
  std::vector<std::string> notes;
  // Marked (not measured) points, by kind.
  std::vector<double> mark_n[6], mark_t[6], mark_mem[6];
  std::vector<std::string> mark_notes[6];
  std::vector<double> io_n, io_bytes;
  std::vector<int64_t> noisy_n;  // measured points whose repetitions disagree (Timing::noisy)
};

double fitted_at(const PowerFit& fit, double n) { return fit.ok ? std::pow(10.0, fit.log10_coefficient + fit.slope * std::log10(n)) : NAN; }

SeriesArrays arrays_of(const SweepSeriesResult& s) {
  SeriesArrays a;
  const SweepPoint* last = nullptr;
  for (const SweepPoint& p : s.points) {
    const double n = static_cast<double>(p.n);
    if (p.bytes_io) {
      a.io_n.push_back(n);
      a.io_bytes.push_back(static_cast<double>(p.bytes_io));
    }
    char note[256];
    if (p.status == PointStatus::Measured) {
      last = &p;
      a.n.push_back(n);
      a.t.push_back(p.timing.median_ms);
      a.below.push_back(p.timing.median_ms - p.timing.min_ms);
      a.above.push_back(p.timing.max_ms - p.timing.median_ms);
      a.mem.push_back(static_cast<double>(p.bytes_allocated));
      std::snprintf(note, sizeof note, "N = %lld: median %s (min %s, max %s, %zu runs)\nallocated %s%s%s",
                    static_cast<long long>(p.n), format_time_ms(p.timing.median_ms).c_str(), format_time_ms(p.timing.min_ms).c_str(),
                    format_time_ms(p.timing.max_ms).c_str(), p.timing.samples_ms.size(),
                    format_bytes(static_cast<double>(p.bytes_allocated)).c_str(), p.timing.noisy() ? "\n" : "",
                    p.timing.noisy_text().c_str());
      if (p.timing.noisy()) a.noisy_n.push_back(p.n);
      a.notes.push_back(note);
      continue;
    }
    if (p.status == PointStatus::Cancelled) continue;
    const int k = static_cast<int>(p.status);
    // Where it would lie: the capped prediction (FLOPs from the last measured point), else the fitted line.
    double t = p.status == PointStatus::Capped && p.predicted_ms > 0 ? p.predicted_ms : fitted_at(s.time_fit, n);
    if (!std::isfinite(t) && last && last->flops > 0) t = last->timing.median_ms * p.flops / last->flops;
    double mem = p.status == PointStatus::OutOfMemory && p.bytes_needed ? static_cast<double>(p.bytes_needed)
                 : p.predicted_bytes                                     ? static_cast<double>(p.predicted_bytes)
                                                                         : fitted_at(s.memory_fit, n);
    a.mark_n[k].push_back(n);
    a.mark_t[k].push_back(t);
    a.mark_mem[k].push_back(mem);
    a.mark_notes[k].push_back(std::string(point_status_name(p.status)) + " at N = " + std::to_string(p.n) +
                              (std::isfinite(t) ? " (drawn at the predicted value)" : "") + "\n" + p.note);
  }
  return a;
}

void plot_series(const SweepSeriesResult& s, const SeriesArrays& a, bool memory) {
  const ImU32 color = algorithm_color(s.series.algorithm);
  char label[160];
  const PowerFit& fit = memory ? s.memory_fit : s.time_fit;
  if (fit.ok) std::snprintf(label, sizeof label, "%s  (∝ N^%.2f)", s.series.label.c_str(), fit.slope);
  else std::snprintf(label, sizeof label, "%s", s.series.label.c_str());
  plot::ItemStyle line;
  line.color = color;
  line.marker = plot::Marker::Circle;
  line.notes = a.notes.data();
  plot::PlotLine(label, a.n, memory ? a.mem : a.t, line);
  if (!memory) plot::PlotErrorBars(label, a.n, a.t, a.below, a.above, plot::ItemStyle{.color = color});
  for (int k = 1; k < 6; ++k) {
    if (a.mark_n[k].empty()) continue;
    plot::ItemStyle mark;
    mark.color = color;
    mark.marker = marker_of(static_cast<PointStatus>(k));
    mark.marker_filled = false;
    mark.marker_size = 6;
    mark.in_legend = false;
    mark.notes = a.mark_notes[k].data();
    const std::string id = std::string(label) + "##mark" + std::to_string(k);
    plot::PlotScatter(id.c_str(), a.mark_n[k], memory ? a.mark_mem[k] : a.mark_t[k], mark);
    // A dashed line from the last measured point to the marked ones: where the trend would go.
    if (!a.n.empty()) {
      std::vector<double> xs = {a.n.back()}, ys = {memory ? a.mem.back() : a.t.back()};
      xs.insert(xs.end(), a.mark_n[k].begin(), a.mark_n[k].end());
      const auto& my = memory ? a.mark_mem[k] : a.mark_t[k];
      ys.insert(ys.end(), my.begin(), my.end());
      plot::ItemStyle dash;
      dash.color = (color & 0x00FFFFFF) | (140u << 24);
      dash.dashed = true;
      dash.in_legend = false;
      dash.line_weight = 1.5f;
      plot::PlotLine((id + "dash").c_str(), xs, ys, dash);
    }
  }
}

void legend_for_marks(const std::array<bool, 6>& present) {
  for (int k = 1; k < 6; ++k) {
    if (!present[static_cast<size_t>(k)]) continue;
    plot::ItemStyle key;
    key.color = kMarkGrey;
    key.marker = marker_of(static_cast<PointStatus>(k));
    key.marker_filled = false;
    plot::PlotScatter(point_status_name(static_cast<PointStatus>(k)), std::span<const double>(),
                      std::span<const double>(), key);
  }
}

}  // namespace

void draw_sweep_panel(ViewContext& ctx, ScalingViewState& view) {
  const float f = ctx.ui.font_px;
  heading(ctx, "Scaling: time and memory against the sequence length N");
  const SweepConfig& c = view.sweep ? view.sweep->config : view.sweep_config;
  char detail[160];
  std::snprintf(detail, sizeof detail, "B=%lld H=%lld d=%lld %s · %s backend", static_cast<long long>(c.batch),
                static_cast<long long>(c.heads), static_cast<long long>(c.head_dim), dtype_name(c.dtype),
                ctx.state.backend_name.c_str());
  detail_after_heading(detail, ImGui::GetStyle().ItemSpacing.x);
  settings_row(ctx, view);

  if (!view.sweep) {
    ImGui::TextDisabled("The sweep starts on the worker…");
    return;
  }
  const SweepResult& r = *view.sweep;
  // Slopes, fitted over the largest measured N.
  std::string slopes;
  for (const auto& s : r.series) {
    if (!s.time_fit.ok) continue;
    char buf[160];
    std::snprintf(buf, sizeof buf, "%s%s %.2f", slopes.empty() ? "" : "   ·   ", s.series.label.c_str(), s.time_fit.slope);
    slopes += buf;
  }
  ImGui::TextWrapped("Fitted slope of time against N (log-log; fastest run of the %d largest measured N):", c.fit_points);
  const char* slopes_text = slopes.empty() ? "needs two measured points" : slopes.c_str();
  flow_same_line(ImGui::CalcTextSize(slopes_text).x);
  ImGui::PushStyleColor(ImGuiCol_Text, warning_color());
  ImGui::TextWrapped("%s", slopes_text);
  ImGui::PopStyleColor();
  ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
  ImGui::TextWrapped("dense attention does N² work: slope ≈ 2; a fixed window does N·w: slope ≈ 1");
  ImGui::PopStyleColor();

  std::vector<SeriesArrays> arrays;
  std::array<bool, 6> present{};
  for (const auto& s : r.series) {
    arrays.push_back(arrays_of(s));
    for (int k = 1; k < 6; ++k) present[static_cast<size_t>(k)] |= !arrays.back().mark_n[k].empty();
  }
  // Notes of the marked points: one line per kind (the first point's reason), under the plots.
  std::vector<std::string> notes;
  for (int k = 1; k < 6; ++k) {
    if (!present[static_cast<size_t>(k)] || k == static_cast<int>(PointStatus::Cancelled)) continue;
    int count = 0;
    std::string first;
    for (const auto& s : r.series)
      for (const auto& p : s.points)
        if (static_cast<int>(p.status) == k) {
          if (count++ == 0) first = s.series.label + " at N = " + format_tokens(static_cast<double>(p.n)) + ": " + p.note;
        }
    notes.push_back(std::string(point_status_name(static_cast<PointStatus>(k))) + " (" + std::to_string(count) +
                    " point" + (count == 1 ? "" : "s") + "), e.g. " + first);
  }
  // Measured points whose repetitions disagree (their error bars are long): named, so no slope is read off them blind.
  std::string noisy;
  for (size_t i = 0; i < r.series.size(); ++i) {
    if (arrays[i].noisy_n.empty()) continue;
    std::string ns;
    for (int64_t n : arrays[i].noisy_n) ns += (ns.empty() ? "" : ", ") + format_tokens(static_cast<double>(n));
    noisy += (noisy.empty() ? "" : "; ") + r.series[i].series.label + " at N = " + ns;
  }
  if (!noisy.empty())
    notes.push_back("noisy (runs of a point disagree: max > 1.3 × min or quartiles > 10% of the "
                    "median apart): " + noisy + " — other work on the machine?");
  if (r.cancelled) notes.push_back("the sweep was cancelled: points after it are not shown");
  if (c.time_cap_s > 0 && ctx.state.capabilities.host_cpu)
    notes.push_back("on the CPU the sweep is capped at " + std::to_string(c.time_cap_s).substr(0, 4) +
                    " s per run so it finishes in about a minute; raise the cap to go further");

  const ImVec2 avail = ImGui::GetContentRegionAvail();
  float notes_h = 0;
  for (const std::string& n : notes)
    notes_h += ImGui::CalcTextSize(n.c_str(), nullptr, false, avail.x).y + ImGui::GetStyle().ItemSpacing.y;
  // Side by side when each plot gets at least 24 text heights of width, else stacked (each the full width, half
  // the height, at least 10 text heights: the panel scrolls when that is taller than the window).
  const ImVec2 spacing = ImGui::GetStyle().ItemSpacing;
  const bool side_by_side = (avail.x - spacing.x) * 0.5f >= f * 24;
  const float plots_h = avail.y - notes_h - spacing.y;
  const float plot_h = std::max(f * 10, side_by_side ? plots_h : (plots_h - spacing.y) * 0.5f);
  const float plot_w = side_by_side ? (avail.x - spacing.x) * 0.5f : avail.x;

  std::vector<double> powers_of_two;
  for (double n = 16; n <= double(1 << 22); n *= 2) powers_of_two.push_back(n);
  if (plot::BeginPlot("Time of one call##sweep_time", ImVec2(plot_w, plot_h))) {
    plot::SetupAxis(plot::Axis::X, "sequence length N (tokens)", plot::Scale::Log10);
    plot::SetupAxis(plot::Axis::Y, "median time (ms)", plot::Scale::Log10);
    plot::SetupAxisTicks(plot::Axis::X, powers_of_two);
    plot::SetupAxisFormat(plot::Axis::X, [](double n) { return format_tokens(n); });
    for (size_t i = 0; i < r.series.size(); ++i) plot_series(r.series[i], arrays[i], false);
    legend_for_marks(present);
    plot::EndPlot();
  }
  if (side_by_side) ImGui::SameLine();
  if (plot::BeginPlot("Memory allocated beyond Q, K, V and O##sweep_mem", ImVec2(plot_w, plot_h))) {
    plot::SetupAxis(plot::Axis::X, "sequence length N (tokens)", plot::Scale::Log10);
    plot::SetupAxis(plot::Axis::Y, "allocated (bytes)", plot::Scale::Log10);
    plot::SetupAxisUnit(plot::Axis::Y, plot::Unit::Bytes);
    plot::SetupAxisTicks(plot::Axis::X, powers_of_two);
    plot::SetupAxisFormat(plot::Axis::X, [](double n) { return format_tokens(n); });
    for (size_t i = 0; i < r.series.size(); ++i) plot_series(r.series[i], arrays[i], true);
    // Q, K, V and O themselves grow linearly in N for every algorithm: the reference line.
    if (!arrays.empty() && !arrays.front().io_n.empty()) {
      plot::ItemStyle io;
      io.color = kMarkGrey;
      io.dashed = true;
      plot::PlotLine("Q, K, V, O (every algorithm)", arrays.front().io_n, arrays.front().io_bytes, io);
    }
    plot::EndPlot();  // the marks' key is in the time plot's legend: a shorter legend here keeps naive's line clear
  }
  ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
  for (const std::string& n : notes) ImGui::TextWrapped("%s", n.c_str());
  ImGui::PopStyleColor();
}

}  // namespace attnscope::gui
