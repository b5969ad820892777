// Sweeps: many trials of one experiment, each the experiment with some keys
// overridden (as --set does), run as child processes on a workstation and
// collected into one table. The spec comes from the experiment's `sweep:`
// block and the command line (--grid KEY=v1,v2); docs/sweeps.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace mer {

class PluginRegistry;

struct SweepSpec {
    nlohmann::ordered_json grid = nlohmann::ordered_json::object();    // dotted key → values (cartesian product)
    nlohmann::ordered_json zip = nlohmann::ordered_json::object();     // dotted key → values (moving together)
    nlohmann::ordered_json random = nlohmann::ordered_json::object();  // dotted key → values or {low, high, log}
    int samples = 0;                                                   // random: trials drawn
    std::uint64_t random_seed = 0;
    std::vector<std::uint64_t> seeds;  // each trial once per seed (the experiment's seed key)
    std::string metric;                // "node.target.metric": what ranks trials
    std::string mode = "max";
    std::string on_failure = "continue";  // or "fail_fast"
    // scheduler: asha — asynchronous successive halving on the metric's
    // per-epoch curve: rungs at epochs min_epochs · reduction^k; a trial
    // continues past a rung only if it is in the top 1/reduction of the
    // trials that reached that rung so far.
    std::string scheduler;  // "" or "asha"
    int asha_min_epochs = 1;
    double asha_reduction = 2;
};

struct Trial {
    std::string id;                           // trial-0000 …
    nlohmann::ordered_json params;            // dotted key → value
    std::vector<std::string> overrides() const;  // "key=value" as --set takes them
};

// The spec from the experiment file's `sweep:` block (already checked by the
// schema) and --grid arguments ("key=v1,v2", values parsed as YAML), which
// add to the block's grid.
SweepSpec read_sweep_spec(const nlohmann::json& block, const std::vector<std::string>& grid_arguments);

// Every trial: grid × zip × random samples, each repeated over seeds, in a
// fixed order (the grid's last key fastest); ids by position.
std::vector<Trial> expand_trials(const SweepSpec& spec);
// How many trials `spec` expands to, counted without expanding them
// (saturating), and the factors in words ("grid 3 × 4, random 100 samples").
std::uint64_t count_trials(const SweepSpec& spec, std::string* factors = nullptr);

struct SweepOptions {
    std::string experiment_file;
    std::vector<std::string> overrides;       // --set, applied to every trial first
    std::vector<std::string> grid_arguments;  // --grid
    std::string runs_root, cache_dir;         // empty: the experiment's
    int workers = 1;
    std::vector<std::string> devices{"cpu"};  // trials go round robin over these
    int retries = 0;
    bool dry_run = false;
    std::uint64_t max_trials = 10000;  // more is refused before any is expanded (--max-trials)
    bool quiet = false;
    std::string command_line;  // recorded in sweep.json
    std::string launcher = "local";  // or "slurm"
    struct Slurm {
        std::string partition, gres, time, mem;
        int cpus_per_task = 1;
    } slurm;
};

// Runs (or lists, with dry_run) the sweep; returns the exit code: 0 every
// trial finished, 1 some failed, 2 refused before any trial ran, 130
// interrupted. Prints the sweep folder on stdout.
int run_sweep(const SweepOptions& options, const PluginRegistry& registry);

// Where every trial of a sweep folder stands (its folder, Slurm's queue);
// rewrites trials.csv and prints a summary.
int sweep_status(const std::filesystem::path& sweep_dir, const PluginRegistry& registry);

// One trial of a sweep folder (trial_id "warmup": the feature-cache warm-up), into SWEEP_DIR/trials/<id>/ (continued when
// it exists): what each worker process runs. Returns run's exit code.
int run_trial(const std::filesystem::path& sweep_dir, const std::string& trial_id, const std::string& device,
              int threads, const PluginRegistry& registry);

}  // namespace mer
