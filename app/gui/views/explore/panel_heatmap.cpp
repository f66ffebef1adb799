// panel_heatmap.cpp — the score-matrix heatmap: title, zoom bar, axes with position ticks, the colour-mapped
// image (the pooled picture of the whole matrix, and the visible window recomputed at full resolution on
// the worker), the tile-grid and block-mask overlays, a colour bar, the legend, what the shown algorithm
// does with this matrix, and the hover read-out (q, k, value, tile).
//
// Contents
//   ticks, labels          position_ticks over a visible range, spec_line, display options
//   worker tasks           request_window (score_image of the view), request_block_mask (build_block_mask)
//   take_task_results      window / block-mask answers -> textures
//   draw_heatmap_panel     layout, interaction (wheel zoom about the cursor, drag to pan), drawing, hover
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "app/gui/capture/export_ui.hpp"
#include "app/gui/capture/heatmap_figure.hpp"
#include "app/gui/views/explore/panels.hpp"
#include "app/gui/widgets/layout.hpp"

namespace attnscope::gui {
namespace {

constexpr const char* kBlockTexture = "explore-blocks";
constexpr double kRestSeconds = 0.2;     // the view must rest this long before its window is recomputed

// Nice tick positions over [lo, hi]: steps of 1, 2, 2.5 or 5 × 10^k, at most about max_ticks.
std::vector<int64_t> position_ticks(double lo, double hi, int max_ticks) {
  std::vector<int64_t> ticks;
  if (!(hi > lo)) return ticks;
  const double raw = (hi - lo) / std::max(1, max_ticks - 1);
  const double mag = std::pow(10.0, std::floor(std::log10(std::max(raw, 1.0))));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * mag >= raw) { step = m * mag; break; }
  const int64_t s = std::max<int64_t>(1, static_cast<int64_t>(std::llround(step)));
  for (int64_t v = static_cast<int64_t>(std::ceil(lo / s)) * s; static_cast<double>(v) <= hi; v += s) ticks.push_back(v);
  return ticks;
}

ImU32 rgba(const Rgba8& c) { return IM_COL32(c[0], c[1], c[2], c[3]); }

std::string spec_line(const ComputeResult& r) {
  const AttentionSpec& s = r.spec;
  char buf[256];
  std::snprintf(buf, sizeof buf, "N = %lld · d = %lld · mask %s · head 0 of %lld · %s inputs, seed %llu",
                static_cast<long long>(s.kv_len), static_cast<long long>(s.head_dim), s.mask.short_name().c_str(),
                static_cast<long long>(s.q_heads), generator_name(r.config.generator),
                static_cast<unsigned long long>(r.config.seed));
  return buf;
}

// View options (they change only how the picture is drawn, or which matrix): one row above the plot.
void draw_display_options(UiState& ui) {
  ExperimentConfig& d = ui.draft;
  bool changed = false;
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted("show");
  ImGui::SameLine();
  int show = d.show == ScoreKind::Scores ? 0 : 1;
  changed |= ImGui::RadioButton("S scores", &show, 0);
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("scores S = QKᵀ/√d, before softmax");
  flow_same_line(checkbox_width("P probabilities"));
  changed |= ImGui::RadioButton("P probabilities", &show, 1);
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("P = softmax(S) row by row: each row sums to 1");
  // "colour scale" with its two choices: one group, wrapped to the next line as a whole when it does not fit.
  const float spacing = ImGui::GetStyle().ItemSpacing.x;
  const float scale_w = ImGui::CalcTextSize("colour scale").x + checkbox_width("linear") + checkbox_width("log") + 2 * spacing;
  if (flow_same_line(scale_w + em(2))) ImGui::SameLine(0, em(2));
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted("colour scale");
  ImGui::SameLine();
  int scale = d.scale == ColorScale::Linear ? 0 : 1;
  changed |= ImGui::RadioButton("linear", &scale, 0);
  ImGui::SameLine();
  changed |= ImGui::RadioButton("log", &scale, 1);
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("P: log10 in decades; S: symmetric log, linear within ±1");
  if (changed) {
    d.show = show == 0 ? ScoreKind::Scores : ScoreKind::Probabilities;
    d.scale = scale == 0 ? ColorScale::Linear : ColorScale::Log;
    ui.request(UiCommand::ApplyDraft);
  }
}

void request_window(ViewContext& ctx, const ComputeResult& shown, const WindowRequest& request) {
  HeatmapViewState& v = ctx.ui.heatmap_view;
  v.window_asked = request;
  v.window_asked_generation = shown.generation;
  ctx.worker->submit_task(kWindowChannel, make_window_task(shown.spec, shown.config, shown.generation, request, v.inputs));
}

void request_block_mask(ViewContext& ctx, const ComputeResult& shown) {
  HeatmapViewState& v = ctx.ui.heatmap_view;
  v.block_mask_asked = true;
  ctx.worker->submit_task(kBlocksChannel, make_block_mask_task(shown.spec, shown.generation, v.br, v.bc));
}

void take_task_results(ViewContext& ctx) {
  HeatmapViewState& v = ctx.ui.heatmap_view;
  if (auto r = ctx.worker->take_task_result(kWindowChannel)) {
    if (v.window_asked && *v.window_asked == r->request) v.window_asked.reset();
    if (r->image.ok) {
      v.window = std::move(*r);
      v.window_uploaded = false;
    }
  }
  if (auto r = ctx.worker->take_task_result(kBlocksChannel)) {
    v.block_mask_asked = false;
    v.block_mask = r->mask;
    v.block_mask_generation = r->generation;
    v.block_mask_br = r->br;
    v.block_mask_bc = r->bc;
    v.block_texture_current = false;
  }
  // Upload what arrived; colour the window with a range covering the whole picture's and its own, so the
  // colour bar reads true for both.
  if (v.window && !v.window_uploaded && ctx.state.shown) {
    const ScoreImage& w = v.window->image;
    ctx.heatmap.upload_window(w.values, w.allowed, w.rows, w.cols);
    v.window_uploaded = true;
    v.window_scale_mode = -1;
  }
  if (v.window && v.window_uploaded && ctx.state.shown) {
    const ScoreImage& w = v.window->image;
    const ScoreImage& all = ctx.state.shown->image;
    const bool log = ctx.state.config.scale == ColorScale::Log;
    const int mode = log ? 1 : 0;
    if (v.window_scale_mode != mode) {
      v.window_scale = ValueScale::fit(log, std::min(w.min_value, all.min_value), std::max(w.max_value, all.max_value));
      ctx.heatmap.colorize_window(v.window_scale);
      v.window_scale_mode = mode;
    }
  }
  if (v.block_mask && !v.block_texture_current) {
    const BlockMask& m = *v.block_mask;
    std::vector<Rgba8> texels(m.kinds.size());
    for (size_t i = 0; i < texels.size(); ++i) texels[i] = block_overlay_color(m.kinds[i]);
    ctx.heatmap.upload_overlay(kBlockTexture, texels, static_cast<int>(m.tiles.tc), static_cast<int>(m.tiles.tr));
    v.block_texture_current = true;
  }
}

// Matrix -> screen for the current view.
struct ViewTransform {
  ImVec2 p0;
  float side = 0;
  ViewWindow view;
  float x(double k) const { return p0.x + static_cast<float>((k - view.k0) / view.span_k() * side); }
  float y(double q) const { return p0.y + static_cast<float>((q - view.q0) / view.span_q() * side); }
  double k_at(float sx) const { return view.k0 + (sx - p0.x) / side * view.span_k(); }
  double q_at(float sy) const { return view.q0 + (sy - p0.y) / side * view.span_q(); }
};

// Draws the part of a texture covering matrix region [q0, q1) x [k0, k1) that lies inside the view.
void draw_region(ImDrawList* dl, ImTextureID tex, const ViewTransform& t, double q0, double k0, double q1, double k1,
                 ImU32 tint = IM_COL32_WHITE) {
  const double a_q = std::max(q0, t.view.q0), b_q = std::min(q1, t.view.q1);
  const double a_k = std::max(k0, t.view.k0), b_k = std::min(k1, t.view.k1);
  if (!(b_q > a_q) || !(b_k > a_k)) return;
  const ImVec2 uv0(static_cast<float>((a_k - k0) / (k1 - k0)), static_cast<float>((a_q - q0) / (q1 - q0)));
  const ImVec2 uv1(static_cast<float>((b_k - k0) / (k1 - k0)), static_cast<float>((b_q - q0) / (q1 - q0)));
  dl->AddImage(tex, ImVec2(t.x(a_k), t.y(a_q)), ImVec2(t.x(b_k), t.y(b_q)), uv0, uv1, tint);
}

std::string token_range(int64_t a, int64_t b) {  // inclusive
  char buf[64];
  if (a == b) std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(a));
  else std::snprintf(buf, sizeof buf, "%lld … %lld", static_cast<long long>(a), static_cast<long long>(b));
  return buf;
}

