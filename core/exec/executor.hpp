// Runs a validated experiment: the life of a run. Dataset and features nodes
// run once, in dependency order, through the node cache; each regressor node
// is evaluated on the experiment's split (fold_evaluation.hpp). Every file
// goes through the run writer and into run.json. A failing node stops the
// run; what finished stays on disk and summary.json says what failed and why.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/graph/experiment.hpp"

namespace mer {

class PluginRegistry;

struct RunOptions {
    std::string runs_root;                  // empty: the experiment's runs_dir
    std::string cache_dir;                  // empty: the experiment's cache_dir
    bool quiet = false;                     // no log lines on stderr
    std::vector<std::string> command_line;  // recorded in environment.json
    std::string resume_folder;              // continue this run instead of starting a new one
    std::string exact_folder;               // create the run folder exactly here (a sweep's trial)
    bool data_only = false;                 // dataset and features nodes only (a sweep's cache warm-up)
    bool keep_checkpoints = false;          // keep checkpoints/ after the run finished (it only serves --resume)
};

struct RunOutcome {
    std::filesystem::path folder;
    bool ok = true;
    std::string failed_node;
    std::string reason;                 // the error with its location (file:line, node, song)
    ErrorKind kind = ErrorKind::input;  // environment: the disk, permissions or a device failed the node
};

RunOutcome run_experiment(const Experiment& experiment, const PluginRegistry& registry, const RunOptions& options);

}  // namespace mer
