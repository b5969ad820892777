// The sweeper: what a sweep varies and the trials that come of it. The spec
// is the experiment's `sweep:` block plus --grid arguments; the trials are
// grid × zip × random samples × seeds, in a fixed order, so the same spec
// always gives the same trials (docs/sweeps.md#the-spec). It knows nothing
// of folders, processes or Slurm: launchers (launcher.hpp) run the trials.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/sweep/asha.hpp"

namespace mer {

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

    bool uses_asha() const { return scheduler == "asha"; }
    AshaSettings asha() const { return {asha_min_epochs, asha_reduction, mode}; }
};

struct Trial {
    std::string id;                              // trial-0000 …
    nlohmann::ordered_json params;               // dotted key → value
    std::vector<std::string> overrides() const;  // "key=value" as --set takes them
    std::string params_text() const;             // "key=value key=value" for log lines
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

}  // namespace mer
