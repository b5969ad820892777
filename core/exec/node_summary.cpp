// A regressor node's summary from its folds' books (see node_summary.hpp).
#include "core/exec/node_summary.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <tuple>

#include "core/base/files.hpp"
#include "core/exec/run_writer.hpp"
#include "core/exec/tuning.hpp"
#include "core/graph/experiment.hpp"
#include "core/plugin/capabilities.hpp"
#include "core/plugin/registry.hpp"

namespace mer {

using json = nlohmann::ordered_json;

namespace {

class NodeSummary {
public:
    NodeSummary(const Experiment& experiment, const NodeSpec& node, const SongTable& data, const NodeScores& scores,
                const std::vector<std::uint64_t>& seeds, RunWriter& writer, RunResults& results)
        : exp_(experiment),
          node_(node),
          data_(data),
          scores_(scores),
          seeds_(seeds),
          writer_(writer),
          results_(results),
          sequence_(node.plugin->capability(capability::kSequence, false) == true) {}

    // results.csv rows and summary.json's entry for the node.
    void summarise(std::size_t folds, double seconds) {
        const std::vector<std::string> reported = reported_metrics();
        json targets = json::object(), chunk_targets = json::object(), by_source = json::object();
        for (std::size_t t = 0; t < data_.target_names.size(); ++t) {
            const std::string& target = data_.target_names[t];
            targets[target] = per_metric(scores_.song[t], reported);
            add_pooled(targets[target], t, reported);
            if (!scores_.chunk[t].empty()) chunk_targets[target] = per_metric(scores_.chunk[t], reported);
            // Per source, the folds that score its songs alone (leave one source out, by_source);
            // results.csv's source column is empty on the rows over every fold.
            std::vector<std::pair<std::string, json>> rows;
            for (const json* level : {&targets[target], scores_.chunk[t].empty() ? nullptr : &chunk_targets[target]})
                if (level) rows.emplace_back("", *level);
            for (const auto& [source, folds_of] : source_folds_of()) {
                std::vector<RegressionMetrics> scores;
                for (std::size_t f : folds_of) scores.push_back(scores_.song[t].at(f));
                by_source[source][target] = per_metric(scores, reported);
                rows.emplace_back(source, by_source[source][target]);
            }
            add_result_rows(target, rows);
        }
        json& entry = results_.summary["nodes"][node_.id];
        entry = json{{"model", node_.uses},   {"version", node_.plugin->version},
                     {"songs", data_.size()}, {"folds", folds},
                     {"seconds", seconds},    {"validation", targets}};
        if (repeated()) {
            entry["seeds"] = seeds_;
            // k-fold repetitions draw their own folds; a holdout's share one split (initialisation alone).
            entry["resampled"] = resampled();
        }
        // What the paired comparisons need to know the runs are the same.
        entry["songs_sha256"] = sha256_hex(fmt::format("{}", fmt::join(data_.song_ids, "\n")));
        entry["test_train_ratio"] = scores_.test_train_ratio;
        if (!chunk_targets.empty()) entry[sequence_ ? "validation_frames" : "validation_chunks"] = chunk_targets;
        if (!by_source.empty()) entry["sources"] = by_source;
        if (sequence_) entry["curves"] = summarise_curves();
        if (!scores_.selected_on.empty()) entry["epoch_selected_on"] = scores_.selected_on;
        if (!scores_.best_epochs.empty()) entry["best_epoch"] = best_epoch_summary();
        if (!node_.grid.empty()) entry["grid"] = grid_summary();
    }

private:
    // The metrics summarised: the experiment's, and r2, mae, rmse always (results.csv's columns).
    std::vector<std::string> reported_metrics() const {
        std::vector<std::string> reported = exp_.evaluation.metrics;
        for (const char* m : {"r2", "mae", "rmse"})
            if (std::find(reported.begin(), reported.end(), m) == reported.end()) reported.push_back(m);
        return reported;
    }

    // Each metric's mean, std and per-fold values over `scores`; with repetitions, how much they disagree.
    json per_metric(const std::vector<RegressionMetrics>& scores, const std::vector<std::string>& reported) const {
        json out = json::object();
        for (const auto& name : reported) {
            std::vector<double> values;
            for (const auto& m : scores) values.push_back(m.get(name));
            const auto [mean, sd] = mean_and_std(values);
            out[name] = {{"mean", mean}, {"std", sd}, {"folds", values}};
            if (!repeated() || seeds_.size() < 2) continue;
            // How much the repetitions disagree: the std of their means over folds.
            std::vector<double> seed_means;
            const std::size_t per_seed = values.size() / seeds_.size();  // folds, or a source's folds
            for (std::size_t r = 0; r < seeds_.size(); ++r)
                seed_means.push_back(
                    mean_and_std(std::vector<double>(values.begin() + static_cast<std::ptrdiff_t>(r * per_seed),
                                                     values.begin() + static_cast<std::ptrdiff_t>((r + 1) * per_seed)))
                        .first);
            out[name]["seed_means"] = seed_means;
            out[name]["seed_std"] = mean_and_std(seed_means).second;
        }
        return out;
    }

