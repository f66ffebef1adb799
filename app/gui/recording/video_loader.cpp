// video_loader.cpp — dlopen of the video plugin with messages that say what to install (see video_loader.hpp).
#include "app/gui/recording/video_loader.hpp"

#include <dlfcn.h>

#include <cctype>
#include <filesystem>
#include <regex>

namespace attnscope::gui {
namespace {

namespace fs = std::filesystem;

#if defined(ATTNSCOPE_PLUGIN_DIR)
constexpr const char* kInstallPluginDir = ATTNSCOPE_PLUGIN_DIR;
#else
constexpr const char* kInstallPluginDir = "/usr/local/lib/attnscope";
#endif

constexpr const char* kBuildPackages =
    "libavcodec-dev libavformat-dev libavfilter-dev libswscale-dev libavutil-dev";

fs::path executable_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe.parent_path();
}

}  // namespace

std::vector<std::string> video_plugin_candidates() {
  std::vector<std::string> out;
  const fs::path exe_dir = executable_dir();
  if (!exe_dir.empty()) out.push_back((exe_dir / video::kPluginFile).string());
  out.push_back((fs::path(kInstallPluginDir) / video::kPluginFile).string());
  if (!exe_dir.empty()) out.push_back((exe_dir.parent_path() / "lib" / "attnscope" / video::kPluginFile).string());
  return out;
}

std::string missing_library_advice(const std::string& dlerror_text) {
  // Debian names a library's package after its soname: libNAME.so.V -> libNAMEV, or libNAME-V when NAME
  // ends in a digit (libx264.so.164 -> libx264-164).
  static const std::regex soname(R"((lib[A-Za-z0-9_+-]+)\.so\.([0-9]+))");
  std::smatch m;
  if (!std::regex_search(dlerror_text, m, soname)) return "";
  const std::string name = m[1].str(), version = m[2].str();
  const bool ends_in_digit = std::isdigit(static_cast<unsigned char>(name.back())) != 0;
  const std::string package = name + (ends_in_digit ? "-" : "") + version;
  return "install " + package + " (sudo apt install " + package + "; `sudo apt install ffmpeg` brings every FFmpeg library)";
}

VideoPluginLoad load_video_plugin_from(const std::vector<std::string>& candidates) {
  VideoPluginLoad out;
  std::error_code ec;
  for (const auto& path : candidates) {
    if (!fs::exists(path, ec)) continue;
    out.path = path;
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char* why = dlerror();
      const std::string text = why ? why : "unknown dlopen error";
      const std::string advice = missing_library_advice(text);
      out.error = "video export unavailable: MP4 and GIF need '" + path + "', which could not be loaded: " + text +
                  (advice.empty() ? "" : ". A library it needs is missing: " + advice) +
                  ". PNG sequences still work.";
      return out;
    }
    dlerror();
    void* symbol = dlsym(handle, video::kOpenEncoderSymbol);
    if (!symbol) {
      out.error = "video export unavailable: '" + path + "' is not attnscope's video plugin (it has no " +
                  video::kOpenEncoderSymbol + "); rebuild attnscope so the plugin matches the program";
      dlclose(handle);
      return out;
    }
    out.open = reinterpret_cast<video::OpenEncoderFn>(symbol);
    return out;  // the handle stays open: encoders made by the plugin live in its code
  }
  std::string places;
  for (const auto& c : candidates) places += (places.empty() ? "" : ", ") + fs::path(c).parent_path().string();
  out.error = std::string("video export unavailable: MP4 and GIF need the plugin ") + video::kPluginFile +
              " was not found (looked in " + places + "). It is built with attnscope when FFmpeg's development "
              "libraries are installed: sudo apt install " + kBuildPackages +
              " (or scripts/install-deps.sh), then rebuild. PNG sequences need no plugin.";
  return out;
}

const VideoPluginLoad& video_plugin() {
  static const VideoPluginLoad loaded = load_video_plugin_from(video_plugin_candidates());
  return loaded;
}

}  // namespace attnscope::gui
