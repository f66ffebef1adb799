// panel_fill.cpp — the cache filling: every layer's K and V as tokens are generated, and the last pages; written
// cells in the colour of the cache's element type (fp8 / int8 codes; the open scale group staged at fp16).
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
namespace {

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

}  // namespace

// ---------------------------------------------------------------- cache fill
// One block of the picture: rows = layers, x = token positions 0 … L; filled to `tokens` (the first
// `quantised_tokens` of them in `quant_fill`: closed scale groups), allocated to whole pages.
void draw_cache_block(ImDrawList* dl, ImVec2 p0, ImVec2 p1, int layers, int64_t tokens, int64_t allocated_tokens,
                      int64_t L, int64_t P, ImU32 fill, int64_t quantised_tokens, ImU32 quant_fill) {
  const float w = p1.x - p0.x, row_h = (p1.y - p0.y) / static_cast<float>(layers);
  const float x_written = p0.x + w * static_cast<float>(tokens) / static_cast<float>(L);
  const float x_alloc = p0.x + w * static_cast<float>(std::min(allocated_tokens, L)) / static_cast<float>(L);
  dl->AddRectFilled(p0, p1, empty_color());
  dl->AddRectFilled(p0, ImVec2(x_alloc, p1.y), allocated_color());
  dl->AddRectFilled(p0, ImVec2(x_written, p1.y), fill);
  if (quantised_tokens > 0)
    dl->AddRectFilled(p0, ImVec2(p0.x + w * static_cast<float>(quantised_tokens) / static_cast<float>(L), p1.y),
                      quant_fill);
  // Page boundaries where a page is at least 4 px wide; layer boundaries where a row is at least 4 px high.
  const float page_w = w * static_cast<float>(P) / static_cast<float>(L);
  if (page_w >= 4)
    for (int64_t t = P; t < L; t += P) {
      const float x = p0.x + w * static_cast<float>(t) / static_cast<float>(L);
      dl->AddLine(ImVec2(x, p0.y), ImVec2(x, p1.y), palette().cell_divider);
    }
  if (row_h >= 4)
    for (int l = 1; l < layers; ++l)
      dl->AddLine(ImVec2(p0.x, p0.y + row_h * l), ImVec2(p1.x, p0.y + row_h * l), with_alpha(palette().cell_divider, 255));
  dl->AddRect(p0, p1, palette().plot_border);
}

