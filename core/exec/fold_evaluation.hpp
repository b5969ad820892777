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

#include "core/data/song_table.hpp"
#include "core/eval/metrics_log.hpp"
#include "core/exec/pipeline.hpp"
#include "core/exec/run_results.hpp"
#include "core/exec/run_writer.hpp"
#include "core/exec/tuning.hpp"

namespace mer {

struct Experiment;
struct NodeSpec;

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

// `data` holds the songs with every target of the node labelled, exactly those targets.
void evaluate_regressor(const EvaluationSetup& setup, const NodeSpec& node, const SongTable& data, RunResults& results);

}  // namespace mer
