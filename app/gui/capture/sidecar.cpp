// sidecar.cpp — see sidecar.hpp.
#include "app/gui/capture/sidecar.hpp"

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "app/gui/presenter/palette.hpp"
#include "app/gui/shell/app_state.hpp"

namespace attnscope::gui::capture {

std::string sidecar_to_json(const CaptureSidecar& s) {
  nlohmann::json j;
  j["kind"] = kSidecarKind;
  j["version"] = s.version;
  j["experiment"] = nlohmann::json::parse(to_json(s.experiment));
  j["mode"] = s.mode;
  if (!s.panel.empty()) j["panel"] = s.panel;
  if (!s.flash_view.empty()) j["flash_view"] = s.flash_view;
  j["view"] = {{"overlays", s.overlays}, {"tile_size", {s.tile_br, s.tile_bc}}, {"show_algorithm", s.show_algorithm}};
  if (s.zoom) j["view"]["zoom"] = *s.zoom;
  j["size"] = {s.width, s.height};
  j["scale"] = s.scale;
  j["target"] = s.target;
  j["theme"] = s.theme;
  j["colormap"] = s.colormap;
  j["font_scale"] = s.font_scale;
  return j.dump(2) + "\n";
}

bool looks_like_sidecar(const std::string& text) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_object() && j.value("kind", std::string()) == kSidecarKind;
}

bool sidecar_from_json(const std::string& text, const std::string& source, CaptureSidecar* out,
                       std::vector<std::string>* errors) {
  const size_t before = errors->size();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    errors->push_back(source + ": not JSON (" + e.what() + ")");
    return false;
  }
  if (!j.is_object() || j.value("kind", std::string()) != kSidecarKind) {
    errors->push_back(source + ": not a capture sidecar (\"kind\": \"" + kSidecarKind + "\" is missing)");
    return false;
  }
  CaptureSidecar s;
  auto bad = [&](const std::string& key, const std::string& what) { errors->push_back(source + ": /" + key + ": " + what); };
  auto text_of = [&](const nlohmann::json& obj, const char* key, std::string& field, const std::string& path) {
    if (!obj.contains(key)) return;
    if (obj[key].is_string()) field = obj[key].get<std::string>();
    else bad(path, "must be a string");
  };
  if (!j.contains("experiment") || !j["experiment"].is_object()) {
    bad("experiment", "missing (the experiment as a JSON object)");
  } else {
    ConfigResult config = from_json(j["experiment"].dump(), source + " /experiment");
    for (auto& e : config.errors) errors->push_back(e);
    s.experiment = config.config;
  }
  text_of(j, "mode", s.mode, "mode");
  text_of(j, "panel", s.panel, "panel");
  text_of(j, "flash_view", s.flash_view, "flash_view");
  text_of(j, "target", s.target, "target");
  text_of(j, "theme", s.theme, "theme");
  if (s.theme != "dark" && s.theme != "light") bad("theme", "must be \"dark\" or \"light\"");
  text_of(j, "colormap", s.colormap, "colormap");
  if (ColormapKind kind; !parse_colormap(s.colormap, &kind)) bad("colormap", "must be \"viridis\" or \"cividis\"");
  if (j.contains("font_scale")) {
    if (j["font_scale"].is_number() && j["font_scale"].get<double>() >= 0.5 && j["font_scale"].get<double>() <= 4)
      s.font_scale = j["font_scale"].get<double>();
    else
      bad("font_scale", "must be a number from 0.5 to 4");
  }
  text_of(j, "version", s.version, "version");
  if (j.contains("size")) {
    const auto& size = j["size"];
    if (size.is_array() && size.size() == 2 && size[0].is_number_integer() && size[1].is_number_integer() &&
        size[0].get<int64_t>() >= 16 && size[1].get<int64_t>() >= 16 && size[0].get<int64_t>() <= 16384 &&
        size[1].get<int64_t>() <= 16384) {
      s.width = size[0].get<int>();
      s.height = size[1].get<int>();
    } else {
      bad("size", "must be [width, height] in pixels, 16..16384 each");
    }
  }
  if (j.contains("scale")) {
    if (j["scale"].is_number() && (j["scale"].get<double>() == 1 || j["scale"].get<double>() == 2 ||
                                   j["scale"].get<double>() == 4))
      s.scale = j["scale"].get<float>();
    else
      bad("scale", "must be 1, 2 or 4");
  }
  if (j.contains("view")) {
    const auto& v = j["view"];
    if (!v.is_object()) {
      bad("view", "must be an object");
    } else {
      if (v.contains("zoom")) {
        const auto& z = v["zoom"];
        bool ok = z.is_array() && z.size() == 4;
        for (size_t i = 0; ok && i < 4; ++i) ok = z[i].is_number_integer() && z[i].get<int64_t>() >= 0;
        if (ok && z[2].get<int64_t>() > z[0].get<int64_t>() && z[3].get<int64_t>() > z[1].get<int64_t>())
          s.zoom = std::array<int64_t, 4>{z[0].get<int64_t>(), z[1].get<int64_t>(), z[2].get<int64_t>(), z[3].get<int64_t>()};
        else
          bad("view/zoom", "must be [q0, k0, q1, k1] token positions with q0 < q1 and k0 < k1");
      }
      if (v.contains("overlays")) {
        s.overlays.clear();
        if (!v["overlays"].is_array()) bad("view/overlays", "must be a list of \"tiles\", \"blocks\"");
        else
          for (const auto& o : v["overlays"]) {
            if (o.is_string() && (o == "tiles" || o == "blocks")) s.overlays.push_back(o.get<std::string>());
            else bad("view/overlays", "entries are \"tiles\" or \"blocks\"");
          }
      }
      if (v.contains("tile_size")) {
        const auto& t = v["tile_size"];
        if (t.is_array() && t.size() == 2 && t[0].is_number_integer() && t[1].is_number_integer() &&
            t[0].get<int64_t>() >= 1 && t[1].get<int64_t>() >= 1 && t[0].get<int64_t>() <= 1024 && t[1].get<int64_t>() <= 1024) {
          s.tile_br = t[0].get<int>();
          s.tile_bc = t[1].get<int>();
        } else {
          bad("view/tile_size", "must be [Br, Bc], 1..1024 each");
        }
      }
      text_of(v, "show_algorithm", s.show_algorithm, "view/show_algorithm");
    }
  }
  if (errors->size() != before) return false;
  *out = s;
  return true;
}

