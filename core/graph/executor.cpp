// Experiment execution: data nodes through the cache, regressors per fold.
#include "core/graph/executor.hpp"

#include <fmt/format.h>
#include <openssl/opensslv.h>
#include <sndfile.h>
#include <soxr.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <Eigen/Core>
#include <boost/version.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "core/data/node_cache.hpp"
#include "core/data/splits.hpp"
#include "core/eval/metrics_log.hpp"
#include "core/plugin/dataset.hpp"
#include "core/plugin/features.hpp"
#include "core/plugin/registry.hpp"
#include "core/plugin/regressor.hpp"
#include "core/plugin/transform.hpp"
#include "core/run/files.hpp"
#include "core/run/progress.hpp"
#include "core/run/run_folder.hpp"

namespace mer {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string shell_output(const std::string& command) {
    std::string out;
    if (FILE* pipe = ::popen(command.c_str(), "r")) {
        char buffer[256];
        while (std::fgets(buffer, sizeof buffer, pipe)) out += buffer;
        ::pclose(pipe);
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
}

json environment_json(const Experiment& exp, int threads, const RunOptions& options) {
    const std::string source = MER_SOURCE_DIR;
    std::string revision = shell_output("git -C '" + source + "' rev-parse HEAD 2>/dev/null");
    if (revision.empty()) revision = "unknown";
    else if (!shell_output("git -C '" + source + "' status --porcelain --untracked-files=no 2>/dev/null").empty())
        revision += "-dirty";
    char host[256] = {0};
    ::gethostname(host, sizeof host - 1);
    utsname os{};
    ::uname(&os);
    std::string command;
    for (const auto& arg : options.command_line) command += (command.empty() ? "" : " ") + arg;
    return json{
        {"mer_version", MER_VERSION},
        {"git_revision", revision},
        {"compiler", "GCC " __VERSION__},
        {"abi_tag", host_abi_tag()},
        {"libraries",
         {{"eigen", fmt::format("{}.{}.{}", EIGEN_WORLD_VERSION, EIGEN_MAJOR_VERSION, EIGEN_MINOR_VERSION)},
          {"boost", BOOST_LIB_VERSION},
          {"yaml-cpp", MER_YAMLCPP_VERSION},
          {"fmt", FMT_VERSION},
          {"nlohmann_json", fmt::format("{}.{}.{}", NLOHMANN_JSON_VERSION_MAJOR, NLOHMANN_JSON_VERSION_MINOR,
                                        NLOHMANN_JSON_VERSION_PATCH)},
          {"openssl", OPENSSL_VERSION_TEXT},
          {"libsndfile", sf_version_string()},
          {"libsoxr", soxr_version()},
          {"torch", MER_TORCH_VERSION},
          {"cuda", MER_CUDA_VERSION}}},
        {"device", exp.device},
        {"threads", threads},
        {"seed", exp.seed},
        {"host", host},
        {"os", std::string(os.sysname) + " " + os.release + " " + os.machine},
        {"started_at", utc_timestamp_iso()},
        {"command", command},
        {"working_directory", fs::current_path().string()},
    };
}

json plugins_lock(const Experiment& exp) {
    json lock = json::array();
    std::map<std::string, bool> seen;
    for (const auto& node : exp.nodes) {
        if (seen[node.uses]) continue;
        seen[node.uses] = true;
        lock.push_back({{"name", node.plugin->name},
                        {"version", node.plugin->version},
                        {"file", node.plugin->file},
                        {"sha256", sha256_file(node.plugin->file)}});
    }
    return lock;
}

struct FoldScores {
    std::vector<RegressionMetrics> per_fold;
};

class Executor {
public:
    Executor(const Experiment& exp, const PluginRegistry& registry, const RunOptions& options, RunFolder& folder)
        : exp_(exp),
          registry_(registry),
          folder_(folder),
          cache_(options.cache_dir.empty() ? exp.cache_dir : options.cache_dir),
          metrics_(folder.path(), !options.resume_folder.empty()),
          resuming_(!options.resume_folder.empty()) {
        threads_ = exp.threads > 0 ? exp.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
        predictions_ = "node,song_id,fold,target,true,predicted\n";
        skipped_csv_ = "song_id,path,reason,node\n";
        folder_.write("skipped.csv", skipped_csv_);
        summary_["experiment"] = exp.name;
        summary_["status"] = "running";
        summary_["split"] = {{"kind", exp.evaluation.split.kind}, {"group_by", exp.evaluation.group_by}};
        summary_["nodes"] = json::object();
        if (resuming_) restore_finished();
    }

    int threads() const { return threads_; }

    // Resuming: the finished nodes' results stay as they are on disk.
    void restore_finished() {
        const fs::path dir = folder_.path();
        auto read_or = [&dir](const char* name, const std::string& fallback) {
            return fs::exists(dir / name) ? read_text_file(dir / name) : fallback;
        };
        predictions_ = read_or("predictions.csv", predictions_);
        skipped_csv_ = read_or("skipped.csv", skipped_csv_);
        results_csv_ = read_or("results.csv", results_csv_);
        grid_csv_ = read_or("grid.csv", grid_csv_);
        if (fs::exists(dir / "summary.json")) {
            const json previous = json::parse(read_text_file(dir / "summary.json"));
            if (previous.contains("nodes")) summary_["nodes"] = previous["nodes"];
        }
        skipped_csv_ = "song_id,path,reason,node\n";  // data nodes report their skips again
    }

