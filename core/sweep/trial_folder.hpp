// What the sweep reads back from one trial's run folder (summary.json,
// metrics.csv, the trial's stderr log), through core/eval/run_reader: its
// status, scores, the epochs it reached and ASHA's curve. A trial's folder is
// read while the trial may still be writing it, so a file that cannot be
// read is not an exception here: the reading says why (the error, naming
// the file) and the sweep logs what it left out.
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace mer {

struct TrialSummary {
    std::string status;  // summary.json's: "finished", "failed"; "" before the run wrote one, or when unreadable
    std::string reason;  // a failed run's "node: reason"
    nlohmann::ordered_json summary = nlohmann::ordered_json::object();
    std::string unreadable;  // why summary.json could not be read (the error names the file); "" when it could
};
TrialSummary read_trial_summary(const std::filesystem::path& run_dir);

struct TrialEpochs {
    int last = 0;            // the last epoch metrics.csv holds for the node (every node when none is given)
    std::string unreadable;  // why metrics.csv could not be read; "" when it could
};
TrialEpochs read_trial_epochs(const std::filesystem::path& run_dir, const std::string& node);

// A trial's per-epoch metric ("node.target.metric") from its metrics.csv:
// the watched songs' song-level rows (inner_validation when the model keeps
// its best epoch on held-out training songs, else validation), fold 0 of the
// first repetition. epoch → value; empty for a metric of fewer than three
// parts. Throws, naming the file, when metrics.csv cannot be read.
std::map<int, double> metric_curve(const std::filesystem::path& run_dir, const std::string& metric);

// The last non-empty line of a file (a crashed trial's stderr); "" when the
// file does not exist.
std::string last_line(const std::filesystem::path& file);

}  // namespace mer
