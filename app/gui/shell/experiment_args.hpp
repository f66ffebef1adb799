// experiment_args.hpp — what `attnscope gui` and `attnscope render` share: --size parsing, the backend
// choice and the experiment flags, each error naming the flag.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "app/cli/experiment_flags.hpp"
#include "core/experiment.hpp"
#include "core/backend.hpp"
#include "app/gui/views/explore/model.hpp"

namespace attnscope::gui {

// "1280x720" -> width, height in 16..16384; false with an error naming --size otherwise.
bool parse_size(const std::string& text, int* width, int* height, std::string* error);

struct LaunchSetup {
  ExperimentConfig config;
  std::unique_ptr<Backend> backend;
  std::vector<std::string> errors;       // bad flags, unreadable/malformed config, unknown backend
  std::vector<std::string> spec_errors;  // the experiment is well-formed but invalid (N too large, ...)
};
// Reads --backend and the experiment flags from `args` (on top of `base`: a capture sidecar's experiment) and
// validates the experiment against the backend.
LaunchSetup prepare_launch(app::Args& args, const ExperimentConfig& base = {});

// The Explore view's flags: `render --zoom q0,k0,q1,k1 --overlay tiles,blocks --tile-size BRxBC --show-algorithm A`.
const std::vector<std::string>& heatmap_flag_names();
const char* heatmap_flags_help();
void apply_heatmap_flags(app::Args& args, HeatmapViewState& view, std::vector<std::string>* errors);

}  // namespace attnscope::gui
