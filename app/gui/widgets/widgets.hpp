// widgets.hpp — the small drawing helpers every view shares: headings, form rows, vertical text, textures.
// (Number, time, byte and token formatting: widgets/format.hpp.)
#pragma once
#include <imgui.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "app/gui/shell/app.hpp"
#include "app/gui/widgets/format.hpp"

namespace attnscope::gui {

// Records the last item's rectangle (a panel's child window) in UiState::element_rects under its lesson name
// ("tile-stream", "timing", ...), for highlights and tests.
void record_element_rect(UiState& ui, const char* name);

// A heading in the heading font (the panel's title).
void heading(const ViewContext& ctx, const char* text);
// A section of a form: a little space, the heading, a separator under it.
void section_heading(const ViewContext& ctx, const char* text);

// A form row: `label` in the left column (label_w wide), the next widget filling the rest of the row.
void row_label(const char* label, float label_w);
// A form row with an integer field and +/- buttons stepping by `step`; `tip` (may be null) on hover.
// Returns true when *value changed: at once for the − / + buttons, for a typed number only when the field is left
// (Enter, Tab, a click elsewhere), never on each keystroke.
bool int_row(const char* label, const char* id, int64_t* value, int64_t step, float label_w, const char* tip);
// The field of int_row alone (no label), for toolbars that lay out their own labels: step 0 draws no − / +.
bool int_field(const char* id, int64_t* value, int64_t step, const char* tip);

// A rule a number field checks before it applies a value: "" when `value` is allowed, else the reason and what to
// do ("0: must be 1..256, type a number from 1 to 256").
using IntRule = std::function<std::string(int64_t value)>;
// int_field with a rule. A value that breaks it is not applied: *value keeps the last valid one, the field keeps
// showing what was typed, and *problem (may be null) gets the rule's sentence until a valid value is entered
// (*problem is cleared then). Returns true when *value changed.
bool checked_int_field(const char* id, int64_t* value, int64_t step, const char* tip, const IntRule& rule,
                       std::string* problem);
// int_row with a rule: the reason is drawn in red on the line under the field, beside it (never in a list further
// down that only scrolling reaches), with "showing <label> = <last valid>, the last valid value".
bool checked_int_row(const char* label, const char* id, int64_t* value, int64_t step, float label_w, const char* tip,
                     const IntRule& rule);
// A field's problem in red under it, starting at the field's column (label_w), wrapped to the window.
void field_error(const std::string& message, float label_w);
// Where field_error drew each message this frame (screen pixels), and whether it lies wholly inside its window's
// visible area: tests check that a problem is on screen beside its field. App::frame clears it as a frame starts.
struct DrawnFieldError {
  std::string text;
  float x = 0, y = 0, w = 0, h = 0;
  bool visible = false;
};
std::vector<DrawnFieldError>& drawn_field_errors();
// "must be lo..hi" rule for checked fields: the sentence names the value and the range.
IntRule int_range_rule(int64_t lo, int64_t hi);

// Text rotated 90° counter-clockwise (reads bottom to top), its baseline's start at `bottom_left`.
void draw_text_vertical(ImDrawList* list, ImVec2 bottom_left, ImU32 color, const char* text);
ImTextureID to_texture_id(uint32_t gl_texture);

}  // namespace attnscope::gui