    static std::string grid_header() {
        std::string header = "node,fold,candidate,params,target";
        for (const auto& name : metric_names()) header += "," + name + "_mean," + name + "_std";
        return header + ",selected\n";
    }

    void run_node(const NodeSpec& node) {
        const auto start = Clock::now();
        if (node.kind == "dataset" || node.kind == "features") {
            run_data_node(node, start);
        } else if (node.kind == "transform") {
            folder_.log(fmt::format("node '{}' ({}): fitted inside each training fold of the regressors that use it",
                                    node.id, node.uses));
        } else if (resuming_ && summary_["nodes"].contains(node.id)) {
            folder_.log(fmt::format("node '{}' ({}): finished before the interruption; its results are kept", node.id, node.uses));
        } else {
            if (resuming_) forget_unfinished(node);
            run_regressor_node(node);
            write_results();
        }
    }

    void finish(const std::string& status, const std::string& failed_node = {}, const std::string& reason = {}) {
        summary_["status"] = status;
        if (!failed_node.empty()) summary_["failed"] = {{"node", failed_node}, {"reason", reason}};
        write_results();
        log_results_table();
    }

private:
    PluginContext context(const NodeSpec& node, const std::string& purpose,
                          std::vector<SkippedSong>* skipped = nullptr) {
        PluginContext ctx;
        ctx.node = node.id;
        ctx.seed = derive_seed(exp_.seed, node.id + "/" + purpose);
        ctx.threads = threads_;
        ctx.device = exp_.device;
        ctx.work_dir = folder_.path().string();
        ctx.cache_dir = (cache_.dir() / node.uses).string();
        auto progress = std::make_shared<ProgressReporter>(fmt::format("node '{}' ({})", node.id, node.uses), &folder_,
                                                           !folder_.quiet() && ::isatty(STDERR_FILENO));
        ctx.progress = [progress](std::size_t done, std::size_t total, const char* unit) { (*progress)(done, total, unit); };
        ctx.log = [this, id = node.id](const std::string& line) { folder_.log(id + ": " + line); };
        ctx.skip = [skipped, id = node.id](const std::string& song, const std::string& path, const std::string& reason) {
            if (!skipped) throw Error("song '" + song + "' cannot be skipped at this stage: " + reason, Location::of_node(id));
            skipped->push_back({song, path, reason});
        };
        return ctx;
    }

    void run_data_node(const NodeSpec& node, Clock::time_point start) {
        json description{{"plugin", node.uses}, {"version", node.plugin->version}, {"params", node.params}};
        std::shared_ptr<DatasetPlugin> dataset;
        std::shared_ptr<FeaturesPlugin> features;
        if (node.kind == "dataset") {
            dataset = registry_.create<DatasetPlugin>(node.uses, node.params);
            description["data"] = dataset->content_fingerprint();
        } else {
            features = registry_.create<FeaturesPlugin>(node.uses, node.params);
            description["input"] = keys_.at(node.inputs.at(0));
        }
        const std::string key = NodeCache::key(description);
        keys_[node.id] = key;
        CachedNode result;
        std::string how = "cached";
        if (auto cached = cache_.load(key)) {
            result = std::move(*cached);
        } else {
            how = "computed";
            result.table = dataset ? dataset->load(context(node, "load", &result.skipped))
                                   : features->extract(outputs_.at(node.inputs.at(0)),
                                                       context(node, "extract", &result.skipped));
            result.table.check_shapes("node '" + node.id + "' (" + node.uses + ")");
        }
        record_skipped(node, result);
        if (how == "computed") cache_.store(key, result, description);
        outputs_[node.id] = std::move(result.table);
        log_table(node, how, start);
        if (node.kind == "features") write_feature_tables(node.id, outputs_.at(node.id));
    }

