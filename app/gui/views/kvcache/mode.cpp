// mode.cpp — the "KV cache" mode: why decoding is memory-bound and how GQA / MQA shrink the cache.
//
// Contents
//   (the model: model.hpp/.cpp; the worker's decode loops for MHA, GQA and MQA: tasks.cpp)
//   controls            two toolbar rows: model preset or custom shape, dtype; context, page size, batch, free
//                       memory, the loop's tokens
//   comparison table    MHA vs GQA vs MQA: bytes per token, cache at L, sequences that fit, floor per token, and
//                       what the loop measured (time per token against its floor, achieved bandwidth, memory)
//   cache fill          every layer's K and V as tokens are generated (play / step), and the last pages token by
//                       token (pages allocated, the last one partly written)
//   plots               measured decode time per token and achieved bandwidth against the cost model's floor, as
//                       the context grows; one shared legend above them (outside the data areas)
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
#include "app/gui/views/kvcache/model.hpp"
#include "app/gui/widgets/widgets.hpp"
#include "app/gui/plot/plot.hpp"
#include "core/cost_model.hpp"
#include "core/kv_cache.hpp"

namespace attnscope::gui {
namespace {


// MHA, GQA and MQA take the plot palette's first three colours (sky blue, orange, bluish green): the table's
// column heads, the cache picture and the plots use the same colour for the same layout.
ImU32 layout_color(int i) { return plot::GetStyle().palette[std::clamp(i, 0, 2)]; }
ImVec4 layout_color_v4(int i) { return ImGui::ColorConvertU32ToFloat4(layout_color(i)); }
// Cache cells: allocated but not yet written, and not allocated; both apart from every layout colour.
constexpr ImU32 kAllocatedColor = IM_COL32(118, 122, 134, 255);
constexpr ImU32 kEmptyColor = IM_COL32(38, 41, 48, 255);
constexpr ImU32 kMutedText = IM_COL32(170, 170, 178, 255);
constexpr ImU32 kText = IM_COL32(225, 225, 230, 255);
ScreenPoint screen(ImVec2 v) { return {v.x, v.y}; }

constexpr ImU32 kCeilingColor = IM_COL32(200, 200, 200, 255);  // copy bandwidth and floors' legend swatch

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

// ---------------------------------------------------------------- task
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
}

void tooltip(const char* text) {
  if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled)) ImGui::SetTooltip("%s", text);
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
void update_pages(KvViewState& s, int64_t tokens) {
  const int64_t P = kKvPageSizes[s.page_index], L = s.context;
  if (s.pages_context != L || s.pages_page_tokens != P || tokens < s.pages_tokens) {
    s.pages = PagedKvCache(1, P, pages_for(L, P));
    s.pages_context = L;
    s.pages_page_tokens = P;
    s.pages_tokens = 0;
  }
  if (tokens > s.pages_tokens && s.pages.append(0, tokens - s.pages_tokens).ok) s.pages_tokens = tokens;
}