std::vector<std::string> sidecar_render_flags(const CaptureSidecar& s) {
  std::vector<std::string> flags;
  auto add = [&](const char* flag, const std::string& value) {
    flags.emplace_back(flag);
    flags.push_back(value);
  };
  if (!s.mode.empty()) add("--mode", s.mode);
  if (!s.panel.empty()) add("--panel", s.panel);
  if (!s.flash_view.empty()) add("--flash-view", s.flash_view);
  add("--size", std::to_string(s.width) + "x" + std::to_string(s.height));
  add("--render-scale", std::to_string(static_cast<int>(s.scale)));
  if (s.zoom)
    add("--zoom", std::to_string((*s.zoom)[0]) + "," + std::to_string((*s.zoom)[1]) + "," +
                      std::to_string((*s.zoom)[2]) + "," + std::to_string((*s.zoom)[3]));
  if (!s.overlays.empty()) {
    std::string list;
    for (auto& o : s.overlays) list += (list.empty() ? "" : ",") + o;
    add("--overlay", list);
  }
  add("--tile-size", std::to_string(s.tile_br) + "x" + std::to_string(s.tile_bc));
  add("--show-algorithm", s.show_algorithm);
  if (!s.target.empty() && s.target != "window") add("--target", s.target);
  add("--theme", s.theme);
  add("--colormap", s.colormap);
  std::ostringstream font_scale;
  font_scale << s.font_scale;
  add("--font-scale", font_scale.str());
  return flags;
}

CaptureSidecar sidecar_from_app(const AppState& state, const UiState& ui, const std::string& mode, int width,
                                int height, float scale, const std::string& target, const std::string& colormap) {
  CaptureSidecar s;
  s.experiment = state.config;
  s.mode = mode;
  if (mode == "Scaling") s.panel = kScalingPanelNames[static_cast<int>(ui.scaling.panel)];
  if (mode == "FlashAttention") {
    const FlashViewState& f = ui.flash;
    static const char* orders[] = {"flash", "flash1", "block-sparse", "flash-tc"};
    std::ostringstream o;
    o << "order=" << orders[static_cast<int>(f.order)] << ",br=" << f.tiles.br << ",bc=" << f.tiles.bc;
    if (f.row >= 0) o << ",row=" << f.row;
    if (f.follow_unit >= 0) o << ",unit=" << f.follow_unit;
    if (f.result && f.result->replay.end_ns > 0)
      o << ",at=" << std::clamp(f.time_ns / static_cast<double>(f.result->replay.end_ns), 0.0, 1.0);
    s.flash_view = o.str();
  }
  const HeatmapViewState& h = ui.heatmap_view;
  if (h.view_n_q > 0 && !is_full_window(h.view, h.view_n_q, h.view_n_k))
    s.zoom = std::array<int64_t, 4>{static_cast<int64_t>(std::floor(h.view.q0)), static_cast<int64_t>(std::floor(h.view.k0)),
                                    static_cast<int64_t>(std::ceil(h.view.q1)), static_cast<int64_t>(std::ceil(h.view.k1))};
  if (h.show_tiles) s.overlays.push_back("tiles");
  if (h.show_blocks) s.overlays.push_back("blocks");
  s.tile_br = h.br;
  s.tile_bc = h.bc;
  s.show_algorithm = algorithm_name(h.algorithm);
  s.width = width;
  s.height = height;
  s.scale = scale;
  s.target = target;
  s.theme = theme_name(palette_theme());
  s.colormap = colormap;
  s.font_scale = ui.font_scale;
#ifdef ATTNSCOPE_VERSION
  s.version = ATTNSCOPE_VERSION;
#endif
  return s;
}

std::string sidecar_path_for(const std::string& png_path) {
  return std::filesystem::path(png_path).replace_extension(".json").string();
}

}  // namespace attnscope::gui::capture
