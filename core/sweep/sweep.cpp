// Sweep specs, trial lists, and the local runner: trials as child processes
// (`mer-run trial SWEEP_DIR ID`), N at a time, devices round robin.
#include "core/sweep/sweep.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "core/data/csv.hpp"
#include "core/error.hpp"
#include "core/exit_codes.hpp"
#include "core/eval/metrics.hpp"
#include "core/exec/executor.hpp"
#include "core/graph/experiment.hpp"
#include "core/graph/grid.hpp"
#include "core/graph/schema.hpp"
#include "core/report/report.hpp"
#include "core/run/files.hpp"
#include "core/run/run_reader.hpp"
#include "core/run/progress.hpp"
#include "core/run/run_folder.hpp"
#include "core/sweep/asha.hpp"

extern char** environ;

namespace mer {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

std::vector<std::string> Trial::overrides() const {
    std::vector<std::string> out;
    for (const auto& [key, value] : params.items()) out.push_back(key + "=" + value.dump());
    return out;
}

namespace {

// A YAML scalar or flow value from the command line, as JSON.
ojson parse_value(const std::string& text, const std::string& argument) {
    try {
        SourceMap map("--grid");
        return ojson(yaml_to_json(YAML::Load(text), map));
    } catch (const YAML::Exception& e) {
        throw Error("--grid " + argument + ": '" + text + "' is not a YAML value: " + yaml_error_text(e));
    }
}

// A uniform double in [0, 1) from the engine's bits (the standard fixes
// mt19937_64's output, not its distributions').
double unit(std::mt19937_64& random) {
    return static_cast<double>(random() >> 11) * 0x1.0p-53;
}

ojson draw(const ojson& values, std::mt19937_64& random) {
    if (values.is_array()) return values[random() % values.size()];
    const double low = values.at("low").get<double>(), high = values.at("high").get<double>();
    const bool log = values.value("log", false);
    const double u = unit(random);
    const double x = log ? std::exp(std::log(low) + u * (std::log(high) - std::log(low))) : low + u * (high - low);
    if (values.value("integer", false)) return static_cast<long long>(std::llround(x));
    return x;
}

}  // namespace

SweepSpec read_sweep_spec(const nlohmann::json& block, const std::vector<std::string>& grid_arguments) {
    SweepSpec spec;
    if (block.is_object()) {
        spec.grid = ojson(block.value("grid", nlohmann::json::object()));
        spec.zip = ojson(block.value("zip", nlohmann::json::object()));
        if (block.contains("random")) {
            const auto& random = block["random"];
            spec.samples = random.value("samples", 0);
            spec.random_seed = random.value("seed", std::uint64_t{0});
            spec.random = ojson(random.value("params", nlohmann::json::object()));
        }
        for (const auto& s : block.value("seeds", nlohmann::json::array())) spec.seeds.push_back(s.get<std::uint64_t>());
        spec.metric = block.value("metric", "");
        spec.on_failure = block.value("on_failure", "continue");
        const std::string metric_name = spec.metric.substr(spec.metric.rfind('.') + 1);
        spec.mode = block.value("mode", spec.metric.empty() || higher_is_better(metric_name) ? "max" : "min");
        if (block.contains("scheduler")) {
            const auto& scheduler = block["scheduler"];
            spec.scheduler = scheduler.value("type", "asha");
            spec.asha_min_epochs = scheduler.value("min_epochs", 1);
            spec.asha_reduction = scheduler.value("reduction_factor", 2.0);
            if (spec.metric.empty())
                throw Error("sweep.scheduler: asha compares the trials' curves of sweep.metric; give a metric "
                            "(NODE.TARGET.METRIC)");
        }
    }
    for (const auto& argument : grid_arguments) {
        const auto equals = argument.find('=');
        if (equals == std::string::npos || equals == 0 || equals + 1 == argument.size())
            throw Error("--grid " + argument + ": expected KEY=VALUE,VALUE… (e.g. nodes.cnn.params.lr=0.001,0.0003)");
        const std::string key = argument.substr(0, equals);
        ojson values = ojson::array();
        std::string rest = argument.substr(equals + 1);
        for (std::size_t start = 0; start <= rest.size();) {
            const std::size_t comma = std::min(rest.find(',', start), rest.size());
            values.push_back(parse_value(rest.substr(start, comma - start), argument));
            start = comma + 1;
        }
        spec.grid[key] = values;
    }
    std::size_t zip_length = 0;
    std::string zip_first;
    for (const auto& [key, values] : spec.zip.items()) {
        if (zip_first.empty()) zip_first = key, zip_length = values.size();
        if (values.size() != zip_length)
            throw Error(fmt::format("sweep.zip: '{}' has {} values and '{}' {}; zipped keys move together and need "
                                    "as many values each",
                                    zip_first, zip_length, key, values.size()));
    }
    for (const auto& [key, _] : spec.zip.items())
        if (spec.grid.contains(key) || spec.random.contains(key))
            throw Error("sweep: '" + key + "' is swept twice (in zip and in grid or random); keep it in one");
    for (const auto& [key, _] : spec.random.items())
        if (spec.grid.contains(key)) throw Error("sweep: '" + key + "' is in both grid and random; keep it in one");
    if (!spec.random.empty() && spec.samples < 1) throw Error("sweep.random: samples must be at least 1");
    return spec;
}

std::vector<Trial> expand_trials(const SweepSpec& spec) {
    std::vector<ojson> combos = grid_combinations(ojson::object(), spec.grid);
    if (!spec.zip.empty()) {
        std::vector<ojson> next;
        const std::size_t length = spec.zip.begin()->size();
        for (const auto& c : combos)
            for (std::size_t i = 0; i < length; ++i) {
                ojson with = c;
                for (const auto& [key, values] : spec.zip.items()) with[key] = values[i];
                next.push_back(with);
            }
        combos = std::move(next);
    }
    if (!spec.random.empty()) {
        std::mt19937_64 random(spec.random_seed);
        std::vector<ojson> next;
        for (const auto& c : combos)
            for (int s = 0; s < spec.samples; ++s) {
                ojson with = c;
                for (const auto& [key, values] : spec.random.items()) with[key] = draw(values, random);
                next.push_back(with);
            }
        combos = std::move(next);
    }
    std::vector<Trial> trials;
    const std::vector<std::uint64_t> seeds = spec.seeds.empty() ? std::vector<std::uint64_t>{} : spec.seeds;
    for (const auto& c : combos) {
        if (seeds.empty()) {
            trials.push_back({"", c});
            continue;
        }
        for (std::uint64_t seed : seeds) {
            ojson with = c;
            with["seed"] = seed;
            trials.push_back({"", with});
        }
    }
    for (std::size_t t = 0; t < trials.size(); ++t) trials[t].id = fmt::format("trial-{:04d}", t);
    return trials;
}

std::uint64_t count_trials(const SweepSpec& spec, std::string* factors) {
    constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
    std::uint64_t count = 1;
    std::vector<std::string> parts, grid;
    auto times = [&](std::uint64_t n) { count = n != 0 && count > kMax / n ? kMax : count * n; };
    for (const auto& [key, values] : spec.grid.items()) {
        times(values.size());
        grid.push_back(std::to_string(values.size()));
    }
    if (!grid.empty()) parts.push_back("grid " + fmt::format("{}", fmt::join(grid, " × ")));
    if (!spec.zip.empty()) {
        times(spec.zip.begin()->size());
        parts.push_back(fmt::format("zip {}", spec.zip.begin()->size()));
    }
    if (!spec.random.empty()) {
        times(static_cast<std::uint64_t>(std::max(0, spec.samples)));
        parts.push_back(fmt::format("random {} samples", spec.samples));
    }
    if (!spec.seeds.empty()) {
        times(spec.seeds.size());
        parts.push_back(fmt::format("{} seeds", spec.seeds.size()));
    }
    if (factors) *factors = fmt::format("{}", fmt::join(parts, ", "));
    return count;
}

namespace {

// What a trial's folder says about it.
struct TrialState {
    std::string status = "pending";  // pending | running | finished | failed | stopped | interrupted
    std::string reason;
    int attempts = 0;
    std::string device;
    double seconds = 0;
    bool timed = false;     // seconds was measured (now, or by an earlier run of the sweep)
    bool ran_now = false;   // it ran in this run of the sweep (the time-left estimate counts these)
    int stopped_at = 0;  // ASHA: the rung epoch it was stopped at
};

// A trial's per-epoch metric from its metrics.csv: the watched songs'
// song-level rows (inner_validation when the model keeps its best epoch on
// held-out training songs, else validation), fold 0 of the first repetition,
// for the metric's node and target. epoch → value.
std::map<int, double> metric_curve(const fs::path& folder, const std::string& metric) {
    const auto path = split_metric_path(metric);
    if (!path) return {};
    try {
        return watched_curve(read_epochs(folder), path->node, path->target, path->metric, 0);
    } catch (const std::exception&) {  // a row being written
        return {};
    }
}

// sweep.json, as run() wrote it: the base experiment and its overrides, the
// feature cache, the spec and the trials. Read by the sweep continuing a
// folder and by each trial process; a damaged file is an error naming it.
struct SweepManifest {
    std::string experiment;
    std::vector<std::string> overrides;
    std::string cache_dir;
    std::string metric, on_failure, scheduler;
    AshaSettings asha;  // older folders: 1 and 2
    std::vector<Trial> trials;
};

SweepManifest read_sweep_manifest(const fs::path& sweep_dir) {
    const fs::path file = sweep_dir / "sweep.json";
    const nlohmann::json manifest = read_json_file(file);
    try {
        SweepManifest m;
        m.experiment = manifest.at("experiment").get<std::string>();
        m.overrides = manifest.at("overrides").get<std::vector<std::string>>();
        m.cache_dir = manifest.at("cache_dir").get<std::string>();
        const auto& spec = manifest.at("spec");
        m.metric = spec.value("metric", "");
        m.on_failure = spec.value("on_failure", "continue");
        m.scheduler = spec.value("scheduler", "");
        m.asha = {spec.value("min_epochs", 1), spec.value("reduction_factor", 2.0), spec.value("mode", "max")};
        for (const auto& t : manifest.at("trials")) m.trials.push_back({t.at("id"), ojson(t.at("params"))});
        return m;
    } catch (const nlohmann::json::exception& e) {
        throw Error(std::string("damaged sweep manifest: ") + e.what(), Location(file.string()));
    }
}

std::string params_text(const Trial& trial) {
    std::vector<std::string> parts;
    for (const auto& [key, value] : trial.params.items()) parts.push_back(key + "=" + value.dump());
    return fmt::format("{}", fmt::join(parts, " "));
}

// The trial's ranking metric (NaN when absent) from its summary.json.
double trial_metric(const fs::path& folder, const std::string& metric) {
    try {
        return summary_score(read_summary(folder), metric);
    } catch (const std::exception&) {  // being written
        return NAN;
    }
}

// The last epoch metrics.csv holds for `node` (every node when empty).
int epochs_reached(const fs::path& folder, const std::string& node) {
    try {
        return last_epoch(read_epochs(folder), node);
    } catch (const std::exception&) {
        return 0;
    }
}

std::string summary_status(const fs::path& folder, std::string* reason) {
    try {
        const nlohmann::ordered_json summary = read_summary(folder);
        if (reason && summary.contains("failed"))
            *reason = summary["failed"].value("node", "") + ": " + summary["failed"].value("reason", "");
        return summary.value("status", "");
    } catch (const std::exception&) {
        return "";
    }
}

// The last non-empty line of a file (a crashed trial's stderr).
std::string last_line(const fs::path& file) {
    if (!fs::exists(file)) return "";
    const std::string text = read_text_file(file);
    std::size_t end = text.find_last_not_of("\n\r ");
    if (end == std::string::npos) return "";
    const std::size_t start = text.rfind('\n', end);
    return text.substr(start == std::string::npos ? 0 : start + 1, end - (start == std::string::npos ? 0 : start + 1) + 1);
}

std::atomic<int> g_interrupted{0};
void on_signal(int signal) {
    g_interrupted = signal;
}

class SweepRunner {
public:
    SweepRunner(const SweepOptions& options, const PluginRegistry& registry) : options_(options), registry_(registry) {}

