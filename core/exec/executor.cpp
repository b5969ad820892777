// The life of a run: run folder, environment, data nodes through the cache,
// regressor nodes through fold evaluation, results after every node.
#include "core/exec/executor.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <numeric>
#include <random>
#include <optional>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/base/files.hpp"
#include "core/base/names.hpp"
#include "core/data/node_cache.hpp"
#include "core/data/splits.hpp"
#include "core/eval/metrics_log.hpp"
#include "core/eval/run_reader.hpp"
#include "core/exec/environment.hpp"
#include "core/exec/feature_tables.hpp"
#include "core/exec/fold_evaluation.hpp"
#include "core/exec/run_index.hpp"
#include "core/exec/run_writer.hpp"
#include "core/exec/tuning.hpp"
#include "core/plugin/capabilities.hpp"
#include "core/plugin/dataset.hpp"
#include "core/plugin/features.hpp"
#include "core/plugin/registry.hpp"
#include "core/plugin/transform.hpp"
#include "core/report/report.hpp"
#include "core/run/progress.hpp"
#include "core/run/run_folder.hpp"

namespace mer {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

namespace {

const std::vector<std::string> kSkippedColumns{"song_id", "path", "reason", "node"};

class Executor {
public:
    Executor(const Experiment& exp, const PluginRegistry& registry, const RunOptions& options, RunFolder& folder)
        : exp_(exp),
          registry_(registry),
          folder_(folder),
          resuming_(!options.resume_folder.empty()),
          writer_(folder, exp.name, resuming_),
          cache_(options.cache_dir.empty() ? exp.cache_dir : options.cache_dir),
          metrics_(folder.path(), resuming_) {
        threads_ = exp.threads > 0 ? exp.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
        results_.summary["experiment"] = exp.name;
        results_.summary["status"] = "running";
        results_.summary["split"] = {{"kind", exp.evaluation.split.kind}, {"group_by", exp.evaluation.group_by}};
        results_.summary["nodes"] = json::object();
        if (exp.has_sources()) results_.results = csv_row(results_columns(true)) + "\n";
        writer_.record({"metrics.csv", "metrics", "", MetricsLog::columns(),
                        "one row per epoch (boosting round, fold) per model node, split and target"});
        writer_.record({"metrics.jsonl", "metrics", "", MetricsLog::columns(), "metrics.csv as JSON lines"});
        writer_.record({"log.txt", "log", "", {}, "the run's log, as printed"});
        writer_.record({".lock", "lock", "", {}, "locked while a mer-run writes this folder; says which process"});
        if (resuming_) restore_finished();
        write_skipped();
    }

    int threads() const { return threads_; }

    void start(const RunOptions& options) {
        YAML::Emitter config;
        config << exp_.resolved;
        writer_.write({"config.yaml", "config", "", {}, "the experiment with overrides and defaults applied"},
                      std::string("# Resolved experiment: ") + exp_.file + " with overrides and defaults applied\n" +
                          config.c_str() + "\n");
        environment_ = environment_json(exp_, threads_, options.command_line);
        write_environment();
        writer_.write({"plugins.lock", "plugins_lock", "", {}, "every plugin the run used: version, file, SHA-256"},
                      plugins_lock(exp_).dump(2) + "\n");
    }

    void run_node(const NodeSpec& node) {
        const auto start = Clock::now();
        if (node.kind == "dataset" || node.kind == "features") {
            run_data_node(node, start);
        } else if (node.kind == "transform" && node.plugin->has(capability::kWholeTable)) {
            run_whole_table_transform(node, start);
        } else if (node.kind == "transform") {
            folder_.log(fmt::format("node '{}' ({}): fitted inside each training fold of the regressors that use it",
                                    node.id, node.uses));
        } else if (resuming_ && results_.summary["nodes"].contains(node.id)) {
            folder_.log(fmt::format("node '{}' ({}): finished before the interruption; its results are kept", node.id,
                                    node.uses));
        } else {
            if (resuming_) forget_unfinished(node);
            // A node that fails, or whose results cannot be written, leaves
            // the results files as they were before it: --resume redoes it
            // from its finished folds without writing any row twice.
            const RunResults before = results_;
            try {
                run_regressor_node(node);
                write_results();
            } catch (...) {
                results_ = before;
                throw;
            }
        }
    }

