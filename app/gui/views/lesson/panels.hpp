// panels.hpp — the lesson views' panels: the catalogue (the Lessons tab) and the narration pane beside the mode a
// step sets. mode.cpp drives them (applying steps, the run's task, keys) and lays them out.
#pragma once
#include <map>
#include <string>

#include "app/gui/shell/app.hpp"

namespace attnscope::gui {

// The Lessons tab: every lesson file with its title, summary and step count; broken files with their errors.
void draw_lesson_catalogue_panel(ViewContext& ctx);

// The narration pane: lesson title, step list, progress, the step's title and narration with its placeholders
// filled from `values`, Prev / Next and "Return to step" when the user has left the step's state.
void draw_lesson_narration_panel(ViewContext& ctx, const std::map<std::string, std::string>& values, bool off_path);

// Paragraphs of narration markup wrapped to the available width: **bold** in the bold font, `code` in the mono font
// on a faint background.
void draw_narration_text(ViewContext& ctx, const std::string& markup);

}  // namespace attnscope::gui
