// experiment_args.cpp — see experiment_args.hpp.
#include "app/gui/shell/experiment_args.hpp"

#include <charconv>
#include <sstream>

#include "app/cli/backends.hpp"

namespace attnscope::gui {

bool parse_size(const std::string& text, int* width, int* height, std::string* error) {
  const auto x = text.find_first_of("xX");
  auto parse = [](std::string_view s, int* out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return ec == std::errc() && p == s.data() + s.size();
  };
  if (x == std::string::npos || !parse(std::string_view(text).substr(0, x), width) ||
      !parse(std::string_view(text).substr(x + 1), height)) {
    *error = "--size '" + text + "' is not WIDTHxHEIGHT (for example --size 1280x720)";
    return false;
  }
  if (*width < 16 || *height < 16 || *width > 16384 || *height > 16384) {
    *error = "--size " + text + ": width and height must be 16..16384 pixels";
    return false;
  }
  return true;
}

LaunchSetup prepare_launch(app::Args& args, const ExperimentConfig& base) {
  LaunchSetup setup;
  ConfigResult config = app::apply_experiment_flags(args, base);
  setup.config = config.config;
  setup.errors = config.errors;
  const std::string backend_name = args.get_or("--backend", "cpu");
  std::string why;
  setup.backend = app::make_backend(backend_name, &why);
  if (!setup.backend) {
    setup.errors.push_back("--backend " + backend_name + ": " + why);
    return setup;
  }
  if (config.ok) {
    SpecResult spec = to_spec(setup.config, setup.backend->limits());
    setup.spec_errors = spec.errors;
  }
  return setup;
}

const std::vector<std::string>& heatmap_flag_names() {
  static const std::vector<std::string> names = {"--zoom", "--overlay", "--tile-size", "--show-algorithm"};
  return names;
}

const char* heatmap_flags_help() {
  return "  --zoom Q0,K0,Q1,K1      Explore: show rows [Q0,Q1) x keys [K0,K1), recomputed at full resolution\n"
         "  --overlay LIST          Explore overlays: tiles (the Br x Bc grid), blocks (empty/partial/full tiles)\n"
         "  --tile-size BRxBC       tile size of the overlays                default 64x64\n"
         "  --show-algorithm A      naive | flash | block-sparse: what the picture is discussed for  default flash";
}

void apply_heatmap_flags(app::Args& args, HeatmapViewState& view, std::vector<std::string>* errors) {
  if (auto zoom = args.get("--zoom")) {
    const std::vector<int64_t> v = args.get_int_list("--zoom", {}, 0, int64_t{1} << 40);  // token positions
    if (v.size() != 4 || v[0] < 0 || v[1] < 0 || v[2] <= v[0] || v[3] <= v[1])
      errors->push_back("--zoom '" + *zoom + "' is not Q0,K0,Q1,K1 with 0 <= Q0 < Q1 and 0 <= K0 < K1 (token positions)");
    else
      view.pending_zoom = WindowRequest{v[0], v[1], v[2], v[3]};
  }
  for (const std::string& o : args.get_list("--overlay")) {
    if (o == "tiles") view.show_tiles = true;
    else if (o == "blocks") view.show_blocks = true;
    else if (o != "none") errors->push_back("--overlay '" + o + "' is not an overlay; overlays: tiles, blocks, none");
  }
  if (auto tile = args.get("--tile-size")) {
    const auto x = tile->find_first_of("xX");
    int br = 0, bc = 0;
    std::istringstream a(tile->substr(0, x)), b(x == std::string::npos ? "" : tile->substr(x + 1));
    if (x == std::string::npos || !(a >> br) || !(b >> bc) || !a.eof() || !b.eof() || br < 1 || bc < 1 || br > 1024 ||
        bc > 1024)
      errors->push_back("--tile-size '" + *tile + "' is not BRxBC with 1..1024 each (for example --tile-size 64x64)");
    else {
      view.br = br;
      view.bc = bc;
    }
  }
  if (auto a = args.get("--show-algorithm")) {
    const auto alg = parse_algorithm(*a);
    if (!alg || (*alg != Algorithm::Naive && *alg != Algorithm::Flash && *alg != Algorithm::BlockSparse))
      errors->push_back("--show-algorithm '" + *a + "' is not one of naive, flash, block-sparse");
    else
      view.algorithm = *alg;
  }
}

}  // namespace attnscope::gui