    // Every out-of-fold prediction of target t scored at once: on a small corpus a fold's R² swings with its
    // few songs; the pooled score does not.
    void add_pooled(json& target_entry, std::size_t t, const std::vector<std::string>& reported) const {
        const Eigen::Map<const Eigen::VectorXd> truth(scores_.pooled_truth[t].data(),
                                                      static_cast<Eigen::Index>(scores_.pooled_truth[t].size()));
        const Eigen::Map<const Eigen::VectorXd> predicted(
            scores_.pooled_predicted[t].data(), static_cast<Eigen::Index>(scores_.pooled_predicted[t].size()));
        if (truth.size() <= 1) return;
        const RegressionMetrics pooled = regression_metrics(truth, predicted);
        for (const auto& name : reported)
            target_entry[name]["pooled"] = std::isfinite(pooled.get(name)) ? json(pooled.get(name)) : json(nullptr);
    }

    // results.csv's rows of one target: song level, chunk (or frame) level, then one per source.
    void add_result_rows(const std::string& target, const std::vector<std::pair<std::string, json>>& rows) {
        const std::string feature_set = node_.label.empty() ? node_.inputs.at(0) : node_.label;
        for (const auto& [source, level] : rows) {
            const bool chunks = source.empty() && &level != &rows.front().second;
            results_.results += csv_field(feature_set) + "," + csv_field(node_.uses) + "," + csv_field(node_.id) + "," +
                                csv_field(target) + "," +
                                (!chunks     ? "song"
                                 : sequence_ ? "frame"
                                             : "chunk") +
                                (exp_.has_sources() ? "," + csv_field(source) : std::string());
            // One score (a holdout, one seed) has no spread: std is left empty, not 0.
            const bool spread = level["r2"]["folds"].size() > 1;
            for (const char* m : {"r2", "mae", "rmse"})
                results_.results += "," + format_number(level[m]["mean"].get<double>()) + "," +
                                    (spread ? format_number(level[m]["std"].get<double>()) : std::string());
            results_.results += "," + scores_.selected_on + "," +
                                (node_.grid.empty() ? std::string() : csv_field(picks_of(target).dump())) + "\n";
        }
    }

    // summary.json's best_epoch: per fold, the epoch kept and its score.
    json best_epoch_summary() const {
        json best = {{"score", sequence_ ? "frame-level R², mean over targets, on the watched songs' annotated windows"
                                         : "song-level R², mean over targets, on the watched songs"}};
        for (const char* key : {"epoch", "epochs", "score_at_best", "score_at_last"}) {
            best[key] = json::array();
            for (const auto& fold : scores_.best_epochs) best[key].push_back(fold[key]);
        }
        return best;
    }

    // summary.json's grid: the search's settings, each target's picks, the picks on the grid's edge (logged).
    json grid_summary() {
        json grid = {{"metric", node_.grid_metric},
                     {"inner_folds", node_.grid_folds},
                     {"candidates", grid_candidates(node_).size()},
                     {"by", node_.grid_by}};
        json per_target = json::object();
        for (const auto& target : data_.target_names) per_target[target] = picks_of(target);
        grid["best_per_target"] = per_target;
        if (node_.grid_by == "joint") grid["best_per_fold"] = picks_of(data_.target_names.front());
        const json edges = grid_edges();
        if (!edges.empty()) grid["edges"] = edges;
        for (const auto& edge : edges)
            writer_.folder().log(fmt::format("node '{}': {}", node_.id, edge.at("message").get<std::string>()));
        return grid;
    }

    // Each source that some folds score alone, with those folds (indices
    // into scores_, every repetition's), in order of first appearance.
    std::vector<std::pair<std::string, std::vector<std::size_t>>> source_folds_of() const {
        std::vector<std::pair<std::string, std::vector<std::size_t>>> out;
        for (std::size_t f = 0; f < scores_.fold_sources.size(); ++f) {
            if (scores_.fold_sources[f].empty()) continue;
            auto it =
                std::find_if(out.begin(), out.end(), [&](const auto& p) { return p.first == scores_.fold_sources[f]; });
            if (it == out.end())
                it = out.insert(out.end(), std::make_pair(scores_.fold_sources[f], std::vector<std::size_t>{}));
            it->second.push_back(f);
        }
        return out;
    }

