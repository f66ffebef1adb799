// mode.cpp — the FlashAttention mode: a toolbar (loop order or kernel, Br × Bc, probed row, play / pause / step /
// speed, time scrubber), the worker task that traces the Explore experiment, and the layout of its four panels.
//
// Contents
//   shared helpers       colours, durations, subscripts, headings (declared in panels.hpp)
//   task                 key of the current choice, submission, taking results
//   animation            the clock (trace ns per screen second), Space / Left / Right
//   toolbar              controls and status line
//   draw_flash_mode      all of it, then the panels in a 2 × 2 layout
#include <imgui.h>

#include <algorithm>
#include <limits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iterator>

#include "app/gui/shell/modes.hpp"
#include "app/gui/views/flash/panels.hpp"
#include "app/gui/widgets/layout.hpp"
#include "app/gui/widgets/widgets.hpp"
#include "app/gui/presenter/theme.hpp"

namespace attnscope::gui {

// ---- shared helpers --------------------------------------------------------------------------------------------

ImU32 flash_unit_color(int32_t unit, float alpha, float value) {
  // Golden-ratio hue steps: neighbouring units get clearly different hues.
  const float hue = std::fmod(0.08f + 0.618034f * static_cast<float>(std::max(0, unit)), 1.0f);
  float r = 0, g = 0, b = 0;
  ImGui::ColorConvertHSVtoRGB(hue, 0.62f, value, r, g, b);
  return ImGui::GetColorU32(ImVec4(r, g, b, alpha));
}

std::string subscript(int64_t value) {
  static const char* digits[] = {"₀", "₁", "₂", "₃", "₄", "₅", "₆", "₇", "₈", "₉"};
  const std::string plain = std::to_string(value);
  std::string out;
  for (char c : plain) out += c == '-' ? "₋" : digits[c - '0'];
  return out;
}

void flash_heading(ViewContext& ctx, const char* title, const std::string& detail) {
  heading(ctx, title);
  detail_after_heading(detail.c_str(), ImGui::GetFontSize());
}


namespace {

constexpr TaskChannel<std::shared_ptr<const FlashViewResult>> kChannel{"FlashAttention", "FlashAttention"};

// ---- task ------------------------------------------------------------------------------------------------------

FlashViewKey current_key(const ViewContext& ctx, const FlashViewState& view) {
  FlashViewKey key;
  key.config = ctx.state.config;
  // Display-only fields do not change what runs.
  key.config.show = ExperimentConfig{}.show;
  key.config.scale = ExperimentConfig{}.scale;
  key.tiles = view.tiles;
  key.order = view.order;
  key.row = view.row;
  return key;
}

void submit_if_changed(ViewContext& ctx, FlashViewState& view) {
  const FlashViewKey key = current_key(ctx, view);
  if (view.submitted && *view.submitted == key) return;
  view.submitted = key;
  std::optional<FlashRunSummary> naive;
  if (view.result && view.result->key.config == key.config && view.result->naive.ok) naive = view.result->naive;
  ctx.worker->submit_task(kChannel, [key, naive](Backend& backend, TaskControl& control) -> std::shared_ptr<const FlashViewResult> {
    return compute_flash_view(backend, control, key, naive);
  });
}

void take_result(ViewContext& ctx, FlashViewState& view) {
  auto result = ctx.worker->take_task_result(kChannel);  // taken every frame, even when stale
  if (!result || !*result || !view.submitted || !((*result)->key == *view.submitted)) return;
  if ((*result)->error == "cancelled") return;
  view.result = *result;
  const double end = static_cast<double>(view.result->replay.end_ns);
  view.time_ns = view.start_fraction ? *view.start_fraction * end : 0.0;
}

// ---- animation -------------------------------------------------------------------------------------------------

void step_to(FlashViewState& view, const FlashViewResult& r, int32_t unit, int direction) {
  view.playing = false;
  const std::vector<int64_t> times = r.replay.unit_step_times(r.trace, unit);
  if (times.empty()) return;
  const double t = view.time_ns;
  if (direction > 0) {
    auto it = std::upper_bound(times.begin(), times.end(), static_cast<int64_t>(std::floor(t)));
    view.time_ns = static_cast<double>(it == times.end() ? times.back() : *it);
  } else {
    auto it = std::lower_bound(times.begin(), times.end(), static_cast<int64_t>(std::ceil(t)));
    view.time_ns = it == times.begin() ? 0.0 : static_cast<double>(*std::prev(it));
  }
}

void advance_clock(FlashViewState& view, const FlashViewResult& r) {
  const double end = static_cast<double>(r.replay.end_ns);
  if (!view.playing || end <= 0) return;
  // At speed 1 the whole run plays in kPlaySeconds; after the end it holds a moment, then starts again.
  view.time_ns += ImGui::GetIO().DeltaTime * view.speed * end / FlashViewState::kPlaySeconds;
  if (view.time_ns > end * 1.15) view.time_ns = 0;
}

void handle_keys(FlashViewState& view, const FlashViewResult* r, int32_t unit) {
  const ImGuiIO& io = ImGui::GetIO();
  if (io.WantTextInput) return;
  if (ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Space), false)) view.playing = !view.playing;
  if (!r) return;
  if (ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_LeftArrow))) step_to(view, *r, unit, -1);
  if (ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_RightArrow))) step_to(view, *r, unit, +1);
}

