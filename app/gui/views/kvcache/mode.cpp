// mode.cpp — the "KV cache" mode: why decoding is memory-bound and how GQA / MQA shrink the cache.
//
// Contents
//   (the model: model.hpp/.cpp; the worker's decode loops for MHA, GQA and MQA: tasks.cpp)
//   (the panels: panels.hpp)
// Layout: the toolbar on top; below it the table beside the cache picture, then the two plots side by side.
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
  const float em = ctx.ui.font_px;
  ImGui::BeginGroup();
  draw_controls(ctx, s);
  ImGui::EndGroup();
  record_element_rect(ctx.ui, "kv-controls");
  ImGui::Separator();
  ImGui::BeginChild("kv_body", ImVec2(0, 0), false, ImGuiWindowFlags_NoScrollbar | ImGuiWindowFlags_NoScrollWithMouse);
  const double free_bytes = s.result && s.result->memory.known ? static_cast<double>(s.result->memory.free_bytes)
                                                               : static_cast<double>(s.stated_free_gb) * 1e9;
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const float gap = em * 1.2f;
  // Top band: the table (about 53%) beside the cache picture, as tall as the table.
  const float table_w = std::floor(avail.x * 0.53f);
  ImGui::BeginGroup();
  draw_comparison(ctx, s, free_bytes, table_w);
  ImGui::EndGroup();
  record_element_rect(ctx.ui, "kv-table");
  const float top_h = std::max(em * 12.0f, ImGui::GetItemRectMax().y - origin.y);
  ImGui::SetCursorScreenPos(ImVec2(origin.x + table_w + gap, origin.y));
  draw_fill(ctx, s, ImVec2(avail.x - table_w - gap, top_h));
  record_element_rect(ctx.ui, "kv-fill");
  ImGui::SetCursorScreenPos(ImVec2(origin.x, origin.y + top_h + em * 0.5f));
  ImGui::BeginGroup();
  draw_plots(ctx, s, ImVec2(avail.x, origin.y + avail.y - ImGui::GetCursorScreenPos().y));
  ImGui::EndGroup();
  record_element_rect(ctx.ui, "kv-plots");
  ImGui::EndChild();
}

}  // namespace attnscope::gui