    int run() {
        experiment_file_ = options_.experiment_file;
        base_overrides_ = options_.overrides;
        // The base experiment: its sweep block, name and folders.
        Experiment base;
        {
            LoadedExperiment loaded = load_experiment(options_.experiment_file, options_.overrides, registry_);
            if (!loaded.errors.empty()) {
                for (const auto& d : loaded.errors) std::cerr << d.str() << "\n";
                std::cerr << loaded.errors.size() << " error(s) in " << options_.experiment_file << "\n";
                return exit_code::invalid;
            }
            base = std::move(loaded.experiment);
        }
        spec_ = read_sweep_spec(base.sweep, options_.grid_arguments);
        std::string factors;
        if (const std::uint64_t count = count_trials(spec_, &factors); count > options_.max_trials)
            throw Error(fmt::format("sweep: {} trials ({}) is more than the limit of {}; check sweep.grid and "
                                    "sweep.random.samples, or raise the limit with --max-trials N",
                                    count == std::numeric_limits<std::uint64_t>::max() ? std::string("too many")
                                                                                         : std::to_string(count),
                                    factors, options_.max_trials));
        trials_ = expand_trials(spec_);
        if (trials_.size() == 1 && trials_[0].params.empty())
            throw Error("nothing to sweep: give the experiment a sweep: block (grid, zip, random, seeds) or --grid "
                        "KEY=V1,V2");
        if (!validate_trials()) return exit_code::invalid;
        if (options_.dry_run) {
            for (const auto& t : trials_) std::cout << t.id << "  " << params_text(t) << "\n";
            std::cerr << trials_.size() << " trials; every one valid\n";
            return exit_code::ok;
        }
        open_folder(base);
        if (options_.launcher == "slurm") return submit_slurm();
        warm_cache();
        return run_trials();
    }