// ---------------------------------------------------------------- controls
// Two rows above the view: the shape (a model preset or a custom one), then the context, paging and the loop.
void draw_controls(ViewContext& ctx, KvViewState& s) {
  const float em = ctx.ui.font_px, w = em * 3.6f, gap = em * 1.1f;
  const auto& presets = model_presets();
  const bool custom = s.preset >= static_cast<int>(presets.size());
  const char* current = custom ? "custom shape" : presets[static_cast<size_t>(s.preset)].title.c_str();
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
  ImGui::BeginDisabled(!custom);
  auto field = [&](const char* label, int* v, int lo, int hi, const char* tip) {
    ImGui::SameLine(0, gap);
    ImGui::SetNextItemWidth(w);
    if (ImGui::InputInt(label, v, 0)) *v = std::clamp(*v, lo, hi);
    tooltip(tip);
  };
  field("layers", &s.layers, 1, 512, "transformer layers: each keeps its own K and V cache");
  field("query heads", &s.heads, 1, 256, "query heads H");
  field("KV heads", &s.kv_heads, 1, 256, "the model's KV heads; the GQA column uses them when 1 < KV heads < H");
  field("head dim d", &s.head_dim, 8, 256, "elements per head");
  ImGui::EndDisabled();
  ImGui::SameLine(0, gap);
  const char* dtypes[] = {"fp32", "fp16", "bf16"};  // in DType's order
  ImGui::SetNextItemWidth(em * 4.2f);
  int dtype_index = static_cast<int>(s.dtype);
  if (ImGui::Combo("cache dtype", &dtype_index, dtypes, 3)) s.dtype = static_cast<DType>(dtype_index);
  tooltip("element type of the cached K and V (e bytes each); the decode kernels read fp16 or bf16");

  ImGui::SetNextItemWidth(em * 4.5f);
  if (ImGui::InputInt("context L", &s.context, 0)) s.context = std::clamp(s.context, 1, 1 << 22);
  tooltip("tokens in the cache (prompt plus generated), for the table and the cache picture");
  ImGui::SameLine(0, gap);
  ImGui::SetNextItemWidth(em * 3.6f);
  const char* pages[] = {"16", "32", "64", "128", "256"};
  ImGui::Combo("tokens per page", &s.page_index, pages, 5);
  tooltip("paged cache: memory is taken one page of P tokens at a time");
  ImGui::SameLine(0, gap);
  ImGui::SetNextItemWidth(w);
  if (ImGui::InputInt("batch", &s.batch, 0)) s.batch = std::clamp(s.batch, 1, 256);
  tooltip("sequences decoded together (the loop and the floor)");
  ImGui::SameLine(0, gap);
  if (s.result && s.result->memory.known) {
    ImGui::Text("free %s", format_bytes(static_cast<double>(s.result->memory.free_bytes)).c_str());
    tooltip("free memory the backend measured: host memory on the CPU backend, device memory on CUDA");
  } else {
    ImGui::SetNextItemWidth(w);
    ImGui::InputFloat("GB free (stated)", &s.stated_free_gb, 0, 0, "%.0f");
    s.stated_free_gb = std::clamp(s.stated_free_gb, 0.1f, 1e6f);
    tooltip("this backend does not measure its free memory: state it");
  }
  ImGui::SameLine(0, gap * 1.5f);
  ImGui::TextUnformatted("decode loop:");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(em * 4.5f);
  int loop = s.loop_context;
  if (ImGui::InputInt("tokens##loop", &loop, 0, 0, ImGuiInputTextFlags_EnterReturnsTrue))
    s.loop_context = std::clamp(loop, 16, 1 << 20);
  {
    char tip[200];
    std::snprintf(tip, sizeof tip, "T steps of append K/V, then decode one query per head, on the %s backend; one "
                  "layer, 16 steps timed (median of 3). Press Enter to run again.", ctx.state.backend_name.c_str());
    tooltip(tip);
  }
  const TaskState task = ctx.worker ? ctx.worker->task_state(kKvChannel) : TaskState{};
  if (task.running || task.pending) {
    ImGui::SameLine(0, gap);
    ImGui::ProgressBar(static_cast<float>(task.progress), ImVec2(-1, 0), task.status.c_str());
  }
  if (s.heads % s.kv_heads != 0)
    ImGui::TextColored(ImVec4(1, 0.5f, 0.4f, 1),
                       "%d query heads are not a multiple of %d KV heads: pick a divisor of %d", s.heads, s.kv_heads,
                       s.heads);
}

