// figure_registry.cpp — the exportable figures of the last frames and their export (see figure_registry.hpp).
#include "app/gui/capture/figure_registry.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>

#include "app/gui/capture/png_file.hpp"
#include "core/atomic_file.hpp"

namespace attnscope::gui::capture {
namespace {

std::map<std::string, ExportSource>& registry() {
  static std::map<std::string, ExportSource> sources;
  return sources;
}

std::string lower_extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  if (!ext.empty() && ext[0] == '.') ext.erase(0, 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

}  // namespace

void publish(ExportSource source) {
  std::string id = source.id;
  registry()[id] = std::move(source);
}

std::vector<const ExportSource*> current_sources(int frame) {
  std::vector<const ExportSource*> out;
  for (auto& [id, source] : registry())
    if (source.frame == frame) out.push_back(&source);
  return out;
}

const ExportSource* find_source(const std::string& id) {
  auto it = registry().find(id);
  return it == registry().end() ? nullptr : &it->second;
}

void clear_sources() { registry().clear(); }

std::string figure_id_from_title(const std::string& title_id) {
  const auto hashes = title_id.find("##");
  const std::string base = hashes == std::string::npos ? title_id : title_id.substr(hashes + 2);
  std::string id;
  bool gap = false;
  for (unsigned char c : base) {
    if (std::isalnum(c)) {
      if (gap && !id.empty()) id += '-';
      id += static_cast<char>(std::tolower(c));
      gap = false;
    } else {
      gap = true;
    }
  }
  return id.empty() ? "figure" : id;
}

std::string default_export_name(const std::string& id, const std::string& extension) {
  return "attnscope-" + id + "." + extension;
}

std::vector<std::string> export_extensions(const ExportSource& source) {
  if (source.raster) return {"svg", "png"};
  return {"svg", "csv"};
}

std::string export_source(const ExportSource& source, const std::string& path) {
  const std::string ext = lower_extension(path);
  const auto allowed = export_extensions(source);
  if (std::find(allowed.begin(), allowed.end(), ext) == allowed.end()) {
    std::string list;
    for (auto& a : allowed) list += (list.empty() ? "." : ", .") + a;
    return "cannot export '" + source.id + "' as '" + path + "': the file name must end in " + list;
  }
  const std::filesystem::path p(path);
  const auto dir = p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    return "cannot write '" + path + "': the folder '" + dir.string() + "' does not exist";
  std::string bytes;
  if (ext == "png") {
    const RasterImage image = source.raster();
    std::string error;
    if (!encode_png(image.rgba.data(), image.width, image.height, {{"Software", "attnscope"}}, &bytes, &error))
      return "cannot write '" + path + "': " + error;
  } else {
    if (!source.figure) return "cannot export '" + source.id + "': it has no figure";
    const Figure figure = source.figure();
    bytes = ext == "svg" ? figure_to_svg(figure) : figure_to_csv(figure);
  }
  const FileWriteResult written = write_file_atomically(path, bytes);
  return written.ok ? std::string() : written.error;
}

}  // namespace attnscope::gui::capture