    void finish(const std::string& status, const std::string& failed_node = {}, const std::string& reason = {}) {
        results_.summary["status"] = status;
        if (!failed_node.empty()) results_.summary["failed"] = {{"node", failed_node}, {"reason", reason}};
        write_results();
        log_results_table();
    }

    // Per-epoch training state serves --resume only: a finished run drops it
    // (a 40-song CNN run kept 82 MB of it) unless asked to keep it.
    void drop_checkpoints() {
        const fs::path dir = folder_.path() / "checkpoints";
        if (!fs::exists(dir)) return;
        std::uintmax_t bytes = 0;
        std::error_code ec;
        for (const auto& e : fs::recursive_directory_iterator(dir, ec))
            if (e.is_regular_file(ec)) bytes += e.file_size(ec);
        fs::remove_all(dir, ec);
        if (ec) {
            folder_.log("checkpoints/ could not be deleted: " + ec.message());
            return;
        }
        writer_.forget("checkpoints/");
        folder_.log(fmt::format("deleted checkpoints/ ({:.1f} MB of per-epoch state for --resume; "
                                "--keep-checkpoints keeps it)",
                                static_cast<double>(bytes) / 1e6));
    }

    // report.html from what the folder holds now; a page that cannot be
    // built costs the run nothing (mer-run report rebuilds it).
    void write_report() {
        try {
            writer_.record({"report.html", "report", "", {}, "the run's report: results, learning curves and the "
                                                               "paper's figures, offline in one file"});
            writer_.record({"report_data/", "report_data", "", {}, "the data behind every figure of report.html, "
                                                                     "one CSV per figure"});
            folder_.log("report: " + write_run_report(folder_.path()).string());
        } catch (const std::exception& e) {
            folder_.log(std::string("report.html could not be written (rebuild it with mer-run report): ") + e.what());
        }
    }

private:
    // Resuming: the finished nodes' results stay as they are on disk.
    void restore_finished() {
        const fs::path dir = folder_.path();
        auto read_or = [&dir](const char* name, const std::string& fallback) {
            return fs::exists(dir / name) ? read_text_file(dir / name) : fallback;
        };
        results_.predictions = read_or("predictions.csv", results_.predictions);
        results_.results = read_or("results.csv", results_.results);
        results_.grid = read_or("grid.csv", results_.grid);
        results_.frame_predictions = read_or("frame_predictions.csv", results_.frame_predictions);
        results_.curves = read_or("curves.csv", results_.curves);
        if (const auto previous = read_summary(dir); previous.contains("nodes"))  // in its own order
            results_.summary["nodes"] = previous["nodes"];
        if (fs::exists(dir / "environment.json")) environment_ = read_environment(dir);
    }

    PluginContext context(const std::string& node_id, const std::string& purpose,
                          std::vector<SkippedSong>* skipped = nullptr) {
        const NodeSpec& node = exp_.node(node_id);
        PluginContext ctx;
        ctx.node = node.id;
        ctx.seed = derive_seed(exp_.seed, node.id + "/" + purpose);
        ctx.split_seed = derive_seed(exp_.seed, "holdout");  // fold evaluation sets the fold's
        ctx.threads = threads_;
        ctx.device = exp_.device;
        ctx.work_dir = folder_.path().string();
        ctx.cache_dir = (cache_.dir() / node.uses).string();
        auto progress = std::make_shared<ProgressReporter>(fmt::format("node '{}' ({})", node.id, node.uses), &folder_,
                                                           !folder_.quiet() && ::isatty(STDERR_FILENO));
        ctx.progress = [progress](std::size_t done, std::size_t total, const char* unit) {
            (*progress)(done, total, unit);
        };
        ctx.log = [this, id = node.id](const std::string& line) { folder_.log(id + ": " + line); };
        ctx.skip = [skipped, id = node.id](const std::string& song, const std::string& path,
                                           const std::string& reason) {
            if (!skipped)
                throw Error("song '" + song + "' cannot be skipped at this stage: " + reason, Location::of_node(id));
            skipped->push_back({song, path, reason});
        };
        ctx.artifact = [this, id = node.id](const Artifact& a, const std::string& content) {
            writer_.write_plugin_artifact(id, a, content);
        };
        ctx.note = [this, id = node.id](const std::string& key, const nlohmann::json& value) {
            std::lock_guard<std::mutex> lock(environment_mutex_);
            if (environment_["nodes"][id][key] == json(value)) return;
            environment_["nodes"][id][key] = value;
            write_environment();
        };
        return ctx;
    }