    // The numeric grid axes (three or more values) whose smallest or largest
    // value won in most folds of a target: the best value probably lies
    // outside the grid, and the score is understated.
    json grid_edges() const {
        json edges = json::array();
        const std::vector<std::string> targets =
            node_.grid_by == "joint" ? std::vector<std::string>{data_.target_names.front()} : data_.target_names;
        for (const auto& [key, values] : node_.grid.items()) {
            if (!values.is_array() || values.size() < 3) continue;
            std::vector<double> axis;
            for (const auto& v : values)
                if (v.is_number()) axis.push_back(v.get<double>());
            if (axis.size() != values.size()) continue;
            const auto [low, high] = std::minmax_element(axis.begin(), axis.end());
            for (const auto& target : targets) {
                const json picks = picks_of(target);
                int at_low = 0, at_high = 0;
                for (const auto& pick : picks) {
                    if (!pick.contains(key) || !pick[key].is_number()) continue;
                    const double v = pick[key].get<double>();
                    at_low += v == *low;
                    at_high += v == *high;
                }
                const auto folds = static_cast<int>(picks.size());
                for (const auto& [count, side, value] :
                     {std::tuple{at_low, "smallest", *low}, std::tuple{at_high, "largest", *high}}) {
                    if (2 * count <= folds) continue;
                    const std::string whose = node_.grid_by == "joint" ? "" : " for " + target;
                    edges.push_back({{"parameter", key},
                                     {"target", node_.grid_by == "joint" ? json(nullptr) : json(target)},
                                     {"edge", side},
                                     {"value", value},
                                     {"folds", count},
                                     {"of", folds},
                                     {"message", fmt::format("{}: the {} value tried ({}) won in {} of {} folds{}; "
                                                             "consider a wider grid",
                                                             key, side, format_number(value), count, folds, whose)}});
                }
            }
        }
        return edges;
    }

    // The dynamic task's figures over every validation song of every fold
    // (and repetition): summary.json's curves and curves.csv's rows.
    json summarise_curves() {
        json out = json::object();
        auto value = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
        for (std::size_t t = 0; t < data_.target_names.size(); ++t) {
            const CurveMetrics m = curve_metrics(scores_.curve_truth[t], scores_.curve_predicted[t]);
            out[data_.target_names[t]] = {
                {"songs", m.songs},
                {"frames", m.frames},
                {"per_song",
                 {{"rmse", {{"mean", value(m.rmse_mean)}, {"std", value(m.rmse_std)}}},
                  {"pearson", {{"mean", value(m.pearson_mean)}, {"std", value(m.pearson_std)}}},
                  {"ccc", {{"mean", value(m.ccc_mean)}, {"std", value(m.ccc_std)}}},
                  {"constant_songs", m.constant_songs}}},
                {"global",
                 {{"rmse", value(m.global_rmse)},
                  {"pearson", value(m.global_pearson)},
                  {"ccc", value(m.global_ccc)},
                  {"r2", value(m.global_r2)}}}};
            results_.curves += csv_field(node_.id) + "," + csv_field(node_.uses) + "," +
                               csv_field(data_.target_names[t]) + "," + std::to_string(m.songs) + "," +
                               std::to_string(m.frames);
            for (double v : {m.rmse_mean, m.rmse_std, m.pearson_mean, m.pearson_std, m.ccc_mean, m.ccc_std})
                results_.curves += "," + (std::isfinite(v) ? format_number(v) : std::string());
            results_.curves += "," + std::to_string(m.constant_songs);
            for (double v : {m.global_rmse, m.global_pearson, m.global_ccc, m.global_r2})
                results_.curves += "," + (std::isfinite(v) ? format_number(v) : std::string());
            results_.curves += "\n";
        }
        return out;
    }

    // The grid values fitted for `target` in each fold.
    json picks_of(const std::string& target) const {
        json picks = json::array();
        for (const auto& fold : scores_.selected) picks.push_back(fold.at(target));
        return picks;
    }

    bool repeated() const { return !exp_.seeds.empty(); }
    // k-fold repetitions draw their own folds; a holdout's share one split.
    bool resampled() const { return repeated() && seeds_.size() > 1 && exp_.evaluation.split.kind == "kfold"; }

    const Experiment& exp_;
    const NodeSpec& node_;
    const SongTable& data_;
    const NodeScores& scores_;
    const std::vector<std::uint64_t>& seeds_;
    RunWriter& writer_;
    RunResults& results_;
    const bool sequence_;  // the model rates every window (capability "sequence")
};

}  // namespace

void summarise_node(const Experiment& experiment, const NodeSpec& node, const SongTable& data, const NodeScores& scores,
                    const std::vector<std::uint64_t>& seeds, std::size_t folds, double seconds, RunWriter& writer,
                    RunResults& results) {
    NodeSummary(experiment, node, data, scores, seeds, writer, results).summarise(folds, seconds);
}

}  // namespace mer