// ---------------------------------------------------------------- comparison table
void draw_comparison(ViewContext& ctx, KvViewState& s, double free_bytes, float width) {
  const int64_t H = s.heads, P = kKvPageSizes[s.page_index];
  const int64_t kvs[3] = {H, gqa_heads(H, s.kv_heads), 1};
  const DType dtype = s.dtype;
  const KvRunResult* r = s.result.get();
  const double bw = r ? r->bandwidth_gbs : 0;
  char title[200];
  std::snprintf(title, sizeof title, "MHA vs GQA vs MQA, %s, L = %d", dtype_name(dtype), s.context);
  heading(ctx, title);
  const ImGuiTableFlags flags = ImGuiTableFlags_Borders | ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingFixedFit;
  if (!ImGui::BeginTable("kv_compare", 4, flags, ImVec2(width, 0))) return;
  ImGui::TableSetupColumn("", ImGuiTableColumnFlags_WidthStretch, 2.6f);
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
      ImGui::TextUnformatted(t.c_str());
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
  std::snprintf(label, sizeof label, "cost-model floor at %s, 1 layer", at_text.c_str());
  row(label, "the same step's decode bytes (as stored by the loop) / copy bandwidth", [&](int i) {
    return last[i] && bw > 0 && !r->runs[i].floor_ms.empty() ? format_time_ms_table(r->runs[i].floor_ms.back()) : std::string("–");
  });
  row("achieved bandwidth", "K and V bytes the decode read / its time (same step)", [&](int i) {
    if (!last[i]) return std::string("–");
    char b[64];
    std::snprintf(b, sizeof b, "%s GB/s", format_rate(last[i]->achieved_gbs).c_str());
    return std::string(b);
  });
  std::snprintf(label, sizeof label, "  share of copy (%s GB/s)", format_rate(bw).c_str());
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
}

// ---------------------------------------------------------------- cache fill
// One block of the picture: rows = layers, x = token positions 0 … L; filled to `tokens`, allocated to whole pages.
void draw_cache_block(ImDrawList* dl, ImVec2 p0, ImVec2 p1, int layers, int64_t tokens, int64_t allocated_tokens,
                      int64_t L, int64_t P, ImU32 fill) {
  const float w = p1.x - p0.x, row_h = (p1.y - p0.y) / static_cast<float>(layers);
  const float x_written = p0.x + w * static_cast<float>(tokens) / static_cast<float>(L);
  const float x_alloc = p0.x + w * static_cast<float>(std::min(allocated_tokens, L)) / static_cast<float>(L);
  dl->AddRectFilled(p0, p1, kEmptyColor);
  dl->AddRectFilled(p0, ImVec2(x_alloc, p1.y), kAllocatedColor);
  dl->AddRectFilled(p0, ImVec2(x_written, p1.y), fill);
  // Page boundaries where a page is at least 4 px wide; layer boundaries where a row is at least 4 px high.
  const float page_w = w * static_cast<float>(P) / static_cast<float>(L);
  if (page_w >= 4)
    for (int64_t t = P; t < L; t += P) {
      const float x = p0.x + w * static_cast<float>(t) / static_cast<float>(L);
      dl->AddLine(ImVec2(x, p0.y), ImVec2(x, p1.y), IM_COL32(15, 16, 20, 160));
    }
  if (row_h >= 4)
    for (int l = 1; l < layers; ++l)
      dl->AddLine(ImVec2(p0.x, p0.y + row_h * l), ImVec2(p1.x, p0.y + row_h * l), IM_COL32(15, 16, 20, 255));
  dl->AddRect(p0, p1, IM_COL32(110, 110, 120, 255));
}

