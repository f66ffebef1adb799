// mask_editor.cpp — the pattern terms editor (causal, the union of terms with every term's parameters, add/remove,
// the painted-grid term), shared by Explore's control panel (pattern A) and the Sparsity mode (patterns A and B).
#include "app/gui/widgets/mask_editor.hpp"
#include "app/gui/widgets/layout.hpp"

#include <imgui.h>

#include <algorithm>
#include <cfloat>
#include <cstring>

#include "app/gui/widgets/widgets.hpp"

namespace attnscope::gui {
namespace {

constexpr const char* kTermNames[] = {"dense", "window", "strided", "dilated", "random", "global", "painted grid"};
constexpr MaskTermKind kTermKinds[] = {MaskTermKind::Dense,  MaskTermKind::Window, MaskTermKind::Strided,
                                       MaskTermKind::Dilated, MaskTermKind::Random, MaskTermKind::Global,
                                       MaskTermKind::BlockGrid};
constexpr const char* kTermTips[] = {
    "every key: full attention",
    "keys within [q - left, q + right]: local attention",
    "every stride-th key (summary columns) plus a local band",
    "keys at distance 0, d, 2d, ... up to width: dilated attention",
    "random blocks kept with probability density (reproducible from the seed)",
    "the first tokens attend to all and are attended by all (Longformer's global tokens)",
    "blocks you paint by hand (Sparsity tab); cells left unpainted are masked",
};
constexpr int kPaintableKinds = static_cast<int>(std::size(kTermKinds)) - 1;  // the combo excludes the grid

MaskTerm default_term(MaskTermKind kind) {
  MaskTerm t;
  t.kind = kind;
  switch (kind) {
    case MaskTermKind::Window: t.a = t.b = 64; break;
    case MaskTermKind::Strided: t.a = 64; t.b = 8; break;
    case MaskTermKind::Dilated: t.a = 256; t.b = 4; break;
    case MaskTermKind::Random: t.density = 0.1; t.seed = 1; t.b = 32; break;
    case MaskTermKind::Global: t.a = 8; break;
    default: break;
  }
  return t;
}

bool draw_term(MaskTerm& t, const BlockGrid& grid, int index, float label_w, bool* remove) {
  bool changed = false;
  ImGui::PushID(index);
  int kind_index = 0;
  for (int k = 0; k < static_cast<int>(std::size(kTermKinds)); ++k)
    if (kTermKinds[k] == t.kind) kind_index = k;
  const float remove_w = ImGui::GetFrameHeight();
  if (t.kind == MaskTermKind::BlockGrid) {
    ImGui::AlignTextToFramePadding();
    ImGui::Text("painted grid: %lld × %lld blocks of %lld", static_cast<long long>(grid.rows),
                static_cast<long long>(grid.cols), static_cast<long long>(grid.block));
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", kTermTips[kind_index]);
  } else {
    ImGui::SetNextItemWidth(-remove_w - ImGui::GetStyle().ItemSpacing.x);
    if (ImGui::Combo("##kind", &kind_index, kTermNames, kPaintableKinds)) {
      t = default_term(kTermKinds[kind_index]);
      changed = true;
    }
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", kTermTips[kind_index]);
  }
  ImGui::SameLine();
  if (ImGui::Button("×", ImVec2(remove_w, 0))) *remove = true;
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("remove this term");
  ImGui::Indent(ImGui::GetFontSize());
  const float w = label_w;  // SameLine offsets ignore the indent: same column as the rows above
  switch (t.kind) {
    case MaskTermKind::Window:
      changed |= int_row("left", "##left", &t.a, 16, w, "keys up to this far before the query");
      changed |= int_row("right", "##right", &t.b, 16, w, "keys up to this far after the query (hidden by causal)");
      break;
    case MaskTermKind::Strided:
      changed |= int_row("stride", "##stride", &t.a, 8, w, "every stride-th key is kept");
      changed |= int_row("band", "##band", &t.b, 8, w, "plus keys within this distance of the query");
      break;
    case MaskTermKind::Dilated:
      changed |= int_row("width", "##width", &t.a, 16, w, "how far the pattern reaches");
      changed |= int_row("dilation", "##dilation", &t.b, 1, w, "keep every dilation-th distance");
      break;
    case MaskTermKind::Random: {
      row_label("density", w);
      changed |= ImGui::InputDouble("##density", &t.density, 0.05, 0.1, "%.3f");
      if (ImGui::IsItemHovered()) ImGui::SetTooltip("fraction of blocks kept, 0..1");
      int64_t seed = static_cast<int64_t>(t.seed);
      if (int_row("seed", "##seed", &seed, 1, w, "same seed, same pattern on every machine")) {
        t.seed = static_cast<uint64_t>(std::max<int64_t>(0, seed));
        changed = true;
      }
      changed |= int_row("block", "##block", &t.b, 8, w, "side of a random block, in tokens");
      break;
    }
    case MaskTermKind::Global:
      changed |= int_row("tokens", "##tokens", &t.a, 1, w, "the first tokens see and are seen by all");
      break;
    default: break;
  }
  ImGui::Unindent(ImGui::GetFontSize());
  ImGui::PopID();
  return changed;
}

}  // namespace

float pattern_label_width() {
  return ImGui::GetStyle().WindowPadding.x + ImGui::GetStyle().ItemSpacing.x +
         std::max(ImGui::CalcTextSize("generator").x, ImGui::GetFontSize() + ImGui::CalcTextSize("dilation").x);
}

bool draw_pattern_terms(PatternRef p, int64_t n, float label_w) {
  // The label's long form when it fits beside the box, else the short one (the tooltip says the rest).
  const float label_room =
      ImGui::GetContentRegionAvail().x - ImGui::GetFrameHeight() - ImGui::GetStyle().ItemInnerSpacing.x;
  const char* causal_labels[] = {"causal (k ≤ q) on top###causal", "causal (k ≤ q)###causal", "causal###causal"};
  const int causal_label = first_that_fits({"causal (k ≤ q) on top", "causal (k ≤ q)", "causal"}, label_room);
  bool changed = ImGui::Checkbox(causal_labels[causal_label], &p.causal);
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("a query sees only keys at or before its own position");
  ImGui::TextDisabled(p.terms.size() > 1 ? "union of:" : "pattern:");
  int remove_index = -1;
  for (int i = 0; i < static_cast<int>(p.terms.size()); ++i) {
    bool remove = false;
    if (i > 0) ImGui::TextDisabled("+");
    changed |= draw_term(p.terms[i], p.grid, i, label_w, &remove);
    if (remove) remove_index = i;
  }
  if (remove_index >= 0) {
    if (p.terms[static_cast<size_t>(remove_index)].kind == MaskTermKind::BlockGrid) p.grid = {};
    p.terms.erase(p.terms.begin() + remove_index);
    changed = true;
  }
  if (p.terms.empty()) ImGui::TextDisabled("(no terms: dense)");
  if (static_cast<int>(p.terms.size()) < kMaxMaskTerms && ImGui::Button("+ add term")) ImGui::OpenPopup("add_term");
  if (ImGui::BeginPopup("add_term")) {
    for (int k = 1; k < static_cast<int>(std::size(kTermKinds)); ++k) {
      const bool is_grid = kTermKinds[k] == MaskTermKind::BlockGrid;
      if (is_grid && has_grid_term(p)) continue;  // one painted grid per pattern
      if (ImGui::Selectable(kTermNames[k])) {
        if (is_grid) ensure_grid_term(p, n, 64);
        else p.terms.push_back(default_term(kTermKinds[k]));
        changed = true;
      }
      if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", kTermTips[k]);
    }
    ImGui::EndPopup();
  }
  return changed;
}

void commit_pattern_a(ViewContext& ctx) {
  UiState& ui = ctx.ui;
  ui.draft.mask = mask_text_from_editor(ui);
  ui.mask_text = ui.draft.mask;
  ui.mask_text_error.clear();
  ui.request(UiCommand::ApplyDraft);
}

}  // namespace attnscope::gui