    // A sweep folder written by run(): its trials, spec and base experiment.
    void load_folder(const fs::path& folder) {
        folder_ = folder;
        SweepManifest manifest = read_sweep_manifest(folder);
        experiment_file_ = manifest.experiment;
        base_overrides_ = manifest.overrides;
        cache_dir_ = manifest.cache_dir;
        spec_.metric = manifest.metric;
        spec_.mode = manifest.asha.mode;
        spec_.on_failure = manifest.on_failure;
        spec_.scheduler = manifest.scheduler;
        spec_.asha_min_epochs = manifest.asha.min_epochs;
        spec_.asha_reduction = manifest.asha.reduction;
        trials_ = std::move(manifest.trials);
    }

    void warm_up_folder() { warm_cache(); }

    // Slurm: one warm-up job, then one job array of the unfinished trials
    // that depends on it (afterok); each array task runs `mer-run trial`.
    int submit_slurm() {
        std::vector<TrialState> states(trials_.size());
        load_asha(states);
        std::vector<std::size_t> pending;
        for (std::size_t t = 0; t < trials_.size(); ++t)
            if (states[t].status != "stopped" && summary_status(trial_dir(trials_[t]), nullptr) != "finished")
                pending.push_back(t);
        if (pending.empty()) {
            log("every trial finished before; nothing to submit");
            std::cout << folder_.string() << "\n";
            return exit_code::ok;
        }
        fs::create_directories(folder_ / "slurm");
        fs::create_directories(folder_ / "logs");
        const std::string exe = fs::read_symlink("/proc/self/exe").string();
        const fs::path sweep = fs::absolute(folder_);
        const bool gpu = options_.slurm.gres.find("gpu") != std::string::npos;
        std::string header;
        if (!options_.slurm.partition.empty()) header += "#SBATCH --partition=" + options_.slurm.partition + "\n";
        if (!options_.slurm.time.empty()) header += "#SBATCH --time=" + options_.slurm.time + "\n";
        if (!options_.slurm.mem.empty()) header += "#SBATCH --mem=" + options_.slurm.mem + "\n";
        header += fmt::format("#SBATCH --cpus-per-task={}\n", options_.slurm.cpus_per_task);
        const std::string cd = "cd " + shell_quote(fs::current_path().string()) + "  # trials resolve data paths here\n";
        const std::string warm =
            "#!/bin/bash\n# mer sweep " + sweep.filename().string() + ": the feature-cache warm-up (generated by " +
            "mer-run sweep --launcher slurm)\n#SBATCH --job-name=mer-warmup\n" + header +
            "#SBATCH --output=" + (sweep / "logs" / "slurm-warmup-%j.out").string() + "\n" + "set -euo pipefail\n" + cd +
            "exec " + shell_quote(exe) + " trial " + shell_quote(sweep.string()) + " warmup\n";
        std::vector<std::string> indices;
        for (std::size_t t : pending) indices.push_back(std::to_string(t));
        const std::string array =
            "#!/bin/bash\n# mer sweep " + sweep.filename().string() + ": one array task per trial (generated by " +
            "mer-run sweep --launcher slurm)\n#SBATCH --job-name=mer-trials\n" + header +
            (options_.slurm.gres.empty() ? "" : "#SBATCH --gres=" + options_.slurm.gres + "\n") +
            fmt::format("#SBATCH --array={}\n", fmt::join(indices, ",")) + "#SBATCH --output=" +
            (sweep / "logs" / "slurm-%A_%a.out").string() + "\nset -euo pipefail\n" + cd +
            "id=$(printf 'trial-%04d' \"$SLURM_ARRAY_TASK_ID\")\n" + "exec " + shell_quote(exe) + " trial " +
            shell_quote(sweep.string()) + " \"$id\" --device " + (gpu ? "cuda:0" : "cpu") +
            " --threads \"${SLURM_CPUS_PER_TASK:-1}\" 2>>" + shell_quote((sweep / "logs").string()) + "/\"$id\".err\n";
        write_file_atomic(folder_ / "slurm" / "warmup.sbatch", warm);
        write_file_atomic(folder_ / "slurm" / "trials.sbatch", array);
        const std::string warm_job = sbatch("--parsable " + shell_quote((sweep / "slurm" / "warmup.sbatch").string()));
        const std::string array_job = sbatch("--parsable --dependency=afterok:" + warm_job + " " +
                                             shell_quote((sweep / "slurm" / "trials.sbatch").string()));
        write_file_atomic(folder_ / "slurm" / "jobs.json",
                          nlohmann::json{{"warmup", warm_job}, {"array", array_job}, {"trials", indices}}.dump(2) + "\n");
        log(fmt::format("submitted the warm-up as job {} and {} trials as array job {} (after it); follow with "
                        "mer-run sweep --status {}",
                        warm_job, pending.size(), array_job, folder_.string()));
        std::cout << folder_.string() << "\n";
        return exit_code::ok;
    }

