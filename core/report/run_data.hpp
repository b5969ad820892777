// What the report pages read from a run folder: its manifest, metrics.csv's
// epochs, the best epoch of each fold, and summary.json as a results table.
// Shared by the run, sweep and comparison pages.
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/exec/run_writer.hpp"
#include "core/report/page.hpp"

namespace mer::report {

using ManifestEntry = ArtifactEntry;

struct Manifest {
    std::filesystem::path dir;
    std::string experiment;
    std::vector<ManifestEntry> entries;
    std::vector<ManifestEntry> of(const std::string& kind) const;
    bool has(const std::string& kind) const { return !of(kind).empty(); }
};

// RUN_DIR/run.json; throws naming the folder when it is not a run folder.
Manifest read_manifest(const std::filesystem::path& run_dir);

// j[key] when j has it, else an empty object: safe to loop over (a
// temporary from json::value() would die before the loop body runs).
const nlohmann::ordered_json& member(const nlohmann::ordered_json& j, const std::string& key);
const nlohmann::json& member(const nlohmann::json& j, const std::string& key);

// A CSV cell as a number: NaN when empty or not a number.
double number(const std::string& text);
// A number for a plot: 6 significant digits; null for NaN and infinities.
nlohmann::json plot_number(double value);

// One row of metrics.csv.
struct EpochRow {
    std::string node, split, target, seed;
    int fold = 0, epoch = 0;
    double loss = 0, r2 = 0, rmse = 0, mae = 0;
    bool best = false;  // the `best` column: the epoch the training loop kept
};
std::vector<EpochRow> read_epochs(const std::filesystem::path& metrics_csv);

// The epoch whose weights a model kept, per node and "seed/fold": the rows
// metrics.csv marks `best` (the training loop's own choice: for sequence
// models by frame-level R²). Run folders written before that column existed
// fall back to the first epoch with the highest song-level R² (mean over
// targets) on the watched songs (inner_validation rows, else validation).
// Nodes trained for one epoch are absent.
using BestEpochs = std::map<std::string, std::map<std::string, int>>;
BestEpochs best_epochs(const std::vector<EpochRow>& rows);

// Node × target × level rows of summary.json with mean ± std of each metric
// and the best epochs; `label` (a run's name) becomes a first column when set.
Table results_table(const nlohmann::ordered_json& summary, const BestEpochs& best, const std::string& label = "");

// Every fold's song-level score of every model node, per target and seed
// (one row each; the columns are the folds), with the mean: what the mean ±
// std of results_table is made of.
Table fold_scores_table(const nlohmann::ordered_json& summary, const std::string& metric = "r2");

}  // namespace mer::report
