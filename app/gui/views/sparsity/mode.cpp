// mode.cpp — the Sparsity mode: the pattern editor on the left, the paintable block grid in the
// middle, patterns A and B side by side with their densities and predicted vs measured speed-up on the right.
// Pattern A is the experiment's mask (Explore shows it); every number comes from the worker
// (compute_pattern_numbers: block mask, cost model, runs through the Backend).
#include <imgui.h>

#include <algorithm>

#include "app/gui/shell/modes.hpp"
#include "app/gui/widgets/widgets.hpp"
#include "app/gui/views/sparsity/panels.hpp"
#include "app/gui/widgets/layout.hpp"

namespace attnscope::gui {
namespace {

constexpr double kRestSeconds = 0.3;  // edits must rest this long before the worker recomputes

// Pattern B starts as a local window with a few global tokens: something to compare A with.
void init_pattern_b(SparsityViewState& s) {
  if (s.b_initialised) return;
  s.b_initialised = true;
  MaskTerm window{MaskTermKind::Window, 128, 128, 0, 0};
  MaskTerm global{MaskTermKind::Global, 16, 0, 0, 0};
  s.b.terms = {window, global};
}

void schedule(ViewContext& ctx, int which) {
  UiState& ui = ctx.ui;
  SparsityViewState& s = ui.sparsity_view;
  ExperimentConfig config = ui.draft;
  PatternModel p = which == 0 ? PatternModel{ui.terms, ui.draft.causal, ui.grid} : s.b;
  config.mask = pattern_text(p.ref());
  config.causal = p.causal;
  const SpecResult spec = to_spec(config, ctx.worker->limits());
  if (!spec.ok) {
    s.error[which] = spec.errors.empty() ? "invalid pattern" : spec.errors.front();
    return;
  }
  s.error[which].clear();
  PatternRequest request;
  request.spec = spec.spec;
  request.tiles = TileConfig{s.br, s.bc};
  request.measure = s.measure;
  request.repetitions = s.repetitions;
  request.seed = config.seed;
  const std::string key = pattern_key(request.spec, request.tiles, request.measure);
  if ((s.numbers[which] && s.numbers[which]->key == key) || s.asked_key[which] == key) return;
  if (ImGui::GetTime() - s.changed_at < kRestSeconds) return;
  s.asked_key[which] = key;
  ctx.worker->submit_task(kPatternChannels[which], [request](Backend& backend, TaskControl& control) -> PatternNumbers {
    return compute_pattern_numbers(
        backend, request,
        [&](double f, const std::string& status) {
          control.progress = f;
          control.set_status(status);
        },
        [&] { return control.cancel.load(); });
  });
}

void take_results(ViewContext& ctx) {
  SparsityViewState& s = ctx.ui.sparsity_view;
  for (int i = 0; i < 2; ++i) {
    auto numbers = ctx.worker->take_task_result(kPatternChannels[i]);
    if (!numbers) continue;
    if (s.asked_key[i] == numbers->key) s.asked_key[i].clear();
    if (numbers->cancelled) continue;
    s.numbers[i] = std::move(*numbers);
  }
}

}  // namespace

void draw_sparsity_mode(ViewContext& ctx) {
  SparsityViewState& s = ctx.ui.sparsity_view;
  if (ctx.ui.view_request.mode == "Sparsity") ctx.ui.view_request = ViewRequest{};  // every panel is always shown
  init_pattern_b(s);
  if (ctx.worker) {
    take_results(ctx);
    schedule(ctx, 0);
    schedule(ctx, 1);
  }
  // Wide: the pattern editor, the block grid and A vs B side by side. Narrow (large text): the three stacked at
  // full width in a scrolling panel area, the editor with its own scroll bar.
  const float em = ImGui::GetFontSize(), gap = ImGui::GetStyle().ItemSpacing.x;
  const float controls_w = em * 19.0f;
  const bool side_by_side = ImGui::GetContentRegionAvail().x >= em * 62;
  const float editor_h = em * 16, compare_h = em * 30;
  if (side_by_side) {
    ImGui::BeginChild("sparsity_controls", ImVec2(controls_w, 0), true);
    draw_pattern_editor_panel(ctx);
    ImGui::EndChild();
    record_element_rect(ctx.ui, "pattern-editor");
    ImGui::SameLine();
    const ImVec2 avail = ImGui::GetContentRegionAvail();
    const float grid_w = std::min(avail.x * 0.5f, avail.y + em * 2.0f);
    ImGui::BeginChild("sparsity_grid", ImVec2(grid_w, 0), true, ImGuiWindowFlags_NoScrollbar | ImGuiWindowFlags_NoScrollWithMouse);
    draw_block_grid_panel(ctx);
    ImGui::EndChild();
    record_element_rect(ctx.ui, "block-grid");
    ImGui::SameLine(0, gap);
    ImGui::BeginChild("sparsity_compare", ImVec2(0, 0), true);
    draw_sparsity_compare_panel(ctx);
    ImGui::EndChild();
    record_element_rect(ctx.ui, "compare");
    return;
  }
  const float spacing = ImGui::GetStyle().ItemSpacing.y;
  const float probe_w = ImGui::GetContentRegionAvail().x;
  const float grid_h = std::floor(probe_w * 0.8f) + em * 6;  // the square canvas, its toolbar, ticks and text
  const ImVec2 area = begin_panel_area("sparsity_panels", ImVec2(em * 24, editor_h + grid_h + compare_h + 2 * spacing));
  ImGui::BeginChild("sparsity_controls", ImVec2(area.x, editor_h), true);
  draw_pattern_editor_panel(ctx);
  ImGui::EndChild();
  record_element_rect(ctx.ui, "pattern-editor");
  ImGui::BeginChild("sparsity_grid", ImVec2(area.x, grid_h), true, ImGuiWindowFlags_NoScrollbar | ImGuiWindowFlags_NoScrollWithMouse);
  draw_block_grid_panel(ctx);
  ImGui::EndChild();
  record_element_rect(ctx.ui, "block-grid");
  ImGui::BeginChild("sparsity_compare", ImVec2(area.x, area.y - editor_h - grid_h - 2 * spacing), true);
  draw_sparsity_compare_panel(ctx);
  ImGui::EndChild();
  record_element_rect(ctx.ui, "compare");
  end_panel_area();
}

}  // namespace attnscope::gui
