// `mer-run sweep` (see sweep.hpp): the plan, then one run of the sweep over
// its folder — the sweep's side of a launcher's news (what a trial's end
// means: finished, failed, retried, stopped by ASHA), the progress lines,
// the closing summary — and `mer-run sweep --status`.
#include "core/sweep/sweep.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <memory>

#include "core/base/files.hpp"
#include "core/error.hpp"
#include "core/report/report.hpp"
#include "core/run/progress.hpp"
#include "core/sweep/launcher_local.hpp"
#include "core/sweep/sweep_folder.hpp"

namespace mer {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

SweepPlan plan_sweep(Experiment base, const SweepOptions& options, const PluginRegistry& registry) {
    SweepPlan plan;
    plan.spec = read_sweep_spec(base.sweep, options.grid_arguments);
    std::string factors;
    if (const std::uint64_t count = count_trials(plan.spec, &factors); count > options.max_trials)
        throw Error(fmt::format(
            "sweep: {} trials ({}) is more than the limit of {}; check sweep.grid and "
            "sweep.random.samples, or raise the limit with --max-trials N",
            count == std::numeric_limits<std::uint64_t>::max() ? std::string("too many") : std::to_string(count),
            factors, options.max_trials));
    plan.trials = expand_trials(plan.spec);
    if (plan.trials.size() == 1 && plan.trials[0].params.empty())
        throw Error(
            "nothing to sweep: give the experiment a sweep: block (grid, zip, random, seeds) or --grid "
            "KEY=V1,V2");
    for (std::size_t t = 0; t < plan.trials.size(); ++t) {
        LoadedExperiment loaded = load_trial(options.experiment_file, options.overrides, plan.trials[t], registry);
        if (loaded.errors.empty())
            plan.data_settings.emplace(data_signature(loaded.experiment), t);
        else
            plan.invalid.push_back({t, std::move(loaded.errors)});
    }
    plan.base = std::move(base);
    return plan;
}

namespace {

// One run of the sweep over its folder: the trials' states and what each
// start and end of a trial means for them.
class SweepRun : public TrialEvents {
public:
    SweepRun(const SweepPlan& plan, const SweepOptions& options, const PluginRegistry& registry,
             const SweepManifest& manifest, fs::path folder, SweepLog& log)
        : plan_(plan),
          options_(options),
          registry_(registry),
          manifest_(manifest),
          folder_(std::move(folder)),
          log_(log),
          table_(folder_, plan.spec, plan.trials, log) {}

    // The trials still to run: neither finished (now or before) nor stopped by ASHA.
    std::vector<std::size_t> pending(bool resumed) {
        table_.keep_previous();
        table_.load_asha();
        std::vector<std::size_t> pending;
        for (std::size_t t = 0; t < table_.size(); ++t) {
            if (table_.state(t).status == "stopped") continue;  // ASHA's decision stands
            if (table_.summary(t).status == "finished") {
                table_.state(t).status = "finished";
                continue;
            }
            pending.push_back(t);
        }
        if (resumed)
            log_(fmt::format("{} of {} trials finished before; running the other {}", table_.size() - pending.size(),
                             table_.size(), pending.size()));
        return pending;
    }

    void warm_up() override { warm_up_cache(folder_, manifest_, plan_.data_settings, registry_, log_); }

    void started(std::size_t t, const std::string& device) override {
        TrialState& state = table_.state(t);
        state.device = device;
        state.status = "running";
        ++state.attempts;
        log_(fmt::format("{} started on {} (attempt {}): {}", table_.trial(t).id, device, state.attempts,
                         table_.trial(t).params_text()));
        dirty_ = true;
    }

    Next ended(std::size_t t, const TrialExit& exit) override;

    void interrupted() override {
        log_("interrupted: telling the running trials to stop");
        interrupted_ = true;
    }

    void waiting() override {
        if (dirty_) table_.write();
        dirty_ = false;
    }

    void log(const std::string& line) override { log_(line); }

    SweepResult::Status finish();

private:
    std::string failure_reason(std::size_t t, const TrialExit& exit) const;
    void progress_line();

