// panel_heatmap.cpp — the score-matrix heatmap: title, axes with position ticks, the colour-mapped image,
// a colour bar with value labels, the legend (masked cells, pooling) and the hover read-out (q, k, value).
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "app/gui/panels.hpp"

namespace attnscope::gui {
namespace {

// Nice tick positions over [0, n]: steps of 1, 2 or 5 × 10^k, at most max_ticks.
std::vector<int64_t> position_ticks(int64_t n, int max_ticks) {
  std::vector<int64_t> ticks;
  if (n <= 0) return ticks;
  const double raw = static_cast<double>(n) / std::max(1, max_ticks - 1);
  const double mag = std::pow(10.0, std::floor(std::log10(std::max(raw, 1.0))));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * mag >= raw) { step = m * mag; break; }
  const int64_t s = std::max<int64_t>(1, static_cast<int64_t>(std::llround(step)));
  for (int64_t v = 0; v <= n; v += s) ticks.push_back(v);
  return ticks;
}

ImU32 rgba(const Rgba8& c) { return IM_COL32(c[0], c[1], c[2], c[3]); }

std::string spec_line(const ComputeResult& r) {
  const AttentionSpec& s = r.spec;
  char buf[256];
  std::snprintf(buf, sizeof buf, "N = %lld · d = %lld · mask %s · head 0 of %lld · %s inputs, seed %llu",
                static_cast<long long>(s.kv_len), static_cast<long long>(s.head_dim), s.mask.to_string().c_str(),
                static_cast<long long>(s.q_heads), generator_name(r.config.generator),
                static_cast<unsigned long long>(r.config.seed));
  return buf;
}

// View options (they change only how the picture is drawn, or which matrix): one row above the plot.
void draw_display_options(UiState& ui) {
  app::ExperimentConfig& d = ui.draft;
  bool changed = false;
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted("show");
  ImGui::SameLine();
  int show = d.show == ScoreKind::Scores ? 0 : 1;
  changed |= ImGui::RadioButton("S scores", &show, 0);
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("scores S = QKᵀ/√d, before softmax");
  ImGui::SameLine();
  changed |= ImGui::RadioButton("P probabilities", &show, 1);
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("P = softmax(S) row by row: each row sums to 1");
  ImGui::SameLine(0, ImGui::GetFontSize() * 2);
  ImGui::TextUnformatted("colour scale");
  ImGui::SameLine();
  int scale = d.scale == app::ColorScale::Linear ? 0 : 1;
  changed |= ImGui::RadioButton("linear", &scale, 0);
  ImGui::SameLine();
  changed |= ImGui::RadioButton("log", &scale, 1);
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("P: log10 in decades; S: symmetric log, linear within ±1");
  if (changed) {
    d.show = show == 0 ? ScoreKind::Scores : ScoreKind::Probabilities;
    d.scale = scale == 0 ? app::ColorScale::Linear : app::ColorScale::Log;
    ui.draft_changed = true;
  }
}

}  // namespace

