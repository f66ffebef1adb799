// settings.cpp — see settings.hpp.
#include "core/settings.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "core/json_check.hpp"
#include "core/spec.hpp"

namespace attnscope {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxSettingsBytes = std::size_t{256} << 10;

}  // namespace

const char* theme_name(Theme t) { return t == Theme::Light ? "light" : "dark"; }

void Settings::remember_experiment(const std::string& path) {
  recent_experiments.erase(std::remove(recent_experiments.begin(), recent_experiments.end(), path),
                           recent_experiments.end());
  recent_experiments.insert(recent_experiments.begin(), path);
  if (recent_experiments.size() > kMaxRecent) recent_experiments.resize(kMaxRecent);
}

std::string settings_path_from(const char* xdg_config_home, const char* home) {
  if (xdg_config_home && xdg_config_home[0] == '/')
    return (std::filesystem::path(xdg_config_home) / "attnscope" / "settings.json").string();
  if (home && home[0] == '/') return (std::filesystem::path(home) / ".config" / "attnscope" / "settings.json").string();
  return {};
}

std::string default_settings_path() { return settings_path_from(std::getenv("XDG_CONFIG_HOME"), std::getenv("HOME")); }

SettingsLoad parse_settings(std::string_view text, const std::string& source) {
  SettingsLoad out;
  std::optional<json> parsed = parse_json_text(text, source, out.errors);
  if (!parsed) {
    out.errors.back() += "; starting with the default settings";
    return out;
  }
  const json& root = *parsed;
  const JsonLines lines(text);
  JsonChecker c(source, lines);
  Settings& s = out.settings;
  if (!root.is_object()) {
    c.error("", "settings must be an object, not " + json_type_word(root) + "; starting with the default settings");
    out.errors = c.errors;
    return out;
  }
  c.only_keys(root, "", {"font_scale", "theme", "colormap", "pointer_spotlight", "window", "recent_experiments",
                         "lesson"});
  if (root.contains("font_scale")) s.font_scale = c.number(root["font_scale"], "/font_scale", 0.5, 4).value_or(s.font_scale);
  if (auto theme = c.text(root, "", "theme", false)) {
    if (*theme == "dark") s.theme = Theme::Dark;
    else if (*theme == "light") s.theme = Theme::Light;
    else c.error("/theme", quote_input(*theme) + ": choose dark or light");
  }
  if (auto cmap = c.text(root, "", "colormap", false)) {
    if (*cmap == "viridis" || *cmap == "cividis") s.colormap = *cmap;
    else c.error("/colormap", quote_input(*cmap) + ": choose viridis or cividis");
  }
  if (root.contains("pointer_spotlight")) {
    if (root["pointer_spotlight"].is_boolean()) s.pointer_spotlight = root["pointer_spotlight"].get<bool>();
    else c.error("/pointer_spotlight", "must be true or false");
  }
  if (root.contains("window")) {
    const json& w = root["window"];
    if (!w.is_object()) {
      c.error("/window", "must be an object");
    } else {
      c.only_keys(w, "/window", {"x", "y", "width", "height", "maximized", "fullscreen"});
      WindowPlacement& p = s.window;
      if (w.contains("x")) p.x = static_cast<int>(c.integer(w["x"], "/window/x", -1, 65535).value_or(p.x));
      if (w.contains("y")) p.y = static_cast<int>(c.integer(w["y"], "/window/y", -1, 65535).value_or(p.y));
      if (w.contains("width")) p.width = static_cast<int>(c.integer(w["width"], "/window/width", 320, 16384).value_or(p.width));
      if (w.contains("height")) p.height = static_cast<int>(c.integer(w["height"], "/window/height", 240, 16384).value_or(p.height));
      for (const char* key : {"maximized", "fullscreen"}) {
        if (!w.contains(key)) continue;
        if (!w[key].is_boolean()) c.error(std::string("/window/") + key, "must be true or false");
        else (std::string(key) == "maximized" ? p.maximized : p.fullscreen) = w[key].get<bool>();
      }
    }
  }
  if (root.contains("recent_experiments")) {
    const json& r = root["recent_experiments"];
    if (!r.is_array()) {
      c.error("/recent_experiments", "must be a list of file paths");
    } else {
      for (std::size_t i = 0; i < r.size() && s.recent_experiments.size() < Settings::kMaxRecent; ++i) {
        if (r[i].is_string()) s.recent_experiments.push_back(r[i].get<std::string>());
        else c.error("/recent_experiments/" + std::to_string(i), "must be a file path");
      }
    }
  }
  if (root.contains("lesson")) {
    const json& l = root["lesson"];
    if (!l.is_object()) {
      c.error("/lesson", "must be an object with 'file' and 'step'");
    } else {
      c.only_keys(l, "/lesson", {"file", "step"});
      s.lesson.lesson = c.text(l, "/lesson", "file", false).value_or("");
      if (l.contains("step")) s.lesson.step = static_cast<int>(c.integer(l["step"], "/lesson/step", 0, 10000).value_or(0));
    }
  }
  for (auto& e : c.errors) out.errors.push_back(e + " (the default is used)");
  return out;
}

SettingsLoad load_settings_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return {};
  SettingsLoad out;
  std::string text;
  if (!read_bounded_file(path, kMaxSettingsBytes, "settings", text, out.errors)) {
    out.errors.back() += "; starting with the default settings";
    return out;
  }
  return parse_settings(text, path);
}

std::string settings_to_json(const Settings& s) {
  json j = {{"font_scale", s.font_scale},
            {"theme", theme_name(s.theme)},
            {"colormap", s.colormap},
            {"pointer_spotlight", s.pointer_spotlight},
            {"window",
             {{"x", s.window.x}, {"y", s.window.y}, {"width", s.window.width}, {"height", s.window.height},
              {"maximized", s.window.maximized}, {"fullscreen", s.window.fullscreen}}},
            {"recent_experiments", s.recent_experiments},
            {"lesson", {{"file", s.lesson.lesson}, {"step", s.lesson.step}}}};
  return j.dump(2) + "\n";
}

FileWriteResult save_settings_file(const std::string& path, const Settings& settings) {
  std::error_code ec;
  const std::filesystem::path folder = std::filesystem::path(path).parent_path();
  if (!folder.empty()) std::filesystem::create_directories(folder, ec);  // a failure shows in the write's error
  return write_file_atomically(path, settings_to_json(settings));
}

}  // namespace attnscope
