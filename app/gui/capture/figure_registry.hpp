// figure_registry.hpp — what can be exported from the frame just drawn: every plot (the plot module publishes its
// Figure at EndPlot) and every hand-drawn figure (Gantt, heatmaps: the panel publishes a builder from its model
// data), keyed by a stable id ("sweep-time", "gantt", "heatmap"). The context menu, `attnscope render --figure ID`
// and the one-figure screenshot read it. No ImGui or GL here.
//
// Lifetime: an entry is replaced each frame its figure is drawn; `current_sources(frame)` lists those drawn in that
// frame (a figure of a hidden tab stays registered but is not current). Builders run on the UI thread, during or
// between frames, while the App that published them is alive; App::shutdown clears the registry.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "app/gui/capture/figure.hpp"

namespace attnscope::gui::capture {

// An RGBA8 image, top row first.
struct RasterImage {
  std::vector<uint8_t> rgba;
  int width = 0, height = 0;
};

struct ExportSource {
  std::string id;                        // lower case, '-' separated: "sweep-time"
  std::string title;                     // as shown ("Time of one call")
  std::function<Figure()> figure;        // the vector figure: SVG and CSV
  std::function<RasterImage()> raster;   // heatmaps only: the picture at full resolution, one pixel per cell
  float x = 0, y = 0, w = 0, h = 0;      // where it was drawn in the frame (ImGui display pixels)
  int frame = -1;                        // ImGui's frame count when it was published
};

// Replaces the entry of source.id.
void publish(ExportSource source);
// The sources published in `frame` (ImGui::GetFrameCount() of the frame just drawn), in id order.
std::vector<const ExportSource*> current_sources(int frame);
// The entry of `id` (from any frame), or nullptr.
const ExportSource* find_source(const std::string& id);
void clear_sources();

// "Time of one call##sweep_time" -> "sweep-time"; "Roofline" -> "roofline": the part after "##" when there is
// one, else the whole title; lower case, every run of other characters one '-'.
std::string figure_id_from_title(const std::string& title_id);
// "attnscope-sweep-time.svg": the default file name of an export.
std::string default_export_name(const std::string& id, const std::string& extension);

// Writes the source to `path`, the format chosen by its extension: .svg (the figure as vector graphics, a heatmap
// as its full-resolution picture inside the frame), .csv (every point of every series), .png (heatmaps: the
// picture itself). Returns "" on success, else a message naming the path and the problem (unknown extension, a
// PNG of a plot, a directory that does not exist, a full disk).
std::string export_source(const ExportSource& source, const std::string& path);
// The extensions export_source takes for this source: {"svg", "csv"} or {"svg", "csv", "png"}.
std::vector<std::string> export_extensions(const ExportSource& source);

}  // namespace attnscope::gui::capture