    static std::string shell_quote(const std::string& text) {
        std::string out = "'";
        for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
        return out + "'";
    }

    // Runs sbatch; returns the job id (sbatch --parsable prints "id[;cluster]").
    static std::string sbatch(const std::string& arguments) {
        const std::string output = command_output("sbatch " + arguments + " 2>&1");
        std::string id;
        for (char c : output) {
            if (!std::isdigit(static_cast<unsigned char>(c))) break;
            id += c;
        }
        if (id.empty())
            throw environment_error("sbatch " + arguments + " failed: " +
                                    (output.empty() ? std::string("no output (is Slurm's sbatch on PATH?)") : output));
        return id;
    }

    static std::string command_output(const std::string& command) {
        std::string out;
        FILE* pipe = ::popen(command.c_str(), "r");
        if (!pipe) return out;
        char buffer[4096];
        while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
        ::pclose(pipe);
        while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
        return out;
    }

    // Trial id → Slurm state (PENDING, RUNNING, …) of the sweep's array tasks still queued.
    std::map<std::string, std::string> slurm_queue() const {
        std::map<std::string, std::string> out;
        const fs::path jobs = folder_ / "slurm" / "jobs.json";
        if (!fs::exists(jobs)) return out;
        const std::string array = read_json_file(jobs).value("array", "");
        if (array.empty() || array.find_first_not_of("0123456789") != std::string::npos) return out;
        std::stringstream lines(command_output("squeue -h -r -j " + array + " -o '%i %T' 2>/dev/null"));
        for (std::string line; std::getline(lines, line);) {
            const auto underscore = line.find('_'), space = line.find(' ');
            if (underscore == std::string::npos || space == std::string::npos || space < underscore) continue;
            const int task = std::atoi(line.substr(underscore + 1, space - underscore - 1).c_str());
            out[fmt::format("trial-{:04d}", task)] = line.substr(space + 1);
        }
        return out;
    }

    // Where each trial stands, from its folder (and Slurm's queue); writes trials.csv.
    int status() {
        std::vector<TrialState> states(trials_.size());
        load_asha(states);
        std::map<std::string, std::string> queue = slurm_queue();
        std::size_t finished = 0, failed = 0, running = 0, pending = 0;
        for (std::size_t t = 0; t < trials_.size(); ++t) {
            TrialState& s = states[t];
            std::string reason;
            const std::string summary = summary_status(trial_dir(trials_[t]), &reason);
            if (s.status == "stopped") {
            } else if (summary == "finished") {
                s.status = "finished";
            } else if (summary == "failed") {
                s.status = "failed", s.reason = reason;
            } else if (queue.count(trials_[t].id)) {
                s.status = queue[trials_[t].id] == "RUNNING" ? "running" : "pending";
            } else if (fs::exists(trial_dir(trials_[t]))) {
                s.status = "failed";
                s.reason = last_line(folder_ / "logs" / (trials_[t].id + ".err"));
                if (s.reason.empty()) s.reason = "ended without finishing (killed, out of time or memory?)";
            }
            finished += s.status == "finished", failed += s.status == "failed";
            running += s.status == "running", pending += s.status == "pending";
        }
        write_table(states);
        std::cout << fmt::format("{}: {} trials: {} finished, {} running, {} pending, {} failed\n", folder_.string(),
                                 trials_.size(), finished, running, pending, failed);
        if (const auto b = best_trial(states); b < trials_.size())
            std::cout << fmt::format("best so far: {} ({} {:.4f}): {}\n", trials_[b].id, spec_.metric,
                                     trial_metric(trial_dir(trials_[b]), spec_.metric), params_text(trials_[b]));
        return exit_code::ok;
    }

private:
    // The trial's experiment: the file, the sweep's --set, then the trial's keys.
    LoadedExperiment load_trial(const Trial& trial) const {
        std::vector<std::string> overrides = base_overrides_;
        for (const auto& o : trial.overrides()) overrides.push_back(o);
        return load_experiment(experiment_file_, overrides, registry_);
    }

    // What the trial's dataset and features nodes compute: trials alike here
    // share their cached tables.
    static std::string data_signature(const Experiment& experiment) {
        nlohmann::json data = nlohmann::json::array();
        for (const auto& node : experiment.nodes)
            if (node.kind == "dataset" || node.kind == "features")
                data.push_back({node.id, node.uses, node.inputs, node.params, node.files});
        return data.dump();
    }

    bool validate_trials() {
        std::size_t bad = 0;
        for (const auto& trial : trials_) {
            const LoadedExperiment loaded = load_trial(trial);
            if (loaded.errors.empty()) {
                signatures_.emplace(data_signature(loaded.experiment), &trial);
                continue;
            }
            ++bad;
            for (const auto& d : loaded.errors) std::cerr << trial.id << " (" << params_text(trial) << "): " << d.str() << "\n";
        }
        if (bad) std::cerr << bad << " of " << trials_.size() << " trials invalid; no trial was run\n";
        return bad == 0;
    }

