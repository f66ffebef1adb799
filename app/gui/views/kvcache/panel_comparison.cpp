// panel_comparison.cpp — MHA vs GQA vs MQA: sizes, sequences that fit, floors and what the loop measured.
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
#include "core/kv_cache.hpp"

namespace attnscope::gui::kv {

// ---------------------------------------------------------------- comparison table
void draw_comparison(ViewContext& ctx, KvViewState& s, double free_bytes, float width) {
  const int64_t H = s.heads, P = kKvPageSizes[s.page_index];
  const int64_t kvs[3] = {H, gqa_heads(H, s.kv_heads), 1};
  const DType dtype = s.dtype;
  const KvRunResult* r = s.result.get();
  const double bw = r ? r->bandwidth_gbs : 0;
  char title[200];
  // The sizes are the cost model's for the chosen dtype; the measured rows say what the backend ran (below).
  std::snprintf(title, sizeof title, "MHA vs GQA vs MQA, L = %d, cache sizes at %s", s.context, dtype_name(dtype));
  heading(ctx, title);
  // The row names' column as wide as its longest name, the three layouts share the rest of `width`; at least as
  // wide as their content (the table then grows past `width`: the mode's panel area scrolls sideways).
  const ImGuiTableFlags flags = ImGuiTableFlags_Borders | ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingFixedFit;
  if (!ImGui::BeginTable("kv_compare", 4, flags, ImVec2(width, 0))) return;
  ImGui::TableSetupColumn("", ImGuiTableColumnFlags_WidthFixed);
  for (int i = 0; i < 3; ++i) ImGui::TableSetupColumn(kKvLayoutNames[i], ImGuiTableColumnFlags_WidthStretch, 1.0f);
  // Header: the layout in its plot colour.
  ImGui::TableNextRow(ImGuiTableRowFlags_Headers);
  ImGui::TableNextColumn();
  ImGui::TextUnformatted("KV heads Hkv");
  tooltip("each KV head serves G = H / Hkv query heads");
  for (int i = 0; i < 3; ++i) {
    ImGui::TableNextColumn();
    ImGui::TextColored(layout_color_v4(i), "%s %lld", kKvLayoutNames[i], static_cast<long long>(kvs[i]));
    char tip[96];
    std::snprintf(tip, sizeof tip, "%lld KV heads, each serving %lld query heads", static_cast<long long>(kvs[i]),
                  static_cast<long long>(H / kvs[i]));
    tooltip(tip);
  }
  KvFootprint f[3];
  for (int i = 0; i < 3; ++i) f[i] = kv_footprint(s.layers, kvs[i], s.head_dim, dtype, s.context, P, free_bytes);
  auto row = [&](const std::string& label, const char* tip, auto text_of) {
    ImGui::TableNextRow();
    ImGui::TableNextColumn();
    ImGui::TextUnformatted(label.c_str());
    tooltip(tip);
    for (int i = 0; i < 3; ++i) {
      ImGui::TableNextColumn();
      const std::string t = text_of(i);
      text_fit(t.c_str());  // a narrow column cuts with an ellipsis, the whole value in the tooltip
    }
  };
  char label[160];
  row("per token, 1 layer: 2·Hkv·d·e", "one K and one V row of d elements of e bytes per KV head",
      [&](int i) { return format_bytes(f[i].bytes_per_token_layer); });
  std::snprintf(label, sizeof label, "per token, %d layers", s.layers);
  row(label, "2·layers·Hkv·d·e", [&](int i) { return format_bytes(f[i].bytes_per_token); });
  std::snprintf(label, sizeof label, "sequence at L (%lld-token pages)", static_cast<long long>(P));
  row(label, "paged: ⌈L/P⌉·P tokens reserved × bytes per token, all layers",
      [&](int i) { return format_bytes(f[i].bytes_per_sequence_paged); });
  std::snprintf(label, sizeof label, "sequences fitting in %s", format_bytes(free_bytes).c_str());
  row(label, "⌊free memory / paged bytes per sequence⌋", [&](int i) { return std::to_string(f[i].sequences_fit); });
  // With a batch, one decode step yields a token for each of the B sequences.
  const std::string per = s.batch > 1 ? "per step of " + std::to_string(s.batch) : std::string("per token");
  std::snprintf(label, sizeof label, "floor %s, %d layers", per.c_str(), s.layers);
  row(label, "the cost model's decode bytes (read Q, K, V; write O) for the batch at L, all layers, / copy bandwidth",
      [&](int i) {
        return bw > 0 ? format_time_ms_table(floor_ms_for(s.batch, H, kvs[i], s.head_dim, dtype, s.context, bw) * s.layers)
                      : std::string("–");
      });
  row("FLOP per byte read (≈ 2·G / e)", "the cost model's decode FLOPs / bytes: each K/V byte serves G query heads",
      [&](int i) {
        const AlgorithmCost c = decode_cost(s.batch, H, kvs[i], s.head_dim, dtype, s.context);
        char b[32];
        std::snprintf(b, sizeof b, "%.3g", c.hbm_bytes > 0 ? c.flops / c.hbm_bytes : 0.0);
        return std::string(b);
      });
  // What the loop measured at its last timed step (one layer).
  const DecodeStepSample* last[3] = {};
  if (r)
    for (size_t i = 0; i < r->runs.size() && i < 3; ++i)
      if (r->runs[i].loop.ok && !r->runs[i].loop.samples.empty()) last[i] = &r->runs[i].loop.samples.back();
  const long long at = last[0] ? static_cast<long long>(last[0]->context) : 0;
  const std::string at_text = format_tokens_exact(static_cast<double>(at));
  std::snprintf(label, sizeof label, s.batch > 1 ? "measured step at %s, 1 layer" : "measured at %s tokens, 1 layer",
                at_text.c_str());
  row(label, "median decode time per token of the loop's last timed step (batch, one layer)", [&](int i) {
    return last[i] ? format_time_ms_table(last[i]->decode_ms) : std::string("–");
  });
  // The spread of that step's repetitions, in a row of its own (the columns keep their width); wide ones are said
  // under the table.
  auto last_timing = [&](int i) -> const Timing* {  // null before the loop's result (last[i] is set only with one)
    if (!last[i]) return nullptr;
    const auto& timing = r->runs[static_cast<size_t>(i)].timing;
    return timing.empty() ? nullptr : &timing.back();
  };
  row("  min – max of its runs", "the fastest and slowest of the step's timed decodes", [&](int i) {
    const Timing* t = last_timing(i);
    if (!t) return std::string("–");
    // "3.82–32.2 ms": the unit once when both ends have the same one.
    std::string lo = format_time_ms_table(t->min_ms);
    const std::string hi = format_time_ms_table(t->max_ms);
    const size_t lo_space = lo.rfind(' '), hi_space = hi.rfind(' ');
    if (lo_space != std::string::npos && hi_space != std::string::npos && lo.substr(lo_space) == hi.substr(hi_space))
      lo.resize(lo_space);
    return lo + "–" + hi;
  });
  std::snprintf(label, sizeof label, "cost-model floor at %s, 1 layer", at_text.c_str());
  row(label, "the same step's decode bytes (as stored by the loop) / copy bandwidth", [&](int i) {
    return last[i] && bw > 0 && !r->runs[i].floor_ms.empty() ? format_time_ms_table(r->runs[i].floor_ms.back()) : std::string("–");
  });
  row("achieved bandwidth", "K and V bytes the decode read / its time (same step)", [&](int i) {
    if (!last[i]) return std::string("–");
    char b[64];
    std::snprintf(b, sizeof b, "%s", format_bandwidth(last[i]->achieved_gbs * 1e9).c_str());
    return std::string(b);
  });
  std::snprintf(label, sizeof label, "  share of copy (%s)", format_bandwidth(bw * 1e9).c_str());
  row(label, "achieved / copy bandwidth measured in the same run", [&](int i) {
    if (!last[i] || bw <= 0) return std::string("–");
    char b[32];
    const double share = 100 * last[i]->achieved_gbs / bw;
    std::snprintf(b, sizeof b, share < 10 ? "%.2g%%" : "%.0f%%", share);
    return std::string(b);
  });
  row("loop's cache memory, 1 layer", "pages in use (paged) or the reservation, one layer, the whole batch",
      [&](int i) { return last[i] ? format_bytes(static_cast<double>(last[i]->cache_bytes)) : std::string("–"); });
  ImGui::EndTable();
  if (!r) return;
  ImGui::PushTextWrapPos(ImGui::GetCursorPosX() + width);  // the notes wrap at the table's width
  ImGui::TextWrapped("measured rows: %s", kv_measurement_label(*r).c_str());
  std::string noisy;
  for (int i = 0; i < 3; ++i)
    if (const Timing* t = last_timing(i); t && t->noisy()) noisy += (noisy.empty() ? "" : ", ") + std::string(kKvLayoutNames[i]);
  if (!noisy.empty()) {
    ImGui::PushStyleColor(ImGuiCol_Text, warning_color());
    ImGui::TextWrapped("noisy: %s, the runs disagree — other work on the machine?", noisy.c_str());
    ImGui::PopStyleColor();
    if (ImGui::IsItemHovered()) {
      std::string why;
      for (int i = 0; i < 3; ++i)
        if (const Timing* t = last_timing(i); t && t->noisy()) why += std::string(kKvLayoutNames[i]) + ": " + t->noisy_text() + "\n";
      ImGui::SetTooltip("%s", why.c_str());
    }
  }
  ImGui::PopTextWrapPos();
}

}  // namespace attnscope::gui::kv