    void write_environment() {
        writer_.write({"environment.json",
                       "environment",
                       "",
                       {},
                       "where the run ran: versions, git revision, device, threads, seed, host, command; "
                       "under nodes, what each node reported (e.g. the device a model used)"},
                      environment_.dump(2) + "\n");
    }

    void run_data_node(const NodeSpec& node, Clock::time_point start) {
        json description{{"plugin", node.uses}, {"version", node.plugin->version}, {"params", node.params}};
        std::shared_ptr<DatasetPlugin> dataset;
        std::shared_ptr<FeaturesPlugin> features;
        std::shared_ptr<CombiningDataset> combining;  // a dataset of dataset nodes (dataset.union)
        if (node.kind == "dataset") {
            dataset = registry_.create<DatasetPlugin>(node.uses, node.params);
            if (node.inputs.empty()) {
                description["data"] = dataset->content_fingerprint();
            } else {
                combining = std::dynamic_pointer_cast<CombiningDataset>(dataset);
                if (!combining)
                    throw Error(node.uses +
                                    " takes inputs but does not implement the combining dataset interface; "
                                    "rebuild it against this mer SDK",
                                Location::of_node(node.id));
                description["inputs"] = json::array();
                for (const auto& input : node.inputs) description["inputs"].push_back(keys_.at(input));
            }
        } else {
            features = registry_.create<FeaturesPlugin>(node.uses, node.params);
            description["input"] = keys_.at(node.inputs.at(0));
        }
        // A file the plugin reads (weights) enters the key by its content, not its name.
        for (const auto& [key, file] : node.files.items())
            description["params"][key] = "sha256:" + file.at("sha256").get<std::string>();
        const std::string key = NodeCache::key(description);
        keys_[node.id] = key;
        CachedNode result;
        std::string how = "cached", damage;
        if (auto cached = cache_.load(key, damage)) {
            result = std::move(*cached);
        } else {
            how = "computed";
            if (!damage.empty())
                folder_.log(fmt::format("node '{}': the cache entry is damaged and is recomputed: {}", node.id, damage));
            result.table = combining ? combining->combine(combined_inputs(node), context(node.id, "load"))
                           : dataset ? dataset->load(context(node.id, "load", &result.skipped))
                                     : features->extract(outputs_.at(node.inputs.at(0)),
                                                         context(node.id, "extract", &result.skipped));
            result.table.check_shapes("node '" + node.id + "' (" + node.uses + ")");
            check_values(node, result);
        }
        record_skipped(node, result);
        if (how == "computed") cache_.store(key, result, description);
        if (node.limit > 0 && node.limit < result.table.size()) {
            // A quick run: a seeded sample of the songs (the cache keeps them all); later nodes key on it.
            std::vector<std::size_t> order(result.table.size());
            std::iota(order.begin(), order.end(), std::size_t{0});
            std::mt19937_64 random(derive_seed(exp_.seed, "limit/" + node.id));
            std::shuffle(order.begin(), order.end(), random);
            order.resize(node.limit);
            std::sort(order.begin(), order.end());
            folder_.log(fmt::format("node '{}': limit {}: a seeded sample of {} of its {} songs", node.id, node.limit,
                                    node.limit, result.table.size()));
            result.table = result.table.rows(order);
            description["limit"] = node.limit;
            description["limit_seed"] = exp_.seed;
            keys_[node.id] = NodeCache::key(description);
        }
        if (node.kind == "dataset")  // ids go into every CSV and log line
            for (const auto& id : result.table.song_ids)
                if (id.find_first_of(std::string("\0\n\r", 3)) != std::string::npos)
                    throw Error("a song id holds a NUL byte or a line break; ids go into every CSV and log line: "
                                "fix the id",
                                Location({}, 0, 0, node.id, id.substr(0, id.find_first_of(std::string("\0\n\r", 3)))));
        if (node.kind == "dataset")  // target names become parts of file names (shap_<node>_<target>.csv)
            for (const auto& target : result.table.target_names)
                if (!is_file_safe_name(target))
                    throw Error("the data has a target named '" + target + "'; a target name must hold only " +
                                    kFileSafeNameRule + ": rename the column",
                                Location::of_node(node.id));
        outputs_[node.id] = std::move(result.table);
        const SongTable& t = outputs_.at(node.id);
        folder_.log(fmt::format("node '{}' ({}): {} — {} songs, {} features, {} targets ({:.2f} s)", node.id, node.uses,
                                how, t.size(), t.feature_names.size(), t.target_names.size(), seconds_since(start)));
        if (node.kind == "features") write_feature_tables(node.id, t);
    }

