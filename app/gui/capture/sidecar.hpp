// sidecar.hpp — what a screenshot shows, as data: the experiment, the mode and panel, the view options, the size
// and scale, the theme and the app's version. Written as x.json beside x.png and as the PNG's "attnscope" iTXt
// chunk; `attnscope render --config x.json --out y.png` reads it back and draws the same picture.
#pragma once
#include <array>
#include <optional>
#include <string>
#include <vector>

#include "core/experiment.hpp"

namespace attnscope::gui {
struct UiState;
struct AppState;
}  // namespace attnscope::gui

namespace attnscope::gui::capture {

inline constexpr const char* kSidecarKind = "attnscope capture";  // the "kind" key that marks a sidecar
inline constexpr const char* kPngTextKey = "attnscope";            // the PNG text chunk holding the sidecar

struct CaptureSidecar {
  ExperimentConfig experiment;
  std::string mode;                                // tab name ("Explore")
  std::string panel;                               // Scaling's panel ("Roofline"); "" elsewhere
  std::string flash_view;                          // render --flash-view options: "order=flash,at=0.5,br=64,..."
  std::optional<std::array<int64_t, 4>> zoom;      // Explore: q0, k0, q1, k1 in tokens; none = the whole matrix
  std::vector<std::string> overlays;               // Explore: "tiles", "blocks"
  int tile_br = 64, tile_bc = 64;
  std::string show_algorithm = "flash";
  int width = 1280, height = 720;                  // the window, at 1x (px)
  float scale = 1;                                 // the capture's render scale: the PNG is width·scale x height·scale
  std::string target = "window";                   // "window", "view", or an element or figure id (cropped)
  std::string theme = "dark";                      // render --theme
  std::string colormap = "viridis";                // render --colormap
  double font_scale = 1;                           // the presenter's text scale, render --font-scale
  std::string version;                             // ATTNSCOPE_VERSION of the app that wrote it
};

// Pretty-printed JSON (the experiment as its own JSON object).
std::string sidecar_to_json(const CaptureSidecar& sidecar);
// True when `text` is JSON with "kind": "attnscope capture".
bool looks_like_sidecar(const std::string& text);
// Parses a sidecar; errors name `source`, the key and what is wrong.
bool sidecar_from_json(const std::string& text, const std::string& source, CaptureSidecar* out,
                       std::vector<std::string>* errors);
// The `attnscope render` flags that draw this sidecar's view (not the experiment: that is the base config).
std::vector<std::string> sidecar_render_flags(const CaptureSidecar& sidecar);
// The sidecar of what the app shows now; width/height are the 1x window size.
// `colormap` is the heatmap's colour map name ("viridis"); the theme is the palette's current one.
CaptureSidecar sidecar_from_app(const AppState& state, const UiState& ui, const std::string& mode, int width,
                                int height, float scale, const std::string& target, const std::string& colormap);

// "x.png" -> "x.json".
std::string sidecar_path_for(const std::string& png_path);

}  // namespace attnscope::gui::capture
