// The experiment model: a YAML file (plus --set overrides) checked as a
// whole — its structure against schemas/experiment.schema.json, every plugin
// name against the registry, every input reference, cycles, each kind's
// input rules and every node's parameters against its plugin's schema —
// before anything runs. All problems are reported together, each with the
// file, line and column it comes from.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/data/splits.hpp"
#include "core/graph/schema.hpp"

namespace mer {

class PluginRegistry;
struct PluginRecord;

struct NodeSpec {
    std::string id;
    std::string uses;  // plugin name
    std::string kind;  // the plugin's kind
    std::vector<std::string> inputs;
    nlohmann::json params;             // validated, defaults filled in
    std::vector<std::string> targets;  // regressors: targets to learn; empty = all
    const PluginRecord* plugin = nullptr;
    Location where;  // of the node's key in the file

    nlohmann::json grid = nlohmann::json::object();  // parameter → candidate values (regressors)
    int grid_folds = 5;                              // inner cross-validation folds of the grid search
    std::string grid_metric = "r2";                  // what the grid search maximises (or minimises)
    std::string grid_by = "joint";                   // "target": each target its own candidate; "joint": one for all
    std::string label;                               // name in results.csv (default: the input node)
    std::size_t limit = 0;                           // dataset nodes: keep a seeded sample of this many songs (0: all)
    // Files whose content enters the node's cache key (capability
    // `fingerprint`): parameter → {"path": absolute path, "sha256": content hash}.
    nlohmann::json files = nlohmann::json::object();
};

struct EvaluationSpec {
    SplitSpec split;
    std::string group_by = "song";     // "song" or "group": what must stay on one side of a split
    std::vector<std::string> metrics;  // reported in summary.json; the first ranks
    EarlyStoppingSpec early_stopping;  // for models that keep their best epoch (capability early_stopping)
};

struct Experiment {
    std::string file;
    std::string name;
    std::uint64_t seed = 42;
    // Repetitions: every regressor is evaluated once per seed, on the same
    // folds (split by `seed`), its plugins seeded by the repetition's seed.
    // Empty: once, with `seed`.
    std::vector<std::uint64_t> seeds;
    nlohmann::json sweep;  // the `sweep:` block (mer-run sweep), null without one; `run` ignores it
    int threads = 0;  // 0: every core
    std::string device = "cpu";
    std::string cache_dir = "cache";
    std::string runs_dir = "runs";
    double max_skipped_fraction = 0.05;  // a data node fails when it loses more of its songs
    EvaluationSpec evaluation;
    std::vector<NodeSpec> nodes;  // in execution (dependency) order
    YAML::Node resolved;          // the document with overrides and defaults applied

    const NodeSpec& node(const std::string& id) const;
    // A node stacks dataset nodes (dataset.union): songs may carry a source,
    // and results.csv has a source column.
    bool has_sources() const;
};

// The experiment schema compiled into mer-run (schemas/experiment.schema.json).
const nlohmann::json& experiment_schema();

// The data paths of the experiment's nodes (parameters their plugin's schema
// marks "x-mer-path": "file" or "folder"), resolved against the working
// directory: `resolved` gets "nodes.data.params.root = /abs/path" lines, the
// result one error per path that does not exist (or is not of its kind), so
// a run started from another folder stops before anything runs.
Diagnostics check_data_paths(const Experiment& experiment, std::vector<std::string>* resolved = nullptr);

// The rows of every dataset node that can read them ahead (capability
// check_data: dataset.manifest's columns, numbers, labels within label_range
// and audio files), one error per problem at the data file's line, so that
// validate catches a broken manifest and a run refuses it before its folder
// exists. What the run copes with (an audio file that does not exist: the
// song is skipped and counted) goes to `warnings` instead.
Diagnostics check_dataset_rows(const Experiment& experiment, const PluginRegistry& registry,
                               Diagnostics* warnings = nullptr);

// The experiment schema for editors (`mer-run schema`): a node's `uses` is
// one of the registry's plugin names, and its `params` are checked against
// that plugin's own schema (if/then per name), so a YAML language server
// completes and checks plugin names and parameters as mer-run validate does.
nlohmann::json editor_schema(const PluginRegistry& registry);

struct LoadedExperiment {
    Experiment experiment;
    Diagnostics errors;  // empty when the experiment is valid
};

// `overrides` are "path.to.key=value" strings (--set; values are parsed as
// YAML) and "~path.to.key" strings (--unset: the key is removed, and must
// exist), applied in order before validation.
LoadedExperiment load_experiment(const std::string& file, const std::vector<std::string>& overrides,
                                 const PluginRegistry& registry);

}  // namespace mer
