// panel_dtypes.cpp — fp16 vs fp8 vs int8 caches of the GQA layout, side by side: bytes per token (scales included),
// a sequence at L, sequences that fit in free memory, the measured time per token and the output error against the
// fp16 cache (core/kv_quant.hpp has the formats and the append rule).
#include <imgui.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "app/gui/views/kvcache/panels.hpp"
#include "app/gui/presenter/theme.hpp"
#include "core/kv_cache.hpp"
#include "core/kv_quant.hpp"

namespace attnscope::gui::kv {

void draw_dtype_comparison(ViewContext& ctx, KvViewState& s, double free_bytes, float width) {
  const float em = ctx.ui.font_px;
  const int64_t H = s.heads, P = kKvPageSizes[s.page_index], kv = gqa_heads(H, s.kv_heads);
  const int64_t G = kKvGroups[std::clamp(s.kv_group_index, 0, 3)];
  const KvRunResult* r = s.result.get();
  char title[160];
  std::snprintf(title, sizeof title, "fp16 vs fp8 vs int8, GQA %lld, L = %d", static_cast<long long>(kv), s.context);
  heading(ctx, title);
  ImGui::SameLine(0, em);
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted("scale per");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(em * 4.2f);
  const char* groups[] = {"16", "64", "256", "1024"};
  ImGui::Combo("tokens##kv_group", &s.kv_group_index, groups, 4);
  tooltip("fp8 and int8 keep one fp32 scale per group of G tokens, per KV head, K and V apart: scale = max|x| of "
          "the group / 448 (fp8) or / 127 (int8). The group being filled stays fp16 until its last token arrives.");

  const ImGuiTableFlags flags = ImGuiTableFlags_Borders | ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingFixedFit;
  const ImVec2 table_start = ImGui::GetCursorScreenPos();
  if (!ImGui::BeginTable("kv_dtypes", 4, flags, ImVec2(width, 0))) return;
  ImGui::TableSetupColumn("", ImGuiTableColumnFlags_WidthFixed);
  for (int i = 0; i < 3; ++i) ImGui::TableSetupColumn(kv_dtype_name(kKvDtypes[i]), ImGuiTableColumnFlags_WidthStretch, 1.0f);
  ImGui::TableNextRow(ImGuiTableRowFlags_Headers);
  ImGui::TableNextColumn();
  ImGui::TextUnformatted("cache element");
  tooltip("the element type of the cached K and V rows");
  static const char* const kDescriptions[3] = {"fp16", "fp8 e4m3", "int8"};
  static const char* const kTips[3] = {
      "IEEE half precision, 2 bytes: the reference",
      "1 byte: 4 exponent bits, 3 mantissa bits (relative step 2^-3), largest 448; times a per-group scale",
      "1 byte: −127..127 times a per-group scale (step = scale, error up to scale / 2)"};
  for (int i = 0; i < 3; ++i) {
    ImGui::TableNextColumn();
    ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(dtype_color(kKvDtypes[i], 1)), "%s", kDescriptions[i]);
    tooltip(kTips[i]);
  }
  KvFootprint f[3];
  for (int i = 0; i < 3; ++i) f[i] = kv_footprint(s.layers, kv, s.head_dim, kKvDtypes[i], G, s.context, P, free_bytes);
  auto row = [&](const std::string& label, const char* tip, auto text_of) {
    ImGui::TableNextRow();
    ImGui::TableNextColumn();
    ImGui::TextUnformatted(label.c_str());
    tooltip(tip);
    for (int i = 0; i < 3; ++i) {
      ImGui::TableNextColumn();
      const std::string t = text_of(i);
      text_fit(t.c_str());
    }
  };
  char label[160];
  row("per token, 1 layer, scales incl.", "fp16: 2·Hkv·d·2 bytes; fp8 and int8: 2·Hkv·(d + 4/G) bytes",
      [&](int i) { return format_bytes(f[i].bytes_per_token_layer); });
  std::snprintf(label, sizeof label, "sequence at L, %d layers", s.layers);
  row(label, "⌈L/P⌉·P tokens of codes, the scales of every group, and the open group's fp16 staging block",
      [&](int i) { return format_bytes(f[i].bytes_per_sequence_paged); });
  std::snprintf(label, sizeof label, "sequences fitting in %s", format_bytes(free_bytes).c_str());
  row(label, "⌊free memory / bytes per sequence⌋ (the backend's free memory: host memory on the CPU backend)",
      [&](int i) { return std::to_string(f[i].sequences_fit); });
  // What the loops measured at their last timed step.
  const DecodeLoopResult* loops[3] = {};
  if (r)
    for (const KvDtypeRun& run : r->dtype_runs)
      for (int i = 0; i < 3; ++i)
        if (run.dtype == kKvDtypes[i]) loops[i] = &run.loop;
  auto last = [&](int i) -> const DecodeStepSample* {
    return loops[i] && loops[i]->ok && !loops[i]->samples.empty() ? &loops[i]->samples.back() : nullptr;
  };
  const long long at = last(0) ? static_cast<long long>(last(0)->context) : 0;
  std::snprintf(label, sizeof label, "time per token at %s, 1 layer", format_tokens_exact(static_cast<double>(at)).c_str());
  row(label, "median decode time of the loop's last timed step, on the backend that ran it (the CPU twin "
             "dequantises on the cores: its time does not follow the bytes as the GPU's does)",
      [&](int i) {
        if (const DecodeStepSample* p = last(i)) return format_time_ms_table(p->decode_ms);
        return std::string(loops[i] && !loops[i]->ok ? "not run" : "–");
      });
  row("output error, max |o − o16|", "largest difference of any output element from the fp16 cache's output "
                                     "(same tokens, same query), in the values' own units",
      [&](int i) {
        if (i == 0) return std::string(loops[0] ? "reference" : "–");
        if (!last(i) || !loops[i]->error_measured) return std::string("–");
        char b[32];
        std::snprintf(b, sizeof b, "%.2e", loops[i]->error_max_abs);
        return std::string(b);
      });
  row("output error, ‖o − o16‖ / ‖o16‖", "relative L2 error of all outputs against the fp16 cache's", [&](int i) {
    if (i == 0) return std::string(loops[0] ? "reference" : "–");
    if (!last(i) || !loops[i]->error_measured) return std::string("–");
    char b[32];
    std::snprintf(b, sizeof b, "%.2f %%", 100 * loops[i]->error_rel_l2);
    return std::string(b);
  });
  ImGui::EndTable();
  s.dtype_table_min = screen(table_start);
  s.dtype_table_max = screen(ImGui::GetItemRectMax());
  // A quantised loop that failed (out of memory, a head dim the kernel does not take) says why.
  for (int i = 1; i < 3; ++i)
    if (loops[i] && !loops[i]->ok) {
      ImGui::PushTextWrapPos(ImGui::GetCursorPosX() + width);
      ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(muted_text()), "%s: %s", kv_dtype_name(kKvDtypes[i]),
                         loops[i]->error.c_str());
      ImGui::PopTextWrapPos();
      break;
    }
}

}  // namespace attnscope::gui::kv
