// panel_block_grid.cpp — the paintable block grid of the pattern being edited: click or drag to paint blocks
// (the first cell decides: paint on an empty cell, erase on a painted one), clear / fill / invert, block size.
// Under the grid, the pattern's whole mask (allowed fraction per cell, from the worker) so the painted blocks
// are seen in their union. The grid is MaskSpec's BlockGrid (`grid:B:ROWS`): for pattern A it is the
// experiment's mask, so Explore draws it too.
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "app/gui/widgets/widgets.hpp"
#include "app/gui/views/sparsity/panels.hpp"
#include "app/gui/widgets/layout.hpp"

namespace attnscope::gui {
namespace {

constexpr const char* kGridTexture = "sparsity-grid";
const char* const kMaskTextures[2] = {"sparsity-mask-A", "sparsity-mask-B"};

void sync_grid_term(PatternRef p) {
  for (auto& t : p.terms)
    if (t.kind == MaskTermKind::BlockGrid) t.a = p.grid.block;
}

}  // namespace

// The mask picture of pattern `which` as RGBA: each cell shaded by the share of its pairs allowed
// (mask_share_color: grey where nothing is, the colour map's top where all are).
void upload_pattern_picture(ViewContext& ctx, int which) {
  SparsityViewState& s = ctx.ui.sparsity_view;
  if (!s.numbers[which] || s.texture_key[which] == s.numbers[which]->key) return;
  const PatternNumbers& n = *s.numbers[which];
  const auto& map = ctx.heatmap.colormap();
  std::vector<Rgba8> texels(n.picture.size());
  for (size_t i = 0; i < texels.size(); ++i) texels[i] = mask_share_color(n.picture[i], map);
  ctx.heatmap.upload_overlay(kMaskTextures[which], texels, n.picture_cols, n.picture_rows);
  s.texture_key[which] = n.key;
}

void draw_block_grid_panel(ViewContext& ctx) {
  UiState& ui = ctx.ui;
  SparsityViewState& s = ui.sparsity_view;
  const int which = static_cast<int>(s.editing);
  PatternRef p = which == 0 ? PatternRef{ui.terms, ui.draft.causal, ui.grid} : s.b.ref();
  const int64_t n = std::max<int64_t>(1, ui.draft.n);
  const float em = ui.font_px;
  const double now = ImGui::GetTime();
  bool changed = false;

  // The grid follows N (cells beyond the grid would be masked): resize when N changed.
  if (has_grid_term(p)) {
    const int64_t rows_before = p.grid.rows, block_before = p.grid.block;
    resize_grid(p.grid, n);
    if (p.grid.rows != rows_before || p.grid.block != block_before) changed = true;
  }

  if (ctx.heading_font) ImGui::PushFont(ctx.heading_font);
  ImGui::Text("Paint blocks: pattern %c", which == 0 ? 'A' : 'B');
  if (ctx.heading_font) ImGui::PopFont();

  // Toolbar: clear / fill / invert, block size (halve / double).
  const bool has_grid = has_grid_term(p);
  int64_t block = has_grid ? p.grid.block : std::max<int64_t>(64, min_grid_block(n));
  // The toolbar flows: a control wraps to the next line when it does not fit.
  bool first_control = true;
  auto flow = [&](float width) {
    if (!first_control) flow_same_line(width);
    first_control = false;
  };
  char block_text[48];
  std::snprintf(block_text, sizeof block_text, "block %lld", static_cast<long long>(block));
  auto grid_action = [&](const char* label, const char* tip, auto&& fn) {
    flow(button_width(label));
    if (ImGui::Button(label)) {
      if (ensure_grid_term(p, n, block)) changed = true;
      fn();
      changed = true;
    }
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", tip);
  };
  grid_action("clear", "turn every painted block off", [&] { fill_grid(p.grid, false); });
  grid_action("fill", "turn every block on (dense)", [&] { fill_grid(p.grid, true); });
  grid_action("invert", "painted blocks off, the others on", [&] { invert_grid(p.grid); });
  flow(ImGui::CalcTextSize(block_text).x);
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted(block_text);
  flow(button_width("÷2"));
  if (ImGui::Button("÷2") && block / 2 >= min_grid_block(n)) {
    ensure_grid_term(p, n, block);
    set_grid_block(p.grid, block / 2, n);
    changed = true;
  }
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("halve the block size (at most %lld blocks per side)",
                                                static_cast<long long>(kMaxGridSide));
  flow(button_width("×2"));
  if (ImGui::Button("×2") && block * 2 <= n) {
    ensure_grid_term(p, n, block);
    set_grid_block(p.grid, block * 2, n);
    changed = true;
  }
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("double the block size (the painting is resampled)");

  // Canvas: square, with key ticks above and query ticks on the left.
  const float line = ImGui::GetTextLineHeight();
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float left = line * 1.3f + ImGui::CalcTextSize("00000").x, top = line * 1.3f;
  // Under the canvas: two wrapped lines of text (their height at this width is kept free).
  char painted[160];
  if (has_grid_term(p))
    std::snprintf(painted, sizeof painted, "painted %lld of %lld blocks (%lld × %lld, %lld tokens each)",
                  static_cast<long long>(grid_cells_on(p.grid)), static_cast<long long>(p.grid.rows * p.grid.cols),
                  static_cast<long long>(p.grid.rows), static_cast<long long>(p.grid.cols),
                  static_cast<long long>(p.grid.block));
  else
    std::snprintf(painted, sizeof painted, "no painted grid yet: click the picture to start one");
  // What a cell of the background is (the worker's picture: picture_rows x picture_cols cells over N x N).
  const PatternNumbers* shown = s.numbers[which] ? &*s.numbers[which] : nullptr;
  const std::string legend_text =
      "pink: painted · background: the whole pattern, " +
      (shown ? mask_picture_caption(n, n, shown->picture_rows, shown->picture_cols) : std::string("shade = share allowed"));
  const char* legend = legend_text.c_str();
  const float below_h = line * 0.4f + ImGui::CalcTextSize(painted, nullptr, false, avail.x).y +
                        ImGui::CalcTextSize(legend, nullptr, false, avail.x).y + 2 * ImGui::GetStyle().ItemSpacing.y;
  const float side = std::floor(std::max(32.0f, std::min(avail.x - left - em * 0.5f, avail.y - top - below_h)));
  const ImVec2 c0(origin.x + left, origin.y + top), c1(c0.x + side, c0.y + side);
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImU32 text_col = ImGui::GetColorU32(ImGuiCol_Text), dim_col = ImGui::GetColorU32(ImGuiCol_TextDisabled);

  ImGui::SetCursorScreenPos(c0);
  ImGui::InvisibleButton("paint_canvas", ImVec2(side, side));
  if (ImGui::IsItemActive() && ImGui::IsMouseDown(ImGuiMouseButton_Left)) {
    if (ensure_grid_term(p, n, block)) changed = true;
    const ImVec2 m = ImGui::GetMousePos();
    const double tokens_per_px = static_cast<double>(n) / side;
    const auto row = static_cast<int64_t>(std::floor((m.y - c0.y) * tokens_per_px / static_cast<double>(p.grid.block)));
    const auto col = static_cast<int64_t>(std::floor((m.x - c0.x) * tokens_per_px / static_cast<double>(p.grid.block)));
    if (s.paint_value < 0 && row >= 0 && col >= 0 && row < p.grid.rows && col < p.grid.cols) {
      // The first cell decides: paint on an empty cell, erase on a painted one.
      s.paint_value = p.grid.cells[static_cast<size_t>(row * p.grid.cols + col)] ? 0 : 1;
      s.paint_row = row;
      s.paint_col = col;
    }
    if (s.paint_value >= 0) {
      // Every cell between last frame's pointer and this one's: a fast drag leaves no gaps.
      changed |= paint_line(p.grid, s.paint_row, s.paint_col, row, col, s.paint_value == 1);
      s.paint_row = row;
      s.paint_col = col;
    }
  } else {
    s.paint_value = -1;
  }
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("click or drag: paint blocks (starting on a painted block erases)");

  // Background: the pattern's whole mask; then the painted cells as a bright tint with their outlines.
  upload_pattern_picture(ctx, which);
  dl->AddRectFilled(c0, c1, IM_COL32(20, 20, 24, 255));
  if (const uint32_t tex = ctx.heatmap.overlay_texture(kMaskTextures[which]); tex && s.numbers[which])
    dl->AddImage(to_texture_id(tex), c0, c1);
  if (has_grid_term(p) && !p.grid.empty()) {
    const std::string key = std::to_string(which) + pattern_text(p);
    if (s.grid_texture_key != key) {
      std::vector<Rgba8> texels(p.grid.cells.size());
      for (size_t i = 0; i < texels.size(); ++i) texels[i] = p.grid.cells[i] ? Rgba8{255, 120, 200, 110} : Rgba8{0, 0, 0, 0};
      ctx.heatmap.upload_overlay(kGridTexture, texels, static_cast<int>(p.grid.cols), static_cast<int>(p.grid.rows));
      s.grid_texture_key = key;
    }
    // The grid covers cols·block tokens, which may extend past N: map it with the same tokens-per-pixel.
    const float covered = static_cast<float>(p.grid.cols * p.grid.block) / static_cast<float>(n) * side;
    dl->PushClipRect(c0, c1, true);
    dl->AddImage(to_texture_id(ctx.heatmap.overlay_texture(kGridTexture)), c0, ImVec2(c0.x + covered, c0.y + covered));
    const float cell = covered / static_cast<float>(p.grid.cols);
    if (cell >= 5.0f)
      for (int64_t i = 1; i < p.grid.cols; ++i) {
        const float x = c0.x + cell * static_cast<float>(i), y = c0.y + cell * static_cast<float>(i);
        dl->AddLine(ImVec2(x, c0.y), ImVec2(x, c1.y), IM_COL32(255, 255, 255, 40));
        dl->AddLine(ImVec2(c0.x, y), ImVec2(c1.x, y), IM_COL32(255, 255, 255, 40));
      }
    dl->PopClipRect();
  }
  dl->AddRect(ImVec2(c0.x - 1, c0.y - 1), ImVec2(c1.x + 1, c1.y + 1), dim_col);
  // Ticks at 0, N/2, N and the axis names.
  char buf[64];
  for (int64_t v : {int64_t{0}, n / 2, n}) {
    const float f = static_cast<float>(v) / static_cast<float>(n) * side;
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
    const ImVec2 sz = ImGui::CalcTextSize(buf);
    dl->AddText(ImVec2(std::clamp(c0.x + f - sz.x * 0.5f, c0.x - sz.x * 0.5f, c1.x - sz.x), origin.y), text_col, buf);
    dl->AddText(ImVec2(c0.x - sz.x - em * 0.3f, std::clamp(c0.y + f - sz.y * 0.5f, c0.y, c1.y - sz.y)), text_col, buf);
  }
  const char* k_label = "key k →";
  dl->AddText(ImVec2(c0.x + side * 0.25f - ImGui::CalcTextSize(k_label).x * 0.5f, origin.y), dim_col, k_label);
  draw_text_vertical(dl, ImVec2(origin.x, c0.y + side * 0.75f), dim_col, "← query q");

  // Under the canvas: what is painted, the legend.
  ImGui::SetCursorScreenPos(ImVec2(origin.x, c1.y + line * 0.4f));
  ImGui::PushTextWrapPos(0.0f);
  if (has_grid_term(p)) ImGui::TextUnformatted(painted);
  else ImGui::TextDisabled("%s", painted);
  ImGui::TextDisabled("%s", legend);
  ImGui::PopTextWrapPos();

  if (changed) {
    sync_grid_term(p);
    s.changed_at = now;
    if (which == 0) commit_pattern_a(ctx);
  }
}

}  // namespace attnscope::gui