void draw_fill(ViewContext& ctx, KvViewState& s, ImVec2 size) {
  const float em = ctx.ui.font_px;
  const int64_t P = kKvPageSizes[s.page_index], L = s.context, H = s.heads;
  const int64_t kvs[3] = {H, gqa_heads(H, s.kv_heads), 1};
  const int layout = static_cast<int>(s.drawn_layout);
  const int64_t tokens = tokens_now(s);
  update_pages(s, tokens);
  const int64_t pages = s.pages.pages_in_use(), total_pages = pages_for(L, P);
  // The element type drawn: fp16 as the toolbar's dtype sizes it; fp8 / int8 with their scales and staging block.
  const KvDtype element = s.fill_dtype;
  const bool quantised = kv_dtype_is_quantised(element);
  const int64_t G = kKvGroups[std::clamp(s.kv_group_index, 0, 3)];
  const KvFootprint f = quantised ? kv_footprint(1, kvs[layout], s.head_dim, element, G, L, P, 0)
                                  : kv_footprint(1, kvs[layout], s.head_dim, s.dtype, L, P, 0);
  const int64_t quantised_tokens = quantised ? tokens / G * G : 0;  // the closed groups; the rest is staged at fp16
  s.fill_tokens = tokens;
  s.fill_pages = pages;
  s.fill_quantised_tokens = quantised_tokens;
  const ImVec2 start = ImGui::GetCursorScreenPos();
  ImGui::BeginGroup();

  heading(ctx, "Cache filling");
  tooltip("each generated token appends one K and one V row per KV head in every layer; memory is taken a page "
          "at a time");
  // Which layout the picture draws: the three in their colours.
  for (int i = 0; i < 3; ++i) {
    ImGui::SameLine(0, i ? -1.0f : em);
    ImGui::PushStyleColor(ImGuiCol_Text, layout_color_v4(i));
    if (ImGui::RadioButton(kKvLayoutNames[i], s.drawn_layout == static_cast<KvLayout>(i)))
      s.drawn_layout = static_cast<KvLayout>(i);
    ImGui::PopStyleColor();
    char tip[96];
    std::snprintf(tip, sizeof tip, "draw the %s cache: %lld KV heads", kKvLayoutNames[i], static_cast<long long>(kvs[i]));
    tooltip(tip);
  }
  // Which element type: fp16, or fp8 / int8 codes with the open group staged at fp16 (core/kv_quant.hpp).
  ImGui::SameLine(0, em);
  ImGui::SetNextItemWidth(em * 4.2f);
  int element_index = static_cast<int>(element);
  const char* elements[] = {"fp16", "fp8", "int8"};  // in KvDtype's order
  if (ImGui::Combo("##kv_fill_dtype", &element_index, elements, 3)) s.fill_dtype = static_cast<KvDtype>(element_index);
  tooltip("the element type the picture stores: fp8 and int8 pages hold 1-byte codes; the scale group being "
          "filled stays fp16 until its last token arrives");
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
  const ImU32 fill = layout_color(layout);  // fp16 rows: the layout's colour
  const ImU32 quant_fill = dtype_color(element, layout);
  for (int kv = 0; kv < 2; ++kv) {
    const ImVec2 p0(start.x + label_w + kv * (block_w + gap), top), p1(p0.x + block_w, top + block_h);
    draw_cache_block(dl, p0, p1, s.layers, tokens, pages * P, L, P, fill, quantised_tokens, quant_fill);
    char caption[64];
    std::snprintf(caption, sizeof caption, "%s: tokens 0 … %s", kv ? "V" : "K", format_tokens_exact(static_cast<double>(L)).c_str());
    dl->AddText(ImVec2(p0.x, top - em * 1.1f), text_color(), caption);
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
                muted_text(), label);
  }
  float y = top + block_h + em * 0.15f;
  char line[256];
  // bytes_per_token_layer counts K and V of one layer.
  // (quantised: the open group's staging block too, once the sequence has a token)
  const double staging = tokens > 0 ? f.staging_bytes_per_sequence * s.layers : 0;
  const std::string allocated =
      format_bytes(static_cast<double>(pages * P) * f.bytes_per_token_layer * s.layers + staging);
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
  dl->AddText(ImVec2(start.x, y), text_color(), line);
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
    dl->AddRectFilled(ImVec2(x0, y), ImVec2(x0 + page_px, y + strip_h), p < pages ? allocated_color() : empty_color());
    const int64_t written = std::clamp<int64_t>(tokens - p * P, 0, P);
    if (written > 0) dl->AddRectFilled(ImVec2(x0, y), ImVec2(x0 + cell * written, y + strip_h), fill);
    const int64_t coded = std::clamp<int64_t>(quantised_tokens - p * P, 0, P);
    if (coded > 0) dl->AddRectFilled(ImVec2(x0, y), ImVec2(x0 + cell * coded, y + strip_h), quant_fill);
    if (cell >= 3)
      for (int64_t t = 1; t < P; ++t)
        dl->AddLine(ImVec2(x0 + cell * t, y), ImVec2(x0 + cell * t, y + strip_h), palette().cell_divider);
    dl->AddRect(ImVec2(x0, y), ImVec2(x0 + page_px, y + strip_h), palette().outline, 0, 0, 2.0f);
    std::snprintf(line, sizeof line, "page %lld%s", static_cast<long long>(p), p < pages ? "" : " (not taken)");
    if (ImGui::CalcTextSize(line).x >= page_px - em * 0.3f)
      std::snprintf(line, sizeof line, "page %lld", static_cast<long long>(p));
    if (ImGui::CalcTextSize(line).x < page_px - em * 0.3f)
      dl->AddText(ImVec2(x0 + em * 0.2f, y + strip_h + em * 0.05f), muted_text(), line);
  }
  y += strip_h + em * 1.25f;
  // Legend of the cell colours.
  float x = start.x;
  auto swatch = [&](ImU32 c, const char* text) {
    dl->AddRectFilled(ImVec2(x, y + em * 0.2f), ImVec2(x + em * 0.8f, y + em * 0.9f), c);
    dl->AddRect(ImVec2(x, y + em * 0.2f), ImVec2(x + em * 0.8f, y + em * 0.9f), palette().plot_border);
    dl->AddText(ImVec2(x + em * 1.1f, y), text_color(), text);
    x += em * 1.1f + ImGui::CalcTextSize(text).x + em * 0.9f;
  };
  if (quantised) {
    char coded[48];
    std::snprintf(coded, sizeof coded, "%s codes", kv_dtype_name(element));
    swatch(quant_fill, coded);
    swatch(fill, "open group, fp16");
  } else {
    swatch(fill, "written");
  }
  swatch(allocated_color(), "allocated, empty");
  swatch(empty_color(), "not allocated");
  const char* strip_note = "(strip: layer 0's K, last pages)";
  if (x + ImGui::CalcTextSize(strip_note).x <= start.x + size.x) dl->AddText(ImVec2(x, y), muted_text(), strip_note);
  ImGui::PopClipRect();
  ImGui::EndGroup();
  ImGui::SetCursorScreenPos(start);
  ImGui::Dummy(size);
}

}  // namespace attnscope::gui::kv