    // The tables of a union's inputs with the scale each declares (capability label_range).
    std::vector<DatasetInput> combined_inputs(const NodeSpec& node) const {
        std::vector<DatasetInput> inputs;
        for (const auto& id : node.inputs) {
            const NodeSpec& input = exp_.node(id);
            const nlohmann::json range =
                input.plugin->has(capability::kLabelRange)
                    ? registry_.create<DatasetPlugin>(input.uses, input.params)->query(capability::kLabelRange)
                    : nlohmann::json();
            inputs.push_back({id, &outputs_.at(id), range});
        }
        return inputs;
    }

    // A transform that describes its input (a t-SNE map): fitted once on every
    // song of its inputs for the files it writes. Its inputs must be data
    // nodes; behind another transform the songs differ per fold.
    void run_whole_table_transform(const NodeSpec& node, Clock::time_point start) {
        std::vector<const SongTable*> inputs;
        for (const auto& id : node.inputs) {
            const auto it = outputs_.find(id);
            if (it == outputs_.end())
                throw Error(fmt::format("{} describes every song of its input, so its input must be a dataset or "
                                        "features node, not the transform '{}'",
                                        node.uses, id),
                            Location::of_node(node.id));
            inputs.push_back(&it->second);
        }
        auto transform = registry_.create<TransformPlugin>(node.uses, node.params);
        transform->fit(inputs, context(node.id, "whole table"));
        folder_.log(fmt::format("node '{}' ({}): fitted on all {} songs of its input ({:.2f} s)", node.id, node.uses,
                                inputs.front()->size(), seconds_since(start)));
    }

    // Values no model can learn from, caught where a node makes them: a song
    // with a NaN, infinite or astronomically large feature is skipped with
    // the feature named; such a label fails the node. (A NaN label is a
    // missing one: labelled_data() leaves the song out of that target.)
    void check_values(const NodeSpec& node, CachedNode& result) const {
        SongTable& t = result.table;
        for (Eigen::Index c = 0; c < t.targets.cols(); ++c)
            for (Eigen::Index r = 0; r < t.targets.rows(); ++r) {
                const double v = t.targets(r, c);
                if (!std::isnan(v) && !(std::fabs(v) <= kLargestValue))
                    throw Error(fmt::format("label '{}' is {}, beyond ±{:g}: not a rating a model can learn",
                                            t.target_names[static_cast<std::size_t>(c)], format_number(v),
                                            kLargestValue),
                                Location({}, 0, 0, node.id, t.song_ids[static_cast<std::size_t>(r)]));
            }
        const std::vector<std::size_t> kept = t.usable_rows([&](std::size_t r, const std::string& problem) {
            result.skipped.push_back({t.song_ids[r], t.audio_paths.empty() ? "" : t.audio_paths[r], problem});
        });
        if (kept.size() < t.size()) t = t.rows(kept);
    }

    void write_feature_tables(const std::string& id, const SongTable& t) {
        const FeatureTables tables = feature_tables(t);
        // A node whose features are tensors (log-mel chunks) has no columns to list or correlate.
        const bool columns = !t.feature_names.empty();
        if (columns)
            writer_.write({"features_" + id + ".csv", "feature_table", id, feature_table_columns(t),
                           "every song's feature values"},
                          tables.features);
        if (tables.pearson.empty()) return;
        if (columns)
            writer_.write({"pearson_" + id + ".csv", "pearson", id, pearson_columns(),
                           "each feature's Pearson r with each target, ranked by |r|; top15 marks the 15 largest"},
                          tables.pearson);
        writer_.write({"labels_" + id + ".csv", "label_histogram", id, label_columns(),
                       "histogram of each target's labels in half-unit bins"},
                      tables.labels);
    }

