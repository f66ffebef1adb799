// status_bar.cpp — one line at the bottom: backend and device, what the picture cost, renderer, frame time.
#include <imgui.h>

#include <algorithm>
#include <cstdio>

#include "app/gui/panels.hpp"

namespace attnscope::gui {

void draw_status_bar(ViewContext& ctx) {
  const AppState& s = ctx.state;
  ImGui::Separator();
  ImGui::TextDisabled("backend");
  ImGui::SameLine();
  ImGui::Text("%s · %s", s.backend_name.c_str(), s.device_name.c_str());
  ImGui::SameLine(0, ctx.ui.font_px * 1.5f);
  if (s.computing) {
    ImGui::TextColored(ImVec4(1.0f, 0.8f, 0.3f, 1), "computing… %.1f s", s.computing_seconds);
  } else if (s.shown) {
    const ScoreImage& img = s.shown->image;
    ImGui::TextDisabled("picture");
    ImGui::SameLine();
    ImGui::Text("%d×%d cells in %.0f ms", img.rows, img.cols, img.elapsed_ms + s.shown->generate_ms);
  }
  char right[160];
  std::snprintf(right, sizeof right, "%s · frame %.1f ms (%.0f fps)", s.gl_renderer.c_str(), ctx.ui.frame_ms,
                ctx.ui.frame_ms > 0 ? 1000.0 / ctx.ui.frame_ms : 0.0);
  const float w = ImGui::CalcTextSize(right).x;
  ImGui::SameLine(std::max(ImGui::GetCursorPosX() + ctx.ui.font_px, ImGui::GetWindowContentRegionMax().x - w));
  ImGui::TextDisabled("%s", right);
}

}  // namespace attnscope::gui
