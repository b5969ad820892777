// mer-run: the command line of the workbench. Each subcommand is a thin
// layer over libmer_core; errors are caught here, printed once and turned
// into exit codes (0 ok, 1 a node failed, 2 input refused before anything
// ran, 3 the environment: disk, permissions, device).
#include <fmt/format.h>
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <limits>
#include <map>
#include <new>
#include <nlohmann/json.hpp>
#include <string>

#include "core/base/files.hpp"
#include "core/conformance/plugin_check.hpp"
#include "core/error.hpp"
#include "core/exec/executor.hpp"
#include "core/exec/predict.hpp"
#include "core/exec/predict_format.hpp"
#include "core/exit_codes.hpp"
#include "core/graph/experiment.hpp"
#include "core/graph/schema.hpp"
#include "core/plugin/registry.hpp"
#include "core/report/report.hpp"
#include "core/run/progress.hpp"
#include "core/sweep/sweep.hpp"
#include "core/synth/synthetic_corpus.hpp"
#include "core/synth/synthetic_table.hpp"

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

mer::PluginRegistry scan_plugins() {
    mer::PluginRegistry registry;
    registry.scan(mer::PluginRegistry::default_folders());
    return registry;
}

// Loads and validates; prints every error and returns false when invalid.
bool load_valid(const std::string& file, const std::vector<std::string>& overrides, const mer::PluginRegistry& registry,
                mer::Experiment& experiment) {
    mer::LoadedExperiment loaded = mer::load_experiment(file, overrides, registry);
    for (const auto& d : loaded.errors) std::cerr << d.str() << "\n";
    if (!loaded.errors.empty()) {
        std::cerr << loaded.errors.size() << (loaded.errors.size() == 1 ? " error" : " errors") << " in " << file
                  << "\n";
        return false;
    }
    experiment = std::move(loaded.experiment);
    return true;
}

// A run that failed in a node, said once; the sweep reads this line back
// from a trial's stderr as the trial's reason when nothing else says why.
void print_failure(const mer::RunOutcome& outcome) {
    std::cerr << "error: node '" << outcome.failed_node << "' failed: " << outcome.reason << "\n";
}

// An exception nothing translated, at main: mer's bug, not the user's input.
int internal_error(const std::string& what) {
    // One line: a sweep records a trial's last line of stderr as its reason.
    std::cerr << "error: internal error (a bug in mer, not in your input): " << what
              << "; please report it with the command line and this message (a run folder keeps what was written "
                 "before it)\n";
    return mer::exit_code::internal;
}

int exit_code_of(const mer::RunOutcome& outcome) {
    if (outcome.ok) return mer::exit_code::ok;
    return outcome.kind == mer::ErrorKind::environment ? mer::exit_code::environment : mer::exit_code::failed;
}

// The library's log lines (a sweep's events, a trial's ASHA decisions), on stderr.
class StderrLines : public mer::ProgressSink {
public:
    void progress(const std::string& bar, bool finished) override {
        std::cerr << "\r" << bar << (finished ? "\n" : "") << std::flush;
    }
    void line(const std::string& text) override { std::cerr << text << "\n" << std::flush; }
};

int list_plugins(const mer::PluginRegistry& registry, bool as_json) {
    if (as_json) {
        json out{{"host_abi", mer::host_abi_tag()}, {"plugins", json::array()}, {"refused", json::array()}};
        for (const auto& p : registry.plugins())
            out["plugins"].push_back({{"name", p.name},
                                      {"kind", p.kind},
                                      {"version", p.version},
                                      {"abi", p.abi_tag},
                                      {"file", p.file},
                                      {"description", p.description}});
        for (const auto& r : registry.refused()) out["refused"].push_back({{"file", r.file}, {"reason", r.reason}});
        std::cout << out.dump(2) << "\n";
        return 0;
    }
    std::cout << "host ABI: " << mer::host_abi_tag() << "\n\n";
    if (registry.plugins().empty()) std::cout << "no plugins found\n";
    for (const auto& p : registry.plugins())
        std::cout << p.name << "  " << p.version << "  (" << p.kind << ")\n    " << p.description << "\n    " << p.file
                  << "\n";
    if (!registry.refused().empty()) std::cout << "\nrefused:\n";
    for (const auto& r : registry.refused()) std::cout << r.file << "\n    " << r.reason << "\n";
    std::cout << "\nsearched: ";
    for (const auto& f : mer::PluginRegistry::default_folders()) std::cout << f.string() << "  ";
    std::cout << "\n";
    return 0;
}

// A finite number of seconds in [low, high]: CLI11's NonNegativeNumber and
// Range let nan through (a comparison with nan is false) and print their
// bounds with std::to_string, DBL_MAX as 309 digits.
CLI::Validator finite_seconds(double low, double high = std::numeric_limits<double>::infinity()) {
    const std::string range =
        std::isinf(high) ? fmt::format("{} or more", low) : fmt::format("from {} to {}", low, high);
    return CLI::Validator(
        [low, high, range](std::string& text) -> std::string {
            char* end = nullptr;
            const double v = std::strtod(text.c_str(), &end);
            if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v) || v < low || v > high)
                return "expected a finite number of seconds, " + range + ", not '" + text + "'";
            return "";
        },
        "SECONDS");
}

std::string range_of(const json& s) {
    std::string out;
    if (s.contains("enum")) {
        for (const auto& v : s["enum"]) out += (out.empty() ? "one of " : ", ") + v.dump();
        return out;
    }
    const std::string low = s.contains("exclusiveMinimum") ? "(" + s["exclusiveMinimum"].dump()
                            : s.contains("minimum")        ? "[" + s["minimum"].dump()
                                                           : "";
    const std::string high = s.contains("exclusiveMaximum") ? s["exclusiveMaximum"].dump() + ")"
                             : s.contains("maximum")        ? s["maximum"].dump() + "]"
                                                            : "";
    if (low.empty() && high.empty()) return "";
    return (low.empty() ? "(-inf" : low) + ", " + (high.empty() ? "inf)" : high);
}

