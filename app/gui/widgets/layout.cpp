// layout.cpp — em sizes, flowing rows, fitted text, shared heights and the layout checker (see layout.hpp).
#include "app/gui/widgets/layout.hpp"

#include <imgui.h>
#include <imgui_internal.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <numeric>

namespace attnscope::gui {
namespace {

// Overflow up to this many pixels is rounding (ImGui floors positions), not something a viewer sees.
constexpr float kTolerancePx = 1.0f;

std::vector<LayoutProblem>& reported_problems() {
  static std::vector<LayoutProblem> problems;
  return problems;
}

// ImGui names a child window "Parent/child_0123ABCD": drop each part's "_" + 8 hex digits id suffix.
std::string readable_window_name(const char* name) {
  std::string out;
  const char* part = name;
  while (part) {
    const char* slash = std::strchr(part, '/');
    std::string piece = slash ? std::string(part, slash) : std::string(part);
    if (piece.size() > 9 && piece[piece.size() - 9] == '_' &&
        std::all_of(piece.end() - 8, piece.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); }))
      piece.resize(piece.size() - 9);
    out += (out.empty() ? "" : "/") + piece;
    part = slash ? slash + 1 : nullptr;
  }
  return out;
}

std::string pixels(float px) { return std::to_string(static_cast<int>(std::ceil(px))) + " px"; }

// The part of a window its content is drawn in: ImGui's InnerClipRect before it is clipped by the parent (a child
// scrolled partly out of its parent is not itself overflowing; the parent's own check sees a child that is too big).
ImRect own_clip_rect(const ImGuiWindow* w) {
  ImRect r = w->InnerRect;
  const float pad_x = std::max(std::floor(w->WindowPadding.x * 0.5f), w->WindowBorderSize);
  const float pad_y = std::max(std::floor(w->WindowPadding.y * 0.5f), w->WindowBorderSize);
  r.Min.x += pad_x;
  r.Max.x -= pad_x;
  r.Min.y += pad_y;
  r.Max.y -= pad_y;
  return r;
}

void check_window(const ImGuiWindow* w, std::vector<LayoutProblem>& out) {
  if (!w->Active || w->Hidden || w->Collapsed || (w->Flags & ImGuiWindowFlags_Tooltip)) return;
  if (w->HiddenFramesCanSkipItems > 0 || w->HiddenFramesCannotSkipItems > 0) return;  // auto-fitting popups
  const ImRect visible = own_clip_rect(w);
  if (visible.GetWidth() <= 0 || visible.GetHeight() <= 0) {
    out.push_back({readable_window_name(w->Name), "has no room for its content (" + pixels(w->Size.x) + " x " +
                                                      pixels(w->Size.y) + ")"});
    return;
  }
  const ImVec2 content_max = w->DC.CursorMaxPos;
  // A scroll bar shows the hidden part exists; without one (none shown, or NoScrollbar) the overflow is clipped.
  if (!w->ScrollbarX && content_max.x > visible.Max.x + kTolerancePx)
    out.push_back({readable_window_name(w->Name),
                   "content runs " + pixels(content_max.x - visible.Max.x) + " past the right edge (clipped)"});
  if (!w->ScrollbarY && content_max.y > visible.Max.y + kTolerancePx)
    out.push_back({readable_window_name(w->Name),
                   "content runs " + pixels(content_max.y - visible.Max.y) + " below the bottom edge (clipped)"});
}

void check_tables(std::vector<LayoutProblem>& out) {
  ImGuiContext& g = *GImGui;
  for (int n = 0; n < g.Tables.GetMapSize(); ++n) {
    const ImGuiTable* table = g.Tables.TryGetMapData(n);
    if (!table || table->LastFrameActive != g.FrameCount || !table->OuterWindow) continue;
    for (int c = 0; c < table->ColumnsCount; ++c) {
      const ImGuiTableColumn& column = table->Columns[c];
      if (!column.IsEnabled || !column.IsVisibleX) continue;
      // Cells are clipped to the column; a header whose label does not fit is cut with an ellipsis.
      const float content = std::max({column.ContentMaxXFrozen, column.ContentMaxXUnfrozen, column.ContentMaxXHeadersIdeal});
      // ClipRect is the column cut to what is visible now. A table that scrolls sideways (ScrollX) shows the rest
      // of a column a scroll away, so there only the column's own right edge (MaxX) clips.
      const float right = (table->Flags & ImGuiTableFlags_ScrollX) ? column.MaxX : column.ClipRect.Max.x;
      if (content > right + kTolerancePx)
        out.push_back({readable_window_name(table->OuterWindow->Name),
                       "table column " + std::to_string(c + 1) + ": content " + pixels(content - right) +
                           " wider than the column (clipped)"});
    }
  }
}

}  // namespace

float em(float n) { return n * ImGui::GetFontSize(); }

float button_width(const char* label) {
  return ImGui::CalcTextSize(label, nullptr, true).x + 2 * ImGui::GetStyle().FramePadding.x;
}

float checkbox_width(const char* label) {
  const float text = ImGui::CalcTextSize(label, nullptr, true).x;
  return ImGui::GetFrameHeight() + (text > 0 ? ImGui::GetStyle().ItemInnerSpacing.x + text : 0);
}

bool flow_same_line(float next_width) {
  const float x_after = ImGui::GetItemRectMax().x + ImGui::GetStyle().ItemSpacing.x;  // where SameLine() puts it
  const float right = ImGui::GetWindowPos().x + ImGui::GetWindowContentRegionMax().x;
  if (x_after + next_width > right + kTolerancePx) return false;
  ImGui::SameLine();
  return true;
}

