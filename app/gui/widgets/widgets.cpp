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
#include "app/gui/presenter/theme.hpp"

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
  return int_field(id, value, step, tip);
}

bool int_field(const char* id, int64_t* value, int64_t step, const char* tip) {
  // A typed number applies when the field is left (Enter, Tab, a click elsewhere), not on every keystroke: typing
  // 65536 must not run N = 6, 65, 655 and 6553 on the way. The − / + buttons apply at once. While the field is
  // being typed in, what it would parse to is kept here, by the field's id (InputScalar's text field has the id
  // the caller's label gives).
  static std::unordered_map<ImGuiID, int64_t> typed;
  const ImGuiID field = ImGui::GetCurrentWindow()->GetIDNoKeepAlive(id);  // GetID would keep it alive before its group
  const auto draft = typed.find(field);
  int64_t shown = draft != typed.end() ? draft->second : *value;  // the field's own value while it is typed in
  ImGui::InputScalar(id, ImGuiDataType_S64, &shown, step > 0 ? &step : nullptr, nullptr, "%lld");
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

bool checked_int_field(const char* id, int64_t* value, int64_t step, const char* tip, const IntRule& rule,
                       std::string* problem) {
  // A refused value stays in the field (what the user typed, to correct), by the field's id, with its reason.
  struct Refused {
    int64_t value;
    std::string reason;
  };
  static std::unordered_map<ImGuiID, Refused> refused;
  const ImGuiID field = ImGui::GetCurrentWindow()->GetIDNoKeepAlive(id);
  auto bad = refused.find(field);
  int64_t shown = bad != refused.end() ? bad->second.value : *value;
  const bool edited = int_field(id, &shown, step, tip);
  bool applied = false;
  if (edited) {
    std::string reason = rule ? rule(shown) : std::string();
    if (reason.empty()) {
      refused.erase(field);
      applied = shown != *value;
      *value = shown;
    } else {
      refused[field] = Refused{shown, std::move(reason)};
    }
  }
  if (problem) {
    const auto now = refused.find(field);
    *problem = now != refused.end() ? now->second.reason : std::string();
  }
  return applied;
}

void field_error(const std::string& message, float label_w) {
  if (message.empty()) return;
  ImGui::SetCursorPosX(ImGui::GetCursorPosX() + label_w);
  ImGui::PushStyleColor(ImGuiCol_Text, error_color());
  ImGui::PushTextWrapPos(0.0f);  // to the window's edge
  ImGui::TextUnformatted(message.c_str());
  ImGui::PopTextWrapPos();
  ImGui::PopStyleColor();
  const ImVec2 min = ImGui::GetItemRectMin(), max = ImGui::GetItemRectMax();
  const ImRect clip = ImGui::GetCurrentWindow()->InnerClipRect;
  drawn_field_errors().push_back(DrawnFieldError{message, min.x, min.y, max.x - min.x, max.y - min.y,
                                                 min.x >= clip.Min.x - 1 && min.y >= clip.Min.y - 1 &&
                                                     max.x <= clip.Max.x + 1 && max.y <= clip.Max.y + 1});
}

std::vector<DrawnFieldError>& drawn_field_errors() {
  static std::vector<DrawnFieldError> drawn;
  return drawn;
}

bool checked_int_row(const char* label, const char* id, int64_t* value, int64_t step, float label_w, const char* tip,
                     const IntRule& rule) {
  row_label(label, label_w);
  std::string problem;
  const bool applied = checked_int_field(id, value, step, tip, rule, &problem);
  if (!problem.empty())
    field_error(problem + " — showing " + label + " = " + std::to_string(*value) + ", the last valid value", label_w);
  return applied;
}

IntRule int_range_rule(int64_t lo, int64_t hi) {
  return [lo, hi](int64_t v) -> std::string {
    if (v >= lo && v <= hi) return {};
    return std::to_string(v) + " is out of range: type a number from " + std::to_string(lo) + " to " + std::to_string(hi);
  };
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
