// One line per run under the runs folder: <runs_root>/index.csv (folder,
// experiment, start, status, seed, --set overrides, each node's validation
// R² per target), rewritten under a lock as each run ends, and a `latest`
// link per experiment (<runs_root>/<experiment>/latest) to its newest run.
// What a researcher greps instead of opening fifty summary.json files.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace mer {

// `run_folder` is <runs_root>/<experiment>/<name>; `command_line` the
// mer-run arguments (its --set values become the overrides column).
void index_run(const std::filesystem::path& run_folder, const std::vector<std::string>& command_line);

}  // namespace mer