// ---- toolbar ---------------------------------------------------------------------------------------------------

void tooltip(const char* text) {
  if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled)) ImGui::SetTooltip("%s", text);
}

bool tile_combo(const char* id, int* value, const char* tip) {
  static const int sizes[] = {8, 16, 32, 64, 128, 256};
  char preview[16];
  std::snprintf(preview, sizeof preview, "%d", *value);
  bool changed = false;
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 4.2f);
  if (ImGui::BeginCombo(id, preview)) {
    for (int s : sizes) {
      char label[16];
      std::snprintf(label, sizeof label, "%d", s);
      if (ImGui::Selectable(label, s == *value)) { *value = s; changed = true; }
    }
    ImGui::EndCombo();
  }
  tooltip(tip);
  return changed;
}

void draw_toolbar(ViewContext& ctx, FlashViewState& view, const FlashViewResult* r, int32_t unit) {
  const float em = ImGui::GetFontSize();
  // Row 1: what runs.
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted("order");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(em * 11.5f);
  if (ImGui::BeginCombo("##order", flash_order_label(view.order))) {
    // An order the backend cannot run at any dtype is listed, disabled, with the backend's reason (the last result
    // says; before it, the tensor-core kernel is refused by a backend without tensor cores).
    const FlashViewResult* last = view.result.get();
    for (size_t i = 0; i < std::size(kFlashOrders); ++i) {
      const FlashOrder o = kFlashOrders[i];
      std::string refused;
      if (last && i < last->order_refusals.size()) refused = last->order_refusals[i];
      else if (!last && o == FlashOrder::TensorCore && !ctx.state.capabilities.tensor_cores)
        refused = "flash-tc is a CUDA kernel";
      const ImGuiSelectableFlags flags = refused.empty() || o == view.order ? 0 : ImGuiSelectableFlags_Disabled;
      if (ImGui::Selectable(flash_order_label(o), o == view.order, flags)) view.order = o;
      if (!refused.empty() && ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled))
        ImGui::SetTooltip("not on the %s backend: %s", ctx.state.backend_name.c_str(), refused.c_str());
    }
    ImGui::EndCombo();
  }
  tooltip("FA-2: each CTA keeps one Q tile and streams every K/V tile past it; O is written once.\n"
          "FA-1: the outer loop is over K/V tiles; every pass reads and rewrites O, m and l of each Q tile.\n"
          "block-sparse: FA-2 over the block mask; empty tiles are skipped, never loaded.\n"
          "flash (tensor cores): flash-tc, fp16/bf16 on tensor cores (CUDA), FA-2 order over Br = 128 × Bc = 64 visits;\n"
          "  strided/dilated masks gather their allowed keys into blocks of 64. An fp32 experiment runs it at fp16.");
  // The row flows: each group (Br and Bc, the query row, the play controls) wraps whole when it does not fit.
  const ImGuiStyle& style = ImGui::GetStyle();
  const float combo_w = em * 4.2f;
  const float tiles_w = ImGui::CalcTextSize("Br").x + ImGui::CalcTextSize("Bc").x + 2 * combo_w + 3 * style.ItemSpacing.x;
  if (flow_same_line(tiles_w + em - style.ItemSpacing.x)) ImGui::SameLine(0, em);
  // flash-tc's tiles are compiled in: shown (from its trace once there is one), not chosen.
  const bool fixed_tiles = view.order == FlashOrder::TensorCore;
  TileConfig shown_tiles = view.tiles;
  if (fixed_tiles && r && r->key.order == FlashOrder::TensorCore) shown_tiles = r->tiles;
  TileConfig& tiles = fixed_tiles ? shown_tiles : view.tiles;
  const char* fixed_tip = "flash-tc's tiles are fixed by the kernel: Br query rows × Bc keys per visit (read from its trace)";
  ImGui::BeginDisabled(fixed_tiles);
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted("Br");
  ImGui::SameLine();
  tile_combo("##br", &tiles.br, fixed_tiles ? fixed_tip : "Br: query rows per Q tile (one CTA's rows)");
  ImGui::SameLine();
  ImGui::TextUnformatted("Bc");
  ImGui::SameLine();
  tile_combo("##bc", &tiles.bc, fixed_tiles ? fixed_tip : "Bc: keys per K/V tile (one step of the inner loop)");
  ImGui::EndDisabled();
  const float row_w = ImGui::CalcTextSize("query row").x + style.ItemSpacing.x + em * 6.5f;
  if (flow_same_line(row_w + em - style.ItemSpacing.x)) ImGui::SameLine(0, em);
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted("query row");
  ImGui::SameLine();
  int64_t row = r ? (view.row < 0 ? r->row : view.row) : std::max(0, view.row);
  ImGui::SetNextItemWidth(em * 6.5f);
  // A row outside the matrix is not applied: the reason is drawn under the toolbar (a fixed place), the probed row
  // stays.
  const int64_t max_row = r ? r->spec.q_len - 1 : std::numeric_limits<int>::max();
  if (checked_int_field("##row", &row, 1,
                        "the query row of (batch 0, head 0) whose online-softmax state the kernel probes after every tile",
                        int_range_rule(0, std::max<int64_t>(0, max_row)), &view.row_problem))
    view.row = static_cast<int>(row);

  // Play controls on the same row when they fit.
  const float play_w = button_width("◀") + em * 4.6f + button_width("▶") + em * 5.5f + 3 * style.ItemSpacing.x;
  if (flow_same_line(play_w + em * 1.5f - style.ItemSpacing.x)) ImGui::SameLine(0, em * 1.5f);
  if (ImGui::Button("◀##back")) { if (r) step_to(view, *r, unit, -1); }
  tooltip("step back: to the end of the previous K/V tile step of the followed unit  (Left arrow)");
  ImGui::SameLine();
  if (ImGui::Button(view.playing ? "‖ pause" : "▶ play", ImVec2(em * 4.6f, 0))) view.playing = !view.playing;
  tooltip("play / pause the replay of the trace  (Space)");
  ImGui::SameLine();
  if (ImGui::Button("▶##fwd")) { if (r) step_to(view, *r, unit, +1); }
  tooltip("step: to the end of the next K/V tile step of the followed unit  (Right arrow)");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(em * 5.5f);
  float speed = static_cast<float>(view.speed);
  if (ImGui::SliderFloat("##speed", &speed, 0.1f, 10.0f, "×%.2g", ImGuiSliderFlags_Logarithmic)) view.speed = speed;
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("playback speed: at ×1 the whole run plays in %g s", FlashViewState::kPlaySeconds);

  // Row 2: the time scrubber, then what is shown.
  const TaskState task = ctx.worker->task_state(kChannel);
  if (r) {
    const double end_us = static_cast<double>(r->replay.end_ns) * 1e-3;
    double t_us = std::min(view.time_ns, static_cast<double>(r->replay.end_ns)) * 1e-3;
    const double zero = 0;
    char fmt[96];
    const double slow = FlashViewState::kPlaySeconds * 1e9 / std::max(1.0, static_cast<double>(r->replay.end_ns)) / view.speed;
    std::snprintf(fmt, sizeof fmt, "t = %%.1f of %.1f µs (slowed %.0f×)", end_us, slow);
    // The scrubber takes the row when what follows it would leave it narrower than its own text.
    const float full_w = ImGui::GetContentRegionAvail().x;
    const float scrub_w = std::max(std::floor(full_w * 0.55f), std::min(full_w, ImGui::CalcTextSize(fmt).x + em * 4));
    ImGui::SetNextItemWidth(scrub_w);
    if (ImGui::SliderScalar("##time", ImGuiDataType_Double, &t_us, &zero, &end_us, fmt)) {
      view.time_ns = t_us * 1e3;
      view.playing = false;
    }
    tooltip("trace time: since the first tile of the traced run started (drag to scrub; the replay pauses)");
    if (r->has_trace) {
      ImGui::SameLine(0, em);
      const std::string line = r->spec.label() + " · " + r->backend + " backend";
      if (!r->reduced_note.empty()) {
        ImGui::NewLine();  // a warning is read whole: on its own line
        ImGui::TextColored(warning_color(), "reduced for tracing: %s", r->reduced_note.c_str());
        if (ImGui::IsItemHovered())
          ImGui::SetTooltip("traced runs are limited to N ≤ %lld and batch × heads ≤ %lld so they trace and replay\n"
                            "quickly; the Explore tab still shows the full experiment",
                            static_cast<long long>(kFlashMaxTraceLen), static_cast<long long>(kFlashMaxTraceHeads));
        ImGui::SameLine(0, em);
      }
      if (!r->dtype_note.empty()) {
        ImGui::TextColored(warning_color(), "runs %s", dtype_name(r->spec.dtype));
        if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s;\nnaive runs at the same dtype, so the two compare like with like",
                                                      r->dtype_note.c_str());
        ImGui::SameLine(0, em);
      }
      ImGui::AlignTextToFramePadding();
      ImGui::PushStyleColor(ImGuiCol_Text, style.Colors[ImGuiCol_TextDisabled]);
      const std::string shown = fit_with_ellipsis(line.c_str(), ImGui::GetContentRegionAvail().x);
      ImGui::TextUnformatted(shown.c_str());
      ImGui::PopStyleColor();
      if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s on %s", line.c_str(), r->device.c_str());
    }
  }
  if (!view.row_problem.empty())
    field_error("query row " + view.row_problem + " — showing row " + std::to_string(r ? r->row : std::max(0, view.row)) +
                    ", the last valid value",
                0);
  if (task.pending || task.running) {
    char overlay[160];
    std::snprintf(overlay, sizeof overlay, "%s  %.1f s", task.running ? task.status.c_str() : "waiting for the worker",
                  task.seconds);
    ImGui::ProgressBar(static_cast<float>(task.progress), ImVec2(-em * 6, 0), overlay);
    ImGui::SameLine();
    if (ImGui::Button("cancel", ImVec2(-FLT_MIN, 0))) {
      ctx.worker->cancel_task(kChannel);  // the last result stays; the next change submits again
    }
  }
}

}  // namespace

