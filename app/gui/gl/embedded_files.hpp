// embedded_files.hpp — the GLSL sources of shaders/, compiled into the executable at build time
// (app/gui/embed_files.cmake), so attnscope runs from any directory.
#pragma once
#include <string_view>

namespace attnscope::gui {

struct EmbeddedFile {
  const char* name;       // file name without directory, e.g. "heatmap.frag"
  std::string_view text;
};
extern const EmbeddedFile kEmbeddedShaders[];
extern const int kEmbeddedShaderCount;

// The source of shaders/<name>; empty when no such file was embedded.
inline std::string_view embedded_shader(std::string_view name) {
  for (int i = 0; i < kEmbeddedShaderCount; ++i)
    if (name == kEmbeddedShaders[i].name) return kEmbeddedShaders[i].text;
  return {};
}

}  // namespace attnscope::gui
