// panel_controls.cpp — the control panel: problem size, mask terms, inputs and display options.
// Every edit changes UiState::draft only and sets draft_changed; App validates it and either starts a job
// or shows the errors here while the last good picture stays. The user's entries are never reset.
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "app/gui/panels.hpp"

namespace attnscope::gui {
namespace {

constexpr const char* kTermNames[] = {"dense", "window", "strided", "dilated", "random", "global"};
constexpr MaskTermKind kTermKinds[] = {MaskTermKind::Dense,   MaskTermKind::Window, MaskTermKind::Strided,
                                       MaskTermKind::Dilated, MaskTermKind::Random, MaskTermKind::Global};
constexpr const char* kTermTips[] = {
    "every key: full attention",
    "keys within [q - left, q + right]: local attention",
    "every stride-th key (summary columns) plus a local band",
    "keys at distance 0, d, 2d, ... up to width: dilated attention",
    "random blocks kept with probability density (reproducible from the seed)",
    "the first tokens attend to all and are attended by all (Longformer's global tokens)",
};

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

// A label in the left column, the widget after it filling the rest of the row.
void row_label(const char* label, float label_w) {
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted(label);
  ImGui::SameLine(label_w);
  ImGui::SetNextItemWidth(-FLT_MIN);
}

bool int_row(const char* label, const char* id, int64_t* value, int64_t step, float label_w, const char* tip) {
  row_label(label, label_w);
  const bool changed = ImGui::InputScalar(id, ImGuiDataType_S64, value, &step, nullptr, "%lld");
  if (tip && ImGui::IsItemHovered()) ImGui::SetTooltip("%s", tip);
  return changed;
}

void heading(ViewContext& ctx, const char* text) {
  ImGui::Spacing();
  if (ctx.heading_font) ImGui::PushFont(ctx.heading_font);
  ImGui::TextUnformatted(text);
  if (ctx.heading_font) ImGui::PopFont();
  ImGui::Separator();
}

bool draw_term(MaskTerm& t, int index, float label_w, bool* remove) {
  bool changed = false;
  ImGui::PushID(index);
  int kind_index = 0;
  for (int k = 0; k < static_cast<int>(std::size(kTermKinds)); ++k)
    if (kTermKinds[k] == t.kind) kind_index = k;
  if (t.kind == MaskTermKind::BlockGrid) {
    ImGui::TextWrapped("painted grid (%lld-token blocks); edit it in the text form below",
                       static_cast<long long>(t.a));
  } else {
    const float remove_w = ImGui::GetFrameHeight();
    ImGui::SetNextItemWidth(-remove_w - ImGui::GetStyle().ItemSpacing.x);
    if (ImGui::Combo("##kind", &kind_index, kTermNames, static_cast<int>(std::size(kTermNames)))) {
      t = default_term(kTermKinds[kind_index]);
      changed = true;
    }
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", kTermTips[kind_index]);
  }
  ImGui::SameLine();
  if (ImGui::Button("×", ImVec2(ImGui::GetFrameHeight(), 0))) *remove = true;
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

void draw_mask_editor(ViewContext& ctx, float label_w) {
  UiState& ui = ctx.ui;
  bool changed = ImGui::Checkbox("causal (k ≤ q) on top", &ui.draft.causal);
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("a query sees only keys at or before its own position");
  ImGui::TextDisabled(ui.terms.size() > 1 ? "union of:" : "pattern:");
  int remove_index = -1;
  for (int i = 0; i < static_cast<int>(ui.terms.size()); ++i) {
    bool remove = false;
    if (i > 0) ImGui::TextDisabled("+");
    changed |= draw_term(ui.terms[i], i, label_w, &remove);
    if (remove) remove_index = i;
  }
  if (remove_index >= 0) {
    ui.terms.erase(ui.terms.begin() + remove_index);
    changed = true;
  }
  if (ui.terms.empty()) ImGui::TextDisabled("(no terms: dense)");
  if (static_cast<int>(ui.terms.size()) < kMaxMaskTerms && ImGui::Button("+ add term")) ImGui::OpenPopup("add_term");
  if (ImGui::BeginPopup("add_term")) {
    for (int k = 1; k < static_cast<int>(std::size(kTermKinds)); ++k)
      if (ImGui::Selectable(kTermNames[k])) {
        ui.terms.push_back(default_term(kTermKinds[k]));
        changed = true;
      }
    ImGui::EndPopup();
  }
  if (changed) {
    ui.draft.mask = mask_text_from_editor(ui);
    std::memset(ui.mask_text.data(), 0, ui.mask_text.size());
    std::strncpy(ui.mask_text.data(), ui.draft.mask.c_str(), ui.mask_text.size() - 1);
    ui.mask_text_error.clear();
    ui.draft_changed = true;
  }
  // The text form: what `--mask` takes. Enter applies it.
  ImGui::TextDisabled("as text (Enter applies):");
  ImGui::SetNextItemWidth(-FLT_MIN);
  if (ImGui::InputText("##mask_text", ui.mask_text.data(), ui.mask_text.size(), ImGuiInputTextFlags_EnterReturnsTrue)) {
    std::string error;
    const bool causal_before = ui.draft.causal;
    ui.draft.causal = false;
    if (load_mask_editor(ui, ui.mask_text.data(), &error)) {
      ui.draft.causal = ui.draft.causal || causal_before;
      ui.draft.mask = mask_text_from_editor(ui);
      ui.mask_text_error.clear();
      ui.draft_changed = true;
    } else {
      ui.draft.causal = causal_before;
      ui.mask_text_error = error;  // the typed text stays in the field
    }
  }
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", mask_syntax_help());
  if (!ui.mask_text_error.empty()) {
    ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1.0f, 0.45f, 0.4f, 1));
    ImGui::TextWrapped("%s", ui.mask_text_error.c_str());
    ImGui::PopStyleColor();
  }
}

}  // namespace