void draw_heatmap_panel(ViewContext& ctx) {
  const AppState& state = ctx.state;
  UiState& ui = ctx.ui;
  const float em = ui.font_px;
  const ImU32 text_col = ImGui::GetColorU32(ImGuiCol_Text);
  const ImU32 dim_col = ImGui::GetColorU32(ImGuiCol_TextDisabled);

  if (!state.shown || !ctx.heatmap.has_image()) {
    ImGui::TextDisabled(state.computing ? "computing the first picture…" : "no picture yet");
    return;
  }
  const ComputeResult& r = *state.shown;
  const ScoreImage& img = r.image;
  const bool is_p = r.config.show == ScoreKind::Probabilities;
  const int64_t n_q = r.spec.q_len, n_k = r.spec.kv_len;

  if (ctx.heading_font) ImGui::PushFont(ctx.heading_font);
  ImGui::TextUnformatted(is_p ? "Probabilities  P = softmax(S)  (row by row)" : "Scores  S = QKᵀ / √d");
  if (ctx.heading_font) ImGui::PopFont();
  ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
  ImGui::TextWrapped("%s", spec_line(r).c_str());  // long masks wrap instead of running off the panel
  ImGui::PopStyleColor();
  draw_display_options(ui);

  // Layout: [y label | y ticks | image | gap | colour bar | bar labels], x label and ticks above the image,
  // the legend below. The image is square (the matrix is N × N) and as large as the panel allows.
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float line = ImGui::GetTextLineHeight();
  const float tick_len = em * 0.35f;
  const float left = line * 1.4f + ImGui::CalcTextSize("000000").x + tick_len;
  const float top = line * 2.3f + tick_len;
  const float bar_w = em * 1.1f;
  const float right = em * 1.2f + bar_w + tick_len + ImGui::CalcTextSize("-0.000").x + em * 0.6f;
  const float bottom = line * 2.6f;
  const float side = std::max(16.0f, std::min(avail.x - left - right, avail.y - top - bottom));
  const ImVec2 p0(origin.x + left, origin.y + top);
  const ImVec2 p1(p0.x + side, p0.y + side);

  dl->AddImage(to_texture_id(ctx.heatmap.image_texture()), p0, p1, ImVec2(0, 0), ImVec2(1, 1));
  dl->AddRect(ImVec2(p0.x - 1, p0.y - 1), ImVec2(p1.x + 1, p1.y + 1), dim_col);
  const ImVec2 fb_scale = ImGui::GetIO().DisplayFramebufferScale;
  ui.heatmap_rect = {p0.x * fb_scale.x, p0.y * fb_scale.y, side * fb_scale.x, side * fb_scale.y};

  // Axes: keys across the top (as the matrix is written), queries down the left.
  char buf[64];
  for (int64_t t : position_ticks(n_k, 6)) {
    const float x = p0.x + side * static_cast<float>(t) / static_cast<float>(n_k);
    dl->AddLine(ImVec2(x, p0.y - tick_len), ImVec2(x, p0.y), text_col);
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(t));
    const float w = ImGui::CalcTextSize(buf).x;
    const float tx = std::clamp(x - w * 0.5f, p0.x - w * 0.5f, p1.x - w * 0.5f);
    dl->AddText(ImVec2(tx, p0.y - tick_len - line), text_col, buf);
  }
  const char* x_label = "key position k (token index) →";
  dl->AddText(ImVec2(p0.x + (side - ImGui::CalcTextSize(x_label).x) * 0.5f, origin.y + line * 0.1f), text_col,
              x_label);
  for (int64_t t : position_ticks(n_q, 6)) {
    const float y = p0.y + side * static_cast<float>(t) / static_cast<float>(n_q);
    dl->AddLine(ImVec2(p0.x - tick_len, y), ImVec2(p0.x, y), text_col);
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(t));
    const ImVec2 sz = ImGui::CalcTextSize(buf);
    const float ty = std::clamp(y - sz.y * 0.5f, p0.y - sz.y * 0.5f, p1.y - sz.y * 0.5f);
    dl->AddText(ImVec2(p0.x - tick_len - em * 0.2f - sz.x, ty), text_col, buf);
  }
  const char* y_label = "← query position q (token index)";
  draw_text_vertical(dl, ImVec2(origin.x, p0.y + (side + ImGui::CalcTextSize(y_label).x) * 0.5f), text_col, y_label);

  // Colour bar: t = 0 at the bottom, 1 at the top, the scale's ticks beside it.
  const ImVec2 b0(p1.x + em * 1.2f, p0.y + line * 1.6f), b1(b0.x + bar_w, p1.y);
  const ImTextureID cmap = to_texture_id(ctx.heatmap.colormap_texture());
  dl->AddImageQuad(cmap, b0, ImVec2(b1.x, b0.y), b1, ImVec2(b0.x, b1.y), ImVec2(1, 0.5f), ImVec2(1, 0.5f),
                   ImVec2(0, 0.5f), ImVec2(0, 0.5f));
  dl->AddRect(b0, b1, dim_col);
  ui.colorbar_rect = {b0.x * fb_scale.x, b0.y * fb_scale.y, (b1.x - b0.x) * fb_scale.x, (b1.y - b0.y) * fb_scale.y};
  const char* unit = is_p ? "P" : "S";
  dl->AddText(ImVec2(b0.x, p0.y), text_col, unit);
  dl->AddText(ImVec2(b0.x + ImGui::CalcTextSize(unit).x + em * 0.3f, p0.y), dim_col,
              state.scale.mode == ScaleMode::Linear ? "(linear)" : (state.scale.mode == ScaleMode::Log10 ? "(log10)" : "(symlog)"));
  float last_label_y = 1e9f;
  auto ticks = state.scale.ticks(7);
  for (auto it = ticks.begin(); it != ticks.end(); ++it) {
    const float y = b1.y - (b1.y - b0.y) * static_cast<float>(it->t);
    dl->AddLine(ImVec2(b1.x, y), ImVec2(b1.x + tick_len, y), text_col);
    const float ty = y - line * 0.5f;
    if (last_label_y - ty < line * 0.95f) continue;  // never overlap labels
    dl->AddText(ImVec2(b1.x + tick_len + em * 0.2f, ty), text_col, it->label.c_str());
    last_label_y = ty;
  }

  // Legend and pooling note below the image.
  const float ly = p1.y + line * 0.5f;
  const float sw = line * 0.8f;
  dl->AddRectFilled(ImVec2(p0.x, ly + (line - sw) * 0.5f), ImVec2(p0.x + sw, ly + (line + sw) * 0.5f),
                    rgba(HeatmapGl::kMaskedColor));
  dl->AddRect(ImVec2(p0.x, ly + (line - sw) * 0.5f), ImVec2(p0.x + sw, ly + (line + sw) * 0.5f), dim_col);
  const char* masked_text = "masked (q, k): not computed";
  dl->AddText(ImVec2(p0.x + sw + em * 0.4f, ly), text_col, masked_text);
  const double cell_q = static_cast<double>(n_q) / img.rows, cell_k = static_cast<double>(n_k) / img.cols;
  char pool[160];
  if (cell_q <= 1.0 && cell_k <= 1.0)
    std::snprintf(pool, sizeof pool, "one cell per (q, k) pair, %d × %d", img.rows, img.cols);
  else
    std::snprintf(pool, sizeof pool, "%d × %d cells, each ≈ %.3g × %.3g pairs, showing %s", img.rows, img.cols, cell_q,
                  cell_k, is_p ? "their mean P" : "their largest |S|");
  dl->AddText(ImVec2(p0.x, ly + line * 1.1f), dim_col, pool);

  // Reserve the drawn area so the window knows its extent; the invisible button takes the hover.
  ImGui::SetCursorScreenPos(p0);
  ImGui::InvisibleButton("heatmap_area", ImVec2(side, side));
  if (ImGui::IsItemHovered()) {
    const ImVec2 m = ImGui::GetMousePos();
    const int c = std::clamp(static_cast<int>((m.x - p0.x) / side * img.cols), 0, img.cols - 1);
    const int row = std::clamp(static_cast<int>((m.y - p0.y) / side * img.rows), 0, img.rows - 1);
    const int64_t q_begin = img.q0 + (img.q1 - img.q0) * row / img.rows;
    const int64_t q_end = img.q0 + (img.q1 - img.q0) * (row + 1) / img.rows - 1;
    const int64_t k_begin = img.k0 + (img.k1 - img.k0) * c / img.cols;
    const int64_t k_end = img.k0 + (img.k1 - img.k0) * (c + 1) / img.cols - 1;
    const float v = img.values[static_cast<size_t>(row) * img.cols + c];
    const float cx0 = p0.x + side * c / img.cols, cy0 = p0.y + side * row / img.rows;
    dl->AddRect(ImVec2(cx0 - 1, cy0 - 1),
                ImVec2(p0.x + side * (c + 1) / img.cols + 1, p0.y + side * (row + 1) / img.rows + 1),
                IM_COL32(255, 255, 255, 220), 0, 0, 2.0f);
    ImGui::BeginTooltip();
    if (q_begin == q_end) ImGui::Text("q = %lld", static_cast<long long>(q_begin));
    else ImGui::Text("q = %lld … %lld", static_cast<long long>(q_begin), static_cast<long long>(q_end));
    if (k_begin == k_end) ImGui::Text("k = %lld", static_cast<long long>(k_begin));
    else ImGui::Text("k = %lld … %lld", static_cast<long long>(k_begin), static_cast<long long>(k_end));
    if (std::isnan(v)) ImGui::TextUnformatted("masked: never computed");
    else ImGui::Text("%s = %.4g", is_p ? (q_begin == q_end && k_begin == k_end ? "P" : "mean P")
                                       : (q_begin == q_end && k_begin == k_end ? "S" : "largest |S|: S"),
                     static_cast<double>(v));
    ImGui::EndTooltip();
  }
  ImGui::SetCursorScreenPos(ImVec2(origin.x, p1.y + bottom));
}

}  // namespace attnscope::gui