std::string fit_with_ellipsis(const char* text, float width) {
  const char* end = text + std::strlen(text);
  if (ImGui::CalcTextSize(text, end).x <= width) return text;
  static const char* kEllipsis = "\xE2\x80\xA6";  // "…"
  const float room = width - ImGui::CalcTextSize(kEllipsis).x;
  // Longest prefix ending on a UTF-8 character boundary that fits in `room`.
  const char* cut = text;
  for (const char* p = text; p < end;) {
    const char* next = p + 1;
    while (next < end && (static_cast<unsigned char>(*next) & 0xC0) == 0x80) ++next;
    if (ImGui::CalcTextSize(text, next).x > room) break;
    cut = next;
    p = next;
  }
  while (cut > text && cut[-1] == ' ') --cut;  // "word …" reads as a cut; "word…" does
  return std::string(text, cut) + kEllipsis;
}

void text_fit(const char* text, float width) {
  if (width <= 0) width = ImGui::GetContentRegionAvail().x;
  const std::string shown = fit_with_ellipsis(text, width);
  ImGui::TextUnformatted(shown.c_str());
  if (shown != text && ImGui::IsItemHovered()) ImGui::SetTooltip("%s", text);
}

ImVec2 begin_panel_area(const char* id, ImVec2 minimum) {
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  // A scroll bar appears on either axis whenever the panels are larger than the area there (ImGui shows it only
  // then). The horizontal one is allowed even when the minimum width fits the area as measured here: a vertical
  // scroll bar, once shown, takes its width out of the area, and the minimum may no longer fit beside it.
  const ImGuiWindowFlags flags = ImGuiWindowFlags_HorizontalScrollbar;
  // No padding: the panels inside bring their own borders and padding.
  ImGui::PushStyleVar(ImGuiStyleVar_WindowPadding, ImVec2(0, 0));
  ImGui::BeginChild(id, avail, false, flags);
  ImGui::PopStyleVar();
  // Inside, the scroll bars (sized from the last frame) are already taken off the visible region.
  const ImVec2 inner = ImGui::GetContentRegionAvail();
  return ImVec2(std::floor(std::max(inner.x, minimum.x)), std::floor(std::max(inner.y, minimum.y)));
}

void end_panel_area() { ImGui::EndChild(); }

void detail_after_heading(const char* detail, float gap) {
  if (!detail || !*detail) return;
  const float width = ImGui::CalcTextSize(detail).x;
  const float right = ImGui::GetWindowPos().x + ImGui::GetWindowContentRegionMax().x;
  const float x_after = ImGui::GetItemRectMax().x + gap;
  ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
  if (x_after + width <= right + kTolerancePx) {
    ImGui::SameLine(0, gap);
    ImGui::TextUnformatted(detail);
  } else {
    text_fit(detail);
  }
  ImGui::PopStyleColor();
}

int first_that_fits(const std::vector<const char*>& variants, float width) {
  for (size_t i = 0; i < variants.size(); ++i)
    if (ImGui::CalcTextSize(variants[i], nullptr, true).x <= width) return static_cast<int>(i);
  return variants.empty() ? -1 : static_cast<int>(variants.size()) - 1;
}

std::vector<float> share_length(float available, const std::vector<float>& weights, const std::vector<float>& minimums) {
  const size_t n = weights.size();
  std::vector<float> parts(n, 0.0f);
  if (n == 0) return parts;
  const float minimum_sum = std::accumulate(minimums.begin(), minimums.begin() + std::min(n, minimums.size()), 0.0f);
  auto minimum = [&](size_t i) { return i < minimums.size() ? minimums[i] : 0.0f; };
  if (minimum_sum >= available) {
    // Not even the minimums fit: each gets its minimum scaled by available / sum (all of them when nothing is left).
    const float k = minimum_sum > 0 && available > 0 ? available / minimum_sum : 1.0f;
    for (size_t i = 0; i < n; ++i) parts[i] = minimum(i) * (available > 0 ? k : 1.0f);
    return parts;
  }
  // Water filling: share in proportion to the weights; a part below its minimum is fixed at it and the rest is
  // shared again among the others, until no part is below its minimum (at most n rounds).
  std::vector<bool> fixed(n, false);
  for (size_t round = 0; round <= n; ++round) {
    float left = available, weight_sum = 0;
    for (size_t i = 0; i < n; ++i) {
      if (fixed[i]) left -= minimum(i);
      else weight_sum += std::max(weights[i], 0.0f);
    }
    bool changed = false;
    for (size_t i = 0; i < n; ++i) {
      if (fixed[i]) { parts[i] = minimum(i); continue; }
      parts[i] = weight_sum > 0 ? left * std::max(weights[i], 0.0f) / weight_sum : 0.0f;
      if (parts[i] < minimum(i)) {
        fixed[i] = true;
        changed = true;
      }
    }
    if (!changed) break;
  }
  return parts;
}

std::vector<float> share_height(float available, const std::vector<float>& weights, const std::vector<float>& minimum_em) {
  std::vector<float> minimums(minimum_em.size());
  for (size_t i = 0; i < minimum_em.size(); ++i) minimums[i] = em(minimum_em[i]);
  return share_length(available, weights, minimums);
}

void begin_layout_frame() { reported_problems().clear(); }

void report_layout_problem(std::string what) {
  const ImGuiWindow* w = ImGui::GetCurrentWindowRead();
  reported_problems().push_back({w ? readable_window_name(w->Name) : std::string("(no window)"), std::move(what)});
}

std::vector<LayoutProblem> find_layout_problems() {
  std::vector<LayoutProblem> out = reported_problems();
  if (!GImGui) return out;
  for (const ImGuiWindow* w : GImGui->Windows) check_window(w, out);
  check_tables(out);
  return out;
}

}  // namespace attnscope::gui
