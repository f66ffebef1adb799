// panel_pattern_editor.cpp — the pattern editor: causal, the union of terms with every term's parameters,
// add/remove, and the painted-grid term; shared by Explore's control panel (pattern A = the experiment's
// mask) and the Sparsity mode (patterns A and B), plus the Sparsity mode's left column.
#include <imgui.h>

#include <algorithm>
#include <cfloat>
#include <cstring>

#include "app/gui/widgets/widgets.hpp"
#include "app/gui/views/sparsity/panels.hpp"
#include "app/gui/presenter/theme.hpp"

namespace attnscope::gui {
namespace {


}  // namespace

void draw_pattern_editor_panel(ViewContext& ctx) {
  UiState& ui = ctx.ui;
  SparsityViewState& s = ui.sparsity_view;
  const float label_w = pattern_label_width();
  section_heading(ctx, "Pattern");
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted("edit");
  ImGui::SameLine();
  if (ImGui::RadioButton("A (Explore's mask)", s.editing == PatternSlot::A)) s.editing = PatternSlot::A;
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("pattern A is the experiment's mask: the Explore tab shows it");
  ImGui::SameLine();
  if (ImGui::RadioButton("B", s.editing == PatternSlot::B)) s.editing = PatternSlot::B;
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("a second pattern to compare with A");
  ImGui::PushID(static_cast<int>(s.editing));
  if (s.editing == PatternSlot::A) {
    if (draw_pattern_terms({ui.terms, ui.draft.causal, ui.grid}, ui.draft.n, label_w)) {
      commit_pattern_a(ctx);
      s.changed_at = ImGui::GetTime();
    }
  } else if (draw_pattern_terms(s.b.ref(), ui.draft.n, label_w)) {
    s.changed_at = ImGui::GetTime();
  }
  ImGui::PopID();
  if (s.editing == PatternSlot::B && ImGui::Button("copy A into B")) {
    s.b.terms = ui.terms;
    s.b.grid = ui.grid;
    s.b.causal = ui.draft.causal;
    s.changed_at = ImGui::GetTime();
  }

  section_heading(ctx, "Tiles and timing");
  int64_t br = s.br, bc = s.bc;
  bool tiles_changed = int_row("Br", "##br", &br, 16, label_w, "rows of a Q tile (the block-sparse kernel's tile)");
  tiles_changed |= int_row("Bc", "##bc", &bc, 16, label_w, "keys of a K/V tile");
  if (tiles_changed) {
    s.br = static_cast<int>(std::clamp<int64_t>(br, 1, 1024));
    s.bc = static_cast<int>(std::clamp<int64_t>(bc, 1, 1024));
    s.changed_at = ImGui::GetTime();
  }
  if (ImGui::Checkbox("measure on the backend", &s.measure)) s.changed_at = ImGui::GetTime();
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("run dense flash and block-sparse (gathered for strided/dilated) on the worker, %d repetitions",
                      s.repetitions);
  ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
  ImGui::TextWrapped("N = %lld, d = %lld, %lld head(s): set in Explore", static_cast<long long>(ui.draft.n),
                      static_cast<long long>(ui.draft.head_dim), static_cast<long long>(ui.draft.heads));
  ImGui::PopStyleColor();
  if (!ctx.state.errors.empty()) {
    ImGui::PushStyleColor(ImGuiCol_Text, error_color());
    for (auto& e : ctx.state.errors) ImGui::TextWrapped("• %s", e.c_str());
    ImGui::PopStyleColor();
  }
}

}  // namespace attnscope::gui
