// The trial runner and the cache warm-up (see trial_runner.hpp).
#include "core/sweep/trial_runner.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "core/error.hpp"
#include "core/plugin/capabilities.hpp"
#include "core/plugin/registry.hpp"
#include "core/sweep/asha_watch.hpp"
#include "core/sweep/trial_folder.hpp"

namespace mer {

namespace fs = std::filesystem;

LoadedExperiment load_trial(const std::string& experiment_file, const std::vector<std::string>& overrides,
                            const Trial& trial, const PluginRegistry& registry, const std::vector<std::string>& extra) {
    std::vector<std::string> all = overrides;
    for (const auto& o : trial.overrides()) all.push_back(o);
    all.insert(all.end(), extra.begin(), extra.end());
    return load_experiment(experiment_file, all, registry);
}

std::string data_signature(const Experiment& experiment) {
    nlohmann::json data = nlohmann::json::array();
    for (const auto& node : experiment.nodes)
        if (node.kind == "dataset" || node.kind == "features")
            data.push_back({node.id, node.uses, node.inputs, node.params, node.files});
    return data.dump();
}

void warm_up_cache(const fs::path& sweep_dir, const SweepManifest& manifest, DataSettings settings,
                   const PluginRegistry& registry, SweepLog& log) {
    if (settings.empty())  // a sweep folder's own warm-up job: not validated in this process
        for (std::size_t t = 0; t < manifest.trials.size(); ++t)
            settings.emplace(
                data_signature(
                    load_trial(manifest.experiment, manifest.overrides, manifest.trials[t], registry).experiment),
                t);
    int k = 0;
    for (const auto& [_, first] : settings) {
        const Trial* trial = &manifest.trials[first];
        const fs::path warm = sweep_dir / "warmup" / std::to_string(k++);
        if (fs::exists(warm / "summary.json")) {
            const TrialSummary done = read_trial_summary(warm);
            if (done.status == "finished") continue;
            if (!done.unreadable.empty()) log("warm-up: " + done.unreadable + "; computed again");
        }
        fs::remove_all(warm);
        const LoadedExperiment loaded = load_trial(manifest.experiment, manifest.overrides, *trial, registry);
        RunOptions run;
        run.exact_folder = warm.string();
        run.cache_dir = manifest.cache_dir;
        run.quiet = true;
        run.data_only = true;
        log(fmt::format("warm-up: the data nodes of {} trial(s) like {}, computed once into the cache ({})",
                        manifest.trials.size() / settings.size(), trial->id, warm.string()));
        const RunOutcome outcome = run_experiment(loaded.experiment, registry, run);
        if (!outcome.ok)
            throw Error("warm-up: node '" + outcome.failed_node + "' failed: " + outcome.reason +
                        "; no trial was run (" + (warm / "log.txt").string() + ")");
    }
}

namespace {

// What run_experiment is given for the trial: a new run into its folder, or
// the earlier attempt's run continued.
struct TrialRun {
    std::string file;
    std::vector<std::string> overrides;
    RunOptions options;
};

TrialRun prepare_run(const fs::path& sweep_dir, const SweepManifest& manifest, const std::string& trial_id,
                     const TrialOptions& options) {
    const fs::path folder = sweep_dir / "trials" / trial_id;
    TrialRun run;
    run.options.cache_dir = manifest.cache_dir;
    run.options.quiet = true;
    // An attempt killed before it wrote its config (with its sweep, at once)
    // left a folder with nothing to continue: it starts again.
    if (fs::is_directory(folder) && !fs::is_symlink(folder) && !fs::exists(folder / "config.yaml"))
        fs::remove_all(folder);
    if (fs::exists(folder / "config.yaml")) {  // an earlier attempt: continue it
        run.options.resume_folder = folder.string();
        run.file = (folder / "config.yaml").string();
        return run;
    }
    const auto trial =
        std::find_if(manifest.trials.begin(), manifest.trials.end(), [&](const Trial& t) { return t.id == trial_id; });
    if (trial == manifest.trials.end())
        throw Error("no trial '" + trial_id + "' in this sweep", Location((sweep_dir / "sweep.json").string()));
    run.overrides = manifest.overrides;
    for (const auto& o : trial->overrides()) run.overrides.push_back(o);
    run.overrides.push_back("device=" + options.device);
    run.overrides.push_back("threads=" + std::to_string(options.threads));
    run.file = manifest.experiment;
    run.options.exact_folder = folder.string();
    return run;
}

// The epochs the metric's node trains at most (or its boosting rounds): the
// parameter its plugin names as its budget (capability "budget"); 0: unknown.
int last_epoch_of(const Experiment& experiment, const std::string& metric) {
    for (const auto& node : experiment.nodes) {
        if (node.id != metric.substr(0, metric.find('.')) || !node.plugin) continue;
        const nlohmann::json budget = node.plugin->capability(capability::kBudget);
        if (budget.is_string() && node.params.value(budget.get<std::string>(), nlohmann::json()).is_number_integer())
            return node.params.at(budget.get<std::string>()).get<int>();
    }
    return 0;
}

}  // namespace

TrialOutcome run_trial(const fs::path& sweep_dir, const std::string& trial_id, const TrialOptions& options,
                       const PluginRegistry& registry, ProgressSink* console) {
    TrialOutcome outcome;
    // Started by a local sweep: die with it, however it ends (kill -9
    // included), so no trial runs on alone holding its run folder's lock.
    if (const char* parent = std::getenv("MER_SWEEP_PARENT")) {
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (std::to_string(::getppid()) != parent) {  // the sweep was gone before the line above
            outcome.status = TrialOutcome::Status::orphaned;
            return outcome;
        }
    }
    const SweepManifest manifest = read_sweep_manifest(sweep_dir);
    if (trial_id == "warmup") {  // the sweep's feature-cache warm-up, as its own job: logged in sweep.log only
        SweepLog log(sweep_dir, console, false);  // the trial's stderr hears only of a failed write
        warm_up_cache(sweep_dir, manifest, {}, registry, log);
        return outcome;
    }
    const TrialRun run = prepare_run(sweep_dir, manifest, trial_id, options);
    LoadedExperiment loaded = load_experiment(run.file, run.overrides, registry);
    if (!loaded.errors.empty()) {
        outcome.status = TrialOutcome::Status::invalid;
        outcome.errors = std::move(loaded.errors);
        return outcome;
    }
    std::unique_ptr<AshaWatch> asha;
    if (manifest.spec.uses_asha())
        asha = std::make_unique<AshaWatch>(AshaBoard(sweep_dir, manifest.spec.asha()), trial_id,
                                           sweep_dir / "trials" / trial_id, manifest.spec.metric,
                                           last_epoch_of(loaded.experiment, manifest.spec.metric), console);
    outcome.run = run_experiment(loaded.experiment, registry, run.options);
    if (asha) asha->finish();
    if (!outcome.run.ok) outcome.status = TrialOutcome::Status::failed;
    return outcome;
}

}  // namespace mer