int describe_plugin(const mer::PluginRegistry& registry, const std::string& name, bool as_json) {
    const mer::PluginRecord& p = registry.get(name);
    if (as_json) {  // for editors and tools: everything the registry knows of the plugin
        std::cout << json{{"name", p.name},           {"kind", p.kind},
                          {"version", p.version},     {"description", p.description},
                          {"file", p.file},           {"abi_tag", p.abi_tag},
                          {"inputs", p.inputs},       {"capabilities", p.capabilities},
                          {"params_schema", p.schema}}
                         .dump(2)
                  << "\n";
        return 0;
    }
    std::cout << p.name << " " << p.version << " (" << p.kind << ")\n" << p.description << "\n" << p.file << "\n\n";
    const json properties = p.schema.value("properties", json::object());
    if (properties.empty()) std::cout << "no parameters\n";
    const json required = p.schema.value("required", json::array());
    for (const auto& [key, s] : properties.items()) {
        std::cout << key << "\n    type: " << mer::describe_schema_type(s) << "\n";
        if (s.contains("default"))
            std::cout << "    default: " << s["default"].dump() << "\n";
        else if (std::find(required.begin(), required.end(), key) != required.end())
            std::cout << "    required\n";
        if (const std::string r = range_of(s); !r.empty()) std::cout << "    range: " << r << "\n";
        if (s.contains("description")) std::cout << "    " << s["description"].get<std::string>() << "\n";
    }
    return 0;
}

// The library alone in a folder of its own (a registry scans folders), checked.
int check_plugin_library(const std::string& library) {
    const fs::path file = fs::absolute(library);
    if (!fs::is_regular_file(file)) throw mer::Error(library + ": no such plugin file");
    const fs::path folder = fs::temp_directory_path() / ("mer-plugin-check-" + std::to_string(::getpid()));
    fs::remove_all(folder);
    fs::create_directories(folder);
    fs::create_symlink(file, folder / file.filename());
    mer::PluginRegistry registry;
    registry.scan({folder});
    fs::remove_all(folder);
    for (const auto& refused : registry.refused()) {
        std::cerr << library << ": refused: " << refused.reason << "\n";
        return mer::exit_code::invalid;
    }
    if (registry.plugins().size() != 1) throw mer::Error(library + ": not a mer plugin library");
    const mer::PluginRecord& plugin = registry.plugins().front();
    std::cout << plugin.name << " " << plugin.version << " (" << plugin.kind << "), " << file.string() << "\n";
    int failed = 0;
    for (const auto& check : mer::check_plugin(registry, plugin)) {
        std::cout << (check.passed ? "  ok    " : "  FAIL  ") << check.what
                  << (check.detail.empty() ? "" : ": " + check.detail) << "\n";
        failed += !check.passed;
    }
    std::cout << (failed ? std::to_string(failed) + " checks failed" : "all checks passed") << "\n";
    return failed ? mer::exit_code::failed : mer::exit_code::ok;
}

int template_plugin(const mer::PluginRegistry& registry, const std::string& name) {
    const mer::PluginRecord& p = registry.get(name);
    const std::string id = p.name.substr(p.name.find('.') + 1);
    std::cout << "  " << id << ":\n    uses: " << p.name << "\n";
    if (p.inputs < 0)  // a dataset stacking others (dataset.union)
        std::cout << "    inputs: [DATASET_NODE, DATASET_NODE]\n";
    else if (p.kind != "dataset")
        std::cout << "    inputs: [INPUT_NODE]\n";
    const json properties = p.schema.value("properties", json::object());
    if (!properties.empty()) std::cout << "    params:\n";
    for (const auto& [key, s] : properties.items()) {
        const std::string value = s.contains("default") ? s["default"].dump() : "REQUIRED";
        std::cout << "      " << key << ": " << value;
        if (s.contains("description")) std::cout << "  # " << s["description"].get<std::string>();
        std::cout << "\n";
    }
    return 0;
}

// `mer-run EXP.yaml` is short for `mer-run run EXP.yaml`.
std::vector<std::string> arguments(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (!args.empty()) {
        const std::string ext = fs::path(args[0]).extension().string();
        if (ext == ".yaml" || ext == ".yml") args.insert(args.begin(), "run");
    }
    return args;
}

// Every option of every subcommand.
struct Options {
    std::string experiment_file, out_dir, cache_dir, resume_dir;
    std::vector<std::string> overrides;  // --set, then (after parsing) --set and --unset in order
    std::vector<std::string> unsets;     // --unset, read through overrides_in_order
    bool quiet = false;
    bool as_json = false;
    std::string plugin_name;
    mer::SyntheticTableSpec table_spec;
    std::string table_out;
    std::string model_path, predict_format = "csv", predict_out, predict_cache = "cache";
    std::vector<std::string> predict_nodes;
    double predict_offset = 0, predict_duration = 0;
    int predict_excerpts = 0;
    std::vector<std::string> predict_inputs;
    bool per_chunk = false;
    bool dynamic = false;
    bool clip = false;
    bool keep_checkpoints = false;
    bool describe_json = false;
    std::string plugin_library;
    mer::SynthCorpusSpec corpus_spec;
    std::string corpus_out;
    mer::SweepOptions sweep;
    std::string launcher = "local";
    std::string devices = "cpu";
    int trials_per_device = 0;  // 0: not given
    bool sweep_dry_run = false;
    std::string sweep_dir, trial_id, sweep_status;
    mer::TrialOptions trial;
    std::vector<std::string> report_inputs;
    std::string report_out;
    std::vector<std::string> report_labels;  // --label NAME=RUN_DIR
};

// --unset KEY beside every --set. Its values are read back in command-line
// order with the --set ones (overrides_in_order).
void add_unset(CLI::App& command, std::vector<std::string>& keys) {
    CLI::Option* unset = command.add_option("--unset", keys,
                                            "remove a key: path.to.key (it must exist), e.g. --unset nodes.ridge.grid; "
                                            "repeatable, applied in order with --set");
    unset->type_name("KEY")->allow_extra_args(false);  // one key per --unset: the experiment file may follow
}

