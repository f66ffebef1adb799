// layout.hpp — helpers that make panels follow the window size and the font scale, and the layout checker.
//
// Sizes are in em (multiples of ImGui::GetFontSize()), never in pixels, so a panel laid out at 1x still fits at
// 2x text. Rows of controls flow: an item goes on the current line only when it fits in what is left of the
// line, else on the next. Text that cannot wrap is shortened with an ellipsis and shown whole in its tooltip.
//
// The checker (find_layout_problems) runs after a frame and reports what a viewer would see as broken: a window
// or child window whose content runs past its visible area (clipped), a child window that leaves its parent, a
// table cell whose content is wider than its column, and the problems the helpers below report while drawing
// (a label wider than its form column overlaps the field beside it). `attnscope render` prints them and
// tests/app/test_layout.cpp asserts there are none in every mode.
#pragma once
#include <imgui.h>

#include <string>
#include <vector>

namespace attnscope::gui {

// `n` font heights, in pixels.
float em(float n);

// The width of a button showing `label` (text plus frame padding on both sides).
float button_width(const char* label);
// The width of a checkbox or radio button with `label` (the square, the inner spacing, the text).
float checkbox_width(const char* label);

// Call between two items of a row: the next item (`next_width` pixels wide) goes on this line when it fits in
// the width left of the window's work area, else on the next line. True when it stayed on this line.
bool flow_same_line(float next_width);

// `text` cut to at most `width` pixels in the current font, with "…" at the end when cut; the text itself when it
// fits. Cuts between UTF-8 characters, never inside one.
std::string fit_with_ellipsis(const char* text, float width);
// Text shortened to `width` (the content region left on this line when width <= 0); the whole text in the tooltip
// when it was shortened.
void text_fit(const char* text, float width = 0);

// The index of the first of `variants` (longest first) whose width in the current font is at most `width`; the
// last variant when none fits.
int first_that_fits(const std::vector<const char*>& variants, float width);

// Splits `available` pixels between stacked panels in proportion to `weights`, giving each at least
// `minimum_em[i]` font heights (when the minimums do not all fit, each gets its minimum scaled down in
// proportion). The parts sum to `available` (or to the minimums when those are larger and nothing can shrink).
std::vector<float> share_height(float available, const std::vector<float>& weights,
                                const std::vector<float>& minimum_em);
// The same split with the font height given (no ImGui context needed): minimums are minimum_em[i] * font_px.
std::vector<float> share_length(float available, const std::vector<float>& weights, const std::vector<float>& minimums);

// A region filling the rest of the window for panels that need at least `minimum` pixels to be readable. Returns
// the size to lay the panels out in: the visible size, grown to `minimum` where that is larger, in which case the
// region shows a scroll bar on that axis (the rest is a scroll away, not clipped; this holds also when the minimum
// width fits only before a vertical scroll bar takes its part of the width). Panels inside are sized
// explicitly from the returned size (a child of size 0 would only fill the visible part). end_panel_area closes it.
ImVec2 begin_panel_area(const char* id, ImVec2 minimum);
void end_panel_area();

// A heading's secondary text after it: on the same line when it fits there, else on the next line shortened with
// an ellipsis (whole in the tooltip). Drawn in the disabled text colour.
void detail_after_heading(const char* detail, float gap);

// One layout problem: the window (ImGui's name, child windows as "parent/child") and what is wrong, in words.
struct LayoutProblem {
  std::string window;
  std::string what;
};

// Forget the problems the helpers reported in the previous frame (App::frame calls it before drawing).
void begin_layout_frame();
// A helper's report for the current window, e.g. "label 'head dim' is wider than its column".
void report_layout_problem(std::string what);
// After ImGui::Render: every window drawn this frame checked for clipped content, plus the helpers' reports.
// Overflow under 1 pixel is rounding, not a problem.
std::vector<LayoutProblem> find_layout_problems();

}  // namespace attnscope::gui
