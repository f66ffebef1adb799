// panel_memory.cpp — memory: the device's used / free (Backend::memory(), polled by the status bar), what each
// algorithm allocated on the experiment beyond its inputs and output (measured by the backend), the formula sizes
// of S and P, and the KV cache a decoder keeps for this context.
#include <imgui.h>

#include <algorithm>
#include <cstdio>

#include "app/gui/plot/plot.hpp"
#include "app/gui/views/scaling/panels.hpp"
#include "app/gui/presenter/theme.hpp"

namespace attnscope::gui {
namespace {

// A horizontal bar of `fraction` of the width, with text on it.
void bar(float fraction, ImU32 color, const std::string& text, float width) {
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 p = ImGui::GetCursorScreenPos();
  const float h = ImGui::GetTextLineHeight();
  dl->AddRectFilled(p, ImVec2(p.x + width, p.y + h), palette().frame_bg);
  dl->AddRectFilled(p, ImVec2(p.x + width * std::clamp(fraction, 0.0f, 1.0f), p.y + h), color);
  dl->AddText(ImVec2(p.x + 4, p.y), palette().text, text.c_str());
  ImGui::Dummy(ImVec2(width, h));
}

const char* what_is_allocated(Algorithm a, bool cpu) {
  switch (a) {
    case Algorithm::Naive: return cpu ? "S and P of one head at a time (N×N fp32 each)" : "S and P of every head (N×N each)";
    case Algorithm::Flash: return cpu ? "per-worker Q/K/V tiles, m and l" : "block mask (tiles in on-chip memory)";
    case Algorithm::Flash1: return "m and l of every row (re-read each pass) + tiles";
    case Algorithm::BlockSparse: return "block mask + per-worker tiles";
    case Algorithm::Gathered: return "gathered key lists per Q tile + tiles";
    case Algorithm::FlashTensorCore: return "visit schedule (tiles to compute, mask bits); tiles on chip";
    default: return "";
  }
}

}  // namespace

void draw_memory_panel(ViewContext& ctx, ScalingViewState& view) {
  const float f = ctx.ui.font_px;
  const bool cpu = ctx.state.capabilities.memory == BackendCapabilities::Memory::Host;
  heading(ctx, cpu ? "Memory: host memory and what each algorithm allocated"
                           : "Memory: device memory and what each algorithm allocated");
  const float width = std::min(ImGui::GetContentRegionAvail().x, f * 48);

  // ---- the device
  const std::optional<MemoryInfo>& m = view.memory.info;
  ImGui::TextWrapped("%s (%s backend, %s)", cpu ? "Host memory" : "Device memory", ctx.state.backend_name.c_str(),
                     ctx.state.device_name.c_str());
  if (!m || !m->known) {
    ImGui::TextDisabled(m ? "this backend does not report its memory" : "asking the backend…");
  } else if (m->total_bytes > 0) {
    const double used = static_cast<double>(m->total_bytes - std::min(m->total_bytes, m->free_bytes));
    bar(static_cast<float>(used / static_cast<double>(m->total_bytes)), IM_COL32(86, 150, 200, 255),
        "used " + format_bytes(used) + " of " + format_bytes(static_cast<double>(m->total_bytes)) + "  ·  " +
            format_bytes(static_cast<double>(m->free_bytes)) + " free",
        width);
    ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
    ImGui::TextWrapped("Backend::memory(), asked every few seconds on the worker%s", cpu ? " (MemAvailable)" : "");
    ImGui::PopStyleColor();
  } else {
    ImGui::Text("%s free", format_bytes(static_cast<double>(m->free_bytes)).c_str());
  }
  ImGui::Spacing();

  // ---- what each algorithm allocated on the experiment
  if (view.history.empty()) {
    ImGui::TextDisabled("Waiting for the first timing run…");
    return;
  }
  const TimingRun& run = view.history.back();
  const AttentionSpec& s = run.spec;
  const double e = dtype_bytes(s.dtype);
  const double io = e * static_cast<double>(2 * s.q_elements() + 2 * s.kv_elements());
  ImGui::TextWrapped("Allocated on run %d (%s), beyond Q, K, V and O (%s in %s):", run.number, run.experiment.c_str(),
                     format_bytes(io).c_str(), dtype_name(s.dtype));
  double largest = 1;
  for (auto& a : run.algorithms) largest = std::max(largest, static_cast<double>(a.ok ? a.bytes_allocated : a.bytes_needed));
  const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerH | ImGuiTableFlags_SizingFixedFit;
  if (ImGui::BeginTable("allocated", 3, flags)) {
    ImGui::TableSetupColumn("algorithm");
    ImGui::TableSetupColumn("allocated (bar: against the largest)", ImGuiTableColumnFlags_WidthFixed, f * 16);
    // The last column takes the rest of the width and wraps its text there: the table never runs past the panel.
    ImGui::TableSetupColumn("what it is", ImGuiTableColumnFlags_WidthStretch);
    ImGui::TableHeadersRow();
    for (const AlgorithmTiming& a : run.algorithms) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      timing_label_cell(a, run.spec);
      ImGui::TableNextColumn();
      const double bytes = static_cast<double>(a.ok ? a.bytes_allocated : a.bytes_needed);
      bar(static_cast<float>(bytes / largest), (algorithm_color(a.algorithm) & 0x00FFFFFF) | (150u << 24),
          (a.ok ? "" : "needs ") + format_bytes(bytes), f * 16);
      ImGui::TableNextColumn();
      if (a.ok) {
        ImGui::TextWrapped("%s", what_is_allocated(a.algorithm, cpu));
      } else {
        ImGui::PushStyleColor(ImGuiCol_Text, error_color());
        ImGui::TextWrapped("%s", a.error.c_str());
        ImGui::PopStyleColor();
      }
    }
    ImGui::EndTable();
  }
  ImGui::Spacing();