    // features_<node>.csv (song × feature, for a spreadsheet or pandas),
    // pearson_<node>.csv (every feature's r with each target, ranked by |r|)
    // and labels_<node>.csv (histogram of each target).
    void write_feature_tables(const std::string& id, const SongTable& t) {
        std::string csv = "song_id";
        for (const auto& name : t.feature_names) csv += "," + csv_field(name);
        csv += "\n";
        for (std::size_t r = 0; r < t.size(); ++r) {
            csv += csv_field(t.song_ids[r]);
            for (Eigen::Index c = 0; c < t.features.cols(); ++c)
                csv += "," + format_number(t.features(static_cast<Eigen::Index>(r), c));
            csv += "\n";
        }
        folder_.write("features_" + id + ".csv", csv);
        if (t.target_names.empty()) return;

        std::string pearson = "target,feature,r,abs_rank,top15\n", labels = "target,bin_low,bin_high,songs\n";
        for (std::size_t j = 0; j < t.target_names.size(); ++j) {
            const auto tj = static_cast<Eigen::Index>(j);
            std::vector<Eigen::Index> labelled;
            for (Eigen::Index r = 0; r < t.targets.rows(); ++r)
                if (std::isfinite(t.targets(r, tj))) labelled.push_back(r);
            if (labelled.size() < 3) continue;
            Eigen::VectorXd y(static_cast<Eigen::Index>(labelled.size()));
            for (std::size_t i = 0; i < labelled.size(); ++i) y(static_cast<Eigen::Index>(i)) = t.targets(labelled[i], tj);
            std::vector<std::pair<double, Eigen::Index>> scored;
            for (Eigen::Index c = 0; c < t.features.cols(); ++c) {
                Eigen::VectorXd x(y.size());
                for (std::size_t i = 0; i < labelled.size(); ++i) x(static_cast<Eigen::Index>(i)) = t.features(labelled[i], c);
                scored.emplace_back(pearson_r(x, y), c);
            }
            std::stable_sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) {
                const double fa = std::isnan(a.first) ? -1 : std::abs(a.first), fb = std::isnan(b.first) ? -1 : std::abs(b.first);
                return fa > fb;
            });
            for (std::size_t rank = 0; rank < scored.size(); ++rank)
                pearson += csv_field(t.target_names[j]) + "," + csv_field(t.feature_names[static_cast<std::size_t>(scored[rank].second)]) +
                           "," + format_number(scored[rank].first) + "," + std::to_string(rank + 1) + "," +
                           (rank < 15 ? "1" : "0") + "\n";
            // Half-unit bins over the observed range (DEAM's 1–9 scale gives 16 bins).
            const double lo = std::floor(y.minCoeff() * 2) / 2, hi = std::floor(y.maxCoeff() * 2) / 2 + 0.5;
            const int bins = std::max(1, static_cast<int>(std::lround((hi - lo) / 0.5)));
            std::vector<int> counts(static_cast<std::size_t>(bins), 0);
            for (Eigen::Index i = 0; i < y.size(); ++i)
                ++counts[static_cast<std::size_t>(std::clamp(static_cast<int>((y(i) - lo) / 0.5), 0, bins - 1))];
            for (int b = 0; b < bins; ++b)
                labels += csv_field(t.target_names[j]) + "," + format_number(lo + 0.5 * b) + "," +
                          format_number(lo + 0.5 * (b + 1)) + "," + std::to_string(counts[static_cast<std::size_t>(b)]) + "\n";
        }
        folder_.write("pearson_" + id + ".csv", pearson);
        folder_.write("labels_" + id + ".csv", labels);
    }

    // Appends a node's skipped songs to skipped.csv, and fails the node when
    // more than max_skipped_fraction of its songs were lost.
    void record_skipped(const NodeSpec& node, const CachedNode& result) {
        if (result.skipped.empty()) return;
        for (const auto& s : result.skipped)
            skipped_csv_ += csv_field(s.song_id) + "," + csv_field(s.path) + "," + csv_field(s.reason) + "," +
                            csv_field(node.id) + "\n";
        folder_.write("skipped.csv", skipped_csv_);
        const std::size_t total = node.kind == "dataset" ? result.table.size() + result.skipped.size()
                                                         : outputs_.at(node.inputs.at(0)).size();
        const double lost = static_cast<double>(result.skipped.size()) / static_cast<double>(std::max<std::size_t>(total, 1));
        folder_.log(fmt::format("node '{}': skipped {} of {} songs ({:.1f}%), reasons in skipped.csv; first: {}: {}",
                                node.id, result.skipped.size(), total, 100 * lost, result.skipped[0].song_id,
                                result.skipped[0].reason));
        if (lost > exp_.max_skipped_fraction)
            throw Error(fmt::format("{} of {} songs ({:.1f}%) could not be used, more than max_skipped_fraction "
                                    "({:.1f}%); the reasons are in skipped.csv",
                                    result.skipped.size(), total, 100 * lost, 100 * exp_.max_skipped_fraction),
                        Location::of_node(node.id));
    }

    void log_table(const NodeSpec& node, const std::string& how, Clock::time_point start) {
        const SongTable& t = outputs_.at(node.id);
        folder_.log(fmt::format("node '{}' ({}): {} — {} songs, {} features, {} targets ({:.2f} s)", node.id, node.uses,
                                how, t.size(), t.feature_names.size(), t.target_names.size(), seconds_since(start)));
    }

    // The dataset or features node a regressor learns from: every path back
    // through its transforms must end at the same one.
    const NodeSpec& data_source(const NodeSpec& node) {
        std::set<std::string> sources;
        std::function<void(const NodeSpec&)> walk = [&](const NodeSpec& n) {
            for (const auto& input : n.inputs) {
                const NodeSpec& up = exp_.node(input);
                if (up.kind == "transform") walk(up);
                else sources.insert(up.id);
            }
        };
        walk(node);
        if (sources.size() != 1)
            throw Error(fmt::format("the transforms feeding this regressor start from {} data nodes ({}); they must share one",
                                    sources.size(), fmt::join(sources, ", ")),
                        Location::of_node(node.id));
        return exp_.node(*sources.begin());
    }

