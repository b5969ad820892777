// Reading a run folder back: run.json's manifest, summary.json,
// environment.json and metrics.csv's epochs. The one reader of these files
// for the report pages, the sweep, the run index, --resume and the Python
// package (RunWriter, core/exec/run_writer.hpp, writes them). Columns are
// found by name, never by position.
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace mer {

// What run.json says of one file or folder of the run.
struct ArtifactEntry {
    std::string file;  // relative to the run folder; folders end in '/'
    std::string kind;  // "metrics", "predictions", "bundle", ... (docs/experiments.md lists them)
    std::string node;  // the node that produced it; empty: the run itself
    std::vector<std::string> columns;
    std::string meaning;
};

struct RunManifest {
    std::filesystem::path dir;
    std::string experiment;
    std::vector<ArtifactEntry> entries;
    std::vector<ArtifactEntry> of(const std::string& kind) const;
    bool has(const std::string& kind) const { return !of(kind).empty(); }
};

// RUN_DIR/run.json; throws naming the folder when it is not a run folder,
// naming the file when it is damaged.
RunManifest read_manifest(const std::filesystem::path& run_dir);

// summary.json (in its own key order) and environment.json: empty objects
// when the run has not written them yet; a damaged file throws naming it.
nlohmann::ordered_json read_summary(const std::filesystem::path& run_dir);
nlohmann::json read_environment(const std::filesystem::path& run_dir);

// A CSV cell as a number: NaN when empty or not a number (the lenient read
// of files mer wrote itself; parse_csv_number refuses instead, for input).
double cell_number(const std::string& text);

// One row of metrics.csv.
struct EpochRow {
    std::string node, split, target, seed;
    int fold = 0, epoch = 0;
    double loss = 0, r2 = 0, rmse = 0, mae = 0;
    bool best = false;  // the `best` column: the epoch the training loop kept
    std::map<std::string, double> metrics;  // every metric column (core/eval/metrics.hpp's names)
    // "loss" or a metric's name; NaN for another name or an empty cell.
    double metric(const std::string& name) const;
};
// RUN_DIR/metrics.csv; none when the run has no such file yet.
std::vector<EpochRow> read_epochs(const std::filesystem::path& run_dir);

// The epoch whose weights a model kept, per node and "seed/fold": the rows
// metrics.csv marks `best` (the training loop's own choice: for sequence
// models by frame-level R²). Run folders written before that column existed
// fall back to the first epoch with the highest song-level R² (mean over
// targets) on the watched songs (inner_validation rows, else validation).
// Nodes trained for one epoch are absent.
using BestEpochs = std::map<std::string, std::map<std::string, int>>;
BestEpochs best_epochs(const std::vector<EpochRow>& rows);

// Per epoch, `metric` of `node`/`target` on the watched songs
// (inner_validation where the node has such rows, else validation): the
// mean over folds and seeds, or with `fold` ≥ 0 that fold of the first
// repetition (the seed of the first such row) alone.
std::map<int, double> watched_curve(const std::vector<EpochRow>& rows, const std::string& node,
                                    const std::string& target, const std::string& metric, int fold = -1);

// The last epoch the rows hold for `node` (every node when empty); 0 for none.
int last_epoch(const std::vector<EpochRow>& rows, const std::string& node = "");

// A sweep's ranking metric, "node.target.metric", in its parts (a target
// may hold dots: the node ends at the first, the metric starts after the
// last); none when it has fewer than three parts.
struct MetricPath {
    std::string node, target, metric;
};
std::optional<MetricPath> split_metric_path(const std::string& dotted);

// summary.json's validation mean of "node.target.metric"; NaN when absent.
double summary_score(const nlohmann::ordered_json& summary, const std::string& metric);

}  // namespace mer
