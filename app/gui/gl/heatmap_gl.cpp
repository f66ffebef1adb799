// heatmap_gl.cpp — see heatmap_gl.hpp.
#include "app/gui/gl/heatmap_gl.hpp"

#include <glad/gl.h>

#include "app/gui/gl/embedded_files.hpp"

namespace attnscope::gui {
namespace {

GLuint compile(GLenum type, std::string_view source, const char* name, std::string* error) {
  GLuint shader = glCreateShader(type);
  const char* text = source.data();
  const GLint length = static_cast<GLint>(source.size());
  glShaderSource(shader, 1, &text, &length);
  glCompileShader(shader);
  GLint ok = 0;
  glGetShaderiv(shader, GL_COMPILE_STATUS, &ok);
  if (!ok) {
    char log[2048] = {};
    glGetShaderInfoLog(shader, sizeof log, nullptr, log);
    *error = std::string("shader ") + name + " did not compile: " + log;
    glDeleteShader(shader);
    return 0;
  }
  return shader;
}

void set_texture_params(GLint filter) {
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, filter);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, filter);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
}

}  // namespace

bool HeatmapGl::init(std::string* error) {
  const auto vert_src = embedded_shader("fullscreen.vert");
  const auto frag_src = embedded_shader("heatmap.frag");
  if (vert_src.empty() || frag_src.empty()) {
    *error = "the heatmap shaders were not embedded at build time (shaders/fullscreen.vert, shaders/heatmap.frag)";
    return false;
  }
  GLuint vs = compile(GL_VERTEX_SHADER, vert_src, "fullscreen.vert", error);
  if (!vs) return false;
  GLuint fs = compile(GL_FRAGMENT_SHADER, frag_src, "heatmap.frag", error);
  if (!fs) { glDeleteShader(vs); return false; }
  program_ = glCreateProgram();
  glAttachShader(program_, vs);
  glAttachShader(program_, fs);
  glLinkProgram(program_);
  glDeleteShader(vs);
  glDeleteShader(fs);
  GLint ok = 0;
  glGetProgramiv(program_, GL_LINK_STATUS, &ok);
  if (!ok) {
    char log[2048] = {};
    glGetProgramInfoLog(program_, sizeof log, nullptr, log);
    *error = std::string("heatmap shader program did not link: ") + log;
    return false;
  }
  glUseProgram(program_);
  glUniform1i(glGetUniformLocation(program_, "u_values"), 0);
  glUniform1i(glGetUniformLocation(program_, "u_colormap"), 1);
  loc_mode_ = glGetUniformLocation(program_, "u_mode");
  loc_lo_ = glGetUniformLocation(program_, "u_lo");
  loc_hi_ = glGetUniformLocation(program_, "u_hi");
  loc_linthresh_ = glGetUniformLocation(program_, "u_linthresh");
  loc_masked_ = glGetUniformLocation(program_, "u_masked_color");
  glUseProgram(0);

  glGenVertexArrays(1, &vao_);  // core profile draws need a bound VAO even without attributes
  glGenFramebuffers(1, &fbo_);

  glGenTextures(1, &colormap_tex_);
  upload_colormap();
  glGenTextures(1, &values_tex_);
  glGenTextures(1, &rgba_tex_);
  glGenTextures(1, &window_.values_tex);
  glGenTextures(1, &window_.rgba_tex);
  glBindTexture(GL_TEXTURE_2D, 0);
  return true;
}

void HeatmapGl::shutdown() {
  if (program_) glDeleteProgram(program_);
  if (vao_) glDeleteVertexArrays(1, &vao_);
  if (fbo_) glDeleteFramebuffers(1, &fbo_);
  GLuint textures[] = {values_tex_, rgba_tex_, colormap_tex_, window_.values_tex, window_.rgba_tex};
  glDeleteTextures(5, textures);
  for (auto& [name, tex] : overlays_) glDeleteTextures(1, &tex);
  overlays_.clear();
  program_ = vao_ = fbo_ = values_tex_ = rgba_tex_ = colormap_tex_ = 0;
  window_ = {};
  window_colorized_ = false;
  rows_ = cols_ = 0;
}

void HeatmapGl::upload_colormap() {
  colormap_ = make_colormap(colormap_kind_, 256);
  glBindTexture(GL_TEXTURE_2D, colormap_tex_);
  set_texture_params(GL_LINEAR);
  glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
  glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, static_cast<GLsizei>(colormap_.size()), 1, 0, GL_RGBA, GL_UNSIGNED_BYTE,
               colormap_.data());
  glBindTexture(GL_TEXTURE_2D, 0);
}

bool HeatmapGl::set_colormap(ColormapKind kind) {
  if (kind == colormap_kind_) return false;
  colormap_kind_ = kind;
  if (!colormap_tex_) return true;  // before init: init uploads it
  upload_colormap();
  if (window_colorized_) colorize_image(window_, window_scale_);
  return true;
}