    // The songs with every target of the regressor labelled, with exactly
    // those targets.
    SongTable labelled_data(const NodeSpec& node, const NodeSpec& source_node) {
        const SongTable& source = outputs_.at(source_node.id);
        const std::vector<std::string> targets = node.targets.empty() ? source.target_names : node.targets;
        if (targets.empty())
            throw Error("the data from node '" + source_node.id + "' has no target columns to learn", Location::of_node(node.id));
        std::vector<int> columns;
        for (const auto& t : targets) {
            const int c = source.target_index(t);
            if (c < 0) {
                std::string known;
                for (const auto& k : source.target_names) known += (known.empty() ? "" : ", ") + k;
                throw Error("target '" + t + "' is not in the data from node '" + source_node.id +
                                "' (its targets: " + (known.empty() ? "none" : known) + ")",
                            Location(exp_.file, node.where.line, node.where.column, node.id));
            }
            columns.push_back(c);
        }
        std::vector<std::size_t> labelled;
        for (std::size_t r = 0; r < source.size(); ++r) {
            bool ok = true;
            for (int c : columns) ok = ok && std::isfinite(source.targets(static_cast<Eigen::Index>(r), c));
            if (ok) labelled.push_back(r);
        }
        SongTable data = source.rows(labelled);
        data.target_names = targets;
        Eigen::MatrixXd picked(data.targets.rows(), static_cast<Eigen::Index>(columns.size()));
        for (std::size_t j = 0; j < columns.size(); ++j) picked.col(static_cast<Eigen::Index>(j)) = data.targets.col(columns[j]);
        data.targets = picked;
        if (labelled.size() < source.size())
            folder_.log(fmt::format("node '{}': {} of {} songs lack a label for {} and are left out", node.id,
                                    source.size() - labelled.size(), source.size(), fmt::join(targets, "/")));
        return data;
    }

    using Sides = std::pair<SongTable, SongTable>;  // training side, validation side

    // Fits the transforms that feed node `id` on the training side and applies
    // them to both sides; a data node's rows pass through unchanged. `memo`
    // holds what this fold has fitted already (shared inputs are fitted once).
    using FittedTransforms = std::map<std::string, std::shared_ptr<TransformPlugin>>;
    Sides transformed(const std::string& id, const Sides& rows, int fold, int threads, bool artifacts,
                      std::map<std::string, Sides>& memo, FittedTransforms* fitted = nullptr) {
        const NodeSpec& n = exp_.node(id);
        if (n.kind != "transform") return rows;
        if (auto it = memo.find(id); it != memo.end()) return it->second;
        std::vector<Sides> inputs;
        for (const auto& input : n.inputs) inputs.push_back(transformed(input, rows, fold, threads, artifacts, memo, fitted));
        std::vector<const SongTable*> train, validation;
        for (const auto& in : inputs) {
            train.push_back(&in.first);
            validation.push_back(&in.second);
        }
        auto transform = registry_.create<TransformPlugin>(n.uses, n.params);
        PluginContext ctx = context(n, "fold" + std::to_string(fold));
        ctx.fold = fold;
        ctx.threads = threads;
        if (!artifacts) ctx.work_dir.clear();  // grid-search fits leave no files
        transform->fit(train, ctx);
        if (fitted) (*fitted)[id] = transform;
        Sides out{transform->apply(train), transform->apply(validation)};
        const std::string who = "node '" + n.id + "' (" + n.uses + ")";
        out.first.check_shapes(who);
        out.second.check_shapes(who);
        if (out.first.size() != rows.first.size() || out.second.size() != rows.second.size())
            throw Error("a transform must keep every song in order; it returned a different number of rows",
                        Location::of_node(n.id));
        return memo[id] = out;
    }

    // Every combination of the grid's values over the node's parameters, in
    // the order the grid lists keys and values.
    static std::vector<nlohmann::json> grid_candidates(const NodeSpec& node) {
        std::vector<nlohmann::json> candidates{node.params};
        for (const auto& [key, values] : node.grid.items()) {
            std::vector<nlohmann::json> next;
            for (const auto& c : candidates)
                for (const auto& v : values) {
                    nlohmann::json with = c;
                    with[key] = v;
                    next.push_back(with);
                }
            candidates = std::move(next);
        }
        return candidates;
    }

    static nlohmann::json grid_values(const NodeSpec& node, const nlohmann::json& params) {
        nlohmann::json picked = nlohmann::json::object();
        for (const auto& [key, _] : node.grid.items()) picked[key] = params[key];
        return picked;
    }

