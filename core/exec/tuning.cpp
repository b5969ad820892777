// Grid search over a regressor node's candidates, inner folds in parallel.
#include "core/exec/tuning.hpp"

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "core/base/files.hpp"
#include "core/data/splits.hpp"
#include "core/eval/metrics.hpp"
#include "core/exec/target_pipelines.hpp"
#include "core/graph/experiment.hpp"
#include "core/graph/grid.hpp"
#include "core/plugin/capabilities.hpp"
#include "core/plugin/registry.hpp"
#include "core/plugin/regressor.hpp"
#include "core/run/progress.hpp"

namespace mer {

using json = nlohmann::json;

namespace {

// scores[candidate][inner fold][target]
using GridScores = std::vector<std::vector<std::vector<RegressionMetrics>>>;

// Candidates that differ only in the model's staged parameter (capability
// staged: boosting rounds) share one fit per inner fold, the one with the
// largest value; the others are scored from its first stages, which is
// exactly what fitting them would give. Every other candidate is a group of
// its own.
struct FitGroup {
    std::size_t fitted;                // the candidate fitted
    std::vector<std::size_t> members;  // the candidates scored from it (fitted included)
    std::string staged;                // the staged parameter; empty when fitted alone
};

std::vector<FitGroup> fit_groups(const GridSearch& search, const std::vector<json>& candidates) {
    const std::string& uses = search.node.uses;
    std::vector<FitGroup> groups;
    std::map<std::string, std::size_t> group_of;  // the candidate without its staged value → group
    const bool declares = search.registry.get(uses).capability(capability::kStaged, false) == true;
    for (std::size_t c = 0; c < candidates.size(); ++c) {
        std::string staged;
        if (declares) {
            const json name = search.registry.create<RegressorPlugin>(uses, candidates[c])->query(capability::kStaged);
            if (name.is_string() && search.node.grid.contains(name.get<std::string>()) &&
                candidates[c].at(name.get<std::string>()).is_number_integer())
                staged = name.get<std::string>();
        }
        if (staged.empty()) {
            groups.push_back({c, {c}, ""});
            continue;
        }
        json rest = candidates[c];
        rest.erase(staged);
        const auto [it, added] = group_of.emplace(staged + "\n" + rest.dump(), groups.size());
        if (added) {
            groups.push_back({c, {c}, staged});
            continue;
        }
        FitGroup& group = groups[it->second];
        group.members.push_back(c);
        if (candidates[c].at(staged).get<long long>() > candidates[group.fitted].at(staged).get<long long>())
            group.fitted = c;
    }
    return groups;
}

GridScores score_candidates(const GridSearch& search, const std::vector<json>& candidates, const SongTable& train,
                            const std::vector<Fold>& folds, int outer_fold) {
    const std::vector<FitGroup> groups = fit_groups(search, candidates);
    const std::size_t jobs = groups.size() * folds.size();
    const bool concurrent =
        search.registry.get(search.node.uses).capability(capability::kConcurrentFit, true).get<bool>();
    const int workers =
        concurrent ? static_cast<int>(std::min<std::size_t>(jobs, static_cast<std::size_t>(search.threads))) : 1;
    const int threads_per_job = std::max(1, search.threads / std::max(1, workers));
    const bool picks_epoch =
        search.registry.get(search.node.uses).capability(capability::kEarlyStopping, false) == true;
    GridScores scores(candidates.size(), std::vector<std::vector<RegressionMetrics>>(folds.size()));
    const PluginContext progress = search.context(search.node.id, "grid");
    std::atomic<std::size_t> next{0}, scored{0};
    std::mutex failure_mutex;
    std::exception_ptr failure;
    auto work = [&] {
        for (std::size_t job = next++; job < jobs; job = next++) {
            const FitGroup& group = groups[job / folds.size()];
            const std::size_t f = job % folds.size();
            try {
                const SongTable inner_train = train.rows(folds[f].train);
                const SongTable inner_validation = train.rows(folds[f].validation);
                TargetPipelines pipelines(search.pipeline, search.registry, train.target_names);
                // songs × targets per member of the group
                std::vector<Eigen::MatrixXd> predicted(
                    group.members.size(),
                    Eigen::MatrixXd(inner_validation.targets.rows(), inner_validation.targets.cols()));
                for (auto& part : pipelines.parts()) {
                    const Sides sides = part.pipeline.fit_transforms(
                        {inner_train.target_columns(part.targets), inner_validation.target_columns(part.targets)},
                        [&](const PipelineStep& step) {
                            PluginContext ctx = search.context(step.id, "fold" + std::to_string(outer_fold));
                            ctx.fold = outer_fold;
                            ctx.threads = threads_per_job;
                            ctx.work_dir.clear();  // grid-search fits leave no files
                            ctx.artifact = nullptr;
                            return ctx;
                        });
                    PluginContext ctx = search.context(search.node.id, "grid");
                    ctx.threads = threads_per_job;
                    ctx.fold = outer_fold;
                    ctx.work_dir.clear();
                    ctx.artifact = nullptr;
                    ctx.progress = nullptr;
                    // A model that keeps its best epoch picks it on songs held out
                    // of this inner fold's training side, not on the songs scored.
                    ctx.split_seed = derive_seed(search.split_seed, std::to_string(f) + "/holdout");
                    const WatchedFit watched =
                        watched_fit(sides.first, search.early_stopping, search.group_by, picks_epoch,
                                    derive_seed(search.split_seed, std::to_string(f) + "/early-stopping"));
                    part.pipeline.fit_regressor(candidates[group.fitted], watched.fit, &watched.watch(sides.second), {},
                                                ctx);
                    for (std::size_t m = 0; m < group.members.size(); ++m) {
                        const json& member = candidates[group.members[m]];
                        const Eigen::MatrixXd part_predicted =
                            group.members[m] == group.fitted
                                ? part.pipeline.predict(sides.second)
                                : part.pipeline.predict_stages(sides.second, member.at(group.staged).get<int>());
                        if (part_predicted.rows() != predicted[m].rows() ||
                            part_predicted.cols() != static_cast<Eigen::Index>(part.targets.size()))
                            throw Error(fmt::format("{} returned {}×{} predictions for {} songs × {} targets",
                                                    search.node.uses, part_predicted.rows(), part_predicted.cols(),
                                                    predicted[m].rows(), part.targets.size()),
                                        Location::of_node(search.node.id));
                        for (std::size_t j = 0; j < part.targets.size(); ++j)
                            predicted[m].col(part.targets[j]) = part_predicted.col(static_cast<Eigen::Index>(j));
                    }
                }
                for (std::size_t m = 0; m < group.members.size(); ++m)
                    for (Eigen::Index t = 0; t < predicted[m].cols(); ++t)
                        scores[group.members[m]][f].push_back(
                            regression_metrics(inner_validation.targets.col(t), predicted[m].col(t)));
                const std::size_t done = scored += group.members.size();
                if (progress.progress) progress.progress(done, candidates.size() * folds.size(), "candidate fits");
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
    return scores;
}

}  // namespace

std::vector<json> grid_candidates(const NodeSpec& node) {
    return grid_combinations(node.params, node.grid);
}

json grid_values(const NodeSpec& node, const json& params) {
    json picked = json::object();
    for (const auto& [key, _] : node.grid.items()) picked[key] = params[key];
    return picked;
}

const std::vector<std::string>& grid_columns() {
    static const std::vector<std::string> columns = [] {
        std::vector<std::string> c{"node", "fold", "candidate", "params", "target"};
        for (const auto& name : metric_names()) c.insert(c.end(), {name + "_mean", name + "_std"});
        c.insert(c.end(), {"selected", "selected_by"});
        return c;
    }();
    return columns;
}

std::string grid_csv_header() {
    return csv_row(grid_columns()) + "\n";
}

namespace {

// One search over `train`'s targets: the candidate with the best mean over
// them (one target when tuned per target).
struct Search {
    std::string grid_rows;
    std::size_t best = 0;
    double best_score = 0;
    std::size_t folds = 0;
};

Search search_candidates(const GridSearch& search, const std::vector<json>& candidates, const SongTable& train,
                         int outer_fold) {
    const NodeSpec& node = search.node;
    const std::vector<std::string>& groups = search.group_by == "group" ? train.groups : train.song_ids;
    const SplitSpec inner{"kfold", 0.2, node.grid_folds};
    const std::vector<Fold> folds = make_folds(groups, inner, search.split_seed);
    const GridScores scores = score_candidates(search, candidates, train, folds, outer_fold);

    const bool higher = higher_is_better(node.grid_metric);
    Search out;
    out.folds = folds.size();
    std::vector<double> mean_score(candidates.size(), 0.0);
    for (std::size_t c = 0; c < candidates.size(); ++c) {
        double sum = 0;
        int count = 0;
        for (const auto& fold_scores : scores[c])
            for (const auto& m : fold_scores) sum += m.get(node.grid_metric), ++count;
        mean_score[c] = sum / std::max(1, count);
        if (higher ? mean_score[c] > mean_score[out.best] : mean_score[c] < mean_score[out.best]) out.best = c;
    }
    out.best_score = mean_score[out.best];
    for (std::size_t c = 0; c < candidates.size(); ++c)
        for (std::size_t t = 0; t < train.target_names.size(); ++t) {
            std::string row = csv_field(node.id) + "," + std::to_string(outer_fold) + "," + std::to_string(c) + "," +
                              csv_field(grid_values(node, candidates[c]).dump()) + "," +
                              csv_field(train.target_names[t]);
            for (const auto& name : metric_names()) {
                std::vector<double> values;
                for (const auto& fold_scores : scores[c]) values.push_back(fold_scores[t].get(name));
                const auto [mean, sd] = mean_and_std(values);
                row += "," + format_number(mean) + "," + format_number(sd);
            }
            out.grid_rows += row + "," + (c == out.best ? "1" : "0") + "," + node.grid_by + "\n";
        }
    return out;
}

}  // namespace

TuningResult tune(const GridSearch& search, const SongTable& train, int outer_fold) {
    const auto start = std::chrono::steady_clock::now();
    const NodeSpec& node = search.node;
    const std::vector<json> candidates = grid_candidates(node);
    TuningResult result;
    std::vector<std::string> picks;
    std::size_t folds = 0;
    auto pick = [&](const Search& found, const std::string& target) {
        picks.push_back(fmt::format("{}{} ({} {:.4f})", target.empty() ? "" : "for " + target + " ",
                                    grid_values(node, candidates[found.best]).dump(), node.grid_metric,
                                    found.best_score));
        result.grid_rows += found.grid_rows;
        folds = found.folds;
    };
    if (node.grid_by == "target" && train.target_names.size() > 1) {
        // Each target on its own: the same inner folds, its own winner.
        for (Eigen::Index t = 0; t < train.targets.cols(); ++t) {
            const Search found = search_candidates(search, candidates, train.target_columns({t}), outer_fold);
            pick(found, train.target_names[static_cast<std::size_t>(t)]);
            result.best.push_back(candidates[found.best]);
        }
    } else {
        const Search found = search_candidates(search, candidates, train, outer_fold);
        pick(found, "");
        result.best.assign(train.target_names.size(), candidates[found.best]);
    }
    result.log_line =
        fmt::format("node '{}': grid search in fold {}: {} candidates × {} folds in {:.1f} s; best {}", node.id,
                    outer_fold, candidates.size(), folds, seconds_since(start), fmt::join(picks, ", "));
    return result;
}

}  // namespace mer
