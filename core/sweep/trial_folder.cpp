// Reading a trial's run folder back (see trial_folder.hpp).
#include "core/sweep/trial_folder.hpp"

#include "core/base/files.hpp"
#include "core/error.hpp"
#include "core/eval/run_reader.hpp"

namespace mer {

namespace fs = std::filesystem;

TrialSummary read_trial_summary(const fs::path& run_dir) {
    TrialSummary out;
    try {
        out.summary = read_summary(run_dir);
        if (out.summary.contains("failed"))
            out.reason = out.summary["failed"].value("node", "") + ": " + out.summary["failed"].value("reason", "");
        out.status = out.summary.value("status", "");
    } catch (const std::exception& e) {
        out = TrialSummary{};
        out.unreadable = as_error(e, Location((run_dir / "summary.json").string())).what();
    }
    return out;
}

TrialEpochs read_trial_epochs(const fs::path& run_dir, const std::string& node) {
    TrialEpochs out;
    try {
        out.last = last_epoch(read_epochs(run_dir), node);
    } catch (const std::exception& e) {
        out.unreadable = as_error(e, Location((run_dir / "metrics.csv").string())).what();
    }
    return out;
}

std::map<int, double> metric_curve(const fs::path& run_dir, const std::string& metric) {
    const auto path = split_metric_path(metric);
    if (!path) return {};
    try {
        return watched_curve(read_epochs(run_dir), path->node, path->target, path->metric, 0);
    } catch (const std::exception& e) {
        throw as_error(e, Location((run_dir / "metrics.csv").string()));
    }
}

std::string last_line(const fs::path& file) {
    if (!fs::exists(file)) return "";
    const std::string text = read_text_file(file);
    const std::size_t end = text.find_last_not_of("\n\r ");
    if (end == std::string::npos) return "";
    const std::size_t newline = text.rfind('\n', end);
    const std::size_t start = newline == std::string::npos ? 0 : newline + 1;
    return text.substr(start, end - start + 1);
}

}  // namespace mer