    // k-fold cross-validation of every candidate inside the training side of
    // one evaluation fold; returns the parameters with the best mean score.
    nlohmann::json grid_search(const NodeSpec& node, const SongTable& train, int outer_fold) {
        const auto start = Clock::now();
        const std::vector<nlohmann::json> candidates = grid_candidates(node);
        const std::vector<std::string>& groups = exp_.evaluation.group_by == "group" ? train.groups : train.song_ids;
        SplitSpec inner{"kfold", 0.2, node.grid_folds};
        const std::vector<Fold> folds =
            make_folds(groups, inner, derive_seed(exp_.seed, node.id + "/grid/" + std::to_string(outer_fold)));
        const std::size_t jobs = candidates.size() * folds.size();
        const bool concurrent = registry_.create<RegressorPlugin>(node.uses, candidates.front())->fits_concurrently();
        const int workers =
            concurrent ? static_cast<int>(std::min<std::size_t>(jobs, static_cast<std::size_t>(threads_))) : 1;
        const int threads_per_job = std::max(1, threads_ / std::max(1, workers));
        // scores[candidate][fold][target]
        std::vector<std::vector<std::vector<RegressionMetrics>>> scores(
            candidates.size(), std::vector<std::vector<RegressionMetrics>>(folds.size()));
        std::atomic<std::size_t> next{0};
        std::mutex failure_mutex;
        std::exception_ptr failure;
        auto work = [&] {
            for (std::size_t job = next++; job < jobs; job = next++) {
                const std::size_t c = job / folds.size(), f = job % folds.size();
                try {
                    std::map<std::string, Sides> memo;
                    const Sides sides = transformed(node.inputs.at(0), {train.rows(folds[f].train), train.rows(folds[f].validation)},
                                                    outer_fold, threads_per_job, false, memo);
                    auto model = registry_.create<RegressorPlugin>(node.uses, candidates[c]);
                    PluginContext ctx = context(node, "grid");
                    ctx.threads = threads_per_job;
                    ctx.fold = outer_fold;
                    ctx.work_dir.clear();
                    model->fit(sides.first, &sides.second, {}, ctx);
                    const Eigen::MatrixXd predicted = model->predict(sides.second);
                    for (Eigen::Index t = 0; t < predicted.cols(); ++t)
                        scores[c][f].push_back(regression_metrics(sides.second.targets.col(t), predicted.col(t)));
                } catch (...) {
                    std::lock_guard<std::mutex> lock(failure_mutex);
                    if (!failure) failure = std::current_exception();
                }
            }
        };
        std::vector<std::thread> pool;
        for (int w = 1; w < workers; ++w) pool.emplace_back(work);
        work();
        for (auto& t : pool) t.join();
        if (failure) std::rethrow_exception(failure);

        const bool higher = higher_is_better(node.grid_metric);
        std::size_t best = 0;
        std::vector<double> mean_score(candidates.size(), 0.0);
        for (std::size_t c = 0; c < candidates.size(); ++c) {
            double sum = 0;
            int count = 0;
            for (const auto& fold_scores : scores[c])
                for (const auto& m : fold_scores) sum += m.get(node.grid_metric), ++count;
            mean_score[c] = sum / std::max(1, count);
            if (higher ? mean_score[c] > mean_score[best] : mean_score[c] < mean_score[best]) best = c;
        }
        for (std::size_t c = 0; c < candidates.size(); ++c)
            for (std::size_t t = 0; t < train.target_names.size(); ++t) {
                std::string row = csv_field(node.id) + "," + std::to_string(outer_fold) + "," + std::to_string(c) + "," +
                                  csv_field(grid_values(node, candidates[c]).dump()) + "," + csv_field(train.target_names[t]);
                for (const auto& name : metric_names()) {
                    std::vector<double> values;
                    for (const auto& fold_scores : scores[c]) values.push_back(fold_scores[t].get(name));
                    const auto [mean, sd] = mean_and_std(values);
                    row += "," + format_number(mean) + "," + format_number(sd);
                }
                grid_csv_ += row + "," + (c == best ? "1" : "0") + "\n";
            }
        folder_.log(fmt::format("node '{}': grid search in fold {}: {} candidates × {} folds in {:.1f} s; best {} ({} {:.4f})",
                                node.id, outer_fold, candidates.size(), folds.size(), seconds_since(start),
                                grid_values(node, candidates[best]).dump(), node.grid_metric, mean_score[best]));
        return candidates[best];
    }

    // model/<node>/fold<k>/: every fitted transform (transforms/<id>/) and
    // the regressor (regressor/), with the parameters it was fitted with.
    void save_fold_bundle(const NodeSpec& node, int fold, const nlohmann::json& params, const FittedTransforms& fitted,
                          const RegressorPlugin& model) {
        const fs::path dir = folder_.path() / "model" / node.id / ("fold" + std::to_string(fold));
        for (const auto& [id, transform] : fitted) transform->save((dir / "transforms" / id).string());
        model.save((dir / "regressor").string());
        folder_.write("model/" + node.id + "/fold" + std::to_string(fold) + "/params.json",
                      json{{"regressor", params}}.dump(2) + "\n");
    }