void draw_fill(ViewContext& ctx, KvViewState& s, ImVec2 size) {
  const float em = ctx.ui.font_px;
  const int64_t P = kKvPageSizes[s.page_index], L = s.context, H = s.heads;
  const int64_t kvs[3] = {H, gqa_heads(H, s.kv_heads), 1};
  const int layout = std::clamp(s.drawn_layout, 0, 2);
  const int64_t tokens = tokens_now(s);
  update_pages(s, tokens);
  const int64_t pages = s.pages.pages_in_use(), total_pages = pages_for(L, P);
  const KvFootprint f = kv_footprint(1, kvs[layout], s.head_dim, s.dtype, L, P, 0);
  s.fill_tokens = tokens;
  s.fill_pages = pages;
  const ImVec2 start = ImGui::GetCursorScreenPos();
  ImGui::BeginGroup();

  heading(ctx, "Cache filling");
  tooltip("each generated token appends one K and one V row per KV head in every layer; memory is taken a page "
          "at a time");
  // Which layout the picture draws: the three in their colours.
  for (int i = 0; i < 3; ++i) {
    ImGui::SameLine(0, i ? -1.0f : em);
    ImGui::PushStyleColor(ImGuiCol_Text, layout_color_v4(i));
    if (ImGui::RadioButton(kKvLayoutNames[i], s.drawn_layout == i)) s.drawn_layout = i;
    ImGui::PopStyleColor();
    char tip[96];
    std::snprintf(tip, sizeof tip, "draw the %s cache: %lld KV heads", kKvLayoutNames[i], static_cast<long long>(kvs[i]));
    tooltip(tip);
  }
  // Play controls: step back, play / pause, step, speed, and the token clock.
  if (ImGui::Button("◀##kv_back")) step_tokens(s, -1);
  tooltip("one token back  (Left arrow)");
  ImGui::SameLine();
  if (ImGui::Button(s.playing ? "‖ pause" : "▶ play", ImVec2(em * 4.2f, 0))) s.playing = !s.playing;
  tooltip("generate tokens: the cache grows page by page  (Space)");
  ImGui::SameLine();
  if (ImGui::Button("▶##kv_fwd")) step_tokens(s, +1);
  tooltip("one token more  (Right arrow)");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(em * 3.4f);
  ImGui::SliderFloat("##kv_speed", &s.speed, 0.05f, 5.0f, "×%.2g", ImGuiSliderFlags_Logarithmic);
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("playback speed: at ×1 the whole context L fills in %.0f s", KvViewState::kPlaySeconds);
  ImGui::SameLine();
  ImGui::SetNextItemWidth(std::max(em * 4.0f, start.x + size.x - ImGui::GetCursorScreenPos().x));
  int shown = static_cast<int>(tokens);
  char fmt[64];
  std::snprintf(fmt, sizeof fmt, "%%d of %d tokens", s.context);
  if (ImGui::SliderInt("##kv_tokens", &shown, 0, s.context, fmt)) {
    s.playing = false;
    set_tokens(s, shown);
  }
  tooltip("tokens in the cache (drag to scrub)");

  // The blocks: K on the left, V on the right; one row per layer, x = token positions 0 … L.
  ImDrawList* dl = ImGui::GetWindowDrawList();
  ImGui::PushClipRect(start, ImVec2(start.x + size.x, start.y + size.y), true);
  const float label_w = ImGui::CalcTextSize("layer 00").x + em * 0.3f;
  const float gap = em * 0.8f;
  const float top = ImGui::GetCursorScreenPos().y + em * 1.15f;  // room for the captions
  // Below the blocks: the pages line, the tail strip with its page labels, the legend.
  const float below = em * (1.35f + 1.0f + 1.25f + 1.25f);
  const float block_h = std::max(em * 2.0f, start.y + size.y - top - below);
  const float block_w = (size.x - label_w - gap) * 0.5f;
  const ImU32 fill = layout_color(layout);
  for (int kv = 0; kv < 2; ++kv) {
    const ImVec2 p0(start.x + label_w + kv * (block_w + gap), top), p1(p0.x + block_w, top + block_h);
    draw_cache_block(dl, p0, p1, s.layers, tokens, pages * P, L, P, fill);
    char caption[64];
    std::snprintf(caption, sizeof caption, "%s: tokens 0 … %s", kv ? "V" : "K", format_tokens_exact(static_cast<double>(L)).c_str());
    dl->AddText(ImVec2(p0.x, top - em * 1.1f), kText, caption);
    if (kv == 0) {
      s.fill_min = screen(p0);
      s.fill_max = screen(p1);
    }
  }
  // Layer labels: as many as fit without overlapping; the first and the last always.
  const float row_h = block_h / static_cast<float>(s.layers);
  const int every = std::max(1, static_cast<int>(std::ceil(em * 1.05f / row_h)));
  for (int l = 0; l < s.layers; ++l) {
    const bool last = l == s.layers - 1;
    if (!last && (l % every != 0 || (l != 0 && (s.layers - 1 - l) * row_h < em * 1.05f))) continue;
    char label[24];
    std::snprintf(label, sizeof label, l == 0 ? "layer %d" : "%d", l);
    const float y = top + row_h * (static_cast<float>(l) + 0.5f) - em * 0.5f;
    const float tw = ImGui::CalcTextSize(label).x;
    dl->AddText(ImVec2(start.x + label_w - tw - em * 0.3f, std::clamp(y, top - em * 0.1f, top + block_h - em * 0.9f)),
                kMutedText, label);
  }
  float y = top + block_h + em * 0.15f;
  char line[256];
  // bytes_per_token_layer counts K and V of one layer.
  const std::string allocated =
      format_bytes(static_cast<double>(pages * P) * f.bytes_per_token_layer * s.layers);
  const std::string written = format_bytes(static_cast<double>(tokens) * f.bytes_per_token_layer * s.layers);
  // The longest wording that fits.
  const long long pg = static_cast<long long>(pages), all = static_cast<long long>(total_pages);
  std::snprintf(line, sizeof line, "%lld of %lld pages per layer; one sequence, %d layers: %s allocated, %s written",
                pg, all, s.layers, allocated.c_str(), written.c_str());
  if (ImGui::CalcTextSize(line).x > size.x)
    std::snprintf(line, sizeof line, "%lld/%lld pages per layer · %d layers: %s taken, %s written", pg, all, s.layers,
                  allocated.c_str(), written.c_str());
  if (ImGui::CalcTextSize(line).x > size.x)
    std::snprintf(line, sizeof line, "%lld/%lld pages/layer · %s taken, %s written", pg, all, allocated.c_str(),
                  written.c_str());
  dl->AddText(ImVec2(start.x, y), kText, line);
  y += em * 1.35f;

  // The tail: the last pages of layer 0's K, one cell per token, so a page filling up and the next one being taken
  // are visible at any context length.
  const int64_t window = std::clamp<int64_t>(128 / P, 2, 4);
  const int64_t end_page = std::min(total_pages, pages + (tokens == pages * P ? 1 : 0));  // the next page too
  const int64_t first_page = std::max<int64_t>(0, end_page - window);
  const int64_t shown_pages = std::max<int64_t>(1, end_page - first_page);
  const float strip_h = em * 0.9f;
  const float page_px = size.x / static_cast<float>(shown_pages), cell = page_px / static_cast<float>(P);
  for (int64_t p = first_page; p < first_page + shown_pages; ++p) {
    const float x0 = start.x + page_px * static_cast<float>(p - first_page);
    dl->AddRectFilled(ImVec2(x0, y), ImVec2(x0 + page_px, y + strip_h), p < pages ? kAllocatedColor : kEmptyColor);
    const int64_t written = std::clamp<int64_t>(tokens - p * P, 0, P);
    if (written > 0) dl->AddRectFilled(ImVec2(x0, y), ImVec2(x0 + cell * written, y + strip_h), fill);
    if (cell >= 3)
      for (int64_t t = 1; t < P; ++t)
        dl->AddLine(ImVec2(x0 + cell * t, y), ImVec2(x0 + cell * t, y + strip_h), IM_COL32(15, 16, 20, 140));
    dl->AddRect(ImVec2(x0, y), ImVec2(x0 + page_px, y + strip_h), IM_COL32(235, 235, 240, 255), 0, 0, 2.0f);
    std::snprintf(line, sizeof line, "page %lld%s", static_cast<long long>(p), p < pages ? "" : " (not taken)");
    if (ImGui::CalcTextSize(line).x >= page_px - em * 0.3f)
      std::snprintf(line, sizeof line, "page %lld", static_cast<long long>(p));
    if (ImGui::CalcTextSize(line).x < page_px - em * 0.3f)
      dl->AddText(ImVec2(x0 + em * 0.2f, y + strip_h + em * 0.05f), kMutedText, line);
  }
  y += strip_h + em * 1.25f;
  // Legend of the cell colours.
  float x = start.x;
  auto swatch = [&](ImU32 c, const char* text) {
    dl->AddRectFilled(ImVec2(x, y + em * 0.2f), ImVec2(x + em * 0.8f, y + em * 0.9f), c);
    dl->AddRect(ImVec2(x, y + em * 0.2f), ImVec2(x + em * 0.8f, y + em * 0.9f), IM_COL32(150, 150, 160, 255));
    dl->AddText(ImVec2(x + em * 1.1f, y), kText, text);
    x += em * 1.1f + ImGui::CalcTextSize(text).x + em * 0.9f;
  };
  swatch(fill, "written");
  swatch(kAllocatedColor, "allocated, empty");
  swatch(kEmptyColor, "not allocated");
  const char* strip_note = "(strip: layer 0's K, last pages)";
  if (x + ImGui::CalcTextSize(strip_note).x <= start.x + size.x) dl->AddText(ImVec2(x, y), kMutedText, strip_note);
  ImGui::PopClipRect();
  ImGui::EndGroup();
  ImGui::SetCursorScreenPos(start);
  ImGui::Dummy(size);
}

