// status_bar.cpp — one line at the bottom: backend and device, a background task of an on-screen view that failed
// (its message), device memory used / free (Backend::memory(), asked on the worker every few seconds), what the
// picture cost, renderer and frame time.
#include <imgui.h>

#include <algorithm>
#include <any>
#include <cmath>
#include <cstdio>
#include <string>

#include "app/gui/shell/modes.hpp"
#include "app/gui/widgets/layout.hpp"
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
  const float gap = em(1.2f);
  ImGui::Separator();
  // One line whatever the text size: segments (a dim label, a value) left to right while each fits; the first that
  // does not fit is shortened with an ellipsis (whole in its tooltip) and the rest are left out.
  bool first = true, room_left = true;
  auto segment = [&](const char* label, const std::string& value, ImVec4 value_color) {
    if (!room_left) return;
    if (!first) ImGui::SameLine(0, gap);
    const float spacing = ImGui::GetStyle().ItemSpacing.x;
    const float want = ImGui::CalcTextSize(label).x + spacing + ImGui::CalcTextSize(value.c_str()).x;
    const float avail = ImGui::GetContentRegionAvail().x;
    first = false;
    if (want <= avail) {
      if (*label) {
        ImGui::TextDisabled("%s", label);
        ImGui::SameLine();
      }
      ImGui::TextColored(value_color, "%s", value.c_str());
      return;
    }
    room_left = false;
    if (avail > em(3)) text_fit((std::string(label) + (*label ? " " : "") + value).c_str(), avail);
  };
  const ImVec4 text_color = ImGui::GetStyleColorVec4(ImGuiCol_Text);
  segment("backend", s.backend_name + " · " + s.device_name, text_color);
  // A task that threw (out of memory, a backend error): its message, whichever view it belongs to; the next run of
  // that task clears it.
  if (ctx.worker)
    if (const auto failures = ctx.worker->visible_failures(); !failures.empty())
      segment("failed", failures.front().view + ": " + failures.front().error, error_color());
  if (mem.info && mem.info->known && !repeatable) {
    const double free_b = static_cast<double>(mem.info->free_bytes);
    const double used = static_cast<double>(mem.info->total_bytes) - free_b;
    segment(s.capabilities.memory_words(),
            mem.info->total_bytes > 0 ? format_bytes(std::max(0.0, used)) + " used / " + format_bytes(free_b) + " free"
                                      : format_bytes(free_b) + " free",
            text_color);
  }
  if (s.computing) {
    char text[64];
    std::snprintf(text, sizeof text, "computing… %.1f s", s.computing_seconds);
    segment("", repeatable ? "computing…" : text, warning_color());
  } else if (s.shown) {
    const ScoreImage& img = s.shown->image;
    std::string cells = std::to_string(img.rows) + "×" + std::to_string(img.cols) + " cells";
    if (!repeatable) cells += " in " + format_time_ms(img.elapsed_ms + s.shown->generate_ms);
    segment("picture", cells, text_color);
  }
  if (!room_left) return;
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
