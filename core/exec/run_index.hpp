// One line per run under the runs folder: <runs_root>/index.csv, one column
// per key (folder, experiment, started, status, the seeds run, one column per
// --set override, one per node × target × validation metric and its std),
// rewritten under a lock as each run ends, and a `latest` link per
// experiment (<runs_root>/<experiment>/latest) to its newest run. What a
// researcher greps (or the Python package's mer.runs() reads) instead of
// opening fifty summary.json files.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace mer {

// A run folder's row, from its own files (summary.json, environment.json):
// (column, value) pairs — folder (as given), experiment, started, status,
// seeds (space-separated), `set:KEY` per override (its value; "(unset)" for
// --unset KEY), `NODE.TARGET.METRIC` and `NODE.TARGET.METRIC_std` per
// validation score. Missing files give the columns they can.
std::vector<std::pair<std::string, std::string>> run_row(const std::filesystem::path& run_folder);

// `run_folder` is <runs_root>/<experiment>/<name>; its row joins
// <runs_root>/index.csv (folder relative to runs_root).
void index_run(const std::filesystem::path& run_folder);

}  // namespace mer