// The --set and --unset values of `command` in command-line order, an --unset
// as "~KEY": the form load_experiment takes and sweep.json records, so a
// sweep's trial processes remove the key too.
std::vector<std::string> overrides_in_order(const CLI::App& command) {
    const CLI::Option* set = command.get_option_no_throw("--set");
    const CLI::Option* unset = command.get_option_no_throw("--unset");
    std::vector<std::string> out;
    std::size_t sets = 0, unsets = 0;
    for (const CLI::Option* option : command.parse_order()) {
        if (option == set && sets < set->results().size()) out.push_back(set->results()[sets++]);
        if (option == unset && unsets < unset->results().size()) out.push_back("~" + unset->results()[unsets++]);
    }
    return out;
}

CLI::App* declare_run(CLI::App& app, Options& o) {
    CLI::App* command = app.add_subcommand("run", "validate and run an experiment; prints the run folder");
    command->add_option("experiment", o.experiment_file, "experiment YAML file (not with --resume)");
    command->add_option("--resume", o.resume_dir,
                        "continue an interrupted run in its own folder: finished nodes and folds are kept, "
                        "LibTorch models continue from their last finished epoch");
    command->add_option("--set", o.overrides, "override a key: path.to.key=value (YAML value); repeatable");
    add_unset(*command, o.unsets);
    command->add_option("--out", o.out_dir,
                        "folder that receives <name>/<timestamp>-<id>/ (default: the experiment's runs_dir)");
    command->add_option("--cache", o.cache_dir, "node cache folder (default: the experiment's cache_dir)");
    command->add_flag("--quiet", o.quiet, "log to log.txt only, not to stderr");
    command->add_flag("--keep-checkpoints", o.keep_checkpoints,
                      "keep checkpoints/ (per-epoch training state) after the run finished; a failed or "
                      "interrupted run always keeps it for --resume");
    return command;
}

CLI::App* declare_validate(CLI::App& app, Options& o) {
    CLI::App* command =
        app.add_subcommand("validate", "check an experiment without running it; exit 2 lists every error");
    command->add_option("experiment", o.experiment_file, "experiment YAML file")->required();
    command->add_option("--set", o.overrides, "override a key: path.to.key=value; repeatable");
    add_unset(*command, o.unsets);
    return command;
}

CLI::App* declare_plugins(CLI::App& app, Options& o) {
    CLI::App* command = app.add_subcommand("plugins", "list plugins found and files refused (with the reason)");
    command->add_flag("--json", o.as_json, "machine-readable output");
    CLI::App* describe =
        command->add_subcommand("describe", "every parameter of a plugin: type, default, range, meaning");
    describe->add_option("name", o.plugin_name, "plugin name, e.g. regressor.ridge")->required();
    describe->add_flag("--json", o.describe_json,
                       "machine-readable: name, kind, version, file, ABI tag, capabilities, parameter schema");
    CLI::App* check = command->add_subcommand(
        "check", "the conformance checks of the in-tree plugins, on one plugin library (an out-of-tree build)");
    check->add_option("library", o.plugin_library, "the plugin's .so file")->required();
    CLI::App* make_template = command->add_subcommand("template", "a ready-to-edit YAML node for a plugin");
    make_template->add_option("name", o.plugin_name, "plugin name, e.g. regressor.ridge")->required();
    return command;
}

CLI::App* declare_synth_table(CLI::App& app, Options& o) {
    CLI::App* command =
        app.add_subcommand("synth-table", "write a synthetic song × feature table (CSV) with valence and arousal");
    command->add_option("--out", o.table_out, "CSV file to write")->required();
    command->add_option("--songs", o.table_spec.songs, "number of songs")->check(CLI::Range(2, 1000000));
    command->add_option("--noise-features", o.table_spec.noise_features, "columns of pure noise")
        ->check(CLI::Range(0, 10000));
    command->add_option("--seed", o.table_spec.seed, "random seed");
    return command;
}

CLI::App* declare_predict(CLI::App& app, Options& o) {
    CLI::App* command =
        app.add_subcommand("predict", "rate audio files with a trained run's model: path, targets, quadrant");
    command->add_option("--model", o.model_path, "run folder or model bundle (RUN/model/NODE)")->required();
    command
        ->add_option("--node", o.predict_nodes,
                     "which regressor node's model, when the run has several; repeat it to combine separate "
                     "models (--node valence --node arousal: one row per file, with its quadrant)")
        ->allow_extra_args(false);  // one value per --node: the files follow
    command->add_option("--format", o.predict_format, "csv or json")->check(CLI::IsMember({"csv", "json"}));
    command->add_option("--out", o.predict_out, "write to this file instead of stdout");
    command->add_option("--cache", o.predict_cache, "feature cache folder (reused when a file was seen before)");
    command->add_flag("--per-chunk", o.per_chunk, "add a row per chunk (time offset) for log-mel chunk models");
    command->add_flag("--dynamic", o.dynamic,
                      "sequence models: rate every window over time instead (path, time_s, one column per target; "
                      "docs/dynamic.md)");
    command->add_flag("--clip", o.clip,
                      "clamp ratings into their target's range: the dataset's label scale, else the training labels' "
                      "(outside_range still names them)");
    command->add_option("--offset", o.predict_offset, "rate the excerpt starting this many seconds in")
        ->check(finite_seconds(0));
    command
        ->add_option("--duration", o.predict_duration,
                     "rate at most this many seconds (from --offset); with --excerpts, each excerpt's length "
                     "(default 45, DEAM's clips)")
        ->check(finite_seconds(0));
    command
        ->add_option("--excerpts", o.predict_excerpts,
                     "rate N evenly spaced excerpts of every file and report their mean and spread (<target>_std)")
        ->check(CLI::Range(1, 1000));
    command->add_option("files", o.predict_inputs, "audio files or folders (searched recursively)")->required();
    return command;
}

