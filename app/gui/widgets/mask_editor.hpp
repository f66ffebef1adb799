// mask_editor.hpp — the pattern terms editor shared by Explore's control panel and the Sparsity mode.
#pragma once
#include <cstdint>

#include "app/gui/shell/pattern.hpp"

namespace attnscope::gui {

struct ViewContext;

// The terms editor (causal, union of terms, add/remove, parameters); true when the user changed something.
bool draw_pattern_terms(PatternRef pattern, int64_t n, float label_w);
// The label column's width of the editor's rows.
float pattern_label_width();
// Applies an edit of pattern A (UiState's mask editor) to the experiment's draft, so every mode shows it.
void commit_pattern_a(ViewContext& ctx);

}  // namespace attnscope::gui