// ---------------------------------------------------------------- plots
// A vertical marker at the picture's token count, drawn over the plot just ended.
void mark_tokens(double tokens) {
  const plot::PlotGeometry& g = plot::LastPlotGeometry();
  if (tokens < g.x_min || tokens > g.x_max) return;
  const float x = plot::to_pixel(tokens, plot::AxisRange{g.x_min, g.x_max}, g.x_scale, g.min.x, g.max.x);
  ImGui::GetWindowDrawList()->AddLine(ImVec2(x, g.min.y), ImVec2(x, g.max.y), IM_COL32(255, 255, 255, 110), 1.5f);
}

// One legend for both plots, in a row above them (outside their data areas). Returns its height.
float draw_shared_legend(ViewContext& ctx, KvViewState& s, const KvRunResult& r, float width) {
  const float em = ctx.ui.font_px;
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 p0 = ImGui::GetCursorScreenPos();
  float x = p0.x, y = p0.y, right = p0.x;
  const float swatch = em * 1.6f;
  auto entry = [&](ImU32 color, bool dashed, bool marker, const std::string& text) {
    const float w = swatch + em * 0.4f + ImGui::CalcTextSize(text.c_str()).x;
    if (x > p0.x && x + w > p0.x + width) {
      x = p0.x;
      y += em * 1.25f;
    }
    const float cy = y + em * 0.55f;
    if (dashed) {
      for (float dx = 0; dx < swatch; dx += em * 0.5f)
        dl->AddLine(ImVec2(x + dx, cy), ImVec2(x + std::min(swatch, dx + em * 0.3f), cy), color, 2.0f);
    } else {
      dl->AddLine(ImVec2(x, cy), ImVec2(x + swatch, cy), color, 2.0f);
    }
    if (marker) dl->AddCircleFilled(ImVec2(x + swatch * 0.5f, cy), em * 0.25f, color);
    dl->AddText(ImVec2(x + swatch + em * 0.4f, y), kText, text.c_str());
    x += w + em * 1.2f;
    right = std::max(right, x);
  };
  for (size_t i = 0; i < r.runs.size(); ++i) {
    char text[64];
    std::snprintf(text, sizeof text, "%s (%lld KV heads)", r.runs[i].name.c_str(),
                  static_cast<long long>(r.runs[i].kv_heads));
    entry(layout_color(static_cast<int>(i)), false, true, text);
  }
  if (r.bandwidth_gbs > 0) {
    entry(kCeilingColor, true, false, "floor = bytes ÷ copy bandwidth");
  }
  entry(IM_COL32(255, 255, 255, 110), false, false, "picture's token count");
  const float h = y - p0.y + em * 1.2f;
  s.legend_min = screen(p0);
  s.legend_max = screen(ImVec2(right, p0.y + h));
  ImGui::Dummy(ImVec2(width, h));
  return h;
}