// What the algorithm being discussed does with this matrix, in one sentence built from the numbers.
std::string algorithm_note(const HeatmapViewState& v, const ComputeResult& r, const std::string& backend) {
  const double n_q = static_cast<double>(r.spec.q_len), n_k = static_cast<double>(r.spec.kv_len);
  const std::string bytes = format_bytes(n_q * n_k * 4.0);
  char buf[400];
  if (v.algorithm == Algorithm::Naive) {
    std::snprintf(buf, sizeof buf,
                  "naive: materialises S and P in memory, %s each per head (fp32 %lld × %lld); this picture pools them",
                  bytes.c_str(), static_cast<long long>(r.spec.q_len), static_cast<long long>(r.spec.kv_len));
  } else {
    std::snprintf(buf, sizeof buf,
                  "%s never materialises this %lld × %lld matrix (%s in fp32): this picture was computed for display "
                  "only (score_image on the %s backend)",
                  algorithm_name(v.algorithm), static_cast<long long>(r.spec.q_len),
                  static_cast<long long>(r.spec.kv_len), bytes.c_str(), backend.c_str());
  }
  return buf;
}

void zoom_bar(ViewContext& ctx, int64_t n_q, int64_t n_k, bool window_shown, bool window_needed) {
  HeatmapViewState& v = ctx.ui.heatmap_view;
  const double now = ImGui::GetTime();
  const double cq = (v.view.q0 + v.view.q1) * 0.5, ck = (v.view.k0 + v.view.k1) * 0.5;
  if (ImGui::Button(" − ")) { v.view = zoom_about(v.view, 0.5, cq, ck, n_q, n_k); v.view_changed_at = now; }
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("zoom out ×2 (mouse wheel down over the picture)");
  ImGui::SameLine();
  if (ImGui::Button(" + ")) { v.view = zoom_about(v.view, 2.0, cq, ck, n_q, n_k); v.view_changed_at = now; }
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("zoom in ×2 (mouse wheel up over the picture; drag to pan)");
  ImGui::SameLine();
  if (ImGui::Button("reset")) { v.view = full_window(n_q, n_k); v.view_changed_at = now; }
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("show the whole %lld × %lld matrix", static_cast<long long>(n_q),
                                                static_cast<long long>(n_k));
  const WindowRequest w = window_request(v.view, n_q, n_k);
  const double zoom = static_cast<double>(n_k) / v.view.span_k();
  char buf[200];
  std::snprintf(buf, sizeof buf, "×%.3g  rows %s, keys %s", zoom, token_range(w.q0, w.q1 - 1).c_str(),
                token_range(w.k0, w.k1 - 1).c_str());
  flow_same_line(ImGui::CalcTextSize(buf).x);
  ImGui::AlignTextToFramePadding();
  text_fit(buf);  // on a line of its own it can still be wider than a narrow panel
  char note[120] = "";
  if (!window_needed) std::snprintf(note, sizeof note, "%s", zoom > 1.0001 ? "· every cell computed" : "");
  else if (window_shown) std::snprintf(note, sizeof note, "· window recomputed (%s)", format_time_ms(v.window->image.elapsed_ms).c_str());
  else std::snprintf(note, sizeof note, "· pooled preview; recomputing the window…");
  if (note[0] && !flow_same_line(ImGui::CalcTextSize(note).x)) ImGui::AlignTextToFramePadding();
  if (note[0]) {
    ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
    text_fit(note);
    ImGui::PopStyleColor();
  }
}

}  // namespace

