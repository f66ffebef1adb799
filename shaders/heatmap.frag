// heatmap.frag - colour-maps the score matrix: per cell a value (NaN = every entry of the cell masked) and the
// share f of the cell's pairs the mask allows, into RGBA: mix(masked colour, colour map at the value, f), so a
// pooled cell of a sparse mask is shaded by its density (the CPU twin: capture/heatmap_figure.cpp). The mapping mirrors ValueScale::forward in app/gui/colormap.cpp:
//   mode 0 linear:  m = v
//   mode 1 log10:   m = log10(max(v, floor))           (probabilities; floor = 10^u_lo)
//   mode 2 symlog:  m = sign(v) * log10(1 + |v| / c)   (scores have both signs)
//   t = (m - u_lo) / (u_hi - u_lo), looked up in the colour map table.
#version 330 core
in vec2 v_uv;
out vec4 frag_color;

uniform sampler2D u_values;    // R32F, rows x cols; texel (col, row)
uniform sampler2D u_colormap;  // RGBA8, N x 1
uniform int u_mode;
uniform float u_lo;            // mapped range
uniform float u_hi;
uniform float u_linthresh;
uniform vec4 u_masked_color;

float forward_map(float v) {
  if (u_mode == 1) return log(max(v, pow(10.0, u_lo))) / log(10.0);
  if (u_mode == 2) return sign(v) * log(1.0 + abs(v) / u_linthresh) / log(10.0);
  return v;
}

void main() {
  // The render target has exactly one pixel per cell, so gl_FragCoord addresses the cell.
  vec2 cell = texelFetch(u_values, ivec2(gl_FragCoord.xy), 0).rg;
  float v = cell.r;
  float allowed = clamp(cell.g, 0.0, 1.0);
  if (isnan(v) || v != v || allowed <= 0.0) {
    frag_color = u_masked_color;
    return;
  }
  float span = u_hi - u_lo;
  float t = span > 0.0 ? clamp((forward_map(v) - u_lo) / span, 0.0, 1.0) : 0.5;
  int entries = textureSize(u_colormap, 0).x;
  // Centre of the texel that holds t (no filtering between table entries needed at 256 entries).
  vec4 mapped = texelFetch(u_colormap, ivec2(int(t * float(entries - 1) + 0.5), 0), 0);
  frag_color = mix(u_masked_color, mapped, allowed);
}
