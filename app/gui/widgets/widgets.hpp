// widgets.hpp — the small drawing helpers every view shares: headings, form rows, vertical text, textures.
// (Number, time, byte and token formatting: widgets/format.hpp.)
#pragma once
#include <imgui.h>

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

// Text rotated 90° counter-clockwise (reads bottom to top), its baseline's start at `bottom_left`.
void draw_text_vertical(ImDrawList* list, ImVec2 bottom_left, ImU32 color, const char* text);
ImTextureID to_texture_id(uint32_t gl_texture);

}  // namespace attnscope::gui
