// experiment_args.cpp — see experiment_args.hpp.
#include "app/gui/shell/experiment_args.hpp"

#include <charconv>

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

LaunchSetup prepare_launch(app::Args& args) {
  LaunchSetup setup;
  ConfigResult config = app::apply_experiment_flags(args);
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

}  // namespace attnscope::gui
