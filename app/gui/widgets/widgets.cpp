// widgets.cpp — small drawing helpers shared by panels (declared in widgets.hpp).
#include <imgui.h>
#include <imgui_internal.h>

#include <algorithm>
#include <cfloat>
#include <cstdint>
#include <string>
#include <unordered_map>

#include "app/gui/widgets/widgets.hpp"
#include "app/gui/widgets/layout.hpp"

namespace attnscope::gui {

void record_element_rect(UiState& ui, const char* name) {
  const ImVec2 min = ImGui::GetItemRectMin(), max = ImGui::GetItemRectMax();
  const ImVec2 scale = ImGui::GetIO().DisplayFramebufferScale;
  ui.element_rects[name] = PixelRect{min.x * scale.x, min.y * scale.y, (max.x - min.x) * scale.x, (max.y - min.y) * scale.y};
  // A panel in a scrolling panel area (stacked at large text) that a lesson step highlights is kept in view, so the
  // step's subject is on screen: until the user scrolls or clicks, every frame (panels grow as their results
  // arrive), unless the whole panel is inside the visible part of its window, its top goes to the top of that part
  // (partly visible is not enough: a panel whose top edge shows at the bottom is not "on screen").
  if (!ui.highlight.empty() && ui.highlight == name && ui.highlight_scrolled_to != ui.highlight) {
    const ImGuiIO& io = ImGui::GetIO();
    if (io.MouseWheel != 0 || io.MouseWheelH != 0 || ImGui::IsAnyItemActive() || ImGui::IsMouseDown(ImGuiMouseButton_Left)) {
      ui.highlight_scrolled_to = ui.highlight;  // the user moves the view now
    } else {
      const ImGuiWindow* window = ImGui::GetCurrentWindow();
      const ImRect visible = window->InnerClipRect;
      const float spacing = ImGui::GetStyle().ItemSpacing.y;
      const bool top_shown = min.y >= visible.Min.y - 1;
      const bool in_view = top_shown && (max.y <= visible.Max.y + 1 || min.y <= visible.Min.y + spacing + 1);
      if (!in_view && window->ScrollMax.y > 0)  // the range is last frame's content: known after the first frames
        ImGui::SetScrollY(std::clamp(window->Scroll.y + (min.y - visible.Min.y) - spacing, 0.0f, window->ScrollMax.y));
      ImGui::ScrollToItem(ImGuiScrollFlags_KeepVisibleEdgeX);
    }
  }
  if (ui.highlight.empty()) ui.highlight_scrolled_to.clear();
}

void heading(const ViewContext& ctx, const char* text) {
  if (ctx.heading_font) ImGui::PushFont(ctx.heading_font);
  ImGui::TextUnformatted(text);
  if (ctx.heading_font) ImGui::PopFont();
}

void section_heading(const ViewContext& ctx, const char* text) {
  ImGui::Spacing();
  heading(ctx, text);
  ImGui::Separator();
}

// A label in the left column, the widget after it filling the rest of the row.
void row_label(const char* label, float label_w) {
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted(label);
  // The field starts at label_w: a label reaching past it would be drawn under the field.
  const float label_right = ImGui::GetItemRectMax().x - ImGui::GetWindowPos().x + ImGui::GetScrollX();
  if (label_right > label_w) report_layout_problem(std::string("label '") + label + "' is wider than its column");
  ImGui::SameLine(label_w);
  ImGui::SetNextItemWidth(-FLT_MIN);
}

bool int_row(const char* label, const char* id, int64_t* value, int64_t step, float label_w, const char* tip) {
  row_label(label, label_w);
  // A typed number applies when the field is left (Enter, Tab, a click elsewhere), not on every keystroke: typing
  // 65536 must not run N = 6, 65, 655 and 6553 on the way. The − / + buttons apply at once. While the field is
  // being typed in, what it would parse to is kept here, by the field's id (InputScalar's text field has the id
  // the caller's label gives).
  static std::unordered_map<ImGuiID, int64_t> typed;
  const ImGuiID field = ImGui::GetCurrentWindow()->GetIDNoKeepAlive(id);  // GetID would keep it alive before its group
  const auto draft = typed.find(field);
  int64_t shown = draft != typed.end() ? draft->second : *value;  // the field's own value while it is typed in
  const bool edited = ImGui::InputScalar(id, ImGuiDataType_S64, &shown, &step, nullptr, "%lld");
  if (tip && ImGui::IsItemHovered()) ImGui::SetTooltip("%s", tip);
  if (ImGui::GetActiveID() == field) {  // typing: kept, not applied
    typed[field] = shown;
    return false;
  }
  if (draft != typed.end()) typed.erase(field);  // the field was just left (Escape put the old text back)
  if (shown == *value) return false;
  *value = shown;  // the typed value on leaving, or − / + at once
  return true;
}

ImTextureID to_texture_id(uint32_t gl_texture) {
  return reinterpret_cast<ImTextureID>(static_cast<intptr_t>(gl_texture));
}

void draw_text_vertical(ImDrawList* list, ImVec2 bottom_left, ImU32 color, const char* text) {
  // Draw horizontally, then rotate the new vertices 90° counter-clockwise about the pivot:
  // (dx, dy) -> (dy, -dx) in screen coordinates (y down).
  // The pivot is the glyphs' baseline start, one line right of the box's left edge, so the rotated text
  // lies inside [bottom_left.x, bottom_left.x + line height]. Drawn unclipped: ImGui clips glyphs on the CPU
  // before we rotate them, so the horizontal text must not be culled by the window's clip rectangle.
  const float h = ImGui::GetFontSize();
  // Glyphs cannot be clipped after the rotation, so a label that would not lie wholly inside the list's clip
  // rectangle (a panel scrolled part-way out of view) is left out rather than drawn over its neighbours.
  const float length = ImGui::CalcTextSize(text).x;
  const ImVec2 clip_min = list->GetClipRectMin(), clip_max = list->GetClipRectMax();
  if (bottom_left.x < clip_min.x || bottom_left.x + h > clip_max.x || bottom_left.y - length < clip_min.y ||
      bottom_left.y > clip_max.y)
    return;
  const int first = list->VtxBuffer.Size;
  const ImVec2 pivot(bottom_left.x + h, bottom_left.y);
  list->PushClipRectFullScreen();
  list->AddText(ImVec2(pivot.x, pivot.y - h), color, text);
  list->PopClipRect();
  for (int i = first; i < list->VtxBuffer.Size; ++i) {
    ImDrawVert& v = list->VtxBuffer[i];
    const float dx = v.pos.x - pivot.x, dy = v.pos.y - pivot.y;
    v.pos = ImVec2(pivot.x + dy, pivot.y - dx);
  }
}

}  // namespace attnscope::gui
