// panel_controls.cpp — the KV cache mode's toolbar: preset or custom shape, dtype, context, pages, batch, loop.
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "app/gui/plot/plot.hpp"
#include "app/gui/views/kvcache/panels.hpp"
#include "app/gui/presenter/theme.hpp"
#include "core/cost_model.hpp"
#include "app/gui/widgets/layout.hpp"
#include "core/kv_cache.hpp"

namespace attnscope::gui::kv {

// ---------------------------------------------------------------- controls
// Two rows above the view: the shape (a model preset or a custom one), then the context, paging and the loop.
void draw_controls(ViewContext& ctx, KvViewState& s) {
  const float em = ctx.ui.font_px, w = em * 3.6f, gap = em * 1.1f;
  const auto& presets = model_presets();
  const bool custom = s.preset >= static_cast<int>(presets.size());
  const char* current = custom ? "custom shape" : presets[static_cast<size_t>(s.preset)].title.c_str();
  // Both rows flow: a control (its field and label) wraps to the next line when it does not fit.
  const ImGuiStyle& style = ImGui::GetStyle();
  auto labelled = [&](float field_w, const char* label) {
    return field_w + style.ItemInnerSpacing.x + ImGui::CalcTextSize(label, nullptr, true).x;
  };
  auto flow = [&](float width, float spacing) {
    if (flow_same_line(width + spacing - style.ItemSpacing.x)) ImGui::SameLine(0, spacing);
  };
  ImGui::SetNextItemWidth(em * 10.5f);
  if (ImGui::BeginCombo("##model", current)) {
    for (size_t i = 0; i < presets.size(); ++i)
      if (ImGui::Selectable(presets[i].title.c_str(), static_cast<int>(i) == s.preset)) {
        s.preset = static_cast<int>(i);
        apply_preset(s);
      }
    if (ImGui::Selectable("custom shape", custom)) s.preset = static_cast<int>(presets.size());
    ImGui::EndCombo();
  }
  tooltip(custom ? "your own shape: edit the fields on the right" : presets[static_cast<size_t>(s.preset)].source.c_str());
  // A typed value outside its range is not applied: the field keeps it, and the reason is drawn in red under the
  // toolbar (a fixed place at the top of the mode) with the value still in use.
  std::vector<std::string> problems;
  auto checked = [&](const char* label, const char* name, int* v, int lo, int hi, const char* tip) {
    int64_t x = *v;
    std::string problem;
    if (checked_int_field(label, &x, 0, tip, int_range_rule(lo, hi), &problem)) *v = static_cast<int>(x);
    if (!problem.empty())
      problems.push_back(std::string(name) + " " + problem + " — showing " + name + " = " + std::to_string(*v) +
                         ", the last valid value");
  };
  ImGui::BeginDisabled(!custom);
  auto field = [&](const char* label, int* v, int lo, int hi, const char* tip) {
    flow(labelled(w, label), gap);
    ImGui::SetNextItemWidth(w);
    checked(label, label, v, lo, hi, tip);
  };
  field("layers", &s.layers, 1, 512, "transformer layers: each keeps its own K and V cache");
  field("query heads", &s.heads, 1, 256, "query heads H");
  field("KV heads", &s.kv_heads, 1, 256, "the model's KV heads; the GQA column uses them when 1 < KV heads < H");
  field("head dim d", &s.head_dim, 8, 256, "elements per head");
  ImGui::EndDisabled();
  flow(labelled(em * 4.2f, "cache dtype"), gap);
  const char* dtypes[] = {"fp32", "fp16", "bf16"};  // in DType's order
  ImGui::SetNextItemWidth(em * 4.2f);
  int dtype_index = static_cast<int>(s.dtype);
  if (ImGui::Combo("cache dtype", &dtype_index, dtypes, 3)) s.dtype = static_cast<DType>(dtype_index);
  tooltip("element type of the cached K and V (e bytes each); the decode kernels read fp16 or bf16");

  ImGui::SetNextItemWidth(em * 4.5f);
  checked("context L", "context L", &s.context, 1, 1 << 22,
          "tokens in the cache (prompt plus generated), for the table and the cache picture");
  flow(labelled(em * 3.6f, "tokens per page"), gap);
  ImGui::SetNextItemWidth(em * 3.6f);
  const char* pages[] = {"16", "32", "64", "128", "256"};
  ImGui::Combo("tokens per page", &s.page_index, pages, 5);
  tooltip("paged cache: memory is taken one page of P tokens at a time");
  flow(labelled(w, "batch"), gap);
  ImGui::SetNextItemWidth(w);
  checked("batch", "batch", &s.batch, 1, 256, "sequences decoded together (the loop and the floor)");
  const bool measured_free = s.result && s.result->memory.known;
  const std::string free_text =
      measured_free ? "free " + format_bytes(static_cast<double>(s.result->memory.free_bytes)) : std::string();
  flow(measured_free ? ImGui::CalcTextSize(free_text.c_str()).x : labelled(w, "GiB free (stated)"), gap);
  if (measured_free) {
    ImGui::AlignTextToFramePadding();
    ImGui::TextUnformatted(free_text.c_str());
    tooltip("free memory the backend measured: host memory on the CPU backend, device memory on CUDA");
  } else {
    ImGui::SetNextItemWidth(w);
    ImGui::InputFloat("GiB free (stated)", &s.stated_free_gib, 0, 0, "%.0f");
    s.stated_free_gib = std::clamp(s.stated_free_gib, 0.1f, 1e6f);
    tooltip("this backend does not measure its free memory: state it");
  }
  flow(ImGui::CalcTextSize("decode loop:").x + style.ItemSpacing.x + labelled(em * 4.5f, "tokens"), gap * 1.5f);
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted("decode loop:");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(em * 4.5f);
  {
    char tip[200];
    std::snprintf(tip, sizeof tip, "T steps of append K/V, then decode one query per head, on the %s backend; one "
                  "layer, 16 steps timed (median of 3). Applies on Enter or leaving the field.",
                  ctx.state.backend_name.c_str());
    checked("tokens##loop", "decode loop tokens", &s.loop_context, 16, 1 << 20, tip);
  }
  const TaskState task = ctx.worker ? ctx.worker->task_state(kKvChannel) : TaskState{};
  if (task.running || task.pending) {
    flow(em * 8, gap);
    ImGui::ProgressBar(static_cast<float>(task.progress), ImVec2(-1, 0), task.status.c_str());
  }
  if (s.heads % s.kv_heads != 0)
    ImGui::TextColored(error_color(),
                       "%d query heads are not a multiple of %d KV heads: pick a divisor of %d", s.heads, s.kv_heads,
                       s.heads);
  for (const std::string& p : problems) field_error(p, 0);
}

}  // namespace attnscope::gui::kv
