// panel_tile_stream.cpp — tile streaming, replayed from the trace: device memory as Q, K, V and O strips cut into
// tiles (Tr Q/O tiles of Br rows, Tc K/V tiles of Bc keys) and the followed unit's on-chip memory (the resident
// Q tile, the K and V tile slots, the score tile and the running O accumulator with m and l). At the replayed
// instant the followed unit's CTA and the K/V tile it is folding in come from the trace; the other units'
// current tiles of the same head are tinted in their colours; O tiles turn solid once written.
// The trace times each K/V step (start, end), not each copy: a tile's flight is drawn in the first third of
// its step and O's write-back in the last fifth. flash-tc with a gathered schedule visits blocks of Bc gathered
// keys (scattered over K and V), drawn as thin marks at each key's place instead of a contiguous tile.
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "app/gui/views/flash/panels.hpp"
#include "app/gui/widgets/layout.hpp"
#include "app/gui/presenter/theme.hpp"

namespace attnscope::gui {
namespace {

constexpr float kFlightEnd = 0.35f;   // fraction of a step drawn as the K/V (and Q) flight
constexpr float kWriteStart = 0.8f;   // fraction after which O's write-back is drawn

ImU32 tile_fill() { return palette().tile_fill; }  // these two follow the theme
const ImU32 kTileEdge = IM_COL32(20, 22, 26, 255);
ImU32 box_edge() { return palette().plot_border; }
const ImU32 kWritten = IM_COL32(70, 170, 110, 255);
const ImU32 kCross = IM_COL32(235, 90, 80, 230);

struct Box {
  ImVec2 min, max;
  float w() const { return max.x - min.x; }
  float h() const { return max.y - min.y; }
  ImVec2 center() const { return ImVec2((min.x + max.x) * 0.5f, (min.y + max.y) * 0.5f); }
};

Box lerp(const Box& a, const Box& b, float t) {
  auto mix = [&](ImVec2 p, ImVec2 q) { return ImVec2(p.x + (q.x - p.x) * t, p.y + (q.y - p.y) * t); };
  return {mix(a.min, b.min), mix(a.max, b.max)};
}

float smooth(float x) {
  x = std::clamp(x, 0.0f, 1.0f);
  return x * x * (3 - 2 * x);
}

// One strip of device memory cut into `count` tiles.
struct Strip {
  Box box;
  int64_t count = 1;
  Box tile(int64_t i) const {
    const float x0 = box.min.x + box.w() * static_cast<float>(i) / static_cast<float>(count);
    const float x1 = box.min.x + box.w() * static_cast<float>(i + 1) / static_cast<float>(count);
    return {ImVec2(x0, box.min.y), ImVec2(x1, box.max.y)};
  }
};

void draw_strip(ImDrawList* dl, const Strip& s) {
  dl->AddRectFilled(s.box.min, s.box.max, tile_fill());
  if (s.box.w() / static_cast<float>(s.count) >= 3.0f)
    for (int64_t i = 1; i < s.count; ++i) {
      const float x = s.tile(i).min.x;
      dl->AddLine(ImVec2(x, s.box.min.y), ImVec2(x, s.box.max.y), kTileEdge, 1.5f);
    }
  dl->AddRect(s.box.min, s.box.max, box_edge());
}

void fill_tile(ImDrawList* dl, const Box& b, ImU32 color, bool outline) {
  dl->AddRectFilled(ImVec2(b.min.x + 1, b.min.y + 1), ImVec2(std::max(b.min.x + 2, b.max.x - 1), b.max.y - 1), color);
  if (outline) dl->AddRect(ImVec2(b.min.x - 1, b.min.y - 1), ImVec2(b.max.x + 1, b.max.y + 1),
                           palette().outline, 0, 0, 2.0f);
}

void cross_tile(ImDrawList* dl, const Box& b) {
  const float inset = std::min(b.w(), b.h()) * 0.2f;
  dl->AddLine(ImVec2(b.min.x + inset, b.min.y + inset), ImVec2(b.max.x - inset, b.max.y - inset), kCross, 1.5f);
  dl->AddLine(ImVec2(b.min.x + inset, b.max.y - inset), ImVec2(b.max.x - inset, b.min.y + inset), kCross, 1.5f);
}

// A label centred in a box when it fits.
void centred_label(ImDrawList* dl, const Box& b, ImU32 color, const std::string& text) {
  const ImVec2 size = ImGui::CalcTextSize(text.c_str());
  if (size.x > b.w() - 2 || size.y > b.h() + 2) return;
  dl->AddText(ImVec2(b.center().x - size.x * 0.5f, b.center().y - size.y * 0.5f), color, text.c_str());
}

// Thin marks at each key's place on a K or V strip of n_keys keys; returns their bounding box on the strip.
Box mark_keys(ImDrawList* dl, const Strip& s, const std::vector<int64_t>& keys, int64_t n_keys, ImU32 color) {
  const float w = s.box.w(), key_w = std::max(1.5f, w / static_cast<float>(std::max<int64_t>(1, n_keys)));
  Box bounds{ImVec2(s.box.max.x, s.box.min.y), ImVec2(s.box.min.x, s.box.max.y)};
  for (int64_t k : keys) {
    const float x = s.box.min.x + w * static_cast<float>(k) / static_cast<float>(std::max<int64_t>(1, n_keys));
    dl->AddRectFilled(ImVec2(x, s.box.min.y + 1), ImVec2(x + key_w, s.box.max.y - 1), color);
    bounds.min.x = std::min(bounds.min.x, x);
    bounds.max.x = std::max(bounds.max.x, x + key_w);
  }
  if (keys.empty()) bounds = {s.box.min, ImVec2(s.box.min.x + 1, s.box.max.y)};
  return bounds;
}

// "K₃": a tile's name with its index as a subscript.
std::string tile_name(const char* letter, int64_t index) {
  std::string name(letter);
  name += subscript(index);
  return name;
}

}  // namespace

void draw_tile_stream_panel(FlashFrame& f) {
  const FlashViewResult& r = f.result;
  const Trace& trace = r.trace;
  const TraceReplay& replay = r.replay;
  const bool fa1 = r.key.order == FlashOrder::Flash1;
  const bool tensor_core = r.key.order == FlashOrder::TensorCore;
  // FA-2 orders (flash, block-sparse, flash-tc) skip empty tiles as their kernels do; FA-1's passes load every tile.
  const bool sparse = r.key.order != FlashOrder::Flash1;
  const bool gathered = r.gathered;  // k_tile: the ordinal of a gathered key block
  const char* unit_name = f.ctx.state.capabilities.trace_unit();
  const float em = ImGui::GetFontSize(), line = ImGui::GetTextLineHeight();
  const ImU32 text_col = ImGui::GetColorU32(ImGuiCol_Text), dim_col = ImGui::GetColorU32(ImGuiCol_TextDisabled);

  // ---- what the followed unit is doing at this instant
  const TraceReplay::Activity act = replay.at(trace, f.unit, f.time_ns);
  const CtaRecord* cta = act.cta >= 0 ? &trace.ctas[static_cast<size_t>(act.cta)] : nullptr;
  const TileVisit* visit = cta && act.visit >= 0 ? &cta->visits[static_cast<size_t>(act.visit)] : nullptr;
  const int32_t q_tile = cta ? cta->q_tile : -1, k_tile = visit ? visit->k_tile : -1;
  const int32_t batch = cta ? cta->batch : 0, head = cta ? cta->head : 0;
  char detail[256];
  if (cta)
    std::snprintf(detail, sizeof detail, "%s %d · CTA %d · head %d · Q tile %d · %s %d, step %d/%zu", unit_name,
                  f.unit, cta->cta, head, q_tile, gathered ? "gathered block" : "K/V tile", k_tile, act.visit + 1,
                  cta->visits.size());
  else
    std::snprintf(detail, sizeof detail, "%s %d is idle at this instant", unit_name, f.unit);
  flash_heading(f.ctx, "Tile streaming", detail);
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("Replayed from the trace: which CTA ran on this unit, which K/V tile it folded in, and when.\n"
                      "The trace times each K/V step, not each copy: a tile's flight is drawn in the first third\n"
                      "of its step and O's write-back in the last fifth.");
  f.view.readout.shown_unit = f.unit;
  f.view.readout.shown_cta = cta ? cta->cta : -1;
  f.view.readout.shown_q_tile = q_tile;
  f.view.readout.shown_k_tile = k_tile;

  // ---- layout: [device memory strips | on-chip slots], a legend below
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  // The legend: one line when its entries fit the width, else they flow onto a second.
  const ImGuiStyle& style = ImGui::GetStyle();
  const bool gpu_units = f.ctx.state.capabilities.sm_traces;
  const float legend_w = 3 * (line * 0.75f + em * 1.2f) + em * 0.3f + ImGui::CalcTextSize("× all masked, loaded anyway").x +
                         ImGui::CalcTextSize(gpu_units ? "other SMs" : "other workers").x +
                         ImGui::CalcTextSize("O, by passes").x + ImGui::CalcTextSize(unit_name).x + em * 2;
  const float legend_h = legend_w > avail.x ? line * 2 + style.ItemSpacing.y + line * 0.35f : line * 1.35f;
  const float zone_h = std::max(line * 7, avail.y - legend_h);
  const float gap = em * 1.2f;
  // The on-chip box keeps room for its widest row (name | box | bytes); the memory strips take the rest.
  const float chip_min_w = em * 4.9f + ImGui::CalcTextSize("O acc, m, l").x + ImGui::CalcTextSize("00.0 KiB").x;
  const float left_w = std::floor(std::min((avail.x - gap) * 0.57f, avail.x - gap - chip_min_w));
  const Box hbm{origin, ImVec2(origin.x + left_w, origin.y + zone_h)};
  const Box chip{ImVec2(hbm.max.x + gap, origin.y), ImVec2(origin.x + avail.x, origin.y + zone_h)};
  dl->AddRect(hbm.min, hbm.max, box_edge(), 4.0f);
  dl->AddRect(chip.min, chip.max, box_edge(), 4.0f);
  const bool gpu = f.ctx.state.capabilities.sm_traces;  // a GPU run: HBM and SMs
  const std::string hbm_title = fit_with_ellipsis(gpu ? "device memory (HBM)" : "main memory (RAM)", hbm.w() - em * 0.8f);
  dl->AddText(ImVec2(hbm.min.x + em * 0.4f, hbm.min.y + line * 0.15f), text_col, hbm_title.c_str());
  char chip_title[96];
  std::snprintf(chip_title, sizeof chip_title,
                gpu ? (tensor_core ? "SM %d: shared memory + registers" : "shared memory of SM %d")
                    : "worker %d's tiles (cache)",
                f.unit);
  if (tensor_core && gpu && ImGui::CalcTextSize(chip_title).x > chip.w() - em * 0.8f)
    std::snprintf(chip_title, sizeof chip_title, "SM %d: smem + registers", f.unit);
  const std::string chip_title_shown = fit_with_ellipsis(chip_title, chip.w() - em * 0.8f);
  dl->AddText(ImVec2(chip.min.x + em * 0.4f, chip.min.y + line * 0.15f), text_col, chip_title_shown.c_str());

  // Strips: Q and O have Tr tiles, K and V have Tc.
  const int64_t tr = std::max(1, trace.tr), tc = std::max(1, trace.tc);
  const int64_t n_q = r.spec.q_len, n_k = r.spec.kv_len, d = r.spec.head_dim;
  const char* names[4] = {"Q", "K", "V", "O"};
  const int64_t counts[4] = {tr, tc, tc, tr};
  char shapes[4][96];
  std::snprintf(shapes[0], 96, "%lld×%lld · Tr = %lld tiles of Br = %d rows", static_cast<long long>(n_q),
                static_cast<long long>(d), static_cast<long long>(tr), trace.br);
  std::snprintf(shapes[1], 96, "%lld×%lld · Tc = %lld tiles of Bc = %d keys", static_cast<long long>(n_k),
                static_cast<long long>(d), static_cast<long long>(tc), trace.bc);
  std::snprintf(shapes[2], 96, "%lld×%lld · the same Tc tiles as K", static_cast<long long>(n_k), static_cast<long long>(d));
  std::snprintf(shapes[3], 96, "%lld×%lld · written per Q tile", static_cast<long long>(n_q), static_cast<long long>(d));
  const float label_w = ImGui::CalcTextSize("O").x + em * 0.9f;
  const float top = hbm.min.y + line * 1.35f;
  // Roomy: each strip has its shape written under it; tight: one summary line at the bottom of the box.
  const bool roomy = (hbm.max.y - top) / 4.0f >= line * 2.7f;
  const float strips_bottom = hbm.max.y - (roomy ? line * 0.2f : line * 1.25f);
  const float slot_h = (strips_bottom - top) / 4.0f;
  const float strip_h = roomy ? std::min(slot_h - line * 1.2f, line * 2.2f) : std::max(line * 0.5f, slot_h * 0.72f);
  Strip strips[4];
  for (int s = 0; s < 4; ++s) {
    const float y = top + slot_h * static_cast<float>(s);
    strips[s].box = {ImVec2(hbm.min.x + label_w, y), ImVec2(hbm.max.x - em * 0.6f, y + strip_h)};
    strips[s].count = counts[s];
    if (f.ctx.heading_font) ImGui::PushFont(f.ctx.heading_font);
    dl->AddText(ImVec2(hbm.min.x + em * 0.35f, y + (strip_h - ImGui::GetTextLineHeight()) * 0.5f), text_col, names[s]);
    if (f.ctx.heading_font) ImGui::PopFont();
    draw_strip(dl, strips[s]);
    if (roomy) dl->AddText(ImVec2(strips[s].box.min.x, y + strip_h + line * 0.05f), dim_col, shapes[s]);
  }
  if (!roomy) {
    // The longest description that fits the box.
    char variants[3][160];
    std::snprintf(variants[0], 160, "each %lld×%lld · Tr = %lld Q/O tiles of %d rows · Tc = %lld K/V tiles of %d keys",
                  static_cast<long long>(n_k), static_cast<long long>(d), static_cast<long long>(tr), trace.br,
                  static_cast<long long>(tc), trace.bc);
    std::snprintf(variants[1], 160, "each %lld×%lld · Tr = %lld × Br = %d · Tc = %lld × Bc = %d", static_cast<long long>(n_k),
                  static_cast<long long>(d), static_cast<long long>(tr), trace.br, static_cast<long long>(tc), trace.bc);
    std::snprintf(variants[2], 160, "Tr = %lld × Br = %d · Tc = %lld × Bc = %d", static_cast<long long>(tr), trace.br,
                  static_cast<long long>(tc), trace.bc);
    const char* summary = variants[2];
    for (auto& v : variants)
      if (ImGui::CalcTextSize(v).x <= hbm.w() - em * 0.7f) { summary = v; break; }
    dl->AddText(ImVec2(hbm.min.x + em * 0.35f, hbm.max.y - line * 1.15f), dim_col, summary);
  }
  const Strip &q_strip = strips[0], &k_strip = strips[1], &v_strip = strips[2], &o_strip = strips[3];

  // O progress of the shown head: FA-2 writes O_i once when its CTA ends; FA-1 rewrites it on every pass.
  std::vector<float> o_done(static_cast<size_t>(tr), 0.0f);
  for (auto& c : trace.ctas) {
    if (c.batch != batch || c.head != head || c.q_tile < 0 || c.q_tile >= tr || c.visits.empty()) continue;
    if (c.visits.back().end_ns > f.time_ns) continue;
    o_done[static_cast<size_t>(c.q_tile)] += fa1 ? 1.0f / static_cast<float>(tc) : 1.0f;
  }
  for (int64_t i = 0; i < tr; ++i) {
    const float done = std::min(1.0f, o_done[static_cast<size_t>(i)]);
    if (done > 0) fill_tile(dl, o_strip.tile(i), (kWritten & 0x00FFFFFFu) | (static_cast<ImU32>(70 + 185 * done) << 24), false);
  }

  // Other units' current tiles of the same (batch, head), lightly tinted.
  for (int32_t u = 0; u < replay.units; ++u) {
    if (u == f.unit) continue;
    const TraceReplay::Activity a = replay.at(trace, u, f.time_ns);
    if (a.cta < 0 || a.visit < 0) continue;
    const CtaRecord& c = trace.ctas[static_cast<size_t>(a.cta)];
    if (c.batch != batch || c.head != head) continue;
    const ImU32 tint = flash_unit_color(u, 0.45f);
    const int32_t j = c.visits[static_cast<size_t>(a.visit)].k_tile;
    if (c.q_tile >= 0 && c.q_tile < tr) fill_tile(dl, q_strip.tile(c.q_tile), tint, false);
    if (gathered) {
      const std::vector<int64_t> keys = r.visit_keys(c.q_tile, j);
      mark_keys(dl, strips[1], keys, r.spec.kv_len, tint);
      mark_keys(dl, strips[2], keys, r.spec.kv_len, tint);
    } else if (j >= 0 && j < tc) {
      fill_tile(dl, k_strip.tile(j), tint, false);
      fill_tile(dl, v_strip.tile(j), tint, false);
    }
  }

  // Tiles the mask leaves empty for the followed Q tile: FA-2 orders skip them, FA-1's passes load them anyway.
  if (q_tile >= 0 && q_tile < tr && r.tile_kinds.size() == static_cast<size_t>(tr * tc))
    for (int64_t j = 0; j < tc; ++j)
      if (r.tile_kinds[static_cast<size_t>(q_tile * tc + j)] == TileKind::Empty) {
        cross_tile(dl, k_strip.tile(j));
        cross_tile(dl, v_strip.tile(j));
      }

  // ---- on-chip slots: fp32 in the CPU twin and the fp32 CUDA kernel; flash-tc holds Q, K, V in its fp16/bf16 and
  // keeps S, P and the accumulator in fp32 registers.
  const int br = trace.br, bc = trace.bc;
  struct Slot { const char* name; std::string size; std::string shape; Box box; };
  const int in_bytes = tensor_core ? dtype_bytes(r.spec.dtype) : 4;
  const char* in_type = tensor_core ? dtype_name(r.spec.dtype) : "fp32";
  auto bytes = [](int64_t elements, int element_bytes) {
    return format_bytes(static_cast<double>(element_bytes) * static_cast<double>(elements));
  };
  auto shape = [](int64_t rows, int64_t cols, const char* type) {
    return std::to_string(rows) + "×" + std::to_string(cols) + " " + type;
  };
  Slot slots[5] = {{"Q tile", bytes(br * d, in_bytes), shape(br, d, in_type), {}},
                   {gathered ? "K block" : "K tile", bytes(bc * d, in_bytes),
                    shape(bc, d, in_type) + (gathered ? ": gathered keys" : ""), {}},
                   {gathered ? "V block" : "V tile", bytes(bc * d, in_bytes), shape(bc, d, in_type), {}},
                   {"S, P tile", bytes(br * bc, 4), shape(br, bc, "fp32") + ": S = QKᵀ, then P = exp(S − m)", {}},
                   {"O acc, m, l", bytes(br * (d + 2), 4), shape(br, d, "fp32") + " accumulator + m and l per row", {}}};
  // One row per slot: name | box | bytes.
  const float chip_top = chip.min.y + line * 1.45f;
  const float chip_slot_h = (chip.max.y - line * 0.3f - chip_top) / 5.0f;
  const float box_h = std::clamp(chip_slot_h - 4.0f, 4.0f, line * 2.0f);
  float name_w = 0;
  for (auto& slot : slots) name_w = std::max(name_w, ImGui::CalcTextSize(slot.name).x);
  const float size_w = ImGui::CalcTextSize("00.0 KiB").x;
  const float slot_x0 = chip.min.x + em * 0.5f + name_w + em * 0.5f;
  const float slot_x1 = std::max(slot_x0 + em * 2, chip.max.x - em * 0.5f - size_w - em * 0.4f);
  for (int s = 0; s < 5; ++s) {
    const float y = chip_top + chip_slot_h * static_cast<float>(s);
    slots[s].box = {ImVec2(slot_x0, y), ImVec2(slot_x1, y + box_h)};
    const float ty = y + (box_h - line) * 0.5f;
    dl->AddText(ImVec2(chip.min.x + em * 0.5f, ty), text_col, slots[s].name);
    dl->AddText(ImVec2(slot_x1 + em * 0.4f, ty), dim_col, slots[s].size.c_str());
    dl->AddRectFilled(slots[s].box.min, slots[s].box.max, palette().empty_cell);
    dl->AddRect(slots[s].box.min, slots[s].box.max, box_edge());
    const ImVec2 m = ImGui::GetIO().MousePos;
    if (ImGui::IsWindowHovered() && m.x >= chip.min.x && m.x < chip.max.x && m.y >= y && m.y < y + chip_slot_h)
      ImGui::SetTooltip("%s: %s, %s", slots[s].name, slots[s].shape.c_str(), slots[s].size.c_str());
  }

  // ---- the followed unit: highlights in the strips, resident tiles, flights
  const ImU32 strong = flash_unit_color(f.unit, 1.0f);
  const ImU32 resident = flash_unit_color(f.unit, 0.9f, 0.7f);
  if (cta && visit) {
    const bool last = act.visit + 1 == static_cast<int32_t>(cta->visits.size());
    const float phase = static_cast<float>(act.phase);
    const float fly = act.between_visits ? 1.0f : smooth(phase / kFlightEnd);
    const bool flying = fly < 1.0f;
    const bool first_step = act.visit == 0;
    if (q_tile >= 0 && q_tile < tr) fill_tile(dl, q_strip.tile(q_tile), strong, true);
    // Where the K and V of this step come from: a tile, or (gathered) the span of its scattered keys.
    Box k_source = k_strip.tile(k_tile), v_source = v_strip.tile(k_tile);
    if (gathered) {
      const std::vector<int64_t> keys = r.visit_keys(q_tile, k_tile);
      k_source = mark_keys(dl, k_strip, keys, n_k, strong);
      v_source = mark_keys(dl, v_strip, keys, n_k, strong);
    } else if (k_tile >= 0 && k_tile < tc) {
      fill_tile(dl, k_strip.tile(k_tile), strong, true);
      fill_tile(dl, v_strip.tile(k_tile), strong, true);
    }
    const ImU32 on_tile = IM_COL32(15, 15, 18, 255);
    // Gathered blocks are named by their ordinal within the Q tile: "K·g₃".
    const std::string qi = tile_name("Q", q_tile), kj = tile_name(gathered ? "K·g" : "K", k_tile),
                      vj = tile_name(gathered ? "V·g" : "V", k_tile);
    // Q: loaded with the first K/V tile (FA-2) or with every tile (FA-1, where each CTA is one step).
    const bool q_flying = flying && (first_step || fa1);
    const Box q_box = q_flying ? lerp(q_strip.tile(q_tile), slots[0].box, fly) : slots[0].box;
    fill_tile(dl, q_box, resident, false);
    centred_label(dl, q_box, on_tile, qi);
    const Box k_box = flying ? lerp(k_source, slots[1].box, fly) : slots[1].box;
    const Box v_box = flying ? lerp(v_source, slots[2].box, fly) : slots[2].box;
    fill_tile(dl, k_box, act.between_visits ? flash_unit_color(f.unit, 0.45f, 0.6f) : resident, false);
    fill_tile(dl, v_box, act.between_visits ? flash_unit_color(f.unit, 0.45f, 0.6f) : resident, false);
    centred_label(dl, k_box, on_tile, kj);
    centred_label(dl, v_box, on_tile, vj);
    // The score tile exists while a step computes.
    if (!flying && !act.between_visits) {
      fill_tile(dl, slots[3].box, flash_unit_color(f.unit, 0.55f, 0.75f), false);
      centred_label(dl, slots[3].box, on_tile, tile_name("S", q_tile) + "," + (gathered ? "g" : "") + subscript(k_tile));
    }
    // The accumulator: FA-2 keeps it on chip across steps; FA-1 reads O_i, m_i, l_i in and writes them back.
    Box acc_box = slots[4].box;
    if (fa1 && flying) acc_box = lerp(o_strip.tile(q_tile), slots[4].box, fly);
    const bool writing = (fa1 || last) && !act.between_visits && phase > kWriteStart;
    if (writing) acc_box = lerp(slots[4].box, o_strip.tile(q_tile), smooth((phase - kWriteStart) / (1 - kWriteStart)));
    fill_tile(dl, acc_box, flash_unit_color(f.unit, 0.85f, 0.55f), false);
    centred_label(dl, acc_box, IM_COL32(240, 240, 240, 255), tile_name("O", q_tile));
    if (writing || (fa1 && flying)) fill_tile(dl, o_strip.tile(q_tile), flash_unit_color(f.unit, 0.6f), true);

    // Where the highlighted K tile is, for tests (framebuffer pixels).
    const ImVec2 scale = ImGui::GetIO().DisplayFramebufferScale;
    const Box kt = k_source;
    auto& ro = f.view.readout;
    ro.k_tile_x = kt.min.x * scale.x, ro.k_tile_y = kt.min.y * scale.y;
    ro.k_tile_w = kt.w() * scale.x, ro.k_tile_h = kt.h() * scale.y;
  }
  {
    const ImVec2 scale = ImGui::GetIO().DisplayFramebufferScale;
    auto& ro = f.view.readout;
    ro.k_strip_x = k_strip.box.min.x * scale.x, ro.k_strip_y = k_strip.box.min.y * scale.y;
    ro.k_strip_w = k_strip.box.w() * scale.x, ro.k_strip_h = k_strip.box.h() * scale.y;
  }

  // Hover on a strip: which rows or keys a tile holds.
  const ImVec2 mouse = ImGui::GetIO().MousePos;
  if (ImGui::IsWindowHovered())
    for (int s = 0; s < 4; ++s) {
      const Box& b = strips[s].box;
      if (mouse.x < b.min.x || mouse.x >= b.max.x || mouse.y < b.min.y || mouse.y >= b.max.y) continue;
      const int64_t i = std::clamp<int64_t>(static_cast<int64_t>((mouse.x - b.min.x) / b.w() * static_cast<float>(strips[s].count)),
                                            0, strips[s].count - 1);
      const bool rows = s == 0 || s == 3;
      const int64_t size = rows ? br : bc, n = rows ? n_q : n_k;
      ImGui::SetTooltip("%s tile %lld: %s %lld … %lld", names[s], static_cast<long long>(i), rows ? "query rows" : "keys",
                        static_cast<long long>(i * size), static_cast<long long>(std::min(n, (i + 1) * size) - 1));
    }

  // ---- legend
  ImGui::SetCursorScreenPos(ImVec2(origin.x, origin.y + zone_h + line * 0.25f));
  const float sw = line * 0.75f;
  bool first_entry = true;
  auto swatch = [&](ImU32 color, const char* text) {
    if (!first_entry && !flow_same_line(sw + em * 0.3f + ImGui::CalcTextSize(text).x + em * 0.9f - style.ItemSpacing.x))
      ImGui::SetCursorScreenPos(ImVec2(origin.x, ImGui::GetCursorScreenPos().y));
    else if (!first_entry) ImGui::SameLine(0, em * 0.9f);
    first_entry = false;
    const ImVec2 p = ImGui::GetCursorScreenPos();
    dl->AddRectFilled(ImVec2(p.x, p.y + (line - sw) * 0.5f), ImVec2(p.x + sw, p.y + (line + sw) * 0.5f), color);
    ImGui::Dummy(ImVec2(sw, line));
    ImGui::SameLine(0, em * 0.3f);
    ImGui::TextUnformatted(text);
  };
  char followed[64];
  std::snprintf(followed, sizeof followed, "%s %d", unit_name, f.unit);
  swatch(strong, followed);
  swatch(flash_unit_color((f.unit + 1) % std::max(2, replay.units), 0.45f), gpu ? "other SMs" : "other workers");
  swatch(kWritten, fa1 ? "O, by passes" : "O written");
  const char* masked = sparse ? "empty: skipped" : "all masked, loaded anyway";
  if (flow_same_line(ImGui::CalcTextSize("×").x + em * 0.3f + ImGui::CalcTextSize(masked).x + em * 0.9f - style.ItemSpacing.x))
    ImGui::SameLine(0, em * 0.9f);
  ImGui::TextColored(ImVec4(0.92f, 0.35f, 0.31f, 1), "×");
  ImGui::SameLine(0, em * 0.3f);
  ImGui::TextUnformatted(masked);
}

}  // namespace attnscope::gui
