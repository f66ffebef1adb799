// mode.cpp — the "KV cache" mode: why decoding is memory-bound and how GQA / MQA shrink the cache.
//
// Contents
//   (the model: model.hpp/.cpp; the worker's decode loops for MHA, GQA and MQA, and fp8 / int8 on GQA: tasks.cpp)
//   (the panels: panels.hpp)
// Layout: the toolbar on top; below it the layout table and the dtype table beside the cache picture, then the two
// plots side by side.
// Every number is computed (core/kv_cache.hpp, core/cost_model.hpp) or measured by the backend.
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "app/gui/shell/modes.hpp"
#include "app/gui/views/kvcache/panels.hpp"
#include "app/gui/plot/plot.hpp"
#include "app/gui/widgets/layout.hpp"
#include "core/cost_model.hpp"
#include "core/kv_cache.hpp"

namespace attnscope::gui::kv {

void init_state(KvViewState& s, const ViewContext& ctx) {
  if (s.initialised) return;
  s.initialised = true;
  const auto& presets = model_presets();
  s.preset = 0;
  for (size_t i = 0; i < presets.size(); ++i)
    if (presets[i].kv_heads > 1 && presets[i].kv_heads < presets[i].heads) { s.preset = static_cast<int>(i); break; }
  apply_preset(s);
  // The loop decodes every step; a slower backend (the CPU twin) generates fewer tokens.
  if (s.loop_context <= 0) s.loop_context = ctx.state.capabilities.decode_loop_context;
}

// A lesson's or scene's request: a model preset's shape at the experiment's length, and the generation clock paused
// at a fraction of the context.
void take_view_request(ViewContext& ctx, KvViewState& s) {
  ViewRequest& request = ctx.ui.view_request;
  if (request.mode != "KV cache") return;
  const auto& presets = model_presets();
  for (size_t i = 0; i < presets.size(); ++i)
    if (!request.model.empty() && presets[i].name == request.model) {
      s.preset = static_cast<int>(i);
      apply_preset(s);
      s.context = static_cast<int>(std::clamp<int64_t>(ctx.ui.draft.n, 1, int64_t{1} << 24));
    }
  if (request.animation) {
    s.playing = false;
    set_tokens(s, *request.animation * s.context);
  }
  request = ViewRequest{};
}

void submit(ViewContext& ctx, KvViewState& s) {
  const std::string key = task_key(s);
  if ((s.result && s.result->key == key) || s.asked_key == key || !ctx.worker) return;
  s.asked_key = key;
  ctx.worker->submit_task(kKvChannel, make_kv_task(s, key));
}

void take_result(ViewContext& ctx, KvViewState& s) {
  if (!ctx.worker) return;
  auto result = ctx.worker->take_task_result(kKvChannel);
  if (!result || !*result) return;
  if (s.asked_key == (*result)->key) s.asked_key.clear();
  s.result = *result;
  if (s.result->bandwidth_measured_now) s.session_copy_gbs = s.result->bandwidth_gbs;
}

// ---------------------------------------------------------------- generation clock (play / step)
void advance_clock(KvViewState& s) {
  if (!s.playing) return;
  if (tokens_now(s) >= s.context) {  // at the end: start again from an empty cache
    set_tokens(s, 0);
    return;
  }
  set_tokens(s, std::max(0.0, s.tokens < 0 ? static_cast<double>(tokens_now(s)) : s.tokens) +
                    ImGui::GetIO().DeltaTime * s.speed * s.context / KvViewState::kPlaySeconds);
}

void step_tokens(KvViewState& s, int direction) {
  s.playing = false;
  set_tokens(s, static_cast<double>(tokens_now(s) + direction));
}

void handle_keys(KvViewState& s) {
  if (ImGui::GetIO().WantTextInput) return;
  if (ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Space), false)) s.playing = !s.playing;
  if (ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_LeftArrow))) step_tokens(s, -1);
  if (ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_RightArrow))) step_tokens(s, +1);
}

// The core's page model of one sequence at the clock: appended forward, rebuilt when the clock goes back.

}  // namespace attnscope::gui::kv

namespace attnscope::gui {

void draw_kvcache_mode(ViewContext& ctx) {
  using namespace kv;
  KvViewState& s = ctx.ui.kv_view;
  init_state(s, ctx);
  take_view_request(ctx, s);
  take_result(ctx, s);
  if (s.heads % s.kv_heads == 0) submit(ctx, s);
  if (!ctx.ui.lesson.open()) handle_keys(s);  // an open lesson's keys move through its steps
  advance_clock(s);
  ctx.ui.animating = ctx.ui.animating || s.playing;
  const float em = ImGui::GetFontSize();
  ImGui::BeginGroup();
  draw_controls(ctx, s);
  ImGui::EndGroup();
  record_element_rect(ctx.ui, "kv-controls");
  ImGui::Separator();
  const double free_bytes = s.result && s.result->memory.known ? static_cast<double>(s.result->memory.free_bytes)
                                                               : std::ldexp(static_cast<double>(s.stated_free_gib), 30);
  // Wide: the table (about 53%) beside the cache picture, the plots under both. Narrow (large text): the table,
  // the picture and the plots stacked at full width. Below the minimums the panel area scrolls.
  const float avail_w = ImGui::GetContentRegionAvail().x;
  const bool side_by_side = avail_w >= em * 62;
  // Stacked, the panels want 44 em of width; when that fits the area but not beside its vertical scroll bar, they
  // give up the scroll bar's width rather than scroll sideways by it.
  const float fill_min = em * 13, plots_min = em * 20;
  const float beside_scrollbar = avail_w - ImGui::GetStyle().ScrollbarSize;
  const float table_min_w = em * 44 <= avail_w ? std::min(em * 44, beside_scrollbar) : em * 44;
  const ImVec2 minimum = side_by_side ? ImVec2(em * 62, em * 14 + plots_min) : ImVec2(table_min_w, em * 16 + fill_min + plots_min);
  const ImVec2 area = begin_panel_area("kv_body", minimum);
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const float gap = em * 1.2f;
  const float table_w = side_by_side ? std::floor(area.x * 0.53f) : area.x;  // narrow: >= table_min_w
  ImGui::BeginGroup();
  draw_comparison(ctx, s, free_bytes, table_w);
  ImGui::Dummy(ImVec2(0, em * 0.3f));
  draw_dtype_comparison(ctx, s, free_bytes, table_w);
  ImGui::EndGroup();
  record_element_rect(ctx.ui, "kv-table");
  const float table_h = ImGui::GetItemRectMax().y - origin.y;
  float top_h = 0;
  if (side_by_side) {
    top_h = std::max(em * 12.0f, table_h);
    ImGui::SetCursorScreenPos(ImVec2(origin.x + table_w + gap, origin.y));
    draw_fill(ctx, s, ImVec2(area.x - table_w - gap, top_h));
  } else {
    ImGui::SetCursorScreenPos(ImVec2(origin.x, origin.y + table_h + em * 0.5f));
    draw_fill(ctx, s, ImVec2(area.x, fill_min));
    top_h = table_h + em * 0.5f + fill_min;
  }
  record_element_rect(ctx.ui, "kv-fill");
  ImGui::SetCursorScreenPos(ImVec2(origin.x, origin.y + top_h + em * 0.5f));
  ImGui::BeginGroup();
  draw_plots(ctx, s, ImVec2(area.x, std::max(plots_min, origin.y + area.y - ImGui::GetCursorScreenPos().y)));
  ImGui::EndGroup();
  record_element_rect(ctx.ui, "kv-plots");
  end_panel_area();
}

}  // namespace attnscope::gui
