// export_ui.hpp — the export menu of a figure and its path prompt (Dear ImGui).
//
//   right-click a plot or heatmap  ->  "Export SVG…" / "Export CSV…" / "Export PNG…"  ->  a prompt with the path
//   (attnscope-<id>.<ext> in the current directory), Save / Cancel; an error (missing folder, full disk) is shown
//   in the prompt and the app goes on.
#pragma once
#include <string>

namespace attnscope::gui::capture {

// Call once per frame for a published figure (capture::publish), inside the window it was drawn in; `open`: the
// user right-clicked it this frame.
void figure_context_menu(const std::string& id, bool open);
// The path prompt: once per frame, inside the main window (App::frame calls it).
void draw_export_dialog(float font_px);

}  // namespace attnscope::gui::capture
