// video_loader.hpp — finds and loads the video plugin (libattnscope_video.so, app/plugins/ffmpeg_video/) with
// dlopen, the first time MP4 or GIF is asked for. The app does not link FFmpeg: a machine without it still runs,
// records PNG sequences, and is told what is missing in words it can act on.
#pragma once
#include <string>
#include <vector>

#include "app/plugins/ffmpeg_video/video_encoder_api.hpp"

namespace attnscope::gui {

struct VideoPluginLoad {
  video::OpenEncoderFn open = nullptr;  // the factory; nullptr when the plugin could not be loaded
  std::string path;                     // the file loaded (or the one that failed to load)
  std::string error;                    // why not, and what to install: "" when loaded
  bool ok() const { return open != nullptr; }
};

// Where the plugin is looked for, in order: beside the executable, then the install's library folder
// (<prefix>/lib/attnscope, set at configure time), then ../lib/attnscope relative to the executable.
std::vector<std::string> video_plugin_candidates();

// Loads the first candidate that exists. Errors: none exists (the plugin was not built: which packages to
// install and that PNG sequences need none), dlopen failed (dlerror's text and, for a missing FFmpeg library,
// the Debian package that brings it), or the file is not attnscope's plugin (no factory symbol).
// A loaded plugin stays loaded for the life of the process.
VideoPluginLoad load_video_plugin_from(const std::vector<std::string>& candidates);

// load_video_plugin_from(video_plugin_candidates()), once per process (later calls return the first answer).
const VideoPluginLoad& video_plugin();

// For a dlerror text naming a missing shared library ("libavcodec.so.59: cannot open shared object file"):
// "install libavcodec59 (sudo apt install libavcodec59)"; "" when no library is named.
std::string missing_library_advice(const std::string& dlerror_text);

}  // namespace attnscope::gui