    void write_skipped() {
        writer_.write({"skipped.csv", "skipped", "", kSkippedColumns, "songs a node could not use, with the reason"},
                      skipped_csv_);
    }

    // Appends a node's skipped songs to skipped.csv, and fails the node when
    // more than max_skipped_fraction of its songs were lost.
    void record_skipped(const NodeSpec& node, const CachedNode& result) {
        if (result.skipped.empty()) return;
        for (const auto& s : result.skipped)
            skipped_csv_ += csv_field(s.song_id) + "," + csv_field(s.path) + "," + csv_field(s.reason) + "," +
                            csv_field(node.id) + "\n";
        write_skipped();
        const std::size_t total = node.kind == "dataset" ? result.table.size() + result.skipped.size()
                                                         : outputs_.at(node.inputs.at(0)).size();
        const double lost =
            static_cast<double>(result.skipped.size()) / static_cast<double>(std::max<std::size_t>(total, 1));
        folder_.log(fmt::format("node '{}': skipped {} of {} songs ({:.1f}%), reasons in skipped.csv; first: {}: {}",
                                node.id, result.skipped.size(), total, 100 * lost, result.skipped[0].song_id,
                                result.skipped[0].reason));
        if (lost > exp_.max_skipped_fraction) {
            // The commonest reasons first: usually one cause (a wrong folder, an unsupported format) explains most.
            std::map<std::string, std::size_t> reasons;
            for (const auto& s : result.skipped) ++reasons[s.reason];
            std::vector<std::pair<std::size_t, std::string>> ranked;
            for (const auto& [reason, n] : reasons) ranked.push_back({n, reason});
            std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
            std::string worst;
            for (std::size_t i = 0; i < std::min<std::size_t>(3, ranked.size()); ++i)
                worst += fmt::format("{}{} × {}", i ? "; " : "", ranked[i].first, ranked[i].second);
            throw Error(fmt::format("{} of {} songs ({:.1f}%) could not be used, more than max_skipped_fraction "
                                    "({:.1f}%). Commonest reasons: {}{}. Every song with its reason is in "
                                    "skipped.csv; to accept more losses set max_skipped_fraction (top level, "
                                    "or --set max_skipped_fraction=0.2)",
                                    result.skipped.size(), total, 100 * lost, 100 * exp_.max_skipped_fraction, worst,
                                    ranked.size() > 3 ? fmt::format(" (and {} other reasons)", ranked.size() - 3) : ""),
                        Location::of_node(node.id));
        }
    }

    // The songs with every target of the regressor labelled, with exactly those targets.
    SongTable labelled_data(const NodeSpec& node, const std::string& source_id) {
        const SongTable& source = outputs_.at(source_id);
        const std::vector<std::string> targets = node.targets.empty() ? source.target_names : node.targets;
        if (targets.empty())
            throw Error("the data from node '" + source_id + "' has no target columns to learn",
                        Location::of_node(node.id));
        std::vector<Eigen::Index> columns;
        for (const auto& t : targets) {
            const int c = source.target_index(t);
            if (c < 0) {
                std::string known;
                for (const auto& k : source.target_names) known += (known.empty() ? "" : ", ") + k;
                throw Error("target '" + t + "' is not in the data from node '" + source_id +
                                "' (its targets: " + (known.empty() ? "none" : known) + ")",
                            Location(exp_.file, node.where.line, node.where.column, node.id));
            }
            columns.push_back(c);
        }
        std::vector<std::size_t> labelled;
        for (std::size_t r = 0; r < source.size(); ++r) {
            bool ok = true;
            for (Eigen::Index c : columns) ok = ok && std::isfinite(source.targets(static_cast<Eigen::Index>(r), c));
            if (ok) labelled.push_back(r);
        }
        SongTable data = source.rows(labelled).target_columns(columns);
        if (labelled.size() < source.size())
            folder_.log(fmt::format("node '{}': {} of {} songs lack a label for {} and are left out", node.id,
                                    source.size() - labelled.size(), source.size(), fmt::join(targets, "/")));
        return data;
    }

