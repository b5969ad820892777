// The run-folder writer: every file a run leaves behind goes through it and is
// recorded in the folder's manifest, run.json — for each file its kind, the
// node that produced it (empty for the run's own files), its columns and a
// line saying what it holds. Reports and sweeps read run.json instead of
// guessing file names (core/eval/run_reader.hpp reads it back). Plugins write their files (attention weights, SHAP
// values) through PluginContext::write_artifact, which lands here.
#pragma once

#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/eval/run_reader.hpp"
#include "core/plugin/plugin.hpp"
#include "core/run/run_folder.hpp"

namespace mer {

class RunWriter {
public:
    // With `resuming`, the artifacts an earlier part of the run recorded are kept.
    RunWriter(RunFolder& folder, std::string experiment, bool resuming);

    // Writes `entry.file` atomically and records it (a file written again keeps one entry).
    void write(const ArtifactEntry& entry, const std::string& content);
    // Records a file or folder something else wrote (the metric logs, model bundles).
    void record(const ArtifactEntry& entry);
    // Drops the entries whose file starts with `prefix` (a folder deleted).
    void forget(const std::string& prefix);
    // A plugin's artifact: named <kind>_<node>[_<part>].csv, its first line
    // checked against the declared columns.
    void write_plugin_artifact(const std::string& node, const Artifact& artifact, const std::string& content);

    RunFolder& folder() { return folder_; }
    const std::vector<ArtifactEntry>& artifacts() const { return artifacts_; }

private:
    void save_manifest() const;

    RunFolder& folder_;
    std::string experiment_;
    std::vector<ArtifactEntry> artifacts_;
    std::mutex mutex_;  // plugins may write artifacts from worker threads
};

}  // namespace mer
