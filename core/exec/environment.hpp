// What a run records about where it ran: environment.json (mer and library
// versions, git revision, device, threads, seed(s), host, command line and
// its overrides, and
// what nodes reported while running, such as the device a model really used)
// and plugins.lock (every plugin the experiment uses, with its file's SHA-256).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/graph/experiment.hpp"

namespace mer {

// The --set KEY=VALUE and --unset KEY (as "~KEY") of a mer-run command
// line, in order: environment.json's `overrides`.
std::vector<std::string> overrides_of(const std::vector<std::string>& command_line);

nlohmann::ordered_json environment_json(const Experiment& experiment, int threads,
                                        const std::vector<std::string>& command_line);
nlohmann::ordered_json plugins_lock(const Experiment& experiment);

}  // namespace mer