  // ---- formula sizes: S and P, and the KV cache of this context
  const double n_q = static_cast<double>(s.q_len), n_k = static_cast<double>(s.kv_len);
  const double sp_head = 2 * n_q * n_k * 4;
  const double sp_all = sp_head * static_cast<double>(s.batch * s.q_heads);
  char line[256];
  std::snprintf(line, sizeof line, "S and P in fp32: 2·Nq·Nk·4 B = 2·%lld·%lld·4 = %s per head, %s for all %lld heads",
                static_cast<long long>(s.q_len), static_cast<long long>(s.kv_len), format_bytes(sp_head).c_str(),
                format_bytes(sp_all).c_str(), static_cast<long long>(s.batch * s.q_heads));
  ImGui::TextWrapped("%s", line);
  const double kv = 2 * static_cast<double>(s.batch * s.kv_heads) * n_k * static_cast<double>(s.head_dim) * e;
  std::snprintf(line, sizeof line, "KV cache a decoder keeps for this context: 2·B·Hkv·N·d·e = 2·%lld·%lld·%lld·%lld·%.0f = %s per layer",
                static_cast<long long>(s.batch), static_cast<long long>(s.kv_heads), static_cast<long long>(s.kv_len),
                static_cast<long long>(s.head_dim), e, format_bytes(kv).c_str());
  ImGui::TextWrapped("%s", line);
  ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
  ImGui::TextWrapped("Flash keeps only tiles on chip, so its allocation does not grow with N²; the KV cache grows "
                     "with N (the KV cache mode follows it token by token).");
  ImGui::PopStyleColor();
  ImGui::Spacing();

  // ---- used / free over this session
  const MemoryReadout& r = view.memory;
  if (r.seconds.size() >= 1 && ImGui::GetContentRegionAvail().y > f * 8) {
    std::vector<double> t(r.seconds.size());
    for (size_t i = 0; i < t.size(); ++i) t[i] = r.seconds[i] - r.seconds.front();
    const std::vector<double>& used = r.used_bytes;
    const std::vector<double>& free_b = r.free_bytes;
    if (plot::BeginPlot(cpu ? "Host memory over this session##memory_history" : "Device memory over this session##memory_history",
                        ImVec2(-1, -1))) {
      plot::SetupAxis(plot::Axis::X, "time since the first reading (s)");
      plot::SetupAxis(plot::Axis::Y, "memory (bytes)");
      plot::SetupAxisUnit(plot::Axis::Y, plot::Unit::Bytes);
      const double total = m && m->total_bytes ? static_cast<double>(m->total_bytes) : 0;
      plot::SetupAxisLimits(plot::Axis::Y, 0, std::max(total, *std::max_element(free_b.begin(), free_b.end())) * 1.05);
      if (t.back() > 0) plot::SetupAxisLimits(plot::Axis::X, 0, t.back());
      plot::PlotLine("used", t, used, plot::ItemStyle{.color = IM_COL32(86, 150, 200, 255)});
      plot::PlotLine("free", t, free_b, plot::ItemStyle{.color = IM_COL32(0, 158, 115, 255)});
      plot::EndPlot();
    }
  }
}

}  // namespace attnscope::gui
