// panels.hpp — the Explore mode's panels (one per file):
//   mode.cpp             the mode: the control panel on the left, the heatmap filling the rest
//   panel_controls.cpp   problem size, mask terms (widgets/mask_editor), inputs, the heatmap's view options
//   panel_heatmap.cpp    the score matrix: zoom about the cursor, pan, overlays, hover readout
#pragma once
#include "app/gui/views/explore/model.hpp"
#include "app/gui/widgets/widgets.hpp"

namespace attnscope::gui {

void draw_control_panel(ViewContext& ctx);
void draw_heatmap_panel(ViewContext& ctx);

}  // namespace attnscope::gui