CLI::App* declare_synth(CLI::App& app, Options& o) {
    CLI::App* command = app.add_subcommand(
        "synth", "write a synthetic corpus in the layout of DEAM, PMEmo or EmoMusic (MP3 audio + annotations)");
    command->add_option("--out", o.corpus_out, "folder to write (deam: annotations/ and MEMD_audio/)")->required();
    command
        ->add_option("--layout", o.corpus_spec.layout,
                     "deam (annotations/, MEMD_audio/; labels 1-9), pmemo (annotations/, chorus/, metadata.csv; "
                     "labels 0-1) or emomusic (annotations/, clips_45seconds/; static 1-9, 2 Hz -1..1, "
                     "development/evaluation split)")
        ->transform(
            CLI::CheckedTransformer(std::map<std::string, mer::SynthLayout>{{"deam", mer::SynthLayout::deam},
                                                                            {"pmemo", mer::SynthLayout::pmemo},
                                                                            {"emomusic", mer::SynthLayout::emomusic}}))
        ->default_str("deam");
    command->add_option("--songs", o.corpus_spec.songs, "number of songs")->check(CLI::Range(1, 100000));
    command->add_option("--seconds", o.corpus_spec.seconds, "length of each song")->check(finite_seconds(1, 3600));
    command->add_option("--seed", o.corpus_spec.seed, "random seed; the same seed gives the same corpus");
    command->add_option("--threads", o.corpus_spec.threads, "threads (0: every core)")->check(CLI::Range(0, 1024));
    return command;
}

CLI::App* declare_sweep(CLI::App& app, Options& o) {
    CLI::App* command = app.add_subcommand("sweep",
                                           "run many trials of an experiment (its sweep: block and --grid), each its "
                                           "own process; prints the sweep folder");
    command->add_option("experiment", o.sweep.experiment_file, "experiment YAML file");
    command->add_option("--status", o.sweep_status,
                        "where each trial of this sweep folder stands; rewrites trials.csv");
    command->add_option("--launcher", o.launcher, "local (child processes) or slurm (a job array via sbatch)")
        ->check(CLI::IsMember({"local", "slurm"}));
    command->add_option("--partition", o.sweep.slurm.partition, "slurm: the partition");
    command->add_option("--gres", o.sweep.slurm.gres, "slurm: generic resources per trial, e.g. gpu:1");
    command->add_option("--time", o.sweep.slurm.time, "slurm: time limit per trial, e.g. 02:00:00");
    command->add_option("--mem", o.sweep.slurm.mem, "slurm: memory per trial, e.g. 16G");
    command->add_option("--cpus-per-task", o.sweep.slurm.cpus_per_task, "slurm: CPUs per trial (its threads)")
        ->check(CLI::Range(1, 1024));
    command->add_option("--grid", o.sweep.grid_arguments,
                        "sweep a key over values: path.to.key=v1,v2 (YAML values); repeatable, adds to sweep.grid");
    command->add_option("--set", o.sweep.overrides, "override a key in every trial: path.to.key=value; repeatable");
    add_unset(*command, o.unsets);
    auto* workers = command->add_option("--workers", o.sweep.workers, "trials at a time (with GPUs: one per GPU)")
                        ->check(CLI::Range(1, 1024));
    command->add_option("--devices", o.devices,
                        "cpu, or GPUs for the trials in turn: cuda:0,cuda:1 (each trial sees only its own)");
    command
        ->add_option("--trials-per-device", o.trials_per_device,
                     "with GPUs: trials packed on each GPU at once (small models), default 1")
        ->check(CLI::Range(1, 64))
        ->excludes(workers);
    command->add_option("--retries", o.sweep.retries, "run a failed trial again up to N times")
        ->check(CLI::Range(0, 100));
    command->add_flag("--dry-run", o.sweep_dry_run, "validate every trial and list them; run none");
    command
        ->add_option("--max-trials", o.sweep.max_trials,
                     "refuse a sweep of more trials than this, before expanding it (default 10000)")
        ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{100000000}));
    command->add_option("--out", o.sweep.runs_root, "folder that receives <name>/sweep-<timestamp>/");
    command->add_option("--cache", o.sweep.cache_dir, "node cache folder shared by the trials");
    command->add_flag("--quiet", o.sweep.quiet, "log to sweep.log only, not to stderr");
    return command;
}

CLI::App* declare_trial(CLI::App& app, Options& o) {
    CLI::App* command =
        app.add_subcommand("trial", "run one trial of a sweep folder (what mer-run sweep starts per trial)");
    command->add_option("sweep_dir", o.sweep_dir, "the sweep folder")->required();
    command->add_option("trial_id", o.trial_id, "e.g. trial-0003")->required();
    command->add_option("--device", o.trial.device, "cpu or cuda:N");
    command->add_option("--threads", o.trial.threads, "threads for the trial")->check(CLI::Range(1, 1024));
    return command;
}

CLI::App* declare_schema(CLI::App& app, Options&) {
    CLI::App* command =
        app.add_subcommand("schema",
                           "print the experiment JSON Schema with every installed plugin's name and parameters, "
                           "for editors: mer-run schema > mer.schema.json");
    return command;
}

CLI::App* declare_report(CLI::App& app, Options& o) {
    CLI::App* command = app.add_subcommand("report",
                                           "(re)build the HTML report of a run or sweep folder; several run folders "
                                           "make one comparison page (-o)");
    command->add_option("folders", o.report_inputs, "a run folder, a sweep folder, or several run folders")->required();
    command->add_option("-o,--out", o.report_out,
                        "the comparison page to write (several runs; default compare.html here; its figures' CSVs "
                        "go to NAME_data/ beside it)");
    CLI::Option* label =
        command->add_option("--label", o.report_labels,
                            "name a run on the comparison page: NAME=RUN_DIR (one of the folders given); repeatable");
    label->type_name("NAME=RUN")->allow_extra_args(false);  // one label per --label: the folders follow
    return command;
}

