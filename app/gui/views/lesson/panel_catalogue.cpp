// panel_catalogue.cpp — the Lessons tab: the lessons folder's files, each with title, summary and step count, and
// an Open button; a file that does not load is listed with its errors (file and line), the others still open.
#include <imgui.h>

#include <cfloat>

#include "app/gui/views/lesson/panels.hpp"
#include "app/gui/widgets/widgets.hpp"

namespace attnscope::gui {

void draw_lesson_catalogue_panel(ViewContext& ctx) {
  LessonViewState& view = ctx.ui.lesson;
  const float em = ImGui::GetFontSize();
  const ImVec4 error_color(1.0f, 0.5f, 0.4f, 1.0f);
  heading(ctx, "Lessons");
  ImGui::PushTextWrapPos(0);
  ImGui::TextDisabled("Guided steps that set the app's state and run real kernels on this machine's backend; the "
                      "numbers in the narration are measured here. Space or → next step, ← back.");
  ImGui::PopTextWrapPos();
  if (ImGui::SmallButton("Reload")) view.scanned = false;
  ImGui::SameLine();
  ImGui::TextDisabled("from %s", view.dir.c_str());
  for (const std::string& e : view.open_errors) {
    ImGui::PushTextWrapPos(0);
    ImGui::TextColored(error_color, "%s", e.c_str());
    ImGui::PopTextWrapPos();
  }
  ImGui::Separator();
  if (view.catalogue.empty()) {
    ImGui::PushTextWrapPos(0);
    ImGui::TextColored(error_color, "No lesson files (*.json) in %s. Start the app with --lessons DIR to use another "
                       "folder.", view.dir.c_str());
    ImGui::PopTextWrapPos();
    return;
  }
  ImGui::BeginChild("lesson_list", ImVec2(0, 0), false);
  for (size_t i = 0; i < view.catalogue.size(); ++i) {
    const LessonEntry& entry = view.catalogue[i];
    ImGui::PushID(static_cast<int>(i));
    ImGui::BeginGroup();
    const bool current = view.open() && view.lesson->source == entry.path;
    ImGui::BeginDisabled(!entry.errors.empty());
    if (ImGui::Button(current ? "Restart" : "Open", ImVec2(em * 5.5f, 0))) {
      if (open_lesson(view, entry.path, app_lesson_vocabulary())) go_to_step(view, 0);
      else view.scanned = false;  // the file changed since the scan: list it again with its errors
    }
    ImGui::EndDisabled();
    ImGui::SameLine();
    ImGui::BeginGroup();
    ImGui::PushTextWrapPos(0);
    heading(ctx, entry.title.c_str());
    if (entry.errors.empty()) {
      ImGui::TextUnformatted(entry.summary.c_str());
      ImGui::TextDisabled("%d steps", entry.steps);
    } else {
      for (const std::string& e : entry.errors) ImGui::TextColored(error_color, "%s", e.c_str());
    }
    ImGui::PopTextWrapPos();
    ImGui::EndGroup();
    ImGui::EndGroup();
    ImGui::Spacing();
    ImGui::Separator();
    ImGui::PopID();
  }
  ImGui::EndChild();
}

}  // namespace attnscope::gui
