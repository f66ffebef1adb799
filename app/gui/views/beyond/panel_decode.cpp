// panel_decode.cpp — (b) generating one token: KV-cache attention reads a cache that grows with the context, the
// recurrent models update a state of constant size. Decode time per token against the context (measured: the
// backend's decode loop and recurrent steps) and what each keeps per layer against the context.
#include <imgui.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "app/gui/plot/plot.hpp"
#include "app/gui/presenter/theme.hpp"
#include "app/gui/views/beyond/panels.hpp"
#include "app/gui/widgets/format.hpp"
#include "app/gui/widgets/layout.hpp"
#include "app/gui/widgets/widgets.hpp"

namespace attnscope::gui {

void draw_beyond_decode_panel(ViewContext& ctx, BeyondViewState& view) {
  const float f = ctx.ui.font_px;
  const ModelPreset& m = view.decode_config.model;
  heading(ctx, "Decode: one token against the context");
  char detail[200];
  std::snprintf(detail, sizeof detail, "%s, one layer: %lld/%lld heads × %lld; scan D=%lld, state %lld · %s backend",
                m.title.c_str(), static_cast<long long>(m.heads), static_cast<long long>(m.kv_heads),
                static_cast<long long>(m.head_dim), static_cast<long long>(m.d_model),
                static_cast<long long>(view.decode_config.scan_state), ctx.state.backend_name.c_str());
  detail_after_heading(detail, ImGui::GetStyle().ItemSpacing.x);
  const TaskState st = ctx.worker->task_state(kBeyondDecodeChannel);
  ImGui::BeginDisabled(st.pending || st.running);
  if (ImGui::Button("Run")) start_beyond_decode(ctx, view);
  ImGui::EndDisabled();
  if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled))
    ImGui::SetTooltip("Fill a KV cache to the context, timing a decode every 1/16 of it, then time the recurrent steps");
  ImGui::SameLine();
  beyond_preset_combo(ctx, view);
  beyond_task_progress(ctx, kBeyondDecodeChannel.name, "beyond_decode_cancel");
  if (!view.decode) {
    ImGui::TextDisabled("Decoding on the worker…");
    return;
  }
  const BeyondDecodeResult& r = *view.decode;
  struct Line {
    std::string label;
    ImU32 color;
    std::vector<double> ctx, ms, bytes;
  };
  Line kv{"KV-cache attention, " + r.kv.storage + " cache", beyond_kind_color(BeyondKind::Flash), {}, {}, {}};
  for (const DecodeStepSample& s : r.kv.samples) {
    kv.ctx.push_back(static_cast<double>(s.context));
    kv.ms.push_back(s.decode_ms);
    kv.bytes.push_back(static_cast<double>(s.cache_bytes));
  }
  auto recurrent = [](const RecurrentDecodeResult& rr, const char* name, ImU32 color) {
    Line l{std::string(name) + " (fp32 state)", color, {}, {}, {}};
    for (const RecurrentDecodeSample& s : rr.samples) {
      l.ctx.push_back(static_cast<double>(s.context));
      l.ms.push_back(s.timing.median_ms);
      l.bytes.push_back(static_cast<double>(rr.state_bytes));
    }
    return l;
  };
  const Line lines[] = {kv, recurrent(r.linear, "linear attention", beyond_kind_color(BeyondKind::Linear)),
                        recurrent(r.scan, "selective scan", beyond_kind_color(BeyondKind::Scan))};
  // The summary at the longest context all three measured.
  std::string errors;
  for (const std::string* e : {&r.kv.error, &r.linear.error, &r.scan.error})
    if (!e->empty()) errors += (errors.empty() ? "" : "; ") + *e;
  if (!errors.empty()) ImGui::TextColored(error_color(), "%s", errors.c_str());
  if (!kv.ctx.empty() && !lines[1].ms.empty() && !lines[2].ms.empty()) {
    char time_line[200], memory_line[200];
    std::snprintf(time_line, sizeof time_line,
                  "At %s tokens: KV-cache decode %s per token, linear attention %s, selective scan %s.",
                  format_tokens(kv.ctx.back()).c_str(), format_time_ms(kv.ms.back()).c_str(),
                  format_time_ms(lines[1].ms.back()).c_str(), format_time_ms(lines[2].ms.back()).c_str());
    std::snprintf(memory_line, sizeof memory_line, "Kept per layer: cache %s, states %s and %s (%.0f× and %.0f× less).",
                  format_bytes(kv.bytes.back()).c_str(), format_bytes(lines[1].bytes.back()).c_str(),
                  format_bytes(lines[2].bytes.back()).c_str(), kv.bytes.back() / lines[1].bytes.back(),
                  kv.bytes.back() / lines[2].bytes.back());
    ImGui::PushStyleColor(ImGuiCol_Text, warning_color());
    ImGui::TextWrapped("%s", time_line);
    flow_same_line(ImGui::CalcTextSize(memory_line).x);
    ImGui::TextWrapped("%s", memory_line);
    ImGui::PopStyleColor();
  }
  const std::string notes =
      "Decode: " + (r.kv.samples.empty() ? std::string("-") : r.kv.storage) + " cache read by one query per head; the " +
      "recurrent steps append the token to the state and read it out (" + r.linear.kernel + "). Memory: the cache " +
      "in use (pages) against the fp32 state, one layer, batch " + std::to_string(r.config.batch) + ".";

  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const ImVec2 spacing = ImGui::GetStyle().ItemSpacing;
  const float notes_h = ImGui::CalcTextSize(notes.c_str(), nullptr, false, avail.x).y + spacing.y;
  const bool side_by_side = (avail.x - spacing.x) * 0.5f >= f * 24;
  const float plots_h = avail.y - notes_h - spacing.y;
  const float plot_h = std::max(f * 10, side_by_side ? plots_h : (plots_h - spacing.y) * 0.5f);
  const float plot_w = side_by_side ? (avail.x - spacing.x) * 0.5f : avail.x;
  std::vector<double> powers_of_two;
  for (double n = 16; n <= double(1 << 22); n *= 2) powers_of_two.push_back(n);
  for (int memory = 0; memory < 2; ++memory) {
    if (memory && side_by_side) ImGui::SameLine();
    if (!plot::BeginPlot(memory ? "What decoding keeps per layer##decode_mem" : "Decode time per token##decode_time",
                         ImVec2(plot_w, plot_h)))
      continue;
    plot::SetupAxis(plot::Axis::X, "context (tokens)", plot::Scale::Log10);
    plot::SetupAxis(plot::Axis::Y, memory ? "bytes" : "time per token (ms)", plot::Scale::Log10);
    if (memory) plot::SetupAxisUnit(plot::Axis::Y, plot::Unit::Bytes);
    plot::SetupAxisTicks(plot::Axis::X, powers_of_two);
    plot::SetupAxisFormat(plot::Axis::X, [](double n) { return format_tokens(n); });
    for (const Line& l : lines) {
      plot::ItemStyle style;
      style.color = l.color;
      style.marker = plot::Marker::Circle;
      plot::PlotLine(l.label.c_str(), l.ctx, memory ? l.bytes : l.ms, style);
    }
    plot::EndPlot();
  }
  ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
  ImGui::TextWrapped("%s", notes.c_str());
  ImGui::PopStyleColor();
}

}  // namespace attnscope::gui