    // runs/<name>/sweep-<timestamp>/, or the unfinished folder of the same sweep.
    void open_folder(const Experiment& base) {
        const std::string experiment_text = read_text_file(options_.experiment_file);
        key_ = sha256_hex(experiment_text + "\n" + fmt::format("{}", fmt::join(options_.overrides, "\n")) + "\n" +
                          fmt::format("{}", fmt::join(options_.grid_arguments, "\n")));
        const fs::path parent = fs::path(options_.runs_root.empty() ? base.runs_dir : options_.runs_root) / base.name;
        cache_dir_ = fs::absolute(options_.cache_dir.empty() ? base.cache_dir : options_.cache_dir).string();
        std::vector<fs::path> same;
        if (fs::is_directory(parent))
            for (const auto& entry : fs::directory_iterator(parent)) {
                const fs::path file = entry.path() / "sweep.json";
                if (entry.path().filename().string().rfind("sweep-", 0) != 0 || !fs::exists(file)) continue;
                try {
                    if (read_json_file(file).value("key", "") == key_) same.push_back(entry.path());
                } catch (const std::exception&) {
                }
            }
        std::sort(same.begin(), same.end());
        if (!same.empty()) {
            folder_ = same.back();
            resumed_ = true;
        } else {
            fs::create_directories(parent);
            const std::string stamp = utc_timestamp_iso();
            std::string compact;
            for (char c : stamp)
                if (c != '-' && c != ':') compact += c;
            folder_ = parent / ("sweep-" + compact);
            for (int n = 2; fs::exists(folder_); ++n) folder_ = parent / fmt::format("sweep-{}-{}", compact, n);
            fs::create_directories(folder_ / "trials");
        }
        ojson trials = ojson::array();
        for (const auto& t : trials_) trials.push_back({{"id", t.id}, {"params", t.params}});
        ojson spec{{"scheduler", spec_.scheduler}, {"grid", spec_.grid},     {"zip", spec_.zip},       {"random", spec_.random},
                   {"samples", spec_.samples}, {"random_seed", spec_.random_seed}, {"seeds", spec_.seeds},
                   {"metric", spec_.metric}, {"mode", spec_.mode},   {"on_failure", spec_.on_failure},
                   {"min_epochs", spec_.asha_min_epochs}, {"reduction_factor", spec_.asha_reduction}};
        const ojson manifest{{"format", 1},
                             {"key", key_},
                             {"experiment", fs::absolute(options_.experiment_file).string()},
                             {"overrides", options_.overrides},
                             {"grid_arguments", options_.grid_arguments},
                             {"cache_dir", cache_dir_},
                             {"command_line", options_.command_line},
                             {"spec", spec},
                             {"trials", trials}};
        write_file_atomic(folder_ / "sweep.json", manifest.dump(2) + "\n");
        log(fmt::format("{} sweep folder: {} ({} trials, {} at a time on {})", resumed_ ? "resuming" : "new",
                        folder_.string(), trials_.size(), options_.workers, fmt::join(options_.devices, ", ")));
    }

    void log(const std::string& line) {
        const std::string stamped = "[" + utc_timestamp_iso().substr(11, 8) + "] " + line;
        if (!options_.quiet) std::cerr << stamped << "\n";
        std::lock_guard<std::mutex> lock(log_mutex_);
        std::ofstream(folder_ / "sweep.log", std::ios::app) << stamped << "\n";
    }

    // Data nodes the trials share are computed once, by the sweep, before any
    // trial: trials then find them in the cache and never compute one twice
    // or at once.
    void warm_cache() {
        if (signatures_.empty())  // a sweep folder's own warm-up job: not validated in this process
            for (const auto& trial : trials_) signatures_.emplace(data_signature(load_trial(trial).experiment), &trial);
        const auto& signatures = signatures_;
        int k = 0;
        for (const auto& [_, trial] : signatures) {
            const fs::path warm = folder_ / "warmup" / std::to_string(k++);
            if (fs::exists(warm / "summary.json") && summary_status(warm, nullptr) == "finished") continue;
            fs::remove_all(warm);
            LoadedExperiment loaded = load_trial(*trial);
            RunOptions run;
            run.exact_folder = warm.string();
            run.cache_dir = cache_dir_;
            run.quiet = true;
            run.data_only = true;
            log(fmt::format("warm-up: the data nodes of {} trial(s) like {}, computed once into the cache ({})",
                            trials_.size() / signatures.size(), trial->id, warm.string()));
            const RunOutcome outcome = run_experiment(loaded.experiment, registry_, run);
            if (!outcome.ok)
                throw Error("warm-up: node '" + outcome.failed_node + "' failed: " + outcome.reason +
                            "; no trial was run (" + (warm / "log.txt").string() + ")");
        }
    }

    fs::path trial_dir(const Trial& t) const { return folder_ / "trials" / t.id; }