    void run_regressor_node(const NodeSpec& node) {
        const PipelineSpec pipeline = PipelineSpec::of(exp_, node);
        const SongTable data = labelled_data(node, pipeline.source());
        const EvaluationSetup setup{
            exp_,
            registry_,
            writer_,
            metrics_,
            threads_,
            resuming_,
            [this](const std::string& id, const std::string& purpose) { return context(id, purpose); }};
        evaluate_regressor(setup, node, data, results_);
        writer_.record({"model/" + node.id + "/",
                        "bundle",
                        node.id,
                        {},
                        "the fitted model, one fold<k>/ per evaluation fold; rate new music with mer-run predict"});
        if (fs::exists(folder_.path() / "checkpoints" / node.id))
            writer_.record({"checkpoints/" + node.id + "/",
                            "checkpoint",
                            node.id,
                            {},
                            "per-epoch training state that --resume continues from"});
    }

    // Metric rows of an interrupted node that its resumption will write again:
    // every fold without a finished marker, except the epochs a LibTorch
    // checkpoint keeps.
    void forget_unfinished(const NodeSpec& node) {
        const fs::path bundle = folder_.path() / "model" / node.id;
        // Repetition r of fold k is the bundle's fold<r·K + k> (fold_evaluation.cpp).
        const SplitSpec& split = exp_.evaluation.split;
        const int fold_count = split.kind == "kfold" ? split.k
                               : split.kind == "leave_one_source_out"
                                   ? static_cast<int>(PipelineSpec::of(exp_, node).data.front().inputs.size())
                                   : 1;
        metrics_.drop_rows([&](const std::string& id, int fold, std::uint64_t seed, int epoch) {
            if (id != node.id) return false;
            const auto repetition = std::find(exp_.seeds.begin(), exp_.seeds.end(), seed);
            const int slot =
                (repetition == exp_.seeds.end() ? 0 : static_cast<int>(repetition - exp_.seeds.begin())) * fold_count +
                fold;
            const std::string name = "fold" + std::to_string(slot);
            if (fs::exists(bundle / name / "done.json")) return false;
            const fs::path state = folder_.path() / "checkpoints" / node.id / name / "state.json";
            if (fs::exists(state)) return epoch > read_json_file(state).at("epoch").get<int>();
            return true;
        });
    }

    // Validation results as a small table at the end of the log: what a
    // researcher looks for first.
    void log_results_table() {
        if (results_.summary["nodes"].empty()) return;
        const std::string& metric = exp_.evaluation.metrics.front();
        folder_.log(fmt::format("validation {} (mean ± std over folds):", metric));
        for (const auto& [id, node] : results_.summary["nodes"].items()) {
            std::string line = fmt::format("  {:<16} {:<20}", id, node["model"].get<std::string>());
            for (const auto& [target, metrics] : node["validation"].items())
                line += fmt::format("  {} {:.3f} ± {:.3f}", target, metrics[metric]["mean"].get<double>(),
                                    metrics[metric]["std"].get<double>());
            folder_.log(line);
        }
    }

    // Every results file, each on its own: a file that cannot be written (a
    // full disk) does not keep the others from being written (summary.json's
    // status above all); the first error is raised after the rest.
    void write_results() {
        std::optional<Error> first_error;
        auto attempt = [&first_error](const std::function<void()>& write) {
            try {
                write();
            } catch (const Error& e) {
                if (!first_error) first_error = e;
            }
        };
        attempt([&] {
            writer_.write({"predictions.csv", "predictions", "", prediction_columns(),
                           "every validation song's prediction per regressor node, fold and target"},
                          results_.predictions);
        });
        attempt([&] {
            writer_.write(
                {"results.csv", "results", "", results_columns(exp_.has_sources()),
                 "validation scores per regressor node and target, mean and std over folds (Table 2's shape)"},
                results_.results);
        });
        if (results_.grid != grid_csv_header())
            attempt([&] {
                writer_.write({"grid.csv", "grid", "", grid_columns(),
                               "every grid-search candidate's inner cross-validation scores; selected marks the "
                               "winner"},
                              results_.grid);
            });
        if (results_.curves != RunResults().curves) {
            attempt([&] {
                writer_.write({"frame_predictions.csv", "frame_predictions", "", frame_prediction_columns(),
                               "sequence models: every window of every validation song, its time (the window's "
                               "centre), prediction and annotation (empty where none) per target"},
                              results_.frame_predictions);
            });
            attempt([&] {
                writer_.write({"curves.csv", "curves", "", curve_columns(),
                               "sequence models: the dynamic task's metrics per node and target — per-song RMSE, "
                               "Pearson's r and CCC averaged over the validation songs, and over all frames at once"},
                              results_.curves);
            });
        }
        const std::string comparisons = comparisons_csv(results_.summary);
        if (!comparisons.empty())
            attempt([&] {
                writer_.write({"comparisons.csv", "comparisons", "", comparison_columns(),
                               "every pair of regressor nodes on the same songs, folds and seeds: the mean "
                               "difference in R² per target with the corrected resampled t-test's p"},
                              comparisons);
            });
        attempt([&] {
            writer_.write({"summary.json", "summary", "", {},
                           "status, and per regressor node its validation metrics over folds"},
                          results_.summary.dump(2) + "\n");
        });
        if (first_error) throw *first_error;
    }

