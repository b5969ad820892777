// Sweeps: many trials of one experiment, each the experiment with some keys
// overridden (as --set does), collected into one table (docs/sweeps.md).
// The parts, Hydra's cut:
//   sweeper.hpp       the spec (grid, zip, random, seeds, ASHA) → trials
//   launcher*.hpp     how trials reach a machine: child processes, or Slurm
//   trial_runner.hpp  one trial, in its own process (`mer-run trial`)
//   sweep_table.hpp   where each trial stands, and trials.csv
//   sweep_folder.hpp  sweep.json, sweep.log, finding a sweep's folder again
// This file ties them together for `mer-run sweep`. Nothing here prints:
// log lines go to sweep.log and to the `console` sink; the CLI prints the
// rest from what these functions return and chooses the exit code.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/graph/experiment.hpp"
#include "core/sweep/launcher_slurm.hpp"
#include "core/sweep/sweep_table.hpp"
#include "core/sweep/sweeper.hpp"
#include "core/sweep/trial_runner.hpp"

namespace mer {

class PluginRegistry;
class ProgressSink;

enum class LauncherKind { local, slurm };

struct SweepOptions {
    std::string experiment_file;
    std::vector<std::string> overrides;       // --set and --unset (as ~KEY), applied to every trial first
    std::vector<std::string> grid_arguments;  // --grid
    std::string runs_root, cache_dir;         // empty: the experiment's
    int workers = 1;
    std::vector<std::string> devices{"cpu"};  // trial slots take these in turn
    int retries = 0;
    std::uint64_t max_trials = 10000;  // more is refused before any is expanded (--max-trials)
    std::string command_line;          // recorded in sweep.json
    LauncherKind launcher = LauncherKind::local;
    SlurmSettings slurm;
    bool quiet = false;  // log lines to sweep.log only (a failure to write it still warns on the console)
};

// The sweep worked out and checked before anything runs.
struct SweepPlan {
    Experiment base;  // the experiment file with --set and --unset: its sweep block, name and folders
    SweepSpec spec;
    std::vector<Trial> trials;
    struct Invalid {
        std::size_t trial;
        Diagnostics errors;
    };
    std::vector<Invalid> invalid;  // trials the schema or the plugins refuse; none may run then
    DataSettings data_settings;    // of the valid trials, for the cache warm-up
};

// The spec from `base`'s sweep block and --grid, its trials, each validated
// as an experiment. Throws when the spec is wrong, has more than
// options.max_trials trials, or sweeps nothing.
SweepPlan plan_sweep(Experiment base, const SweepOptions& options, const PluginRegistry& registry);

struct SweepResult {
    std::filesystem::path folder;
    enum class Status { finished, failed, interrupted, submitted } status = Status::finished;
};

// Runs a plan with no invalid trial: opens (or finds again) its folder,
// then launches the unfinished trials; `console` gets every log line
// (with options.quiet, only the warning that sweep.log cannot be written).
SweepResult run_sweep(const SweepPlan& plan, const SweepOptions& options, const PluginRegistry& registry,
                      ProgressSink* console);

struct SweepStatus {
    std::filesystem::path folder;
    std::size_t trials = 0;
    TrialCounts counts;
    std::string metric;
    struct Best {
        std::string id, params;
        double value = 0;
    };
    std::optional<Best> best;
};

// Where every trial of a sweep folder stands, from its folder and Slurm's
// queue; rewrites trials.csv.
SweepStatus sweep_status(const std::filesystem::path& sweep_dir, ProgressSink* console);

}  // namespace mer