    int run_trials() {
        std::vector<TrialState> states(trials_.size());
        // A rerun keeps what the previous one counted and measured: attempts,
        // and the device and seconds of the trials that ran then.
        if (fs::exists(folder_ / "trials.csv")) {
            const CsvTable previous = read_csv(folder_ / "trials.csv");
            const int attempts = previous.column("attempts"), device = previous.column("device"),
                      seconds = previous.column("seconds");
            for (const auto& row : previous.rows)
                for (std::size_t t = 0; t < trials_.size(); ++t) {
                    if (row[0] != trials_[t].id) continue;
                    if (attempts >= 0) states[t].attempts = std::atoi(row[static_cast<std::size_t>(attempts)].c_str());
                    if (device >= 0) states[t].device = row[static_cast<std::size_t>(device)];
                    if (seconds >= 0 && !row[static_cast<std::size_t>(seconds)].empty()) {
                        states[t].seconds = std::strtod(row[static_cast<std::size_t>(seconds)].c_str(), nullptr);
                        states[t].timed = true;
                    }
                }
        }
        load_asha(states);
        std::vector<std::size_t> pending;
        for (std::size_t t = 0; t < trials_.size(); ++t) {
            if (states[t].status == "stopped") continue;  // ASHA's decision stands
            if (summary_status(trial_dir(trials_[t]), nullptr) == "finished") {
                states[t].status = "finished";
                continue;
            }
            pending.push_back(t);
        }
        if (resumed_)
            log(fmt::format("{} of {} trials finished before; running the other {}", trials_.size() - pending.size(),
                            trials_.size(), pending.size()));
        struct sigaction action {};
        action.sa_handler = on_signal;
        sigemptyset(&action.sa_mask);
        struct sigaction old_int {}, old_term {};
        sigaction(SIGINT, &action, &old_int);
        sigaction(SIGTERM, &action, &old_term);

        const int cores = std::max(1u, std::thread::hardware_concurrency());
        const int workers = std::max(1, options_.workers);
        const int threads = std::max(1, cores / workers);
        struct Running {
            std::size_t trial;
            int slot;
            Clock::time_point start;
        };
        std::map<pid_t, Running> running;
        std::vector<bool> slot_busy(static_cast<std::size_t>(workers), false);
        bool stop = false;
        const auto sweep_start = Clock::now();
        std::size_t next = 0;
        bool dirty = true;  // trials.csv is rewritten when a trial starts or ends
        while ((next < pending.size() && !stop) || !running.empty()) {
            while (!stop && !g_interrupted && next < pending.size() && static_cast<int>(running.size()) < workers) {
                const std::size_t t = pending[next++];
                const int slot = static_cast<int>(std::find(slot_busy.begin(), slot_busy.end(), false) - slot_busy.begin());
                slot_busy[static_cast<std::size_t>(slot)] = true;
                const std::string device = options_.devices[static_cast<std::size_t>(slot) % options_.devices.size()];
                states[t].device = device;
                states[t].status = "running";
                ++states[t].attempts;
                running[spawn(trials_[t], device, threads)] = {t, slot, Clock::now()};
                log(fmt::format("{} started on {} (attempt {}): {}", trials_[t].id, device, states[t].attempts,
                                params_text(trials_[t])));
                dirty = true;
            }
            if (dirty) write_table(states);
            dirty = false;
            if (running.empty()) break;
            int status = 0;
            const pid_t pid = ::waitpid(-1, &status, WNOHANG);
            if (pid == 0 && !g_interrupted) {  // every trial still running
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
                continue;
            }
            if (pid <= 0) {
                if (g_interrupted) {
                    log("interrupted: telling the running trials to stop");
                    for (const auto& [child, _] : running) ::kill(child, SIGTERM);
                    stop = true;
                    g_interrupted = 0;
                    interrupted_ = true;
                }
                continue;
            }
            const auto it = running.find(pid);
            if (it == running.end()) continue;
            const Running done = it->second;
            running.erase(it);
            dirty = true;
            slot_busy[static_cast<std::size_t>(done.slot)] = false;
            TrialState& state = states[done.trial];
            state.seconds = std::chrono::duration<double>(Clock::now() - done.start).count();
            state.timed = state.ran_now = true;
            const Trial& trial = trials_[done.trial];
            std::string reason;
            const std::string summary = summary_status(trial_dir(trial), &reason);
            try {
                load_asha(states);  // the trial may have stopped itself
            } catch (const std::exception& e) {
                log(std::string("ASHA's record could not be read: ") + e.what());
            }
            if (state.status == "stopped") {
                const std::string tail = last_line(folder_ / "logs" / (trial.id + ".err"));
                state.reason = tail.rfind("stopped by ASHA", 0) == 0
                                   ? tail
                                   : fmt::format("stopped by ASHA at epoch {}", state.stopped_at);
            } else if (summary == "finished" && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
                state.status = "finished";
                state.reason.clear();
            } else if (interrupted_) {
                state.status = "interrupted";
            } else {
                state.status = "failed";
                if (reason.empty()) {
                    const std::string tail = last_line(folder_ / "logs" / (trial.id + ".err"));
                    reason = WIFSIGNALED(status) ? fmt::format("killed by signal {}{}", WTERMSIG(status),
                                                               tail.empty() ? "" : ": " + tail)
                                                 : tail.empty() ? fmt::format("exit code {}", WEXITSTATUS(status)) : tail;
                }
                state.reason = reason;
                if (state.attempts <= options_.retries) {
                    log(fmt::format("{} failed ({}); retrying", trial.id, reason));
                    pending.push_back(done.trial);
                } else if (spec_.on_failure == "fail_fast") {
                    log(fmt::format("{} failed ({}); on_failure: fail_fast stops the sweep", trial.id, reason));
                    for (const auto& [child, _] : running) ::kill(child, SIGTERM);
                    stop = true;
                }
            }
            log(fmt::format("{} {} in {} ({}){}", trial.id, state.status, format_duration(state.seconds),
                            params_text(trial), state.reason.empty() ? "" : ": " + state.reason));
            progress_line(states, sweep_start);
        }
        sigaction(SIGINT, &old_int, nullptr);
        sigaction(SIGTERM, &old_term, nullptr);
        write_table(states);
        return finish(states);
    }