    // model/<node>/model.json: what a bundle needs to rate new music — the
    // plugins (with versions) and parameters from the audio to the model, the
    // targets in output order with their training range, and the folds.
    void write_bundle_manifest(const NodeSpec& node, const NodeSpec& source, const SongTable& data, std::size_t folds) {
        auto spec = [](const NodeSpec& n) {
            return json{{"id", n.id}, {"uses", n.uses}, {"version", n.plugin->version}, {"kind", n.kind},
                        {"inputs", n.inputs}, {"params", n.params}};
        };
        json upstream = json::array();  // dataset → features … (the source and what feeds it)
        for (const NodeSpec* n = &source;;) {
            upstream.insert(upstream.begin(), spec(*n));
            if (n->inputs.empty()) break;
            n = &exp_.node(n->inputs.at(0));
        }
        json transforms = json::array();
        std::function<void(const std::string&)> collect = [&](const std::string& id) {
            const NodeSpec& n = exp_.node(id);
            if (n.kind != "transform") return;
            for (const auto& input : n.inputs) collect(input);
            for (const auto& t : transforms)
                if (t["id"] == id) return;
            transforms.push_back(spec(n));
        };
        collect(node.inputs.at(0));
        json targets = json::array();
        for (std::size_t t = 0; t < data.target_names.size(); ++t) {
            const auto column = data.targets.col(static_cast<Eigen::Index>(t));
            targets.push_back({{"name", data.target_names[t]}, {"min", column.minCoeff()}, {"max", column.maxCoeff()},
                               {"mean", column.mean()}});
        }
        const json manifest{{"format", 1},
                            {"mer_version", MER_VERSION},
                            {"abi_tag", host_abi_tag()},
                            {"experiment", exp_.name},
                            {"node", node.id},
                            {"data", upstream},
                            {"transforms", transforms},
                            {"regressor", spec(node)},
                            {"targets", targets},
                            {"folds", folds},
                            {"aggregation", "the mean of the fold models' predictions; chunk models average a song's chunks"}};
        folder_.write("model/" + node.id + "/model.json", manifest.dump(2) + "\n");
    }

    static std::pair<double, double> mean_and_std(const std::vector<double>& values) {
        double mean = 0, var = 0;
        for (double v : values) mean += v;
        mean /= static_cast<double>(std::max<std::size_t>(1, values.size()));
        for (double v : values) var += (v - mean) * (v - mean);
        return {mean, values.size() > 1 ? std::sqrt(var / static_cast<double>(values.size() - 1)) : 0.0};
    }

    // Metric rows of an interrupted node that its resumption will write again:
    // every fold without a finished marker, except the epochs a LibTorch
    // checkpoint keeps.
    void forget_unfinished(const NodeSpec& node) {
        const fs::path bundle = folder_.path() / "model" / node.id;
        metrics_.drop_rows([&](const std::string& id, int fold, int epoch) {
            if (id != node.id) return false;
            const std::string name = "fold" + std::to_string(fold);
            if (fs::exists(bundle / name / "done.json")) return false;
            const fs::path state = folder_.path() / "checkpoints" / node.id / name / "state.json";
            if (fs::exists(state)) return epoch > json::parse(read_text_file(state)).at("epoch").get<int>();
            return true;
        });
    }

    void log_epoch_rows(const NodeSpec& node, int fold, int epoch, const std::string& split,
                        const std::optional<double>& loss, const Eigen::MatrixXd& truth, const Eigen::MatrixXd& predicted) {
        if (predicted.size() == 0) return;
        if (predicted.rows() != truth.rows() || predicted.cols() != truth.cols())
            throw Error(fmt::format("{} returned {}×{} {} predictions for {} songs × {} targets", node.uses,
                                    predicted.rows(), predicted.cols(), split, truth.rows(), truth.cols()),
                        Location::of_node(node.id));
        for (Eigen::Index t = 0; t < truth.cols(); ++t) {
            MetricsRow row{node.id, node.uses, fold, epoch, split, current_targets_[static_cast<std::size_t>(t)], loss,
                           regression_metrics(truth.col(t), predicted.col(t))};
            metrics_.append(row);
        }
    }

