// experiment_flags.hpp — the command-line flags that fill an ExperimentConfig (core/experiment.hpp):
// --n --d --heads ... --config FILE.json, flags overriding the file. Shared by `attnscope run`, `render` and `gui`.
#pragma once
#include <string>
#include <vector>

#include "app/cli/args.hpp"
#include "core/experiment.hpp"

namespace attnscope::app {

// Reads --config FILE.json first, then every experiment flag on top of it. Flags are looked up in `args`;
// call args.errors(known) afterwards with experiment_flag_names() added to the known list.
ConfigResult apply_experiment_flags(Args& args, const ExperimentConfig& base = {});
const std::vector<std::string>& experiment_flag_names();     // "--n", "--d", ...
const std::vector<std::string>& experiment_boolean_flags();  // "--causal"
const char* experiment_flags_help();                         // one line per flag, for --help

}  // namespace attnscope::app