// Right-click export of the computed picture (the whole matrix at the image's own resolution, not the zoomed
// window): "heatmap" in the figure registry, as PNG (one pixel per cell) or SVG (the picture in a frame with token
// axes and the colour bar). The builders read the AppState when the export runs, so nothing is copied per frame.
void publish_heatmap_export(const AppState& state, float em, ImVec2 min, ImVec2 max, bool open_menu) {
  auto describe = [st = &state, em] {
    capture::HeatmapExport h;
    const ComputeResult& r = *st->shown;
    const bool is_p = r.config.show == ScoreKind::Probabilities;
    h.values = &r.image.values;
    h.allowed = &r.image.allowed;
    h.rows = r.image.rows;
    h.cols = r.image.cols;
    h.q0 = r.image.q0;
    h.q1 = r.image.q1;
    h.k0 = r.image.k0;
    h.k1 = r.image.k1;
    h.scale = st->scale;
    h.masked_color = HeatmapGl::kMaskedColor;
    h.title = std::string(is_p ? "P = softmax(S)" : "S = QKᵀ/√d") + ",  N = " + std::to_string(r.spec.kv_len) +
              ",  mask " + r.spec.mask.short_name();
    h.value_label = std::string(is_p ? "P" : "S") +
                    (st->scale.mode == ScaleMode::Linear ? " (linear)" : st->scale.mode == ScaleMode::Log10 ? " (log10)" : " (symlog)");
    h.font_px = em;
    return h;
  };
  capture::ExportSource source;
  source.id = "heatmap";
  source.title = "the score matrix";
  source.figure = [describe] { return capture::heatmap_figure(describe()); };
  source.raster = [describe] { return capture::heatmap_raster(describe()); };
  source.x = min.x;
  source.y = min.y;
  source.w = max.x - min.x;
  source.h = max.y - min.y;
  source.frame = ImGui::GetFrameCount();
  capture::publish(std::move(source));
  capture::figure_context_menu("heatmap", open_menu);
}