void draw_control_panel(ViewContext& ctx) {
  UiState& ui = ctx.ui;
  app::ExperimentConfig& d = ui.draft;
  // Widget column: after the widest label, including the indented term labels.
  const float label_w = ImGui::GetStyle().WindowPadding.x + ImGui::GetStyle().ItemSpacing.x +
                        std::max(ImGui::CalcTextSize("generator").x, ImGui::GetFontSize() + ImGui::CalcTextSize("dilation").x);
  bool changed = false;

  heading(ctx, "Problem");
  changed |= int_row("N", "##n", &d.n, 256, label_w, "sequence length: queries = keys = N");
  changed |= int_row("head dim", "##d", &d.head_dim, 16, label_w, "d: length of each query/key vector");
  if (int_row("heads", "##heads", &d.heads, 1, label_w, "query heads (the picture shows head 0)")) changed = true;
  changed |= int_row("KV heads", "##kvheads", &d.kv_heads, 1, label_w,
                     "key/value heads: = heads for MHA, fewer for GQA, 1 for MQA");
  row_label("dtype", label_w);
  int dtype = static_cast<int>(d.dtype);
  const char* dtypes[] = {"fp32", "fp16", "bf16"};
  if (ImGui::Combo("##dtype", &dtype, dtypes, 3)) { d.dtype = static_cast<DType>(dtype); changed = true; }

  heading(ctx, "Mask");
  draw_mask_editor(ctx, label_w);

  heading(ctx, "Inputs");
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
  if (int_row("seed", "##seed", &seed, 1, label_w, "input generator seed")) {
    d.seed = static_cast<uint64_t>(std::max<int64_t>(0, seed));
    changed = true;
  }

  if (changed) ui.draft_changed = true;

  // State of the picture: errors first (what to fix), then progress.
  if (!ctx.state.errors.empty()) {
    ImGui::Spacing();
    ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1.0f, 0.45f, 0.4f, 1));
    for (auto& e : ctx.state.errors) ImGui::TextWrapped("• %s", e.c_str());
    ImGui::PopStyleColor();
    ImGui::TextDisabled(ctx.state.shown ? "showing the last valid picture" : "nothing to show yet");
  }
  if (ctx.state.computing) {
    ImGui::Spacing();
    char overlay[64];
    std::snprintf(overlay, sizeof overlay, "computing… %.1f s", ctx.state.computing_seconds);
    const float phase = static_cast<float>(std::fmod(ImGui::GetTime() * 0.8, 1.0));
    ImGui::ProgressBar(phase, ImVec2(-FLT_MIN, 0), overlay);
  }
}

}  // namespace attnscope::gui
