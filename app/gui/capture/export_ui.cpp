// export_ui.cpp — see export_ui.hpp. The prompt's state lives here (one prompt at a time), so a panel only calls
// figure_context_menu after publishing its figure.
#include "app/gui/capture/export_ui.hpp"

#include <imgui.h>

#include <array>
#include <cstring>
#include <filesystem>

#include "app/gui/capture/figure_registry.hpp"

namespace attnscope::gui::capture {
namespace {

struct ExportPrompt {
  bool open_requested = false;
  std::string id, title, extension;
  std::array<char, 1024> path{};
  std::string error, written;
};

ExportPrompt& prompt() {
  static ExportPrompt p;
  return p;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  return s;
}

void start_prompt(const ExportSource& source, const std::string& extension) {
  ExportPrompt& p = prompt();
  p = ExportPrompt{};
  p.open_requested = true;
  p.id = source.id;
  p.title = source.title;
  p.extension = extension;
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::current_path(ec);
  const std::string path = (ec ? std::filesystem::path() : dir / default_export_name(source.id, extension)).string();
  std::strncpy(p.path.data(), ec ? default_export_name(source.id, extension).c_str() : path.c_str(), p.path.size() - 1);
}

}  // namespace

void figure_context_menu(const std::string& id, bool open) {
  const ExportSource* source = find_source(id);
  if (!source) return;
  ImGui::PushID(id.c_str());
  if (open) ImGui::OpenPopup("##figure_export_menu");
  if (ImGui::BeginPopup("##figure_export_menu")) {
    ImGui::TextDisabled("%s", source->title.empty() ? id.c_str() : source->title.c_str());
    ImGui::Separator();
    for (const std::string& ext : export_extensions(*source)) {
      const std::string label = "Export " + upper(ext) + "…";
      if (ImGui::MenuItem(label.c_str())) start_prompt(*source, ext);
      if (ImGui::IsItemHovered())
        ImGui::SetTooltip("%s", ext == "svg"   ? "Vector graphics: lines, markers and text stay editable"
                                : ext == "csv" ? "Every point of every series"
                                               : "The picture at full resolution, one pixel per cell");
    }
    ImGui::EndPopup();
  }
  ImGui::PopID();
}

void draw_export_dialog(float font_px) {
  ExportPrompt& p = prompt();
  const char* name = "Export figure";
  if (p.open_requested) {
    ImGui::OpenPopup(name);
    p.open_requested = false;
  }
  if (!ImGui::BeginPopupModal(name, nullptr, ImGuiWindowFlags_AlwaysAutoResize)) return;
  ImGui::Text("%s as %s", p.title.empty() ? p.id.c_str() : p.title.c_str(), upper(p.extension).c_str());
  if (!p.written.empty()) {
    ImGui::Text("Wrote %s", p.written.c_str());
    if (ImGui::Button("Close") || ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Escape))) ImGui::CloseCurrentPopup();
    ImGui::EndPopup();
    return;
  }
  ImGui::SetNextItemWidth(font_px * 36);
  if (ImGui::IsWindowAppearing()) ImGui::SetKeyboardFocusHere();
  const bool enter = ImGui::InputText("##path", p.path.data(), p.path.size(), ImGuiInputTextFlags_EnterReturnsTrue);
  if (!p.error.empty()) {
    ImGui::PushStyleColor(ImGuiCol_Text, IM_COL32(255, 120, 100, 255));
    ImGui::PushTextWrapPos(font_px * 36);
    ImGui::TextUnformatted(p.error.c_str());
    ImGui::PopTextWrapPos();
    ImGui::PopStyleColor();
  }
  if (ImGui::Button("Save") || enter) {
    if (const ExportSource* source = find_source(p.id)) {
      p.error = export_source(*source, p.path.data());
      if (p.error.empty()) p.written = p.path.data();
    } else {
      p.error = "the figure '" + p.id + "' is no longer shown; open its view and try again";
    }
  }
  ImGui::SameLine();
  if (ImGui::Button("Cancel") || ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Escape))) ImGui::CloseCurrentPopup();
  ImGui::EndPopup();
}

}  // namespace attnscope::gui::capture
