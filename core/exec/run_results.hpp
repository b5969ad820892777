// The run-wide result tables every regressor node adds its rows to
// (predictions.csv, results.csv, grid.csv, the dynamic task's
// frame_predictions.csv and curves.csv, summary.json), their columns, and
// comparisons.csv, made from summary.json once every node has run.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/base/files.hpp"
#include "core/exec/tuning.hpp"

namespace mer {

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

// comparisons.csv's rows (header included) from summary.json's nodes: every
// pair of regressor nodes scored on the same songs, folds and seeds, per
// target they share, R² compared by the corrected resampled t-test
// (core/eval/paired.hpp); empty when no pair qualifies.
std::string comparisons_csv(const nlohmann::ordered_json& summary);

}  // namespace mer