    pid_t spawn(const Trial& trial, const std::string& device, int threads) {
        fs::create_directories(folder_ / "logs");
        const std::string log_file = (folder_ / "logs" / (trial.id + ".err")).string();
        const std::string exe = fs::read_symlink("/proc/self/exe").string();
        std::vector<std::string> args{exe,       "trial", folder_.string(), trial.id, "--device",
                                      device.rfind("cuda", 0) == 0 ? "cuda:0" : device,
                                      "--threads", std::to_string(threads)};
        std::vector<std::string> env;
        for (char** e = environ; *e; ++e)
            if (std::string(*e).rfind("CUDA_VISIBLE_DEVICES=", 0) != 0) env.emplace_back(*e);
        // The trial sees only its GPU, as cuda:0.
        if (device.rfind("cuda:", 0) == 0) env.push_back("CUDA_VISIBLE_DEVICES=" + device.substr(5));
        // The trial dies with the sweep, however the sweep ends (run_trial).
        env.push_back("MER_SWEEP_PARENT=" + std::to_string(::getpid()));
        std::vector<char*> argv, envp;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        for (auto& e : env) envp.push_back(e.data());
        envp.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                         0644);
        pid_t pid = 0;
        const int error = posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), envp.data());
        posix_spawn_file_actions_destroy(&actions);
        if (error != 0) throw environment_error("cannot start a trial process: " + std::string(std::strerror(error)));
        return pid;
    }

    void progress_line(const std::vector<TrialState>& states, Clock::time_point start) {
        std::size_t finished = 0, failed = 0, running = 0, finished_now = 0, stopped = 0;
        for (const auto& s : states) {
            stopped += s.status == "stopped";
            finished += s.status == "finished";
            failed += s.status == "failed";
            running += s.status == "running";
            finished_now += s.status == "finished" && s.ran_now;
        }
        std::string best;
        if (const auto b = best_trial(states); b < trials_.size())
            best = fmt::format(" · best {} {:.4f} ({})", spec_.metric, trial_metric(trial_dir(trials_[b]), spec_.metric),
                               trials_[b].id);
        const std::size_t left = trials_.size() - finished - failed - stopped;
        std::string eta;
        if (finished_now > 0 && left > 0) {
            const double per_trial = std::chrono::duration<double>(Clock::now() - start).count() /
                                     static_cast<double>(finished_now);
            eta = ", about " + format_duration(per_trial * static_cast<double>(left)) + " left";
        }
        log(fmt::format("sweep: {}/{} finished, {} running, {} failed{}{}{}", finished, trials_.size(), running, failed,
                        spec_.scheduler == "asha" ? fmt::format(", {} stopped", stopped) : "", best, eta));
    }

    std::size_t best_trial(const std::vector<TrialState>& states) const {
        std::size_t best = trials_.size();
        double best_value = NAN;
        for (std::size_t t = 0; t < trials_.size(); ++t) {
            if (states[t].status != "finished") continue;
            const double v = trial_metric(trial_dir(trials_[t]), spec_.metric);
            if (std::isnan(v)) continue;
            if (best == trials_.size() || (spec_.mode == "max" ? v > best_value : v < best_value)) best = t, best_value = v;
        }
        return best;
    }

    // trials.csv: one row per trial, rewritten whenever one changes.
    void write_table(const std::vector<TrialState>& states) {
        std::vector<std::string> swept;
        for (const auto& t : trials_)
            for (const auto& [key, _] : t.params.items())
                if (std::find(swept.begin(), swept.end(), key) == swept.end()) swept.push_back(key);
        std::vector<std::string> scores;  // node.target.r2 of every finished trial
        std::map<std::size_t, nlohmann::ordered_json> summaries;
        for (std::size_t t = 0; t < trials_.size(); ++t) {
            if (states[t].status != "finished") continue;
            try {
                summaries[t] = read_summary(trial_dir(trials_[t]));
            } catch (const std::exception&) {  // being written: its scores come with the next rewrite
                continue;
            }
            const nlohmann::ordered_json nodes = summaries[t].value("nodes", nlohmann::ordered_json::object());
            for (const auto& [node, entry] : nodes.items()) {
                if (!entry.is_object()) continue;
                const nlohmann::ordered_json validation = entry.value("validation", nlohmann::ordered_json::object());
                for (const auto& [target, _] : validation.items()) {
                    const std::string column = node + "." + target + ".r2";
                    if (std::find(scores.begin(), scores.end(), column) == scores.end()) scores.push_back(column);
                }
            }
        }
        const bool asha = spec_.scheduler == "asha";
        std::vector<std::string> header{"trial", "status", "attempts", "device", "seconds", "epochs"};
        if (asha) header.push_back("rung");
        header.push_back("metric");
        header.insert(header.end(), swept.begin(), swept.end());
        header.insert(header.end(), scores.begin(), scores.end());
        header.insert(header.end(), {"reason", "folder"});
        std::string text = csv_row(header) + "\n";
        const std::string metric_node = spec_.metric.substr(0, spec_.metric.find('.'));
        for (std::size_t t = 0; t < trials_.size(); ++t) {
            const TrialState& s = states[t];
            const fs::path dir = trial_dir(trials_[t]);
            const int epochs = s.status == "stopped" && s.stopped_at > 0
                                   ? s.stopped_at
                                   : epochs_reached(dir, spec_.metric.empty() ? "" : metric_node);
            std::vector<std::string> row{trials_[t].id, s.status, std::to_string(s.attempts), s.device,
                                         s.timed ? fmt::format("{:.1f}", s.seconds) : "", std::to_string(epochs)};
            if (asha) {
                const int rung = asha_rung(epochs, asha_settings());
                row.push_back(rung < 0 ? "" : std::to_string(rung));
            }
            row.push_back(s.status == "finished" ? format_number(trial_metric(dir, spec_.metric)) : "");
            for (const auto& key : swept) row.push_back(trials_[t].params.contains(key) ? trials_[t].params[key].dump() : "");
            for (const auto& column : scores) {
                const double score = summaries.count(t) ? summary_score(summaries[t], column) : NAN;
                row.push_back(std::isnan(score) ? "" : format_number(score));
            }
            row.push_back(s.reason);
            row.push_back(fs::relative(dir, folder_).string());
            text += csv_row(row) + "\n";
        }
        write_file_atomic(folder_ / "trials.csv", text);
    }

    int finish(const std::vector<TrialState>& states) {
        std::size_t finished = 0, failed = 0, stopped = 0;
        for (const auto& s : states)
            finished += s.status == "finished", failed += s.status == "failed", stopped += s.status == "stopped";
        log(fmt::format("sweep {}: {} of {} trials finished, {} failed; trials.csv in {}",
                        interrupted_ ? "interrupted" : "done", finished, trials_.size(), failed, folder_.string()));
        if (const auto b = best_trial(states); b < trials_.size()) {
            std::string rerun = "mer-run run " + experiment_file_;
            for (const auto& o : base_overrides_) rerun += " --set '" + o + "'";
            for (const auto& o : trials_[b].overrides()) rerun += " --set '" + o + "'";
            log(fmt::format("best: {} ({} {:.4f}): {}", trials_[b].id, spec_.metric,
                            trial_metric(trial_dir(trials_[b]), spec_.metric), params_text(trials_[b])));
            log("rerun it alone: " + rerun);
        }
        try {
            log("report: " + write_sweep_report(folder_).string());
        } catch (const std::exception& e) {
            log(std::string("report.html could not be written (rebuild it with mer-run report): ") + e.what());
        }
        std::cout << folder_.string() << "\n";
        if (interrupted_) return exit_code::interrupted;
        return failed == 0 && finished + stopped == trials_.size() ? exit_code::ok : exit_code::failed;
    }

    AshaSettings asha_settings() const { return {spec_.asha_min_epochs, spec_.asha_reduction, spec_.mode}; }

    // The trials ASHA has stopped (asha.json: each trial process records its
    // own rungs and stops itself, see run_trial); a rerun keeps them stopped.
    void load_asha(std::vector<TrialState>& states) {
        if (spec_.scheduler != "asha") return;
        const auto stopped = AshaBoard(folder_, asha_settings()).stopped();
        for (std::size_t t = 0; t < trials_.size(); ++t)
            if (const auto it = stopped.find(trials_[t].id); it != stopped.end())
                states[t].status = "stopped", states[t].stopped_at = it->second;
    }

    const SweepOptions& options_;
    const PluginRegistry& registry_;
    std::map<std::string, const Trial*> signatures_;  // data signature → its first trial
    std::string experiment_file_;              // as given (trials resolve paths from the working directory)
    std::vector<std::string> base_overrides_;  // --set, in every trial
    SweepSpec spec_;
    std::vector<Trial> trials_;
    fs::path folder_;
    std::string key_, cache_dir_;
    bool resumed_ = false, interrupted_ = false;
    std::mutex log_mutex_;
};