void draw_plots(ViewContext& ctx, KvViewState& s, ImVec2 size) {
  const float em = ctx.ui.font_px;
  if (!s.result) {
    ImGui::TextDisabled("running the decode loop for MHA, GQA and MQA…");
    return;
  }
  const KvRunResult& r = *s.result;
  for (const auto& run : r.runs)
    if (!run.loop.ok) ImGui::TextColored(ImVec4(1, 0.5f, 0.4f, 1), "%s: %s", run.name.c_str(), run.loop.error.c_str());
  const float legend_h = draw_shared_legend(ctx, s, r, size.x);
  const float footer_h = em * 1.3f;
  const float plot_h = std::max(em * 8.0f, size.y - legend_h - footer_h - ImGui::GetStyle().ItemSpacing.y * 2);
  const float w = (size.x - ImGui::GetStyle().ItemSpacing.x) * 0.5f;
  const double marker = static_cast<double>(tokens_now(s));
  const bool batched = s.batch > 1;
  const char* time_title = batched ? "Decode time per step (a token for each sequence), one layer##kv_time"
                                   : "Decode time per token, one layer##kv_time";
  if (plot::BeginPlot(time_title, ImVec2(w, plot_h), plot::PlotFlags_NoLegend)) {
    plot::SetupAxis(plot::Axis::X, "context (tokens in the cache)");
    plot::SetupAxis(plot::Axis::Y, batched ? "time per step (ms)" : "time per token (ms)", plot::Scale::Log10);
    plot::SetupAxisFormat(plot::Axis::X, format_tokens_exact);
    // A third of a decade of room above and below, so no marker touches the frame.
    double lo = 0, hi = 0;
    for (const auto& run : r.runs)
      for (const auto* series : {&run.ms, &run.floor_ms})
        for (double v : *series)
          if (v > 0 && std::isfinite(v)) {
            lo = lo > 0 ? std::min(lo, v) : v;
            hi = std::max(hi, v);
          }
    if (lo > 0 && hi > 0) plot::SetupAxisLimits(plot::Axis::Y, lo / 2.0, hi * 2.0);
    for (size_t i = 0; i < r.runs.size(); ++i) {
      const auto& run = r.runs[i];
      plot::ItemStyle measured;
      measured.color = layout_color(static_cast<int>(i));
      measured.marker = plot::Marker::Circle;
      plot::PlotLine(run.name.c_str(), run.context, run.ms, measured);
      plot::ItemStyle floor = measured;
      floor.marker = plot::Marker::None;
      floor.dashed = true;
      if (r.bandwidth_gbs > 0) plot::PlotLine((run.name + " floor").c_str(), run.context, run.floor_ms, floor);
    }
    plot::EndPlot();
    const plot::PlotGeometry& g = plot::LastPlotGeometry();
    s.time_plot_min = screen(g.min);
    s.time_plot_max = screen(g.max);
    s.time_points = g.points_drawn;
    mark_tokens(marker);
  }
  ImGui::SameLine();
  if (plot::BeginPlot("Achieved bandwidth: K/V bytes read / time##kv_bw", ImVec2(w, plot_h), plot::PlotFlags_NoLegend)) {
    plot::SetupAxis(plot::Axis::X, "context (tokens in the cache)");
    plot::SetupAxis(plot::Axis::Y, "bandwidth (GB/s)");
    plot::SetupAxisFormat(plot::Axis::X, format_tokens_exact);
    // From 0, with room above the copy bandwidth for its label.
    double top = r.bandwidth_gbs;
    for (const auto& run : r.runs)
      for (double g : run.gbs) top = std::max(top, g);
    if (top > 0) plot::SetupAxisLimits(plot::Axis::Y, 0, top * 1.3);
    for (size_t i = 0; i < r.runs.size(); ++i) {
      plot::ItemStyle st;
      st.color = layout_color(static_cast<int>(i));
      st.marker = plot::Marker::Circle;
      plot::PlotLine(r.runs[i].name.c_str(), r.runs[i].context, r.runs[i].gbs, st);
    }
    if (r.bandwidth_gbs > 0 && !r.runs.empty() && !r.runs.front().context.empty()) {
      const double xs[2] = {r.runs.front().context.front(), r.runs.front().context.back()};
      const double ys[2] = {r.bandwidth_gbs, r.bandwidth_gbs};
      plot::ItemStyle st;
      st.color = kCeilingColor;
      st.dashed = true;
      plot::PlotLine("copy bandwidth", xs, ys, 2, st);
      char text[64];
      std::snprintf(text, sizeof text, "copy bandwidth %s GB/s (the floor's)", format_rate(r.bandwidth_gbs).c_str());
      plot::PlotText(text, xs[0], ys[0], ImVec2(em * 0.3f, -em * 1.15f), kCeilingColor);
    }
    plot::EndPlot();
    const plot::PlotGeometry& g = plot::LastPlotGeometry();
    s.bw_plot_min = screen(g.min);
    s.bw_plot_max = screen(g.max);
    s.bw_points = g.points_drawn;
    mark_tokens(marker);
  }
  // The footer: where it ran, and the compute the loop achieved (every layout does the same 4·B·H·L·d FLOPs, so a
  // backend whose times do not fall with the KV heads is bound by compute, not by the bytes).
  std::string footer = ctx.state.backend_name + " backend, cache stored as " +
                       (r.runs.empty() ? std::string("?") : r.runs.front().loop.storage);
  std::string compute;
  for (const auto& run : r.runs) {
    if (!run.loop.ok || run.loop.samples.empty()) continue;
    const DecodeStepSample& last = run.loop.samples.back();
    const double flops =
        decode_cost(s.batch, s.heads, run.kv_heads, s.head_dim, DType::F16, last.context).flops;
    char b[64];
    std::snprintf(b, sizeof b, "%s%s %s", compute.empty() ? "" : ", ", run.name.c_str(),
                  format_rate(last.decode_ms > 0 ? flops / (last.decode_ms * 1e-3) / 1e9 : 0.0).c_str());
    compute += b;
  }
  const bool stale = r.key != task_key(s);
  const char* stale_text = "measured for the previous shape ·";
  if (!compute.empty() && !r.runs.front().loop.samples.empty()) {
    footer += " · compute at " + format_tokens_exact(static_cast<double>(r.runs.front().loop.samples.back().context)) +
              " tokens: " + compute + " GFLOP/s";
    const float room = size.x - (stale ? ImGui::CalcTextSize(stale_text).x + ImGui::GetStyle().ItemSpacing.x : 0.0f);
    const char* why = " (the same FLOPs for every layout)";
    if (ImGui::CalcTextSize((footer + why).c_str()).x <= room) footer += why;
  }
  if (stale) {
    // The shape changed since this was measured: a new loop is running, or the shape is not valid.
    ImGui::TextColored(ImVec4(1, 0.65f, 0.3f, 1), "%s", stale_text);
    ImGui::SameLine();
  }
  ImGui::TextDisabled("%s", footer.c_str());
  tooltip(r.bandwidth_gbs > 0 ? r.bandwidth_source.c_str() : "copy bandwidth not measured: no floor drawn");
}

}  // namespace

void draw_kvcache_mode(ViewContext& ctx) {
  KvViewState& s = ctx.ui.kv_view;
  init_state(s, ctx);
  take_result(ctx, s);
  if (s.heads % s.kv_heads == 0) submit(ctx, s);
  handle_keys(s);
  advance_clock(s);
  const float em = ctx.ui.font_px;
  draw_controls(ctx, s);
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
  const float top_h = std::max(em * 12.0f, ImGui::GetItemRectMax().y - origin.y);
  ImGui::SetCursorScreenPos(ImVec2(origin.x + table_w + gap, origin.y));
  draw_fill(ctx, s, ImVec2(avail.x - table_w - gap, top_h));
  ImGui::SetCursorScreenPos(ImVec2(origin.x, origin.y + top_h + em * 0.5f));
  draw_plots(ctx, s, ImVec2(avail.x, origin.y + avail.y - ImGui::GetCursorScreenPos().y));
  ImGui::EndChild();
}

}  // namespace attnscope::gui
