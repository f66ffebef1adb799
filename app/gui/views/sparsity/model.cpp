// model.cpp — the Sparsity mode's model (no GL, no ImGui): the key of what the worker computed for a pattern.
// (Patterns and the painted grid: shell/pattern; the computation itself: tasks.cpp.)
#include <algorithm>
#include <cmath>

#include "app/gui/views/sparsity/model.hpp"
#include "core/reference.hpp"

namespace attnscope::gui {

std::string pattern_key(const AttentionSpec& spec, const TileConfig& tiles, bool measure) {
  return spec.summary() + "|" + spec.mask.to_string() + "|" + std::to_string(tiles.br) + "x" +
         std::to_string(tiles.bc) + (measure ? "|measured" : "");
}

}  // namespace attnscope::gui
