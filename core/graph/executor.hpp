// Runs a validated experiment. Dataset and features nodes run once, in
// dependency order, through the node cache. Each regressor node is then
// evaluated on the experiment's split: in every fold, the transforms between
// it and its data are fitted on the training songs only, the regressor is
// trained with its epochs streamed to metrics.csv/jsonl, and its validation
// predictions go to predictions.csv. A failing node stops the run; what
// finished stays on disk and summary.json says what failed and why.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/graph/experiment.hpp"

namespace mer {

class PluginRegistry;

struct RunOptions {
    std::string runs_root;                  // empty: the experiment's runs_dir
    std::string cache_dir;                  // empty: the experiment's cache_dir
    bool quiet = false;                     // no log lines on stderr
    std::vector<std::string> command_line;  // recorded in environment.json
    std::string resume_folder;              // continue this run instead of starting a new one
};

struct RunOutcome {
    std::filesystem::path folder;
    bool ok = true;
    std::string failed_node;
    std::string reason;
};

RunOutcome run_experiment(const Experiment& experiment, const PluginRegistry& registry, const RunOptions& options);

}  // namespace mer
