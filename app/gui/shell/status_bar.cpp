// status_bar.cpp — one line at the bottom: backend and device, device memory used / free (Backend::memory(), asked
// on the worker every few seconds), what the picture cost, renderer and frame time.
#include <imgui.h>

#include <algorithm>
#include <any>
#include <cmath>
#include <cstdio>

#include "app/gui/shell/modes.hpp"
#include "app/gui/widgets/widgets.hpp"
#include "app/gui/views/scaling/model.hpp"
#include "app/gui/presenter/theme.hpp"

namespace attnscope::gui {
namespace {

constexpr double kMemoryPollSeconds = 3.0;

// Takes the last answer and asks again every few seconds (a pending poll is replaced, never queued twice).
void poll_memory(ViewContext& ctx, MemoryReadout& readout) {
  if (!ctx.worker) return;
  if (auto info = ctx.worker->take_task_result(kMemoryChannel)) {
    readout.info = *info;
    if (info->known) {
      if (readout.seconds.size() >= kMemoryHistory)
        for (auto* v : {&readout.seconds, &readout.used_bytes, &readout.free_bytes}) v->erase(v->begin());
      const double free_b = static_cast<double>(info->free_bytes);
      readout.seconds.push_back(ImGui::GetTime());
      readout.free_bytes.push_back(free_b);
      readout.used_bytes.push_back(info->total_bytes ? static_cast<double>(info->total_bytes) - free_b : NAN);
    }
  }
  const double now = ImGui::GetTime();
  if (now - readout.asked_at >= kMemoryPollSeconds) {
    readout.asked_at = now;
    ctx.worker->submit_task(kMemoryChannel, make_memory_task());
  }
}

}  // namespace

void draw_status_bar(ViewContext& ctx) {
  const AppState& s = ctx.state;
  MemoryReadout& mem = ctx.ui.scaling.memory;
  // Recording or rendering a scene (fixed time step): what differs from run to run (memory, measured times, the
  // frame rate) is left out, so the same scene gives the same pixels.
  const bool repeatable = ctx.ui.fixed_time_step > 0;
  if (!repeatable) poll_memory(ctx, mem);
  const float gap = ctx.ui.font_px * 1.2f;
  ImGui::Separator();
  ImGui::TextDisabled("backend");
  ImGui::SameLine();
  ImGui::Text("%s · %s", s.backend_name.c_str(), s.device_name.c_str());
  if (mem.info && mem.info->known && !repeatable) {
    ImGui::SameLine(0, gap);
    ImGui::TextDisabled("%s", s.capabilities.memory_words());
    ImGui::SameLine();
    const double free_b = static_cast<double>(mem.info->free_bytes);
    if (mem.info->total_bytes > 0) {
      const double used = static_cast<double>(mem.info->total_bytes) - free_b;
      ImGui::Text("%s used / %s free", format_bytes(std::max(0.0, used)).c_str(), format_bytes(free_b).c_str());
    } else {
      ImGui::Text("%s free", format_bytes(free_b).c_str());
    }
  }
  ImGui::SameLine(0, gap);
  if (s.computing) {
    if (repeatable) ImGui::TextColored(warning_color(), "computing…");
    else ImGui::TextColored(warning_color(), "computing… %.1f s", s.computing_seconds);
  } else if (s.shown) {
    const ScoreImage& img = s.shown->image;
    ImGui::TextDisabled("picture");
    ImGui::SameLine();
    if (repeatable) ImGui::Text("%d×%d cells", img.rows, img.cols);
    else ImGui::Text("%d×%d cells in %s", img.rows, img.cols, format_time_ms(img.elapsed_ms + s.shown->generate_ms).c_str());
  }
  if (repeatable) return;
  char right[160];
  std::snprintf(right, sizeof right, "frame %s (%.0f fps)", format_time_ms(ctx.ui.frame_ms).c_str(),
                ctx.ui.frame_ms > 0 ? 1000.0 / ctx.ui.frame_ms : 0.0);
  // At the right end when it fits after the rest (large presenter text: left out rather than drawn over it).
  const float w = ImGui::CalcTextSize(right).x;
  ImGui::SameLine(0, gap);
  if (ImGui::GetCursorPosX() + w > ImGui::GetWindowContentRegionMax().x) return;
  ImGui::SetCursorPosX(ImGui::GetWindowContentRegionMax().x - w);
  ImGui::TextDisabled("%s", right);
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("renderer: %s (%s)", s.gl_renderer.c_str(), s.platform_name.c_str());
}

}  // namespace attnscope::gui