// ASHA inside a trial process: every 100 ms it reads the trial's curve and
// records it at the rungs reached; when the trial is not promoted it says so
// on stderr (the trial's log) and ends the process with exit code 0 — a
// stopped trial is not a failure, for the local sweep as for Slurm.
class AshaWatch {
public:
    // last_epoch: the epochs the trial trains at most (0: unknown); a trial
    // that reaches it has finished, so a rung there records it but stops nothing.
    AshaWatch(AshaBoard board, std::string trial, fs::path folder, std::string metric, int last_epoch)
        : board_(std::move(board)), trial_(std::move(trial)), folder_(std::move(folder)), metric_(std::move(metric)),
          last_epoch_(last_epoch), thread_([this] { watch(); }) {}
    ~AshaWatch() { stop(); }

    // The run has ended: its last rungs are recorded for the trials after it.
    void finish() {
        stop();
        try {
            board_.record(trial_, metric_curve(folder_, metric_), false);
        } catch (const std::exception& e) {
            std::cerr << "ASHA: " << e.what() << "\n";
        }
    }

private:
    void stop() {
        done_ = true;
        if (thread_.joinable()) thread_.join();
    }

    void watch() {
        std::size_t seen = 0;
        int failures = 0;
        while (!done_) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            try {
                const auto curve = metric_curve(folder_, metric_);
                if (curve.size() == seen) continue;
                const AshaBoard::Decision d = board_.record(trial_, curve, !done_, last_epoch_);
                seen = curve.size();
                failures = 0;
                if (d.stopped_at == 0) continue;
                std::cerr << fmt::format("stopped by ASHA at epoch {}: {} {:.4f} is not in the top 1/{} of the {} trials "
                                         "that reached it\n",
                                         d.stopped_at, metric_, d.value, board_.settings().reduction, d.compared)
                          << std::flush;
                std::_Exit(0);
            } catch (const std::exception& e) {  // tried again at the next poll; after 50 in a row, given up
                if (++failures == 50) {
                    std::cerr << "ASHA: " << e.what() << "; this trial runs to its end\n";
                    return;
                }
            }
        }
    }

    AshaBoard board_;
    std::string trial_;
    fs::path folder_;
    std::string metric_;
    int last_epoch_;
    std::atomic<bool> done_{false};
    std::thread thread_;
};

}  // namespace

int run_sweep(const SweepOptions& options, const PluginRegistry& registry) {
    return SweepRunner(options, registry).run();
}

int sweep_status(const fs::path& sweep_dir, const PluginRegistry& registry) {
    SweepOptions none;
    SweepRunner runner(none, registry);
    runner.load_folder(sweep_dir);
    return runner.status();
}

int run_trial(const fs::path& sweep_dir, const std::string& trial_id, const std::string& device, int threads,
              const PluginRegistry& registry) {
    // Started by a local sweep: die with it, however it ends (kill -9
    // included), so no trial runs on alone holding its run folder's lock.
    if (const char* parent = std::getenv("MER_SWEEP_PARENT")) {
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (std::to_string(::getppid()) != parent) return exit_code::interrupted;  // the sweep was gone before the line above
    }
    if (trial_id == "warmup") {  // the sweep's feature-cache warm-up, as its own job
        SweepOptions quiet;
        quiet.quiet = true;
        SweepRunner runner(quiet, registry);
        runner.load_folder(sweep_dir);
        runner.warm_up_folder();
        return exit_code::ok;
    }
    const SweepManifest manifest = read_sweep_manifest(sweep_dir);
    const fs::path folder = sweep_dir / "trials" / trial_id;
    RunOptions run;
    run.cache_dir = manifest.cache_dir;
    run.quiet = true;
    std::string file;
    std::vector<std::string> overrides;
    // An attempt killed before it wrote its config (with its sweep, at once)
    // left a folder with nothing to continue: it starts again.
    if (fs::is_directory(folder) && !fs::is_symlink(folder) && !fs::exists(folder / "config.yaml")) fs::remove_all(folder);
    if (fs::exists(folder / "config.yaml")) {  // an earlier attempt: continue it
        run.resume_folder = folder.string();
        file = (folder / "config.yaml").string();
    } else {
        const auto trial = std::find_if(manifest.trials.begin(), manifest.trials.end(),
                                        [&](const Trial& t) { return t.id == trial_id; });
        if (trial == manifest.trials.end())
            throw Error("no trial '" + trial_id + "' in this sweep", Location((sweep_dir / "sweep.json").string()));
        overrides = manifest.overrides;
        for (const auto& o : trial->overrides()) overrides.push_back(o);
        overrides.push_back("device=" + device);
        overrides.push_back("threads=" + std::to_string(threads));
        file = manifest.experiment;
        run.exact_folder = folder.string();
    }
    LoadedExperiment loaded = load_experiment(file, overrides, registry);
    if (!loaded.errors.empty()) {
        for (const auto& d : loaded.errors) std::cerr << d.str() << "\n";
        return exit_code::invalid;
    }
    std::unique_ptr<AshaWatch> asha;
    if (manifest.scheduler == "asha") {
        const std::string& metric = manifest.metric;
        int last_epoch = 0;  // the metric's node's epochs (or boosting rounds), where it says
        for (const auto& node : loaded.experiment.nodes)
            if (node.id == metric.substr(0, metric.find('.')))
                for (const char* key : {"epochs", "n_estimators"})
                    if (node.params.contains(key) && node.params[key].is_number_integer())
                        last_epoch = node.params[key].get<int>();
        asha = std::make_unique<AshaWatch>(AshaBoard(sweep_dir, manifest.asha), trial_id, folder, metric,
                                           last_epoch);
    }
    const RunOutcome outcome = run_experiment(loaded.experiment, registry, run);
    if (asha) asha->finish();
    if (outcome.ok) return exit_code::ok;
    std::cerr << "error: node '" << outcome.failed_node << "' failed: " << outcome.reason << "\n";
    return outcome.kind == ErrorKind::environment ? exit_code::environment : exit_code::failed;
}

}  // namespace mer
