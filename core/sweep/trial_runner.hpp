// The trial runner: one trial of a sweep folder, in its own process
// (`mer-run trial SWEEP_DIR ID`, started by a launcher), into
// SWEEP_DIR/trials/<id>/ — continued when an earlier attempt left it — with
// ASHA watching its curve when the sweep asks for it. It knows nothing of
// launchers or of the other trials, and returns what happened; the CLI says
// it and turns it into the exit code. Also the sweep's cache warm-up, which
// runs the same way (in the sweep's process, or as its own Slurm job).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/exec/executor.hpp"
#include "core/graph/experiment.hpp"
#include "core/sweep/sweep_folder.hpp"

namespace mer {

class PluginRegistry;
class ProgressSink;

struct TrialOptions {
    std::string device = "cpu";
    int threads = 1;
};

struct TrialOutcome {
    enum class Status {
        finished,  // (a trial stopped by ASHA ends its process itself, with exit code 0)
        failed,    // a node failed: `run` says which and why
        invalid,   // refused before it ran: `errors`
        orphaned,  // started by a sweep that is gone: not run
    };
    Status status = Status::finished;
    Diagnostics errors;
    RunOutcome run;
};

// Trial id "warmup": the sweep's feature-cache warm-up (its Slurm job).
// `console` gets ASHA's lines (the trial's log); may be null.
TrialOutcome run_trial(const std::filesystem::path& sweep_dir, const std::string& trial_id, const TrialOptions& options,
                       const PluginRegistry& registry, ProgressSink* console);

// The trial's experiment: the file, the sweep's --set and --unset, the trial's keys, then `extra`.
LoadedExperiment load_trial(const std::string& experiment_file, const std::vector<std::string>& overrides,
                            const Trial& trial, const PluginRegistry& registry,
                            const std::vector<std::string>& extra = {});

// What the experiment's dataset and features nodes compute: trials alike
// here share their cached tables.
std::string data_signature(const Experiment& experiment);

// Data signature → the first trial with it (its index in the sweep's list).
using DataSettings = std::map<std::string, std::size_t>;

// The data nodes the trials share, computed once per distinct data setting
// into the cache (SWEEP_DIR/warmup/<k>/) before any trial runs, so that no
// two trials ever compute the same node; a setting already computed is
// skipped. `settings` empty: worked out here from the manifest's trials.
void warm_up_cache(const std::filesystem::path& sweep_dir, const SweepManifest& manifest, DataSettings settings,
                   const PluginRegistry& registry, SweepLog& log);

}  // namespace mer