    const Experiment& exp_;
    const PluginRegistry& registry_;
    RunFolder& folder_;
    bool resuming_ = false;
    RunWriter writer_;
    NodeCache cache_;
    MetricsLog metrics_;
    int threads_ = 1;
    json environment_;
    std::mutex environment_mutex_;
    std::map<std::string, SongTable> outputs_;
    std::map<std::string, std::string> keys_;
    std::string skipped_csv_ = csv_row(kSkippedColumns) + "\n";  // data nodes report their skips again on resume
    RunResults results_;
};

// A failed node's reason: the error's file, line and song, without repeating the node.
std::string failure_reason(const Error& error, const std::string& node) {
    Location where = error.where();
    if (where.node == node) where.node.clear();
    const std::string location = where.str();
    return location.empty() ? error.message() : location + ": " + error.message();
}

// A run of its own (not a sweep's trial or warm-up) joins runs/index.csv
// and becomes its experiment's `latest`; failing to do so costs the run nothing.
void index(RunFolder& folder, const RunOptions& options) {
    if (!options.exact_folder.empty() || options.data_only) return;
    try {
        index_run(folder.path());
    } catch (const std::exception& e) {
        folder.log(std::string("runs index not updated: ") + e.what());
    }
}

}  // namespace

RunOutcome run_experiment(const Experiment& exp, const PluginRegistry& registry, const RunOptions& options) {
    const bool resuming = !options.resume_folder.empty();
    RunFolder folder =
        resuming                        ? RunFolder::open(options.resume_folder)
        : !options.exact_folder.empty() ? RunFolder::create_exact(options.exact_folder)
                                        : RunFolder::create(options.runs_root.empty() ? exp.runs_dir : options.runs_root, exp.name);
    folder.set_quiet(options.quiet);
    RunOutcome outcome;
    outcome.folder = folder.path();

    Executor executor(exp, registry, options, folder);
    if (!resuming) executor.start(options);
    folder.log(fmt::format("{} run folder: {}", resuming ? "resuming" : "new", folder.path().string()));
    folder.log(fmt::format("experiment '{}' ({}), seed {}, {} threads, device {}", exp.name, exp.file, exp.seed,
                           executor.threads(), exp.device));

    for (const auto& node : exp.nodes) {
        if (options.data_only && node.kind != "dataset" && node.kind != "features") continue;
        try {
            executor.run_node(node);
        } catch (const std::exception& e) {
            const Error error = as_error(e, Location::of_node(node.id));
            const std::string reason = failure_reason(error, node.id);
            folder.log(fmt::format("node '{}' ({}) failed: {}", node.id, node.uses, reason));
            outcome.ok = false;
            outcome.failed_node = node.id;
            outcome.reason = reason;
            outcome.kind = error.kind();
            try {
                executor.finish("failed", node.id, reason);
            } catch (const std::exception& also) {  // e.g. the disk that failed the node is still full
                folder.log(std::string("the run's results could not be written either: ") + also.what());
            }
            if (!options.data_only) executor.write_report();
            index(folder, options);
            return outcome;
        }
    }
    executor.finish("finished");
    if (!options.keep_checkpoints) executor.drop_checkpoints();
    if (!options.data_only) executor.write_report();
    index(folder, options);
    folder.log("finished");
    return outcome;
}

}  // namespace mer