    void run_regressor_node(const NodeSpec& node) {
        const NodeSpec& source = data_source(node);
        const SongTable data = labelled_data(node, source);
        current_targets_ = data.target_names;
        const std::vector<std::string>& groups = exp_.evaluation.group_by == "group" ? data.groups : data.song_ids;
        const std::vector<Fold> folds =
            exp_.evaluation.split.kind == "predefined"
                ? std::vector<Fold>{predefined_fold(data.assigned_split)}
                : make_folds(groups, exp_.evaluation.split, derive_seed(exp_.seed, "split"));
        std::vector<FoldScores> scores(data.target_names.size());
        nlohmann::ordered_json selected = nlohmann::ordered_json::array();
        const auto node_start = Clock::now();

        for (const Fold& fold : folds) {
            const auto fold_start = Clock::now();
            const fs::path done_marker = folder_.path() / "model" / node.id / ("fold" + std::to_string(fold.index)) / "done.json";
            if (resuming_ && fs::exists(done_marker)) {
                const json done = json::parse(read_text_file(done_marker));
                predictions_ += done.at("predictions").get<std::string>();
                for (std::size_t t = 0; t < data.target_names.size(); ++t) {
                    const json& m = done.at("scores").at(t);
                    scores[t].per_fold.push_back(RegressionMetrics{m.at("r2"), m.at("rmse"), m.at("mae"), m.at("mse"),
                                                                   m.at("pearson").is_null() ? NAN : m.at("pearson").get<double>(),
                                                                   m.at("ccc")});
                }
                if (!done.at("selected").is_null()) selected.push_back(done.at("selected"));
                folder_.log(fmt::format("node '{}': fold {} finished before the interruption; kept", node.id, fold.index));
                continue;
            }
            const SongTable train_rows = data.rows(fold.train);
            const nlohmann::json params = node.grid.empty() ? node.params : grid_search(node, train_rows, fold.index);
            if (!node.grid.empty()) selected.push_back(json::parse(grid_values(node, params).dump()));
            std::map<std::string, Sides> memo;
            FittedTransforms fitted;
            const Sides sides = transformed(node.inputs.at(0), {train_rows, data.rows(fold.validation)}, fold.index,
                                            threads_, true, memo, &fitted);
            const SongTable& train = sides.first;
            const SongTable& validation = sides.second;
            if (train.feature_names.empty() && train.tensor_paths.empty())
                throw Error("its input has no feature columns or tensors; put a features node between the dataset and the model",
                            Location::of_node(node.id));

            auto model = registry_.create<RegressorPlugin>(node.uses, params);
            int epochs = 0;
            const EpochCallback on_epoch = [&](const EpochReport& report) {
                ++epochs;
                log_epoch_rows(node, fold.index, report.epoch, "train", report.train_loss, train.targets,
                               report.train_predictions);
                log_epoch_rows(node, fold.index, report.epoch, "validation", report.validation_loss,
                               validation.targets, report.validation_predictions);
                log_epoch_rows(node, fold.index, report.epoch, "train_chunks", report.train_loss,
                               report.train_chunk_targets, report.train_chunk_predictions);
                log_epoch_rows(node, fold.index, report.epoch, "validation_chunks", report.validation_loss,
                               report.validation_chunk_targets, report.validation_chunk_predictions);
            };
            PluginContext ctx = context(node, "fold" + std::to_string(fold.index));
            ctx.fold = fold.index;
            ctx.resume = resuming_;
            model->fit(train, &validation, on_epoch, ctx);
            const Eigen::MatrixXd predicted = model->predict(validation);
            save_fold_bundle(node, fold.index, params, fitted, *model);
            if (epochs == 0) {
                log_epoch_rows(node, fold.index, 1, "train", std::nullopt, train.targets, model->predict(train));
                log_epoch_rows(node, fold.index, 1, "validation", std::nullopt, validation.targets, predicted);
            }

            std::string line, fold_predictions;
            json fold_scores = json::array();
            for (std::size_t t = 0; t < data.target_names.size(); ++t) {
                const auto ti = static_cast<Eigen::Index>(t);
                const RegressionMetrics m = regression_metrics(validation.targets.col(ti), predicted.col(ti));
                scores[t].per_fold.push_back(m);
                json row = json::object();
                for (const auto& name : metric_names())
                    row[name] = std::isfinite(m.get(name)) ? json(m.get(name)) : json(nullptr);
                fold_scores.push_back(row);
                line += fmt::format(" {} r2={:.3f} rmse={:.3f}", data.target_names[t], m.r2, m.rmse);
                for (std::size_t r = 0; r < validation.size(); ++r) {
                    const auto ri = static_cast<Eigen::Index>(r);
                    fold_predictions += csv_field(node.id) + "," + csv_field(validation.song_ids[r]) + "," +
                                        std::to_string(fold.index) + "," + csv_field(data.target_names[t]) + "," +
                                        format_number(validation.targets(ri, ti)) + "," + format_number(predicted(ri, ti)) +
                                        "\n";
                }
            }
            predictions_ += fold_predictions;
            write_file_atomic(done_marker, json{{"predictions", fold_predictions},
                                                {"scores", fold_scores},
                                                {"selected", node.grid.empty() ? json(nullptr) : selected.back()}}
                                               .dump() + "\n");
            const double elapsed = seconds_since(node_start);
            const int done = fold.index + 1, total = static_cast<int>(folds.size());
            folder_.log(fmt::format("node '{}' ({}): fold {}/{} ({} train, {} validation songs, {} features, {:.2f} s):{}{}",
                                    node.id, node.uses, done, total, train.size(), validation.size(),
                                    train.feature_names.size(), seconds_since(fold_start), line,
                                    done < total ? ", about " + format_duration(elapsed / done * (total - done)) + " left"
                                                 : ""));
        }

        json targets = json::object();
        for (std::size_t t = 0; t < data.target_names.size(); ++t) {
            json per_metric = json::object();
            std::vector<std::string> reported = exp_.evaluation.metrics;
            for (const char* m : {"r2", "mae", "rmse"})
                if (std::find(reported.begin(), reported.end(), m) == reported.end()) reported.push_back(m);
            for (const auto& name : reported) {
                std::vector<double> values;
                for (const auto& m : scores[t].per_fold) values.push_back(m.get(name));
                const auto [mean, sd] = mean_and_std(values);
                per_metric[name] = {{"mean", mean}, {"std", sd}, {"folds", values}};
            }
            targets[data.target_names[t]] = per_metric;
            const std::string feature_set = node.label.empty() ? node.inputs.at(0) : node.label;
            results_csv_ += csv_field(feature_set) + "," + csv_field(node.uses) + "," + csv_field(node.id) + "," +
                            csv_field(data.target_names[t]);
            for (const char* m : {"r2", "mae", "rmse"})
                results_csv_ += "," + format_number(per_metric[m]["mean"].get<double>()) + "," +
                                format_number(per_metric[m]["std"].get<double>());
            results_csv_ += "\n";
        }
        write_bundle_manifest(node, source, data, folds.size());
        summary_["nodes"][node.id] = {{"model", node.uses},
                                      {"version", node.plugin->version},
                                      {"songs", data.size()},
                                      {"folds", folds.size()},
                                      {"seconds", seconds_since(node_start)},
                                      {"validation", targets}};
        if (!node.grid.empty())
            summary_["nodes"][node.id]["grid"] = {{"metric", node.grid_metric},
                                                  {"inner_folds", node.grid_folds},
                                                  {"candidates", grid_candidates(node).size()},
                                                  {"best_per_fold", selected}};
    }