// "seed=3" where the experiment file goes is Hydra's habit, not a file.
void refuse_assignment_as_file(const std::string& file) {
    std::error_code ec;
    if (const auto eq = file.find('='); eq != std::string::npos && eq > 0 && !fs::exists(file, ec))
        throw mer::Error("'" + file + "' is not an experiment file (did you mean --set " + file +
                         "?); give the experiment YAML file first, then --set KEY=VALUE");
}

int run_or_validate(const Options& o, bool validate_only, int argc, char** argv) {
    std::string experiment_file = o.experiment_file;
    if (!validate_only && !o.resume_dir.empty()) {
        if (!experiment_file.empty() || !o.overrides.empty())
            throw mer::Error(
                "--resume continues a run with its own config.yaml; give no experiment file, --set or "
                "--unset");
        experiment_file = (fs::path(o.resume_dir) / "config.yaml").string();
    } else if (experiment_file.empty()) {
        throw mer::Error("run needs an experiment file (or --resume RUN_DIR)");
    }
    refuse_assignment_as_file(experiment_file);
    const mer::PluginRegistry registry = scan_plugins();
    mer::Experiment experiment;
    if (!load_valid(experiment_file, o.overrides, registry, experiment)) return mer::exit_code::invalid;
    std::vector<std::string> paths;
    mer::Diagnostics missing = mer::check_data_paths(experiment, &paths), warnings;
    if (missing.empty()) missing = mer::check_dataset_rows(experiment, registry, &warnings);
    // What the run copes with (songs whose audio is missing are skipped and counted), said once up front.
    constexpr std::size_t kWarningsShown = 10;
    for (std::size_t w = 0; w < std::min(warnings.size(), kWarningsShown); ++w)
        std::cerr << "warning: " << warnings[w].str() << "\n";
    if (warnings.size() > kWarningsShown)
        std::cerr << "warning: and " << warnings.size() - kWarningsShown << " more like these\n";
    for (const auto& d : missing) std::cerr << d.str() << "\n";
    if (!missing.empty()) {
        std::cerr << missing.size() << (missing.size() == 1 ? " error" : " errors") << " in " << experiment_file
                  << "\n";
        return mer::exit_code::invalid;
    }
    if (validate_only) {
        for (const auto& p : paths) std::cerr << "  " << p << "\n";
        std::cerr << experiment_file << ": valid (" << experiment.nodes.size() << " nodes)\n";
        return mer::exit_code::ok;
    }
    mer::RunOptions options;
    options.runs_root = o.out_dir;
    options.cache_dir = o.cache_dir;
    options.quiet = o.quiet;
    options.keep_checkpoints = o.keep_checkpoints;
    options.command_line.assign(argv, argv + argc);
    options.resume_folder = o.resume_dir;
    const mer::RunOutcome outcome = mer::run_experiment(experiment, registry, options);
    std::cout << outcome.folder.string() << "\n";
    if (!outcome.ok) {
        print_failure(outcome);
        std::cerr << "finished work is kept in " << outcome.folder.string() << "\n";
    }
    return exit_code_of(outcome);
}

