// theme_imgui.cpp — a theme's palette applied to Dear ImGui's style colours and to the plots' style.
#include <imgui.h>

#include "app/gui/plot/plot.hpp"
#include "app/gui/presenter/palette.hpp"
#include "app/gui/presenter/presenter.hpp"

namespace attnscope::gui {
namespace {

ImVec4 vec(PackedColor c, float alpha_scale = 1.0f) {
  return ImVec4(channel(c, 0) / 255.f, channel(c, 1) / 255.f, channel(c, 2) / 255.f, channel(c, 3) / 255.f * alpha_scale);
}

}  // namespace

void apply_theme_colors(Theme theme) {
  set_palette_theme(theme);
  const Palette& p = palette();
  ImGuiStyle& style = ImGui::GetStyle();
  // ImGui's own theme first (for the colours not named below), then ours on top.
  if (theme == Theme::Light) ImGui::StyleColorsLight(&style);
  else ImGui::StyleColorsDark(&style);
  ImVec4* c = style.Colors;
  c[ImGuiCol_Text] = vec(p.text);
  c[ImGuiCol_TextDisabled] = vec(p.text_muted);
  c[ImGuiCol_WindowBg] = vec(p.window_bg);
  c[ImGuiCol_ChildBg] = vec(p.child_bg);
  c[ImGuiCol_PopupBg] = vec(p.child_bg);
  c[ImGuiCol_MenuBarBg] = vec(p.child_bg);
  c[ImGuiCol_Border] = vec(p.separator);
  c[ImGuiCol_Separator] = vec(p.separator);
  c[ImGuiCol_FrameBg] = vec(p.frame_bg);
  c[ImGuiCol_FrameBgHovered] = vec(p.button_hover);
  c[ImGuiCol_FrameBgActive] = vec(p.button_hover);
  c[ImGuiCol_Button] = vec(p.button);
  c[ImGuiCol_ButtonHovered] = vec(p.button_hover);
  c[ImGuiCol_ButtonActive] = vec(p.accent);
  c[ImGuiCol_Header] = vec(p.button);
  c[ImGuiCol_HeaderHovered] = vec(p.button_hover);
  c[ImGuiCol_HeaderActive] = vec(p.accent);
  c[ImGuiCol_Tab] = vec(p.frame_bg);
  c[ImGuiCol_TabHovered] = vec(p.button_hover);
  c[ImGuiCol_TabActive] = vec(p.button_hover);
  c[ImGuiCol_CheckMark] = vec(p.accent);
  c[ImGuiCol_SliderGrab] = vec(p.accent);
  c[ImGuiCol_SliderGrabActive] = vec(p.accent);
  c[ImGuiCol_TitleBg] = vec(p.child_bg);
  c[ImGuiCol_TitleBgActive] = vec(p.button);
  c[ImGuiCol_ModalWindowDimBg] = vec(p.window_bg, 0.6f);
  c[ImGuiCol_TableHeaderBg] = vec(p.frame_bg);
  c[ImGuiCol_TableBorderStrong] = vec(p.separator);
  c[ImGuiCol_TableBorderLight] = vec(p.separator, 0.5f);

  plot::PlotStyle& ps = plot::GetStyle();
  ps.frame_bg = p.plot_bg;
  ps.border = p.plot_border;
  ps.grid_major = p.grid_major;
  ps.grid_minor = p.grid_minor;
  ps.text = p.text_on_plot;
  ps.legend_bg = p.legend_bg;
  // Okabe–Ito; on white its yellow and light grey are too faint, so the light theme darkens those two.
  ps.palette[4] = theme == Theme::Light ? IM_COL32(150, 130, 0, 255) : IM_COL32(240, 228, 66, 255);
  ps.palette[7] = theme == Theme::Light ? IM_COL32(80, 80, 80, 255) : IM_COL32(200, 200, 200, 255);
}

}  // namespace attnscope::gui