    const SweepPlan& plan_;
    const SweepOptions& options_;
    const PluginRegistry& registry_;
    const SweepManifest& manifest_;
    fs::path folder_;
    SweepLog& log_;
    TrialTable table_;
    Clock::time_point start_ = Clock::now();
    bool dirty_ = true;  // trials.csv is rewritten when a trial starts or ends
    bool interrupted_ = false;
};

TrialEvents::Next SweepRun::ended(std::size_t t, const TrialExit& exit) {
    TrialState& state = table_.state(t);
    state.seconds = exit.seconds;
    state.timed = state.ran_now = true;
    const Trial& trial = table_.trial(t);
    const TrialSummary summary = table_.summary(t);
    try {
        table_.load_asha();  // the trial may have stopped itself
    } catch (const std::exception& e) {
        log_(std::string("ASHA's record could not be read: ") + e.what());
    }
    Next next = Next::go_on;
    if (state.status == "stopped") {
        const std::string tail = last_line(folder_ / "logs" / (trial.id + ".err"));
        state.reason =
            tail.rfind("stopped by ASHA", 0) == 0 ? tail : fmt::format("stopped by ASHA at epoch {}", state.stopped_at);
    } else if (summary.status == "finished" && !exit.signaled && exit.code == 0) {
        state.status = "finished";
        state.reason.clear();
    } else if (interrupted_) {
        state.status = "interrupted";
    } else {
        state.status = "failed";
        state.reason = !summary.reason.empty()       ? summary.reason
                       : !summary.unreadable.empty() ? summary.unreadable
                                                     : failure_reason(t, exit);
        if (state.attempts <= options_.retries) {
            log_(fmt::format("{} failed ({}); retrying", trial.id, state.reason));
            next = Next::retry;
        } else if (plan_.spec.on_failure == "fail_fast") {
            log_(fmt::format("{} failed ({}); on_failure: fail_fast stops the sweep", trial.id, state.reason));
            next = Next::stop;
        }
    }
    log_(fmt::format("{} {} in {} ({}){}", trial.id, state.status, format_duration(state.seconds), trial.params_text(),
                     state.reason.empty() ? "" : ": " + state.reason));
    progress_line();
    dirty_ = true;
    return next;
}

// A trial that ended without its run saying why: the last words of its
// stderr, or how its process ended.
std::string SweepRun::failure_reason(std::size_t t, const TrialExit& exit) const {
    const std::string tail = last_line(folder_ / "logs" / (table_.trial(t).id + ".err"));
    if (exit.signaled) return fmt::format("killed by signal {}{}", exit.signal, tail.empty() ? "" : ": " + tail);
    return tail.empty() ? fmt::format("exit code {}", exit.code) : tail;
}

void SweepRun::progress_line() {
    const TrialCounts c = table_.counts();
    const SweepSpec& spec = plan_.spec;
    std::string best;
    if (const auto b = table_.best(); b < table_.size())
        best = fmt::format(" · best {} {:.4f} ({})", spec.metric, table_.metric(b), table_.trial(b).id);
    const std::size_t left = table_.size() - c.finished - c.failed - c.stopped;
    std::string eta;
    if (c.finished_now > 0 && left > 0) {
        const double per_trial = seconds_since(start_) / static_cast<double>(c.finished_now);
        eta = ", about " + format_duration(per_trial * static_cast<double>(left)) + " left";
    }
    log_(fmt::format("sweep: {}/{} finished, {} running, {} failed{}{}{}", c.finished, table_.size(), c.running,
                     c.failed, spec.uses_asha() ? fmt::format(", {} stopped", c.stopped) : "", best, eta));
}

SweepResult::Status SweepRun::finish() {
    table_.write();
    const TrialCounts c = table_.counts();
    log_(fmt::format("sweep {}: {} of {} trials finished, {} failed; trials.csv in {}",
                     interrupted_ ? "interrupted" : "done", c.finished, table_.size(), c.failed, folder_.string()));
    if (const auto b = table_.best(); b < table_.size()) {
        std::string rerun = "mer-run run " + options_.experiment_file;
        for (const auto& o : options_.overrides) rerun += " --set '" + o + "'";
        for (const auto& o : table_.trial(b).overrides()) rerun += " --set '" + o + "'";
        log_(fmt::format("best: {} ({} {:.4f}): {}", table_.trial(b).id, plan_.spec.metric, table_.metric(b),
                         table_.trial(b).params_text()));
        log_("rerun it alone: " + rerun);
    }
    try {
        log_("report: " + write_sweep_report(folder_).string());
    } catch (const std::exception& e) {
        log_(std::string("report.html could not be written (rebuild it with mer-run report): ") + e.what());
    }
    if (interrupted_) return SweepResult::Status::interrupted;
    const bool all = c.failed == 0 && c.finished + c.stopped == table_.size();
    return all ? SweepResult::Status::finished : SweepResult::Status::failed;
}

// sweep.json of this sweep: what makes a rerun find the same folder, and
// what each trial process reads.
SweepManifest manifest_of(const SweepPlan& plan, const SweepOptions& options) {
    SweepManifest m;
    m.key = sha256_hex(read_text_file(options.experiment_file) + "\n" +
                       fmt::format("{}", fmt::join(options.overrides, "\n")) + "\n" +
                       fmt::format("{}", fmt::join(options.grid_arguments, "\n")));
    m.experiment = fs::absolute(options.experiment_file).string();
    m.overrides = options.overrides;
    m.grid_arguments = options.grid_arguments;
    m.cache_dir = fs::absolute(options.cache_dir.empty() ? plan.base.cache_dir : options.cache_dir).string();
    m.command_line = options.command_line;
    m.spec = plan.spec;
    m.trials = plan.trials;
    return m;
}

std::unique_ptr<Launcher> make_launcher(const SweepOptions& options, const fs::path& folder,
                                        const std::vector<Trial>& trials) {
    if (options.launcher == LauncherKind::slurm) return std::make_unique<SlurmLauncher>(folder, options.slurm);
    return std::make_unique<LocalLauncher>(folder, trials, options.workers, options.devices);
}

}  // namespace

SweepResult run_sweep(const SweepPlan& plan, const SweepOptions& options, const PluginRegistry& registry,
                      ProgressSink* console) {
    const SweepManifest manifest = manifest_of(plan, options);
    const SweepFolder folder = open_sweep_folder(
        fs::path(options.runs_root.empty() ? plan.base.runs_dir : options.runs_root) / plan.base.name, manifest.key);
    write_sweep_manifest(folder.dir, manifest);
    SweepLog log(folder.dir, console, !options.quiet);
    log(fmt::format("{} sweep folder: {} ({} trials, {} at a time on {})", folder.resumed ? "resuming" : "new",
                    folder.dir.string(), plan.trials.size(), options.workers, fmt::join(options.devices, ", ")));
    for (const auto& ignored : folder.ignored)
        log("ignored a sweep folder whose sweep.json cannot be read (it may be another sweep's): " + ignored);
    SweepRun run(plan, options, registry, manifest, folder.dir, log);
    const std::vector<std::size_t> pending = run.pending(folder.resumed);
    const auto launcher = make_launcher(options, folder.dir, plan.trials);
    if (launcher->launch(pending, run) == Launcher::Launched::submitted)
        return {folder.dir, SweepResult::Status::submitted};
    return {folder.dir, run.finish()};
}

SweepStatus sweep_status(const fs::path& sweep_dir, ProgressSink* console) {
    const SweepManifest manifest = read_sweep_manifest(sweep_dir);
    SweepLog log(sweep_dir, console);
    TrialTable table(sweep_dir, manifest.spec, manifest.trials, log);
    table.keep_previous();  // what trials.csv measured stays: only the states are brought up to date
    table.load_asha();
    const std::map<std::string, std::string> queue = slurm_queue(sweep_dir);
    for (std::size_t t = 0; t < table.size(); ++t) {
        TrialState& s = table.state(t);
        if (s.status == "stopped") continue;
        const std::string& id = table.trial(t).id;
        const TrialSummary summary = table.summary(t);
        if (summary.status == "finished") {
            s.status = "finished";
        } else if (summary.status == "failed") {
            s.status = "failed", s.reason = summary.reason;
        } else if (const auto queued = queue.find(id); queued != queue.end()) {
            s.status = queued->second == "RUNNING" ? "running" : "pending";
        } else if (!summary.unreadable.empty()) {
            s.status = "failed", s.reason = summary.unreadable;
        } else if (fs::exists(table.trial_dir(t))) {
            s.status = "failed";
            s.reason = last_line(sweep_dir / "logs" / (id + ".err"));
            if (s.reason.empty()) s.reason = "ended without finishing (killed, out of time or memory?)";
        }
    }
    table.write();
    SweepStatus status{sweep_dir, table.size(), table.counts(), manifest.spec.metric, std::nullopt};
    if (const auto b = table.best(); b < table.size())
        status.best = SweepStatus::Best{table.trial(b).id, table.trial(b).params_text(), table.metric(b)};
    return status;
}

}  // namespace mer
