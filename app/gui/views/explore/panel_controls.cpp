// panel_controls.cpp — the control panel: problem size, mask terms (the pattern editor of
// panel_pattern_editor.cpp), inputs, and the heatmap's view options (overlays, tile size, algorithm shown).
// Every edit changes UiState::draft only and requests UiCommand::ApplyDraft; App validates it and either starts a job
// or shows the errors here while the last good picture stays. The user's entries are never reset.
#include <imgui.h>
#include <imgui_stdlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "app/gui/views/explore/panels.hpp"
#include "app/gui/widgets/mask_editor.hpp"
#include "app/gui/presenter/theme.hpp"
#include "app/gui/widgets/layout.hpp"

namespace attnscope::gui {
namespace {


void draw_mask_editor(ViewContext& ctx, float label_w) {
  UiState& ui = ctx.ui;
  bool changed = draw_pattern_terms({ui.terms, ui.draft.causal, ui.grid}, ui.draft.n, label_w);
  if (changed) commit_pattern_a(ctx);
  // The text form: what `--mask` takes. Enter applies it; Escape puts back the active mask's text and drops an error
  // about the abandoned text. The field is a std::string grown by ImGui's resize callback (imgui_stdlib), so a pasted
  // mask of any length (a painted grid's thousands of characters) is kept whole.
  ImGui::TextDisabled("as text (Enter applies):");
  ImGui::SetNextItemWidth(-FLT_MIN);
  if (ImGui::InputText("##mask_text", &ui.mask_text, ImGuiInputTextFlags_EnterReturnsTrue)) apply_mask_text(ui);
  if (ImGui::IsItemDeactivated() && ImGui::IsKeyPressed(ImGuiKey_Escape, false)) cancel_mask_text(ui);
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s\n(Escape puts back the active mask)", mask_syntax_help());
  if (!ui.mask_text_error.empty()) {
    ImGui::PushStyleColor(ImGuiCol_Text, error_color());
    ImGui::TextWrapped("%s", ui.mask_text_error.c_str());
    ImGui::PopStyleColor();
  }
}

// How the heatmap is drawn: overlays, their tile size, and which algorithm the picture is discussed for.
void draw_view_options(ViewContext& ctx, float label_w) {
  HeatmapViewState& v = ctx.ui.heatmap_view;
  section_heading(ctx, "View");
  ImGui::Checkbox("tile grid", &v.show_tiles);
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("lines every Br rows and Bc keys: the tiles flash streams");
  flow_same_line(checkbox_width("block mask"));
  ImGui::Checkbox("block mask", &v.show_blocks);
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("shade each Br × Bc tile: empty (block-sparse skips it), partial (masked per element), full");
  int64_t br = v.br, bc = v.bc;
  if (checked_int_row("Br", "##view_br", &br, 16, label_w, "rows of a Q tile", int_range_rule(1, 1024)))
    v.br = static_cast<int>(br);
  if (checked_int_row("Bc", "##view_bc", &bc, 16, label_w, "keys of a K/V tile", int_range_rule(1, 1024)))
    v.bc = static_cast<int>(bc);
  row_label("algorithm", label_w);
  const Algorithm algorithms[] = {Algorithm::Naive, Algorithm::Flash, Algorithm::BlockSparse};
  int index = 1;
  for (int i = 0; i < 3; ++i)
    if (algorithms[i] == v.algorithm) index = i;
  const char* names[] = {"naive", "flash", "block-sparse"};
  if (ImGui::Combo("##view_algorithm", &index, names, 3)) v.algorithm = algorithms[index];
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("what the note under the picture explains: naive stores S and P, flash never does");
}

}  // namespace

void draw_control_panel(ViewContext& ctx) {
  UiState& ui = ctx.ui;
  ExperimentConfig& d = ui.draft;
  // Widget column: after the widest label, including the indented term labels.
  const float label_w = pattern_label_width();
  bool changed = false;

  // App validates the draft (to_spec with the backend's limits); each problem is drawn under the field it names,
  // with the value the picture on screen was made with (the last valid experiment).
  const ExperimentConfig& shown = ctx.state.config;
  auto problems_of = [&](ExploreField field, const char* name, int64_t last_valid) {
    std::string text;
    for (const std::string& e : ctx.state.errors)
      if (explore_field_of(e) == field) text += (text.empty() ? "" : "\n") + e;
    if (text.empty()) return;
    if (ctx.state.shown) text += " — showing " + std::string(name) + " = " + std::to_string(last_valid) + ", the last valid value";
    field_error(text, label_w);
  };
  // Any other problem (a run that failed) in a fixed place: the top of the panel, above the fields.
  for (const std::string& e : ctx.state.errors)
    if (explore_field_of(e) == ExploreField::Other) {
      ImGui::PushStyleColor(ImGuiCol_Text, error_color());
      ImGui::TextWrapped("%s", e.c_str());
      ImGui::PopStyleColor();
    }

  section_heading(ctx, "Problem");
  changed |= int_row("N", "##n", &d.n, 256, label_w, "sequence length: queries = keys = N");
  problems_of(ExploreField::N, "N", shown.n);
  changed |= int_row("head dim", "##d", &d.head_dim, 16, label_w, "d: length of each query/key vector");
  problems_of(ExploreField::HeadDim, "head dim", shown.head_dim);
  if (int_row("heads", "##heads", &d.heads, 1, label_w, "query heads (the picture shows head 0)")) changed = true;
  problems_of(ExploreField::Heads, "heads", shown.heads);
  changed |= int_row("KV heads", "##kvheads", &d.kv_heads, 1, label_w,
                     "key/value heads: = heads for MHA, fewer for GQA, 1 for MQA");
  problems_of(ExploreField::KvHeads, "KV heads", shown.kv_heads);
  row_label("dtype", label_w);
  int dtype = static_cast<int>(d.dtype);
  const char* dtypes[] = {"fp32", "fp16", "bf16"};
  if (ImGui::Combo("##dtype", &dtype, dtypes, 3)) { d.dtype = static_cast<DType>(dtype); changed = true; }

  section_heading(ctx, "Mask");
  draw_mask_editor(ctx, label_w);
  {
    std::string text;
    for (const std::string& e : ctx.state.errors)
      if (explore_field_of(e) == ExploreField::Mask) text += (text.empty() ? "" : "\n") + e;
    if (!text.empty()) field_error(text + (ctx.state.shown ? " — showing the last valid mask" : ""), 0);
  }

  section_heading(ctx, "Inputs");
  row_label("generator", label_w);
  int gen = d.generator == Generator::Gaussian ? 0 : 1;
  const char* gens[] = {"gaussian", "positional"};
  if (ImGui::Combo("##gen", &gen, gens, 2)) {
    d.generator = gen == 0 ? Generator::Gaussian : Generator::Positional;
    changed = true;
  }
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("gaussian: i.i.d. N(0,1) Q and K\npositional: rotary-like Q and K, scores peak where q ≈ k");
  int64_t seed = static_cast<int64_t>(d.seed);
  if (checked_int_row("seed", "##seed", &seed, 1, label_w, "input generator seed",
                      int_range_rule(0, std::numeric_limits<int64_t>::max()))) {
    d.seed = static_cast<uint64_t>(seed);
    changed = true;
  }

  if (changed) ui.request(UiCommand::ApplyDraft);

  draw_view_options(ctx, label_w);

  // State of the picture: the problems are beside their fields above; then progress.
  if (ctx.state.computing) {
    ImGui::Spacing();
    char overlay[64];
    std::snprintf(overlay, sizeof overlay, "computing… %.1f s", ctx.state.computing_seconds);
    const float phase = static_cast<float>(std::fmod(ImGui::GetTime() * 0.8, 1.0));
    ImGui::ProgressBar(phase, ImVec2(-FLT_MIN, 0), overlay);
  }
}

}  // namespace attnscope::gui
