// Fold evaluation: one regressor node on the experiment's split. The split
// (seeded, grouped by song or group) is made once; in every fold the node's
// pipeline is tuned (grid search, when the node has a grid) and fitted on the
// training songs only, its epochs streamed to the metric logs, its validation
// predictions scored, and the fitted fold saved into the model bundle with a
// done marker, so that --resume keeps finished folds.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "core/base/files.hpp"
#include "core/data/song_table.hpp"
#include "core/eval/metrics_log.hpp"
#include "core/exec/pipeline.hpp"
#include "core/exec/run_writer.hpp"
#include "core/exec/tuning.hpp"

namespace mer {

struct Experiment;
struct NodeSpec;

// The columns of predictions.csv, results.csv and comparisons.csv. results.csv
// has a `source` column (after `level`) only in experiments with a
// dataset.union (Experiment::has_sources), so the others' files are unchanged.
const std::vector<std::string>& prediction_columns();
const std::vector<std::string>& results_columns(bool with_source = false);
const std::vector<std::string>& comparison_columns();
// The dynamic task's tables (sequence models only): every window's prediction
// with its annotation (frame_predictions.csv), and the curve metrics per node
// and target (curves.csv).
const std::vector<std::string>& frame_prediction_columns();
const std::vector<std::string>& curve_columns();

// The run-wide tables every regressor node adds its rows to, headers included.
struct RunResults {
    std::string predictions = csv_row(prediction_columns()) + "\n";
    std::string results = csv_row(results_columns()) + "\n";
    std::string grid = grid_csv_header();
    std::string frame_predictions = csv_row(frame_prediction_columns()) + "\n";
    std::string curves = csv_row(curve_columns()) + "\n";
    nlohmann::ordered_json summary;
};

struct EvaluationSetup {
    const Experiment& experiment;
    const PluginRegistry& registry;
    RunWriter& writer;
    MetricsLog& metrics;
    int threads = 1;
    bool resuming = false;
    // The context for a plugin of the pipeline (node id, purpose as in derive_seed).
    std::function<PluginContext(const std::string& node_id, const std::string& purpose)> context;
};

// comparisons.csv's rows (header included) from summary.json's nodes: every
// pair of regressor nodes scored on the same songs, folds and seeds, per
// target they share, R² compared by the corrected resampled t-test
// (core/eval/paired.hpp); empty when no pair qualifies.
std::string comparisons_csv(const nlohmann::ordered_json& summary);

// `data` holds the songs with every target of the node labelled, exactly those targets.
void evaluate_regressor(const EvaluationSetup& setup, const NodeSpec& node, const SongTable& data, RunResults& results);

}  // namespace mer