    // Validation results as a small table at the end of the log: what a
    // researcher looks for first.
    void log_results_table() {
        if (summary_["nodes"].empty()) return;
        const std::string& metric = exp_.evaluation.metrics.front();
        folder_.log(fmt::format("validation {} (mean ± std over folds):", metric));
        for (const auto& [id, node] : summary_["nodes"].items()) {
            std::string line = fmt::format("  {:<16} {:<20}", id, node["model"].get<std::string>());
            for (const auto& [target, metrics] : node["validation"].items())
                line += fmt::format("  {} {:.3f} ± {:.3f}", target, metrics[metric]["mean"].get<double>(),
                                    metrics[metric]["std"].get<double>());
            folder_.log(line);
        }
    }

    void write_results() {
        folder_.write("predictions.csv", predictions_);
        folder_.write("results.csv", results_csv_);
        if (grid_csv_.find('\n') + 1 < grid_csv_.size()) folder_.write("grid.csv", grid_csv_);
        folder_.write("summary.json", summary_.dump(2) + "\n");
    }

    const Experiment& exp_;
    const PluginRegistry& registry_;
    RunFolder& folder_;
    NodeCache cache_;
    MetricsLog metrics_;
    int threads_ = 1;
    bool resuming_ = false;
    std::map<std::string, SongTable> outputs_;
    std::map<std::string, std::string> keys_;
    std::vector<std::string> current_targets_;
    std::string predictions_;
    std::string skipped_csv_;
    std::string results_csv_ = "feature_set,model,node,target,r2,r2_std,mae,mae_std,rmse,rmse_std\n";
    std::string grid_csv_ = grid_header();
    json summary_;
};

}  // namespace

RunOutcome run_experiment(const Experiment& exp, const PluginRegistry& registry, const RunOptions& options) {
    const bool resuming = !options.resume_folder.empty();
    RunFolder folder = resuming ? RunFolder::open(options.resume_folder)
                                : RunFolder::create(options.runs_root.empty() ? exp.runs_dir : options.runs_root, exp.name);
    folder.set_quiet(options.quiet);
    RunOutcome outcome;
    outcome.folder = folder.path();

    if (!resuming) {
        YAML::Emitter config;
        config << exp.resolved;
        folder.write("config.yaml", std::string("# Resolved experiment: ") + exp.file +
                                        " with overrides and defaults applied\n" + config.c_str() + "\n");
    }
    Executor executor(exp, registry, options, folder);
    if (!resuming) {
        folder.write("environment.json", environment_json(exp, executor.threads(), options).dump(2) + "\n");
        folder.write("plugins.lock", plugins_lock(exp).dump(2) + "\n");
    }
    folder.log(fmt::format("{} run folder: {}", resuming ? "resuming" : "new", folder.path().string()));
    folder.log(fmt::format("experiment '{}' ({}), seed {}, {} threads, device {}", exp.name, exp.file, exp.seed,
                           executor.threads(), exp.device));

    for (const auto& node : exp.nodes) {
        try {
            executor.run_node(node);
        } catch (const std::exception& e) {
            const Error* error = dynamic_cast<const Error*>(&e);
            const std::string reason = error ? error->message() : e.what();
            folder.log(fmt::format("node '{}' ({}) failed: {}", node.id, node.uses, reason));
            executor.finish("failed", node.id, reason);
            outcome.ok = false;
            outcome.failed_node = node.id;
            outcome.reason = reason;
            return outcome;
        }
    }
    executor.finish("finished");
    folder.log("finished");
    return outcome;
}

}  // namespace mer