// ---- draw_flash_mode -------------------------------------------------------------------------------------------

void draw_flash_mode(ViewContext& ctx) {
  FlashViewState& view = ctx.ui.flash;
  // A lesson's or scene's replay position: paused there, now and when the next trace arrives. (All four panels are
  // always shown; the highlight marks the one a step is about.)
  if (ctx.ui.view_request.mode == "FlashAttention") {
    if (const auto at = ctx.ui.view_request.animation) {
      view.start_fraction = *at;
      view.playing = false;
      if (view.result) view.time_ns = *at * static_cast<double>(view.result->replay.end_ns);
    }
    ctx.ui.view_request = ViewRequest{};
  }
  take_result(ctx, view);
  submit_if_changed(ctx, view);

  const FlashViewResult* r = view.result && view.result->has_trace ? view.result.get() : nullptr;
  int32_t unit = 0;
  if (r) {
    unit = view.follow_unit >= 0 ? view.follow_unit : std::max(0, r->replay.probe_unit);
    unit = std::clamp(unit, 0, std::max(0, r->replay.units - 1));
    advance_clock(view, *r);
    ctx.ui.animating = ctx.ui.animating || view.playing;
  }
  if (!ctx.ui.lesson.open()) handle_keys(view, r, unit);  // an open lesson's keys move through its steps
  draw_toolbar(ctx, view, r, unit);

  if (view.result && !view.result->error.empty()) {
    ImGui::PushStyleColor(ImGuiCol_Text, error_color());
    ImGui::TextWrapped("Cannot trace this experiment: %s", view.result->error.c_str());
    ImGui::PopStyleColor();
    // The chosen order itself is refused by this backend (at every dtype): say what to do.
    const auto& refusals = view.result->order_refusals;
    const size_t chosen = static_cast<size_t>(std::find(std::begin(kFlashOrders), std::end(kFlashOrders),
                                                        view.result->key.order) - std::begin(kFlashOrders));
    if (chosen < refusals.size() && !refusals[chosen].empty())
      ImGui::TextDisabled("Pick another order above%s.", view.result->key.order == FlashOrder::TensorCore
                                                             ? ", or start the app with --backend cuda on an NVIDIA GPU"
                                                             : "");
  }
  if (!r) {
    if (!view.result) ImGui::TextDisabled("tracing the experiment on the worker…");
    return;
  }

  FlashFrame frame{ctx, view, *r, static_cast<int64_t>(std::clamp(view.time_ns, 0.0, static_cast<double>(r->replay.end_ns))),
                   unit};
  // Wide: tile streaming over the Gantt chart over the counters on the left, the online softmax full height on the
  // right. Narrow (large text): the four stacked at full width. Each panel keeps a readable minimum height in em;
  // below it the panel area scrolls.
  const ImGuiStyle& style = ImGui::GetStyle();
  const float em = ImGui::GetFontSize(), gap = style.ItemSpacing.x;
  // The counters panel: its table (header, three rows, a scroll bar's room) and one line under it.
  // Above it, the tab bar that switches it with the FA-1 → FA-3 table (same height).
  const float counters_h = std::ceil(4 * (ImGui::GetTextLineHeight() + 2 * style.CellPadding.y) + style.ScrollbarSize + 2 +
                                     ImGui::GetTextLineHeightWithSpacing() + style.ItemSpacing.y + style.WindowPadding.y * 2 +
                                     ImGui::GetFrameHeight() + style.ItemSpacing.y);
  const bool side_by_side = ImGui::GetContentRegionAvail().x >= em * 54;
  const float stream_min = em * (side_by_side ? 11 : 15), gantt_min = em * (side_by_side ? 7 : 9), softmax_min = em * 28;
  const ImVec2 minimum = side_by_side ? ImVec2(em * 54, stream_min + gantt_min + counters_h + 2 * style.ItemSpacing.y)
                                      : ImVec2(em * 30, stream_min + gantt_min + counters_h + softmax_min + 3 * style.ItemSpacing.y);
  const ImVec2 area = begin_panel_area("flash_panels", minimum);
  const float left_w = side_by_side ? std::floor(area.x * 0.55f) : area.x;
  const float left_h = side_by_side ? area.y : area.y - softmax_min - style.ItemSpacing.y;
  const std::vector<float> heights = share_length(left_h - counters_h - 2 * style.ItemSpacing.y, {0.4f, 0.6f},
                                                  {stream_min, gantt_min});
  const ImGuiWindowFlags flags = ImGuiWindowFlags_NoScrollbar | ImGuiWindowFlags_NoScrollWithMouse;
  ImGui::BeginGroup();
  ImGui::BeginChild("tile_stream", ImVec2(left_w, std::floor(heights[0])), true, flags);
  draw_tile_stream_panel(frame);
  ImGui::EndChild();
  record_element_rect(ctx.ui, "tile-stream");
  ImGui::BeginChild("gantt", ImVec2(left_w, std::floor(heights[1])), true, flags);
  draw_gantt_panel(frame);
  ImGui::EndChild();
  record_element_rect(ctx.ui, "gantt");
  ImGui::BeginChild("flash_counters", ImVec2(left_w, counters_h), true, flags);
  if (ImGui::BeginTabBar("flash_tables")) {
    // A tab clicked this frame wins over the state; the state follows the tab that is open, except in the frame
    // where apply_options asked for one (then that tab is selected).
    struct Tab { const char* label; FlashTable table; void (*draw)(FlashFrame&); };
    static const Tab tabs[] = {{"naive vs flash", FlashTable::Counters, draw_flash_counters_panel},
                               {"FA-1 → FA-3", FlashTable::Versions, draw_flash_versions_panel},
                               {"inside one SM", FlashTable::InsideSm, draw_sm_timeline_panel}};
    for (const Tab& tab : tabs) {
      const ImGuiTabItemFlags flags = view.table_switch && view.table == tab.table ? ImGuiTabItemFlags_SetSelected : 0;
      if (ImGui::BeginTabItem(tab.label, nullptr, flags)) {
        if (!view.table_switch) view.table = tab.table;
        tab.draw(frame);
        ImGui::EndTabItem();
      }
    }
    view.table_switch = false;
    ImGui::EndTabBar();
  }
  ImGui::EndChild();
  record_element_rect(ctx.ui, "counters");
  ImGui::EndGroup();
  if (side_by_side) ImGui::SameLine(0, gap);
  ImGui::BeginChild("online_softmax", ImVec2(side_by_side ? area.x - left_w - gap : area.x, side_by_side ? area.y : softmax_min),
                    true, flags);
  draw_online_softmax_panel(frame);
  ImGui::EndChild();
  record_element_rect(ctx.ui, "online-softmax");
  end_panel_area();
}

}  // namespace attnscope::gui