// --label NAME=RUN_DIR, one name per run given (empty: the default name).
std::vector<std::string> run_labels(const std::vector<std::string>& runs, const std::vector<std::string>& given) {
    std::vector<std::string> labels(given.empty() ? 0 : runs.size());
    auto same_folder = [](const fs::path& a, const fs::path& b) {
        std::error_code ec;
        return fs::weakly_canonical(a, ec) == fs::weakly_canonical(b, ec);
    };
    for (const auto& label : given) {
        const auto eq = label.find('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == label.size())
            throw mer::Error("--label " + label + ": expected NAME=RUN_DIR, e.g. --label alpha10=" +
                             (runs.empty() ? "runs/exp/RUN" : runs.front()));
        const std::string name = label.substr(0, eq), run = label.substr(eq + 1);
        std::size_t i = 0;
        while (i < runs.size() && !same_folder(runs[i], run)) ++i;
        if (i == runs.size()) {
            std::string listed;
            for (const auto& r : runs) listed += (listed.empty() ? "" : ", ") + r;
            throw mer::Error("--label " + label + ": " + run + " is not one of the runs compared (" + listed + ")");
        }
        for (std::size_t j = 0; j < labels.size(); ++j)
            if (labels[j] == name)
                throw mer::Error("--label " + label + ": the name '" + name + "' is already given to " + runs[j]);
        if (!labels[i].empty())
            throw mer::Error("--label " + label + ": " + runs[i] + " is already labelled '" + labels[i] + "'");
        labels[i] = name;
    }
    return labels;
}

int build_report(const Options& o) {
    fs::path page;
    if (o.report_inputs.size() == 1 && o.report_out.empty()) {
        if (!o.report_labels.empty())
            throw mer::Error("--label names runs on a comparison page: give two run folders or more");
        const fs::path folder = o.report_inputs.front();
        if (fs::exists(folder / "sweep.json"))
            page = mer::write_sweep_report(folder);
        else
            page = mer::write_run_report(folder);
    } else {
        std::vector<fs::path> runs(o.report_inputs.begin(), o.report_inputs.end());
        page = mer::write_comparison_report(runs, o.report_out.empty() ? "compare.html" : o.report_out,
                                            run_labels(o.report_inputs, o.report_labels));
    }
    std::cout << page.string() << "\n";
    return mer::exit_code::ok;
}

int predict_files(const Options& o) {
    const mer::PluginRegistry registry = scan_plugins();
    mer::PredictOptions options;
    options.nodes = o.predict_nodes;
    options.cache_dir = o.predict_cache;
    options.per_chunk = o.per_chunk;
    options.dynamic = o.dynamic;
    options.clip = o.clip;
    options.offset_seconds = o.predict_offset;
    options.duration_seconds = o.predict_duration;
    options.excerpts = o.predict_excerpts;
    if (o.predict_excerpts > 0 && o.predict_offset > 0)
        throw mer::Error("--excerpts places its excerpts itself; give --duration for their length, not --offset");
    const mer::Ratings ratings = mer::predict_files(o.model_path, o.predict_inputs, registry, options);
    const std::string text = o.dynamic
                                 ? (o.predict_format == "json" ? mer::dynamic_json(ratings) : mer::dynamic_csv(ratings))
                             : o.predict_format == "json" ? mer::ratings_json(ratings, o.per_chunk)
                                                          : mer::ratings_csv(ratings, o.per_chunk);
    int rated = 0, outside = 0, flagged = 0;
    for (const auto& r : ratings.rows) {
        if (r.error.empty())
            ++rated;
        else
            std::cerr << r.path << ": " << r.error << "\n";
        bool windows_outside = false;
        for (const auto& c : r.chunks) windows_outside = windows_outside || !c.outside.empty();
        outside += !r.outside.empty() || windows_outside;
        if (!r.audio_flag.empty()) std::cerr << r.path << ": " << r.audio_detail << "\n", ++flagged;
    }
    std::string undeclared;
    for (std::size_t t = 0; t < ratings.targets.size(); ++t)
        if (!ratings.declared_scale[t]) undeclared += (undeclared.empty() ? "" : ", ") + ratings.targets[t];
    if (!undeclared.empty())
        std::cerr << "note: the model records no label scale for " << undeclared
                  << " (trained before mer recorded it, or its dataset declares no label_range): the quadrant uses the "
                     "midpoint of the training labels and outside_range their range\n";
    for (const auto& note : ratings.scale_notes) std::cerr << "note: " << note << "\n";
    if (outside > 0) {
        std::string ranges;
        for (std::size_t t = 0; t < ratings.targets.size(); ++t)
            ranges += (t ? ", " : "") + ratings.targets[t] + " " + mer::format_number(ratings.minima[t]) + "–" +
                      mer::format_number(ratings.maxima[t]) +
                      (ratings.declared_scale[t] ? " (label scale)" : " (training labels)");
        std::cerr << "warning: " << outside << " of " << rated << " files rated outside their target's range ("
                  << ranges << "): column outside_range names the targets; "
                  << (o.clip ? "--clip clamped them" : "--clip clamps them") << "\n";
    }
    if (flagged > 0)
        std::cerr << "warning: " << flagged << " of " << ratings.rows.size()
                  << " files are silent or constant audio, not music (column audio_flag): their ratings mean "
                     "nothing and they get no quadrant\n";
    if (o.predict_out.empty())
        std::cout << text;
    else
        mer::write_file_atomic(o.predict_out, text);
    if (rated > 0) return mer::exit_code::ok;
    std::cerr << "error: no file could be rated\n";
    return mer::exit_code::failed;
}

int synth_corpus(const Options& o) {
    const auto report = mer::write_synthetic_corpus(o.corpus_out, o.corpus_spec, [](int done, int total) {
        if (done % 10 == 0 || done == total) std::cerr << "\rsynth: " << done << "/" << total << " songs" << std::flush;
    });
    std::cerr << "\n";
    std::cerr << "wrote " << report.songs << " songs (" << report.audio_seconds << " s of audio) in "
              << report.wall_seconds << " s on " << report.threads
              << " threads: " << report.audio_seconds / report.wall_seconds << "x real time, "
              << report.audio_seconds / report.wall_seconds / report.threads << "x per core\n";
    std::cout << o.corpus_out << "\n";
    return mer::exit_code::ok;
}

int synth_table(const Options& o) {
    const fs::path out(o.table_out);
    if (out.has_parent_path()) fs::create_directories(out.parent_path());
    mer::write_file_atomic(out, mer::synthetic_table_csv(o.table_spec));
    std::cout << out.string() << "\n";
    return mer::exit_code::ok;
}

// The sweep's options from the command line: --devices as a list, the
// workers a GPU sweep runs, the launcher.
mer::SweepOptions sweep_options(const CLI::App& command, const Options& o, int argc, char** argv) {
    mer::SweepOptions options = o.sweep;
    options.launcher = o.launcher == "slurm" ? mer::LauncherKind::slurm : mer::LauncherKind::local;
    options.devices.clear();
    std::string rest = o.devices;
    for (std::size_t start = 0; start <= rest.size();) {
        const std::size_t comma = std::min(rest.find(',', start), rest.size());
        const std::string device = rest.substr(start, comma - start);
        if (device != "cpu" && device.rfind("cuda:", 0) != 0)
            throw mer::Error("--devices: '" + device + "' is neither cpu nor cuda:N");
        options.devices.push_back(device);
        start = comma + 1;
    }
    // GPUs: one trial on each at a time unless --workers or
    // --trials-per-device says otherwise (slots take the GPUs in turn).
    const bool gpus = std::all_of(options.devices.begin(), options.devices.end(),
                                  [](const std::string& d) { return d.rfind("cuda:", 0) == 0; });
    if (o.trials_per_device > 0 && !gpus)
        throw mer::Error("--trials-per-device packs trials on GPUs: give --devices cuda:0,… (on the CPU, --workers)");
    if (o.trials_per_device > 0 && options.launcher == mer::LauncherKind::slurm)
        throw mer::Error(
            "--trials-per-device packs trials on this machine's GPUs; with --launcher slurm each "
            "array task gets what --gres asks for");
    if (gpus && command.count("--workers") == 0)
        options.workers = static_cast<int>(options.devices.size()) * std::max(1, o.trials_per_device);
    for (int i = 0; i < argc; ++i) options.command_line += (i ? " " : "") + std::string(argv[i]);
    return options;
}

// mer-run sweep: every trial validated first (all errors listed, none run
// when one is invalid), listed with --dry-run, else run; prints the folder.
int run_sweep(const CLI::App& command, const Options& o, int argc, char** argv) {
    if (o.sweep.experiment_file.empty()) throw mer::Error("sweep needs an experiment file (or --status SWEEP_DIR)");
    refuse_assignment_as_file(o.sweep.experiment_file);
    const mer::SweepOptions options = sweep_options(command, o, argc, argv);
    const mer::PluginRegistry registry = scan_plugins();
    mer::Experiment base;
    if (!load_valid(options.experiment_file, options.overrides, registry, base)) return mer::exit_code::invalid;
    const mer::SweepPlan plan = mer::plan_sweep(std::move(base), options, registry);
    for (const auto& bad : plan.invalid) {
        const mer::Trial& trial = plan.trials[bad.trial];
        for (const auto& d : bad.errors)
            std::cerr << trial.id << " (" << trial.params_text() << "): " << d.str() << "\n";
    }
    if (!plan.invalid.empty()) {
        std::cerr << plan.invalid.size() << " of " << plan.trials.size() << " trials invalid; no trial was run\n";
        return mer::exit_code::invalid;
    }
    if (o.sweep_dry_run) {
        for (const auto& t : plan.trials) std::cout << t.id << "  " << t.params_text() << "\n";
        std::cerr << plan.trials.size() << " trials; every one valid\n";
        return mer::exit_code::ok;
    }
    StderrLines console;
    const mer::SweepResult result = mer::run_sweep(plan, options, registry, &console);
    std::cout << result.folder.string() << "\n";
    switch (result.status) {
        case mer::SweepResult::Status::finished:
        case mer::SweepResult::Status::submitted:
            return mer::exit_code::ok;
        case mer::SweepResult::Status::failed:
            return mer::exit_code::failed;
        case mer::SweepResult::Status::interrupted:
            return mer::exit_code::interrupted;
    }
    return mer::exit_code::failed;
}

int print_sweep_status(const std::string& sweep_dir) {
    StderrLines console;
    const mer::SweepStatus s = mer::sweep_status(sweep_dir, &console);
    std::cout << fmt::format("{}: {} trials: {} finished, {} running, {} pending, {} failed\n", s.folder.string(),
                             s.trials, s.counts.finished, s.counts.running, s.counts.pending, s.counts.failed);
    if (s.best)
        std::cout << fmt::format("best so far: {} ({} {:.4f}): {}\n", s.best->id, s.metric, s.best->value,
                                 s.best->params);
    return mer::exit_code::ok;
}

// mer-run trial: what each sweep worker runs; its stderr is the trial's log.
int run_trial(const Options& o) {
    const mer::PluginRegistry registry = scan_plugins();
    StderrLines console;
    const mer::TrialOutcome outcome = mer::run_trial(o.sweep_dir, o.trial_id, o.trial, registry, &console);
    switch (outcome.status) {
        case mer::TrialOutcome::Status::finished:
            return mer::exit_code::ok;
        case mer::TrialOutcome::Status::orphaned:
            return mer::exit_code::interrupted;
        case mer::TrialOutcome::Status::invalid:
            for (const auto& d : outcome.errors) std::cerr << d.str() << "\n";
            return mer::exit_code::invalid;
        case mer::TrialOutcome::Status::failed:
            print_failure(outcome.run);
            return exit_code_of(outcome.run);
    }
    return mer::exit_code::failed;
}

// Every subcommand: the function that declares it and its options, and the
// one that runs it once parsed (with the command, for what only it knows:
// its --set/--unset order, whether an option was given). Adding a subcommand
// is one row here and its two functions.
struct Command {
    CLI::App* (*declare)(CLI::App& app, Options& o);
    int (*run)(const CLI::App& self, Options& o, int argc, char** argv);
};

const Command kCommands[] = {
    {declare_run,
     [](const CLI::App& self, Options& o, int argc, char** argv) {
         o.overrides = overrides_in_order(self);
         return run_or_validate(o, false, argc, argv);
     }},
    {declare_validate,
     [](const CLI::App& self, Options& o, int argc, char** argv) {
         o.overrides = overrides_in_order(self);
         return run_or_validate(o, true, argc, argv);
     }},
    {declare_plugins,
     [](const CLI::App& self, Options& o, int, char**) {
         if (self.got_subcommand("check")) return check_plugin_library(o.plugin_library);
         const mer::PluginRegistry registry = scan_plugins();
         if (self.got_subcommand("describe")) return describe_plugin(registry, o.plugin_name, o.describe_json);
         if (self.got_subcommand("template")) return template_plugin(registry, o.plugin_name);
         return list_plugins(registry, o.as_json);
     }},
    {declare_synth_table, [](const CLI::App&, Options& o, int, char**) { return synth_table(o); }},
    {declare_predict, [](const CLI::App&, Options& o, int, char**) { return predict_files(o); }},
    {declare_synth, [](const CLI::App&, Options& o, int, char**) { return synth_corpus(o); }},
    {declare_sweep,
     [](const CLI::App& self, Options& o, int argc, char** argv) {
         o.sweep.overrides = overrides_in_order(self);
         return o.sweep_status.empty() ? run_sweep(self, o, argc, argv) : print_sweep_status(o.sweep_status);
     }},
    {declare_trial, [](const CLI::App&, Options& o, int, char**) { return run_trial(o); }},
    {declare_schema,
     [](const CLI::App&, Options&, int, char**) {
         std::cout << mer::editor_schema(scan_plugins()).dump(2) << "\n";
         return mer::exit_code::ok;
     }},
    {declare_report, [](const CLI::App&, Options& o, int, char**) { return build_report(o); }},
};

// What CLI11 left over ("The following arguments were not expected"), as one
// hint each: a config key given as --KEY VALUE or KEY=VALUE → --set, any
// other unknown option → the nearest option of that command. Empty when
// nothing was left over.
std::vector<std::string> hints_for_leftovers(const CLI::App& app, const std::vector<std::string>& args) {
    std::vector<std::string> keys;  // the experiment's top-level keys: seed, threads, nodes, …
    for (const auto& [key, property] : mer::experiment_schema().at("properties").items()) keys.push_back(key);
    std::vector<const CLI::App*> chain{&app};  // the parsed commands: mer-run, plugins, describe …
    while (!chain.back()->get_subcommands().empty()) chain.push_back(chain.back()->get_subcommands().front());
    std::vector<std::string> hints;
    for (const CLI::App* command : chain) {
        const std::string name = command == &app ? "mer-run" : command->get_name();
        const bool takes_set = command->get_option_no_throw("--set") != nullptr;
        const std::vector<std::string> left = command->remaining();
        for (std::size_t i = 0; i < left.size(); ++i) {
            const std::string& arg = left[i];
            if (arg.size() < 2 || arg[0] != '-') {
                const auto eq = arg.find('=');
                hints.push_back(
                    name + ": unexpected argument '" + arg + "'" +
                    (takes_set && eq != std::string::npos && eq > 0 ? " (did you mean --set " + arg + "?)" : ""));
                continue;
            }
            // --KEY=VALUE, or --KEY followed by its value (not reported again).
            std::string option = arg, value;
            if (const auto eq = arg.find('='); eq != std::string::npos) {
                option = arg.substr(0, eq);
                value = arg.substr(eq + 1);
            } else if (const auto at = std::find(args.begin(), args.end(), arg);
                       at != args.end() && at + 1 != args.end() && !(at + 1)->empty() && (*(at + 1))[0] != '-') {
                value = *(at + 1);
                if (i + 1 < left.size() && left[i + 1] == value) ++i;
            }
            const auto first = option.find_first_not_of('-');
            const std::string key = first == std::string::npos ? "" : option.substr(first);
            if (takes_set && std::find(keys.begin(), keys.end(), key.substr(0, key.find('.'))) != keys.end()) {
                hints.push_back(name + ": unknown option '" + option + "' (" + key +
                                " is a key of the experiment: did you mean --set " + key + "=" +
                                (value.empty() ? "VALUE" : value) + "?)");
                continue;
            }
            std::vector<std::string> options;
            for (const CLI::Option* o : command->get_options()) {
                for (const auto& l : o->get_lnames()) options.push_back("--" + l);
                for (const auto& s : o->get_snames()) options.push_back("-" + s);
            }
            const std::string near = mer::nearest_name(option, options);
            std::string listed;
            for (const auto& o : options) listed += (listed.empty() ? "" : ", ") + o;
            hints.push_back(name + ": unknown option '" + option + "'" +
                            (near.empty() ? "" : " (did you mean '" + near + "'?)") + "; its options: " + listed);
        }
    }
    return hints;
}

}  // namespace