void HeatmapGl::upload_image(ValueImage& image, const std::vector<float>& values, const std::vector<float>& allowed,
                             int rows, int cols) {
  image.rows = rows;
  image.cols = cols;
  // Two channels per cell: the value and the share of its pairs allowed (1 when the image carries none).
  const size_t cells = static_cast<size_t>(rows) * static_cast<size_t>(cols);
  std::vector<float> texels(cells * 2);
  for (size_t i = 0; i < cells; ++i) {
    texels[2 * i] = values[i];
    texels[2 * i + 1] = allowed.size() == cells ? allowed[i] : 1.0f;
  }
  glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
  glBindTexture(GL_TEXTURE_2D, image.values_tex);
  set_texture_params(GL_NEAREST);
  // Texel (x = key cell, y = query cell): row 0 of the matrix is texture row 0.
  glTexImage2D(GL_TEXTURE_2D, 0, GL_RG32F, cols, rows, 0, GL_RG, GL_FLOAT, texels.data());
  glBindTexture(GL_TEXTURE_2D, image.rgba_tex);
  set_texture_params(GL_NEAREST);  // cells stay crisp squares when magnified
  // Minified (more cells than screen pixels): the mean of the covered cells, from the mipmap levels.
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_LINEAR_MIPMAP_LINEAR);
  glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, cols, rows, 0, GL_RGBA, GL_UNSIGNED_BYTE, nullptr);
  glGenerateMipmap(GL_TEXTURE_2D);
  glBindTexture(GL_TEXTURE_2D, 0);
}

void HeatmapGl::colorize_image(const ValueImage& image, const ValueScale& scale) {
  if (image.rows <= 0 || image.cols <= 0) return;
  glBindFramebuffer(GL_FRAMEBUFFER, fbo_);
  glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, image.rgba_tex, 0);
  glViewport(0, 0, image.cols, image.rows);
  glDisable(GL_BLEND);
  glDisable(GL_SCISSOR_TEST);
  glDisable(GL_DEPTH_TEST);
  glUseProgram(program_);
  glUniform1i(loc_mode_, static_cast<int>(scale.mode));
  glUniform1f(loc_lo_, static_cast<float>(scale.forward(scale.lo)));
  glUniform1f(loc_hi_, static_cast<float>(scale.forward(scale.hi)));
  glUniform1f(loc_linthresh_, static_cast<float>(scale.linthresh));
  glUniform4f(loc_masked_, kMaskedColor[0] / 255.f, kMaskedColor[1] / 255.f, kMaskedColor[2] / 255.f, 1.f);
  glActiveTexture(GL_TEXTURE0);
  glBindTexture(GL_TEXTURE_2D, image.values_tex);
  glActiveTexture(GL_TEXTURE1);
  glBindTexture(GL_TEXTURE_2D, colormap_tex_);
  glBindVertexArray(vao_);
  glDrawArrays(GL_TRIANGLES, 0, 3);
  glBindVertexArray(0);
  glBindTexture(GL_TEXTURE_2D, 0);
  glActiveTexture(GL_TEXTURE0);
  glBindTexture(GL_TEXTURE_2D, 0);
  glUseProgram(0);
  glBindFramebuffer(GL_FRAMEBUFFER, 0);
  // The smaller levels from the new colours (a picture drawn smaller than its cells samples them).
  glBindTexture(GL_TEXTURE_2D, image.rgba_tex);
  glGenerateMipmap(GL_TEXTURE_2D);
  glBindTexture(GL_TEXTURE_2D, 0);
}

void HeatmapGl::upload(const std::vector<float>& values, const std::vector<float>& allowed, int rows, int cols) {
  ValueImage image{values_tex_, rgba_tex_, rows, cols};
  upload_image(image, values, allowed, rows, cols);
  rows_ = rows;
  cols_ = cols;
}

void HeatmapGl::colorize(const ValueScale& scale) { colorize_image({values_tex_, rgba_tex_, rows_, cols_}, scale); }

void HeatmapGl::upload_window(const std::vector<float>& values, const std::vector<float>& allowed, int rows,
                              int cols) {
  upload_image(window_, values, allowed, rows, cols);
}

void HeatmapGl::colorize_window(const ValueScale& scale) {
  colorize_image(window_, scale);
  window_scale_ = scale;
  window_colorized_ = true;
}

uint32_t HeatmapGl::upload_overlay(const std::string& name, const std::vector<Rgba8>& texels, int width, int height) {
  GLuint& tex = overlays_[name];
  if (!tex) glGenTextures(1, &tex);
  glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
  glBindTexture(GL_TEXTURE_2D, tex);
  set_texture_params(GL_NEAREST);
  glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, width, height, 0, GL_RGBA, GL_UNSIGNED_BYTE, texels.data());
  glBindTexture(GL_TEXTURE_2D, 0);
  return tex;
}

uint32_t HeatmapGl::overlay_texture(const std::string& name) const {
  auto it = overlays_.find(name);
  return it == overlays_.end() ? 0 : it->second;
}

}  // namespace attnscope::gui
