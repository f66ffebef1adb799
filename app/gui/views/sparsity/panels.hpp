// panels.hpp — the Sparsity mode's panels (one per file):
//   mode.cpp                  the mode: pattern editor on the left, the paintable grid, A vs B; schedules the tasks
//   panel_pattern_editor.cpp  A/B choice, the terms editor (widgets/mask_editor), tiles and timing options
//   panel_block_grid.cpp      the paintable block grid
//   panel_compare.cpp         patterns A and B side by side with densities, predicted and measured speed-up
#pragma once
#include "app/gui/views/sparsity/model.hpp"
#include "app/gui/widgets/mask_editor.hpp"
#include "app/gui/widgets/widgets.hpp"

namespace attnscope::gui {

void draw_pattern_editor_panel(ViewContext& ctx);  // panel_pattern_editor.cpp: A/B choice, terms, tiles
void draw_block_grid_panel(ViewContext& ctx);      // panel_block_grid.cpp: the paintable grid
void draw_sparsity_compare_panel(ViewContext& ctx);  // panel_compare.cpp: A vs B with numbers
// Makes (or refreshes) the RGBA picture of pattern `which` (0: A, 1: B) from its numbers, named
// "sparsity-mask-A" / "sparsity-mask-B" in HeatmapGl's overlay textures.
void upload_pattern_picture(ViewContext& ctx, int which);

}  // namespace attnscope::gui