int main(int argc, char** argv) {
    // A file-size limit (ulimit -f) would kill mer mid-write with SIGXFSZ, no
    // message and a temporary file left behind; ignored, the write fails with
    // EFBIG and the error names the file (exit 3), as a full disk does.
    std::signal(SIGXFSZ, SIG_IGN);
    CLI::App app{"mer-run — music emotion recognition experiments (valence and arousal from audio)", "mer-run"};
    app.require_subcommand(1);
    app.set_version_flag("--version", MER_VERSION);
    Options options;
    std::vector<std::pair<const CLI::App*, const Command*>> commands;
    for (const Command& command : kCommands) commands.emplace_back(command.declare(app, options), &command);

    const std::vector<std::string> args = arguments(argc, argv);
    if (args.empty()) {  // the usage, not CLI11's "A subcommand is required"
        std::cerr << app.help();
        return mer::exit_code::invalid;
    }
    // A mistyped subcommand gets a suggestion rather than CLI11's generic error.
    if (!args.empty() && !args[0].empty() && args[0][0] != '-') {
        std::vector<std::string> names;
        for (const CLI::App* sub : app.get_subcommands({})) names.push_back(sub->get_name());
        if (std::find(names.begin(), names.end(), args[0]) == names.end()) {
            const std::string near = mer::nearest_name(args[0], names);
            std::cerr << "error: unknown command '" << args[0] << "'"
                      << (near.empty() ? "" : " (did you mean '" + near + "'?)") << "; commands: ";
            for (std::size_t i = 0; i < names.size(); ++i) std::cerr << (i ? ", " : "") << names[i];
            std::cerr << "\n";
            return mer::exit_code::invalid;
        }
    }
    try {
        std::vector<std::string> reversed(args.rbegin(), args.rend());
        app.parse(reversed);
    } catch (const CLI::ExtrasError& e) {
        const std::vector<std::string> hints = hints_for_leftovers(app, args);
        if (hints.empty()) return app.exit(e) == 0 ? mer::exit_code::ok : mer::exit_code::invalid;
        for (const auto& hint : hints) std::cerr << "error: " << hint << "\n";
        return mer::exit_code::invalid;
    } catch (const CLI::RequiredError& e) {
        if (!app.get_subcommands().empty()) return app.exit(e) == 0 ? mer::exit_code::ok : mer::exit_code::invalid;
        for (const auto& hint : hints_for_leftovers(app, args)) std::cerr << "error: " << hint << "\n";
        std::cerr << app.help();  // options but no command (mer-run --quiet): the usage
        return mer::exit_code::invalid;
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? mer::exit_code::ok : mer::exit_code::invalid;
    }
    // A mer::Error that escapes a subcommand was refused before it ran (a bad
    // bundle, an unreadable file) or is about the machine, and so is running
    // out of memory. Any other exception was never translated where the
    // library that threw it was called: a bug, said as one, and nothing more
    // is written to the run folder.
    try {
        for (const auto& [self, command] : commands)
            if (self->parsed()) return command->run(*self, options, argc, argv);
        return mer::exit_code::ok;
    } catch (const mer::Error& error) {
        std::cerr << "error: " << error.what() << "\n";
        return error.kind() == mer::ErrorKind::environment ? mer::exit_code::environment : mer::exit_code::invalid;
    } catch (const std::bad_alloc&) {
        std::cerr << "error: out of memory\n";
        return mer::exit_code::environment;
    } catch (const std::exception& e) {
        return internal_error(e.what());
    } catch (...) {
        return internal_error("an exception that is not a std::exception");
    }
}
