// heatmap_gl.hpp — the score-matrix heatmap on the GPU: the pooled values live in a float texture and are
// colour-mapped by shaders/heatmap.frag into an RGBA texture that panels draw with ImGui::Image.
// Upload happens only when a new result arrives; colour-mapping only when the result or scale changes.
// Two value images: the pooled picture of the whole matrix (main) and the zoomed window at full resolution.
// Named RGBA overlay textures (block-mask tints, painted grids, small mask pictures) are made on demand and
// freed in shutdown().
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "app/gui/gl/colormap.hpp"

namespace attnscope::gui {

class HeatmapGl {
 public:
  bool init(std::string* error);  // compiles the shaders, makes the colour-map texture
  void shutdown();

  // The colour map of every picture from now on (the zoomed window is recoloured here; the caller recolours the
  // main picture with colorize). True when it changed.
  bool set_colormap(ColormapKind kind);
  ColormapKind colormap_kind() const { return colormap_kind_; }

  // values: rows x cols, row-major, NaN = masked cell. allowed: the share of each cell's pairs the mask allows
  // (empty: every pair); a cell is drawn as mix(masked grey, colour map, share), so a pooled picture shows the
  // mask's density. The coloured texture is mipmapped: drawn smaller than its cells, a screen pixel averages the
  // cells it covers instead of picking one (no aliasing gaps in periodic masks).
  void upload(const std::vector<float>& values, const std::vector<float>& allowed, int rows, int cols);
  // Draws the colour-mapped RGBA texture from the uploaded values. Leaves framebuffer 0 bound.
  void colorize(const ValueScale& scale);

  // The zoomed window, colour-mapped the same way into its own texture.
  void upload_window(const std::vector<float>& values, const std::vector<float>& allowed, int rows, int cols);
  void colorize_window(const ValueScale& scale);
  bool has_window() const { return window_.rows > 0 && window_.cols > 0; }
  uint32_t window_texture() const { return window_.rgba_tex; }

  // An RGBA8 texture of width x height texels (row 0 on top), nearest filtering; made on first use.
  uint32_t upload_overlay(const std::string& name, const std::vector<Rgba8>& texels, int width, int height);
  uint32_t overlay_texture(const std::string& name) const;  // 0 when never uploaded

  bool has_image() const { return rows_ > 0 && cols_ > 0; }
  int rows() const { return rows_; }
  int cols() const { return cols_; }
  uint32_t image_texture() const { return rgba_tex_; }
  uint32_t colormap_texture() const { return colormap_tex_; }  // entries x 1, t = 0 at u = 0
  const std::vector<Rgba8>& colormap() const { return colormap_; }
  static constexpr Rgba8 kMaskedColor = {72, 72, 78, 255};  // neutral grey, darker than any map entry's contrast

 private:
  struct ValueImage {
    uint32_t values_tex = 0, rgba_tex = 0;
    int rows = 0, cols = 0;
  };
  void upload_image(ValueImage& image, const std::vector<float>& values, const std::vector<float>& allowed, int rows,
                    int cols);
  void colorize_image(const ValueImage& image, const ValueScale& scale);
  void upload_colormap();  // colormap_ and its texture from colormap_kind_

  uint32_t program_ = 0, vao_ = 0, fbo_ = 0;
  uint32_t values_tex_ = 0, rgba_tex_ = 0, colormap_tex_ = 0;
  int rows_ = 0, cols_ = 0;
  ValueImage window_;
  ValueScale window_scale_;  // of its last colourising (a new colour map recolours it with the same scale)
  bool window_colorized_ = false;
  ColormapKind colormap_kind_ = ColormapKind::Viridis;
  std::map<std::string, uint32_t> overlays_;
  std::vector<Rgba8> colormap_;
  int loc_mode_ = -1, loc_lo_ = -1, loc_hi_ = -1, loc_linthresh_ = -1, loc_masked_ = -1;
};

}  // namespace attnscope::gui
