// Tuning: a regressor node's grid search inside the training side of one
// evaluation fold — every candidate (the cartesian product of the node's
// grid) scored by k-fold cross-validation on those songs only, through the
// same pipeline as the evaluation, and the best by the node's grid metric
// kept. Candidates fit in parallel unless the model declares
// concurrent_fit: false. Candidates that differ only in a staged parameter
// (boosting rounds) share one fit per inner fold, scored at each count.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/data/song_table.hpp"
#include "core/exec/pipeline.hpp"

namespace mer {

struct NodeSpec;

struct GridSearch {
    const NodeSpec& node;
    const PipelineSpec& pipeline;
    const PluginRegistry& registry;
    // Seeds the inner folds and their early-stopping holdouts: from the
    // repetition's seed and the outer fold, the same for every node.
    std::uint64_t split_seed = 0;
    std::string group_by = "song";  // what must stay on one side of an inner split
    int threads = 1;
    // The context for a plugin of the pipeline (node id, purpose as in derive_seed).
    std::function<PluginContext(const std::string& node_id, const std::string& purpose)> context;
    EarlyStoppingSpec early_stopping{};  // what a model that keeps its best epoch watches in an inner fold
};

struct TuningResult {
    std::vector<nlohmann::json> best;  // per target of `train`: the winning candidate's full parameters
    std::string grid_rows;             // grid.csv rows, every candidate × target
    std::string log_line;
};

// Tuned per target (node.grid_by "target"), each target's candidates are
// scored on that target alone and each target gets its best; jointly, one
// candidate, best by the mean over targets, serves all.
TuningResult tune(const GridSearch& search, const SongTable& train, int outer_fold);

// Every combination of the grid's values over the node's parameters, in the
// order the grid lists keys and values.
std::vector<nlohmann::json> grid_candidates(const NodeSpec& node);
// The grid's keys with their values in `params` (what grid.csv and summary.json show).
nlohmann::json grid_values(const NodeSpec& node, const nlohmann::json& params);
// grid.csv's columns, and its header line (with the newline).
const std::vector<std::string>& grid_columns();
std::string grid_csv_header();

}  // namespace mer
