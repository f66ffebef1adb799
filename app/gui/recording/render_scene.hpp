// render_scene.hpp — `attnscope render --scene FILE --out DIR|FILE.mp4|FILE.gif|FILE.png [--fps F]`: a scene
// (core/scene.hpp) drawn headless frame by frame on a fixed time step and written as a PNG sequence, a video
// through the plugin, or its last frame as one PNG. cmd_render.cpp hands over when --scene is given.
#pragma once
#include <string>
#include <vector>

namespace attnscope::gui {

std::string render_scene_help();  // the --scene part of `attnscope render --help`
int render_scene_command(const std::vector<std::string>& argv);

}  // namespace attnscope::gui