void draw_heatmap_panel(ViewContext& ctx) {
  const AppState& state = ctx.state;
  UiState& ui = ctx.ui;
  HeatmapViewState& v = ui.heatmap_view;
  const float em = ui.font_px;
  const ImU32 text_col = ImGui::GetColorU32(ImGuiCol_Text);
  const ImU32 dim_col = ImGui::GetColorU32(ImGuiCol_TextDisabled);

  if (ctx.worker) take_task_results(ctx);
  if (!state.shown || !ctx.heatmap.has_image()) {
    ImGui::TextDisabled(state.computing ? "computing the first picture…" : "no picture yet");
    return;
  }
  const ComputeResult& r = *state.shown;
  const ScoreImage& img = r.image;
  const bool is_p = r.config.show == ScoreKind::Probabilities;
  const int64_t n_q = r.spec.q_len, n_k = r.spec.kv_len;

  // A new matrix size resets the view; a requested zoom (render --zoom, tests) applies now.
  if (v.view_n_q != n_q || v.view_n_k != n_k) {
    v.view = full_window(n_q, n_k);
    v.view_n_q = n_q;
    v.view_n_k = n_k;
  }
  if (v.pending_zoom) {
    const WindowRequest z = *v.pending_zoom;
    v.view = clamp_window({static_cast<double>(z.q0), static_cast<double>(z.k0), static_cast<double>(z.q1),
                           static_cast<double>(z.k1)},
                          n_q, n_k);
    v.pending_zoom.reset();
    v.view_changed_at = -1e9;  // no resting needed: ask at once
  }

  // Full-resolution window: needed when zoomed into a picture that pools several tokens per cell.
  const WindowRequest want = window_request(v.view, n_q, n_k);
  const bool pooled = img.rows < n_q || img.cols < n_k;
  const bool window_needed = pooled && !is_full_window(v.view, n_q, n_k);
  const bool window_current = v.window && v.window->generation == r.generation && v.window_uploaded;
  const bool window_shown = window_needed && window_current && v.window->request == want;
  const bool dragging = ImGui::IsMouseDragging(ImGuiMouseButton_Left);
  if (window_needed && ctx.worker && !window_shown && !dragging && ImGui::GetTime() - v.view_changed_at > kRestSeconds &&
      !(v.window_asked && *v.window_asked == want && v.window_asked_generation == r.generation))
    request_window(ctx, r, want);
  if (!window_needed && v.window_asked && ctx.worker) {
    ctx.worker->cancel_task(kWindowChannel);
    v.window_asked.reset();
  }
  // Block mask of the shown spec at the overlay's tile size.
  const bool blocks_current = v.block_mask && v.block_mask_generation == r.generation && v.block_mask_br == v.br &&
                              v.block_mask_bc == v.bc;
  if (v.show_blocks && !blocks_current && !v.block_mask_asked && ctx.worker) request_block_mask(ctx, r);

  if (ctx.heading_font) ImGui::PushFont(ctx.heading_font);
  ImGui::TextUnformatted(is_p ? "Probabilities  P = softmax(S)  (row by row)" : "Scores  S = QKᵀ / √d");
  if (ctx.heading_font) ImGui::PopFont();
  ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
  ImGui::TextWrapped("%s", spec_line(r).c_str());  // long masks wrap instead of running off the panel
  ImGui::PopStyleColor();
  draw_display_options(ui);
  zoom_bar(ctx, n_q, n_k, window_shown, window_needed);

  // Layout: [y label | y ticks | image | gap | colour bar | bar labels], x label and ticks above the image; the
  // legend, the resolution line and the algorithm's note either below the image or, when that gives a larger
  // image (a wide panel: the height limits the square), in a column beside the colour bar. The image is square
  // (square cells) and as large as the panel allows; with the text beside it the whole block is centred.
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float line = ImGui::GetTextLineHeight();
  const float tick_len = em * 0.35f;
  const float left = line * 1.4f + ImGui::CalcTextSize("000000").x + tick_len;
  const float top = line * 2.3f + tick_len;
  const float bar_w = em * 1.1f;
  const float right = em * 1.2f + bar_w + tick_len + ImGui::CalcTextSize("-0.000").x + em * 0.6f;
  const std::string note = algorithm_note(v, r, state.backend_name);
  // Text below: the legend (up to two lines), the resolution line, and the note wrapped to the panel's width.
  const float below_wrap = std::max(16.0f, avail.x - left);
  const float below_h = line * (0.4f + 2 * 1.1f + 1.1f) +
                        ImGui::CalcTextSize(note.c_str(), nullptr, false, below_wrap).y + line * 0.5f;
  // Text beside: a column of 11..20 em; the legend one swatch a line (4 with the block overlay), the resolution
  // line wrapped to at most 3 lines, then the note.
  const float column_gap = em;
  const float column_w = std::clamp(avail.x * 0.2f, em * 11, em * 20);
  const float column_h = line * 1.1f * (v.show_blocks ? 4.0f : 1.0f) + line * 3.3f +
                         ImGui::CalcTextSize(note.c_str(), nullptr, false, column_w).y;
  // The image is never under 12 text heights (so its ticks and colour bar stay readable): the panel then
  // scrolls vertically to the rest.
  const float width_side = avail.x - left - right;
  const float min_side = std::max(16.0f, std::min(em * 12, width_side));
  const float side_below = std::max(min_side, std::min(width_side, avail.y - top - below_h));
  const float side_beside = std::min(width_side - column_gap - column_w, avail.y - top - line * 0.5f);
  const bool text_beside = side_beside > side_below && side_beside >= column_h && side_beside >= min_side;
  const float side = text_beside ? side_beside : side_below;
  const float bottom = text_beside ? line * 0.5f : below_h;
  const float block_w = left + side + right + (text_beside ? column_gap + column_w : 0.0f);
  const float x_off = text_beside ? std::max(0.0f, (avail.x - block_w) * 0.5f) : 0.0f;
  const float y_off = text_beside ? std::max(0.0f, (avail.y - top - side - bottom) * 0.5f) : 0.0f;
  const float note_wrap = text_beside ? column_w : below_wrap;
  const ImVec2 p0(origin.x + x_off + left, origin.y + y_off + top);
  const ImVec2 p1(p0.x + side, p0.y + side);
  const ViewTransform t{p0, side, v.view};

  // Reserve the area first so the invisible button takes the wheel and the drags.
  ImGui::SetCursorScreenPos(p0);
  ImGui::InvisibleButton("heatmap_area", ImVec2(side, side));
  const bool hovered = ImGui::IsItemHovered();
  publish_heatmap_export(state, em, ImVec2(p0.x - left, p0.y - top), ImVec2(p1.x + right, p1.y),
                         hovered && ImGui::IsMouseClicked(ImGuiMouseButton_Right));
  if (hovered && ImGui::GetIO().MouseWheel != 0.0f) {
    const ImVec2 m = ImGui::GetMousePos();
    v.view = zoom_about(v.view, std::pow(1.25, ImGui::GetIO().MouseWheel), t.q_at(m.y), t.k_at(m.x), n_q, n_k);
    v.view_changed_at = ImGui::GetTime();
  }
  if (ImGui::IsItemActive() && ImGui::IsMouseDragging(ImGuiMouseButton_Left, 0.0f)) {
    const ImVec2 d = ImGui::GetIO().MouseDelta;
    v.view = pan_window(v.view, -d.y / side * v.view.span_q(), -d.x / side * v.view.span_k(), n_q, n_k);
    v.view_changed_at = ImGui::GetTime();
  }
  const ViewTransform tv{p0, side, v.view};  // after this frame's interaction

  dl->PushClipRect(p0, p1, true);
  dl->AddRectFilled(p0, p1, rgba(HeatmapGl::kMaskedColor));
  draw_region(dl, to_texture_id(ctx.heatmap.image_texture()), tv, 0, 0, static_cast<double>(n_q),
              static_cast<double>(n_k));
  const ScoreImage* window_img = window_current && window_needed ? &v.window->image : nullptr;
  if (window_img)
    draw_region(dl, to_texture_id(ctx.heatmap.window_texture()), tv, static_cast<double>(window_img->q0),
                static_cast<double>(window_img->k0), static_cast<double>(window_img->q1),
                static_cast<double>(window_img->k1));
  // Block-mask overlay: one texel per tile, spanning Tc·Bc x Tr·Br tokens (the last tiles may stick out).
  const bool blocks_drawn = v.show_blocks && blocks_current && v.block_texture_current;
  if (blocks_drawn) {
    const TileSchedule& s = v.block_mask->tiles;
    draw_region(dl, to_texture_id(ctx.heatmap.overlay_texture(kBlockTexture)), tv, 0, 0,
                static_cast<double>(s.tr) * s.br, static_cast<double>(s.tc) * s.bc);
  }
  // Tile grid: lines every Br rows and Bc keys, when tiles are at least 4 px apart.
  const float tile_px = std::min(static_cast<float>(v.bc / v.view.span_k() * side),
                                 static_cast<float>(v.br / v.view.span_q() * side));
  const bool tiles_drawn = v.show_tiles && tile_px >= 4.0f;
  if (tiles_drawn) {
    const ImU32 grid_col = IM_COL32(255, 255, 255, 150);
    for (int64_t k = static_cast<int64_t>(std::ceil(v.view.k0 / v.bc)) * v.bc; k <= v.view.k1 && k <= n_k; k += v.bc)
      dl->AddLine(ImVec2(tv.x(static_cast<double>(k)), p0.y), ImVec2(tv.x(static_cast<double>(k)), p1.y), grid_col);
    for (int64_t q = static_cast<int64_t>(std::ceil(v.view.q0 / v.br)) * v.br; q <= v.view.q1 && q <= n_q; q += v.br)
      dl->AddLine(ImVec2(p0.x, tv.y(static_cast<double>(q))), ImVec2(p1.x, tv.y(static_cast<double>(q))), grid_col);
  }
  dl->PopClipRect();
  dl->AddRect(ImVec2(p0.x - 1, p0.y - 1), ImVec2(p1.x + 1, p1.y + 1), dim_col);
  const ImVec2 fb_scale = ImGui::GetIO().DisplayFramebufferScale;
  ui.heatmap_rect = {p0.x * fb_scale.x, p0.y * fb_scale.y, side * fb_scale.x, side * fb_scale.y};

  // Axes over the visible range: keys across the top (as the matrix is written), queries down the left.
  char buf[64];
  // As many ticks as fit: each x label needs its width and an em of gap, each y label one and a half lines.
  const int x_ticks = std::clamp(static_cast<int>(side / (ImGui::CalcTextSize("00000").x + em)), 2, 6);
  const int y_ticks = std::clamp(static_cast<int>(side / (line * 1.5f)), 2, 6);
  for (int64_t tk : position_ticks(v.view.k0, v.view.k1, x_ticks)) {
    const float x = tv.x(static_cast<double>(tk));
    dl->AddLine(ImVec2(x, p0.y - tick_len), ImVec2(x, p0.y), text_col);
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(tk));
    const float w = ImGui::CalcTextSize(buf).x;
    const float tx = std::clamp(x - w * 0.5f, p0.x - w * 0.5f, p1.x - w * 0.5f);
    dl->AddText(ImVec2(tx, p0.y - tick_len - line), text_col, buf);
  }
  const std::vector<const char*> x_labels = {"key position k (token index) →", "key position k →", "k →"};
  const char* x_label = x_labels[static_cast<size_t>(first_that_fits(x_labels, side + right))];
  dl->AddText(ImVec2(p0.x + (side - ImGui::CalcTextSize(x_label).x) * 0.5f, p0.y - top + line * 0.1f), text_col,
              x_label);
  for (int64_t tq : position_ticks(v.view.q0, v.view.q1, y_ticks)) {
    const float y = tv.y(static_cast<double>(tq));
    dl->AddLine(ImVec2(p0.x - tick_len, y), ImVec2(p0.x, y), text_col);
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(tq));
    const ImVec2 sz = ImGui::CalcTextSize(buf);
    const float ty = std::clamp(y - sz.y * 0.5f, p0.y - sz.y * 0.5f, p1.y - sz.y * 0.5f);
    dl->AddText(ImVec2(p0.x - tick_len - em * 0.2f - sz.x, ty), text_col, buf);
  }
  const std::vector<const char*> y_labels = {"← query position q (token index)", "← query position q", "← q"};
  const char* y_label = y_labels[static_cast<size_t>(first_that_fits(y_labels, side))];
  // Vertical text is drawn unclipped (widgets.hpp): drawn only while it lies wholly in the panel's visible part.
  const float y_label_bottom = p0.y + (side + ImGui::CalcTextSize(y_label).x) * 0.5f;
  const float y_label_top = y_label_bottom - ImGui::CalcTextSize(y_label).x;
  if (y_label_top >= dl->GetClipRectMin().y && y_label_bottom <= dl->GetClipRectMax().y)
    draw_text_vertical(dl, ImVec2(p0.x - left, y_label_bottom), text_col, y_label);

  // Colour bar: t = 0 at the bottom, 1 at the top, the ticks of the scale the picture on top was coloured with.
  const ValueScale& scale = window_img ? v.window_scale : state.scale;
  const ImVec2 b0(p1.x + em * 1.2f, p0.y + line * 1.6f), b1(b0.x + bar_w, p1.y);
  const ImTextureID cmap = to_texture_id(ctx.heatmap.colormap_texture());
  dl->AddImageQuad(cmap, b0, ImVec2(b1.x, b0.y), b1, ImVec2(b0.x, b1.y), ImVec2(1, 0.5f), ImVec2(1, 0.5f),
                   ImVec2(0, 0.5f), ImVec2(0, 0.5f));
  dl->AddRect(b0, b1, dim_col);
  ui.colorbar_rect = {b0.x * fb_scale.x, b0.y * fb_scale.y, (b1.x - b0.x) * fb_scale.x, (b1.y - b0.y) * fb_scale.y};
  const char* unit = is_p ? "P" : "S";
  dl->AddText(ImVec2(b0.x, p0.y), text_col, unit);
  dl->AddText(ImVec2(b0.x + ImGui::CalcTextSize(unit).x + em * 0.3f, p0.y), dim_col,
              scale.mode == ScaleMode::Linear ? "(linear)" : (scale.mode == ScaleMode::Log10 ? "(log10)" : "(symlog)"));
  float last_label_y = 1e9f;
  auto ticks = scale.ticks(7);
  for (auto it = ticks.begin(); it != ticks.end(); ++it) {
    const float y = b1.y - (b1.y - b0.y) * static_cast<float>(it->t);
    dl->AddLine(ImVec2(b1.x, y), ImVec2(b1.x + tick_len, y), text_col);
    const float ty = y - line * 0.5f;
    if (last_label_y - ty < line * 0.95f) continue;  // never overlap labels
    dl->AddText(ImVec2(b1.x + tick_len + em * 0.2f, ty), text_col, it->label.c_str());
    last_label_y = ty;
  }

  // Legend: masked swatch, then the tile kinds when the block overlay is on, then the resolution and the note;
  // under the image, or in the column right of the colour bar's labels.
  const float text_x = text_beside ? p1.x + right + column_gap : p0.x;
  float lx = text_x;
  const float ly = text_beside ? p0.y : p1.y + line * 0.4f;
  const float sw = line * 0.8f;
  float legend_y = ly;
  const float legend_right = text_beside ? text_x + column_w : p1.x + right;
  auto swatch = [&](ImU32 fill, ImU32 over, const char* label) {
    const float w = sw + em * 0.3f + ImGui::CalcTextSize(label).x;
    if (lx > text_x && lx + w > legend_right) {  // wrap to the next legend line rather than run off the panel
      lx = text_x;
      legend_y += line * 1.1f;
    }
    const ImVec2 a(lx, legend_y + (line - sw) * 0.5f), b(lx + sw, legend_y + (line + sw) * 0.5f);
    dl->AddRectFilled(a, b, fill);
    if (over) dl->AddRectFilled(a, b, over);
    dl->AddRect(a, b, dim_col);
    dl->AddText(ImVec2(lx + sw + em * 0.3f, legend_y), text_col, label);
    lx += sw + em * 0.3f + ImGui::CalcTextSize(label).x + em * 0.9f;
  };
  swatch(rgba(HeatmapGl::kMaskedColor), 0, "masked (q, k)");
  if (blocks_drawn) {
    const BlockMaskStats& st = v.block_mask->stats;
    const ImU32 mid = rgba(ctx.heatmap.colormap()[ctx.heatmap.colormap().size() / 2]);
    char label[96];
    std::snprintf(label, sizeof label, "empty: skipped (%lld)", static_cast<long long>(st.empty));
    swatch(rgba(HeatmapGl::kMaskedColor), rgba(block_overlay_color(TileKind::Empty)), label);
    std::snprintf(label, sizeof label, "partial: masked (%lld)", static_cast<long long>(st.partial));
    swatch(mid, rgba(block_overlay_color(TileKind::Partial)), label);
    std::snprintf(label, sizeof label, "full (%lld)", static_cast<long long>(st.full));
    swatch(mid, rgba(block_overlay_color(TileKind::Full)), label);
  } else if (v.show_blocks) {
    dl->AddText(ImVec2(lx, legend_y), dim_col, "classifying tiles…");
  }
  const ScoreImage& shown_img = window_img ? *window_img : img;
  const double cell_q = static_cast<double>(shown_img.q1 - shown_img.q0) / shown_img.rows;
  const double cell_k = static_cast<double>(shown_img.k1 - shown_img.k0) / shown_img.cols;
  char pool[240];
  if (cell_q <= 1.0 && cell_k <= 1.0)
    std::snprintf(pool, sizeof pool, "one cell per (q, k) pair, %d × %d", shown_img.rows, shown_img.cols);
  else
    std::snprintf(pool, sizeof pool, "1 cell = %.3g × %.3g pairs; colour = %s; shade = share allowed", cell_q, cell_k,
                  is_p ? "mean P" : "largest |S|");
  std::string res = pool;
  if (v.show_tiles)
    res += tiles_drawn ? " · tile grid " + std::to_string(v.br) + " × " + std::to_string(v.bc)
                       : " · tile grid hidden: tiles under 4 px, zoom in";
  if (text_beside) {  // wrapped in the column (at most about 3 lines), the note after it
    const float res_h = ImGui::CalcTextSize(res.c_str(), nullptr, false, column_w).y;
    dl->AddText(nullptr, 0.0f, ImVec2(text_x, legend_y + line * 1.1f), dim_col, res.c_str(), nullptr, column_w);
    dl->AddText(nullptr, 0.0f, ImVec2(text_x, legend_y + line * 1.1f + res_h + line * 0.2f), text_col, note.c_str(),
                nullptr, note_wrap);
  } else {
    dl->AddText(ImVec2(p0.x, legend_y + line * 1.1f), dim_col, fit_with_ellipsis(res.c_str(), avail.x - left).c_str());
    dl->AddText(nullptr, 0.0f, ImVec2(p0.x, legend_y + line * 2.2f), text_col, note.c_str(), nullptr, note_wrap);
  }

  if (hovered) {
    const ImVec2 m = ImGui::GetMousePos();
    const double q = tv.q_at(m.y), k = tv.k_at(m.x);
    CellHit hit;
    const ScoreImage* src = nullptr;
    if (window_img && cell_at(*window_img, q, k, &hit)) src = window_img;
    else if (cell_at(img, q, k, &hit)) src = &img;
    if (src) {
      const float value = src->values[static_cast<size_t>(hit.row) * src->cols + hit.col];
      dl->PushClipRect(p0, p1, true);
      dl->AddRect(ImVec2(tv.x(static_cast<double>(hit.k_begin)) - 1, tv.y(static_cast<double>(hit.q_begin)) - 1),
                  ImVec2(tv.x(static_cast<double>(hit.k_end + 1)) + 1, tv.y(static_cast<double>(hit.q_end + 1)) + 1),
                  IM_COL32(255, 255, 255, 220), 0, 0, 2.0f);
      dl->PopClipRect();
      const bool single = hit.q_begin == hit.q_end && hit.k_begin == hit.k_end;
      ImGui::BeginTooltip();
      ImGui::Text("q = %s", token_range(hit.q_begin, hit.q_end).c_str());
      ImGui::Text("k = %s", token_range(hit.k_begin, hit.k_end).c_str());
      if (std::isnan(value)) ImGui::TextUnformatted("masked: never computed");
      else ImGui::Text("%s = %.4g", is_p ? (single ? "P" : "mean P") : (single ? "S" : "largest |S|: S"),
                       static_cast<double>(value));
      const size_t cell = static_cast<size_t>(hit.row) * src->cols + hit.col;
      if (!single && cell < src->allowed.size()) {
        const int64_t pairs = (hit.q_end - hit.q_begin + 1) * (hit.k_end - hit.k_begin + 1);
        ImGui::Text("allowed: %lld of %lld pairs (%.0f%%)",
                    static_cast<long long>(std::llround(src->allowed[cell] * static_cast<double>(pairs))),
                    static_cast<long long>(pairs), 100.0 * src->allowed[cell]);
      }
      const auto qi = static_cast<int64_t>(std::floor(q)), ki = static_cast<int64_t>(std::floor(k));
      if (blocks_current && qi < n_q && ki < n_k) {
        const int64_t ti = qi / v.br, tj = ki / v.bc;
        ImGui::Text("tile (%lld, %lld) of %d × %d: %s", static_cast<long long>(ti), static_cast<long long>(tj), v.br,
                    v.bc, tile_kind_name(v.block_mask->at(ti, tj)));
      }
      ImGui::TextDisabled(src == window_img ? "from the recomputed window" : "from the pooled whole-matrix picture");
      ImGui::EndTooltip();
    }
  }
  ImGui::SetCursorScreenPos(ImVec2(origin.x, p1.y + bottom));
}

}  // namespace attnscope::gui
