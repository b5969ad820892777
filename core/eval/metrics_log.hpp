// metrics.csv and metrics.jsonl: one row per epoch (round, fold) per model,
// split and target, appended and flushed as each epoch finishes, so a run that
// is killed keeps every finished epoch. The last column, best, marks the
// epoch a model kept, once its fold has finished training.
#pragma once

#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/eval/metrics.hpp"

namespace mer {

struct MetricsRow {
    std::string node;
    std::string model;  // plugin name
    int fold = 0;
    int epoch = 0;
    std::string split;  // "train" | "validation"
    std::string target;
    std::optional<double> loss;
    RegressionMetrics metrics;
    std::uint64_t seed = 0;  // the repetition's seed (the experiment's, without `seeds`)
};

class MetricsLog {
public:
    // Writes both headers, or with `append` keeps the rows already there.
    MetricsLog(const std::filesystem::path& folder, bool append = false);
    // Rewrites both files without the rows for which drop(node, fold, seed, epoch) is true.
    void drop_rows(const std::function<bool(const std::string&, int, std::uint64_t, int)>& drop);
    void append(const MetricsRow& row);
    // Marks the epoch a model kept for one fold (and repetition): best is 1
    // on that epoch's rows of `node`, empty on its other rows. Rewrites both
    // files (the epoch is known only once training ends).
    // Rows of the splits in `untouched` keep their flag (a model watching
    // held-out training songs: its scored songs' rows, logged once after
    // training, are not the kept epoch's).
    void mark_best(const std::string& node, int fold, std::uint64_t seed, int epoch,
                   const std::set<std::string>& untouched = {});

    static const char* csv_header();
    static const std::vector<std::string>& columns();  // csv_header's, in order

private:
    enum class Edit { keep, drop, mark_best, clear_best };
    // Rewrites both files, each row as edit(node, fold, seed, epoch, split) says.
    void rewrite(const std::function<Edit(const std::string&, int, std::uint64_t, int, const std::string&)>& edit);
    void check_written();  // throws an environment error naming the file when a write failed
    std::filesystem::path folder_;
    std::ofstream csv_, jsonl_;
    std::mutex mutex_;
};

}  // namespace mer
