// A regressor node's summary, once its folds have run: summary.json's
// entry for it (scores per target: mean, std and per fold, pooled, per
// source, per repetition; chunk or frame level; the dynamic task's curves;
// the kept epochs; the grid's picks and its edges), its results.csv rows and,
// for sequence models, its curves.csv rows. The fold loop
// (fold_evaluation.cpp) keeps the books these are made from, in NodeScores.
#pragma once

#include <Eigen/Dense>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/data/song_table.hpp"
#include "core/eval/metrics.hpp"
#include "core/exec/run_results.hpp"

namespace mer {

struct Experiment;
struct NodeSpec;
class RunWriter;

// What the folds of one regressor node leave for its summary, per fold in
// the order they ran (every repetition's), restored folds included.
struct NodeScores {
    explicit NodeScores(std::size_t targets)
        : song(targets),
          chunk(targets),
          pooled_truth(targets),
          pooled_predicted(targets),
          curve_truth(targets),
          curve_predicted(targets) {}

    // Per target, per fold: song level, and chunk level (chunk models;
    // windows for sequence models).
    std::vector<std::vector<RegressionMetrics>> song, chunk;
    std::vector<std::string> fold_sources;  // per fold: the one source it scores, or ""
    // Per target, every out-of-fold prediction with its label.
    std::vector<std::vector<double>> pooled_truth, pooled_predicted;
    // Sequence models: per target, each validation song's annotated windows and their predictions.
    std::vector<std::vector<Eigen::VectorXd>> curve_truth, curve_predicted;
    // Per fold (models that keep their best epoch): the epoch kept, its score, and the last epoch's.
    nlohmann::ordered_json best_epochs = nlohmann::ordered_json::array();
    nlohmann::ordered_json selected = nlohmann::ordered_json::array();  // per fold: target → the grid's pick for it
    std::string selected_on;      // where the model picked its epoch: "inner", "validation", or "" (it picks none)
    double test_train_ratio = 0;  // validation ÷ training songs of a fold (the last one evaluated)
};

// Adds the node's entry to results.summary, its rows to results.results and
// results.curves; `folds` per repetition, `seconds` the node's time. The
// grid's edges are also logged through `writer`.
void summarise_node(const Experiment& experiment, const NodeSpec& node, const SongTable& data, const NodeScores& scores,
                    const std::vector<std::uint64_t>& seeds, std::size_t folds, double seconds, RunWriter& writer,
                    RunResults& results);

}  // namespace mer
