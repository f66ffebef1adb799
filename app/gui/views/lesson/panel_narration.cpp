// panel_narration.cpp — the narration pane of the open lesson (see panels.hpp).
#include <imgui.h>

#include <cfloat>
#include <cstdio>

#include "app/gui/views/lesson/panels.hpp"
#include "app/gui/widgets/widgets.hpp"

namespace attnscope::gui {
namespace {

// Words of a span with the space after each kept, so a line breaks only between words.
std::vector<std::string> words_of(const std::string& text) {
  std::vector<std::string> words;
  std::string current;
  for (char c : text) {
    current.push_back(c);
    if (c == ' ') {
      words.push_back(current);
      current.clear();
    }
  }
  if (!current.empty()) words.push_back(current);
  return words;
}

}  // namespace

void draw_narration_text(ViewContext& ctx, const std::string& markup) {
  ImDrawList* list = ImGui::GetWindowDrawList();
  const float left = ImGui::GetCursorScreenPos().x;
  const float right = left + ImGui::GetContentRegionAvail().x;
  const float line_h = ImGui::GetTextLineHeightWithSpacing() * 1.08f;
  const ImU32 text_color = ImGui::GetColorU32(ImGuiCol_Text);
  const ImU32 code_bg = IM_COL32(255, 255, 255, 28);
  const ImU32 code_color = IM_COL32(255, 214, 140, 255);
  ImVec2 pos = ImGui::GetCursorScreenPos();
  for (const Paragraph& paragraph : parse_narration(markup)) {
    pos.x = left;
    for (const TextSpan& span : paragraph) {
      ImFont* font = span.code && ctx.mono_font ? ctx.mono_font : span.bold && ctx.bold_font ? ctx.bold_font : ImGui::GetFont();
      const float size = ImGui::GetFontSize();
      for (const std::string& word : words_of(span.text)) {
        const char* begin = word.c_str();
        const char* end = begin + word.size();
        const float w_all = font->CalcTextSizeA(size, FLT_MAX, 0, begin, end).x;
        // The trailing space does not count when deciding whether the word fits.
        const float w_word = word.back() == ' ' ? font->CalcTextSizeA(size, FLT_MAX, 0, begin, end - 1).x : w_all;
        if (pos.x > left && pos.x + w_word > right) {
          pos.x = left;
          pos.y += line_h;
          if (*begin == ' ') continue;
        }
        if (span.code)
          list->AddRectFilled(ImVec2(pos.x - 2, pos.y), ImVec2(pos.x + w_word + 2, pos.y + size), code_bg, 3.0f);
        list->AddText(font, size, pos, span.code ? code_color : text_color, begin, end);
        pos.x += w_all;
      }
    }
    pos.y += line_h * 1.6f;  // the paragraph's last line and a gap
  }
  ImGui::SetCursorScreenPos(ImVec2(left, ImGui::GetCursorScreenPos().y));
  ImGui::Dummy(ImVec2(right - left, pos.y - ImGui::GetCursorScreenPos().y));
}

void draw_lesson_narration_panel(ViewContext& ctx, const std::map<std::string, std::string>& values, bool off_path) {
  LessonViewState& view = ctx.ui.lesson;
  if (!view.open()) return;
  const Lesson& lesson = *view.lesson;
  const LessonStep& step = lesson.steps[static_cast<size_t>(view.step)];
  const float em = ImGui::GetFontSize();

  // Lesson title and a way out.
  const float close_w = ImGui::CalcTextSize("Close").x + ImGui::GetStyle().FramePadding.x * 2;
  ImGui::PushTextWrapPos(ImGui::GetContentRegionAvail().x - close_w - em * 0.5f + ImGui::GetCursorPosX());
  heading(ctx, lesson.title.c_str());
  ImGui::PopTextWrapPos();
  ImGui::SameLine(ImGui::GetContentRegionMax().x - close_w);
  if (ImGui::SmallButton("Close")) {
    close_lesson(view);
    ctx.ui.highlight.clear();
    return;
  }
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("Close the lesson (the app stays as it is)");

  // Progress: "Step 3 of 7" and a bar.
  char progress[64];
  std::snprintf(progress, sizeof progress, "Step %d of %d", view.step + 1, view.steps());
  ImGui::ProgressBar(static_cast<float>(view.step + 1) / static_cast<float>(view.steps()), ImVec2(-FLT_MIN, em * 1.2f),
                     progress);

  // The step list, clickable.
  const float list_h = std::min(static_cast<float>(view.steps()), 5.0f) * ImGui::GetTextLineHeightWithSpacing() +
                       ImGui::GetStyle().WindowPadding.y * 2;
  ImGui::BeginChild("lesson_steps", ImVec2(0, list_h), true);
  for (int i = 0; i < view.steps(); ++i) {
    char label[512];
    std::snprintf(label, sizeof label, "%d. %s", i + 1, lesson.steps[static_cast<size_t>(i)].title.c_str());
    if (ImGui::Selectable(label, i == view.step)) go_to_step(view, i);
    if (i == view.step && view.applied_step != i) ImGui::SetScrollHereY(0.5f);
  }
  ImGui::EndChild();

  // The step: its title and narration, scrolling when long; the buttons stay at the bottom.
  const float buttons_h = ImGui::GetFrameHeightWithSpacing() * (off_path ? 2.2f : 1.2f);
  ImGui::BeginChild("lesson_text", ImVec2(0, -buttons_h), false);
  ImGui::PushTextWrapPos(0);
  heading(ctx, step.title.c_str());
  ImGui::PopTextWrapPos();
  ImGui::Spacing();
  const FilledText filled = fill_placeholders(step.narration, values);
  draw_narration_text(ctx, filled.text);
  if (!view.run_error.empty()) {
    ImGui::PushTextWrapPos(0);
    ImGui::TextColored(ImVec4(1.0f, 0.5f, 0.4f, 1.0f), "The step's run failed: %s", view.run_error.c_str());
    ImGui::PopTextWrapPos();
  }
  ImGui::EndChild();

  if (off_path) {
    if (ImGui::Button("Return to step", ImVec2(-FLT_MIN, 0))) go_to_step(view, view.step);
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Bring back this step's mode, experiment and view");
  }
  const float half = (ImGui::GetContentRegionAvail().x - ImGui::GetStyle().ItemSpacing.x) * 0.5f;
  ImGui::BeginDisabled(view.step == 0);
  if (ImGui::Button("← Prev", ImVec2(half, 0))) go_to_step(view, view.step - 1);
  ImGui::EndDisabled();
  ImGui::SameLine();
  ImGui::BeginDisabled(view.step + 1 >= view.steps());
  if (ImGui::Button("Next →", ImVec2(-FLT_MIN, 0))) go_to_step(view, view.step + 1);
  ImGui::EndDisabled();
  if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled)) ImGui::SetTooltip("Space or → : next step, ← : back");
}

}  // namespace attnscope::gui
