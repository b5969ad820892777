// The trials' states and trials.csv (see sweep_table.hpp).
#include "core/sweep/sweep_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>

#include "core/base/files.hpp"
#include "core/data/csv.hpp"
#include "core/eval/run_reader.hpp"
#include "core/sweep/asha.hpp"
#include "core/sweep/sweep_folder.hpp"

namespace mer {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

TrialTable::TrialTable(fs::path folder, SweepSpec spec, const std::vector<Trial>& trials, SweepLog& log)
    : folder_(std::move(folder)), spec_(std::move(spec)), trials_(trials), states_(trials.size()), log_(log) {}

void TrialTable::keep_previous() {
    const fs::path file = folder_ / "trials.csv";
    if (!fs::exists(file)) return;
    const CsvTable previous = read_csv(file);
    const int id = previous.column("trial"), attempts = previous.column("attempts"), device = previous.column("device"),
              seconds = previous.column("seconds");
    if (id < 0) return;
    std::map<std::string, std::size_t> index;
    for (std::size_t t = 0; t < trials_.size(); ++t) index[trials_[t].id] = t;
    auto cell = [](const std::vector<std::string>& row, int column) { return row[static_cast<std::size_t>(column)]; };
    for (const auto& row : previous.rows) {
        const auto it = index.find(cell(row, id));
        if (it == index.end()) continue;
        TrialState& s = states_[it->second];
        if (attempts >= 0) s.attempts = std::atoi(cell(row, attempts).c_str());
        if (device >= 0) s.device = cell(row, device);
        if (seconds >= 0 && !cell(row, seconds).empty()) {
            s.seconds = std::strtod(cell(row, seconds).c_str(), nullptr);
            s.timed = true;
        }
    }
}

void TrialTable::load_asha() {
    if (!spec_.uses_asha()) return;
    const auto stopped = AshaBoard(folder_, spec_.asha()).stopped();
    for (std::size_t t = 0; t < trials_.size(); ++t)
        if (const auto it = stopped.find(trials_[t].id); it != stopped.end())
            states_[t].status = "stopped", states_[t].stopped_at = it->second;
}

TrialSummary TrialTable::summary(std::size_t t) const {
    TrialSummary summary = read_trial_summary(trial_dir(t));
    if (!summary.unreadable.empty())
        log_.once(trials_[t].id + "/summary.json " + summary.unreadable,
                  fmt::format("{}: ignored its summary.json until it can be read ({}): the trial counts as unfinished "
                              "and its scores stay empty",
                              trials_[t].id, summary.unreadable));
    return summary;
}

double TrialTable::metric(std::size_t t) const {
    return summary_score(summary(t).summary, spec_.metric);
}

std::size_t TrialTable::best() const {
    std::size_t best = trials_.size();
    double best_value = NAN;
    for (std::size_t t = 0; t < trials_.size(); ++t) {
        if (states_[t].status != "finished") continue;
        const double v = metric(t);
        if (std::isnan(v)) continue;
        if (best == trials_.size() || (spec_.mode == "max" ? v > best_value : v < best_value)) best = t, best_value = v;
    }
    return best;
}

TrialCounts TrialTable::counts() const {
    TrialCounts c;
    for (const auto& s : states_) {
        c.finished += s.status == "finished";
        c.failed += s.status == "failed";
        c.running += s.status == "running";
        c.pending += s.status == "pending";
        c.stopped += s.status == "stopped";
        c.finished_now += s.status == "finished" && s.ran_now;
    }
    return c;
}

void TrialTable::write() const {
    std::vector<std::string> swept;
    for (const auto& t : trials_)
        for (const auto& [key, _] : t.params.items())
            if (std::find(swept.begin(), swept.end(), key) == swept.end()) swept.push_back(key);
    std::vector<std::string> scores;  // node.target.r2 of every finished trial
    std::map<std::size_t, ojson> summaries;
    for (std::size_t t = 0; t < trials_.size(); ++t) {
        if (states_[t].status != "finished") continue;
        const TrialSummary read = summary(t);
        if (!read.unreadable.empty()) continue;
        summaries[t] = read.summary;
        const ojson nodes = read.summary.value("nodes", ojson::object());
        for (const auto& [node, entry] : nodes.items()) {
            if (!entry.is_object()) continue;
            const ojson validation = entry.value("validation", ojson::object());
            for (const auto& [target, _] : validation.items()) {
                const std::string column = node + "." + target + ".r2";
                if (std::find(scores.begin(), scores.end(), column) == scores.end()) scores.push_back(column);
            }
        }
    }
    std::vector<std::string> header{"trial", "status", "attempts", "device", "seconds", "epochs"};
    if (spec_.uses_asha()) header.push_back("rung");
    header.push_back("metric");
    header.insert(header.end(), swept.begin(), swept.end());
    header.insert(header.end(), scores.begin(), scores.end());
    header.insert(header.end(), {"reason", "folder"});
    std::string text = csv_row(header) + "\n";
    for (std::size_t t = 0; t < trials_.size(); ++t) {
        const auto it = summaries.find(t);
        text += csv_row(row(t, swept, scores, it == summaries.end() ? nullptr : &it->second)) + "\n";
    }
    write_file_atomic(folder_ / "trials.csv", text);
}

// One trial's row of trials.csv; `summary`: its summary.json when it finished.
std::vector<std::string> TrialTable::row(std::size_t t, const std::vector<std::string>& swept,
                                         const std::vector<std::string>& scores, const ojson* summary) const {
    const TrialState& s = states_[t];
    const fs::path dir = trial_dir(t);
    int epochs = s.stopped_at;
    if (s.status != "stopped" || s.stopped_at <= 0) {
        const TrialEpochs read =
            read_trial_epochs(dir, spec_.metric.empty() ? "" : spec_.metric.substr(0, spec_.metric.find('.')));
        if (!read.unreadable.empty())
            log_.once(trials_[t].id + "/metrics.csv",
                      fmt::format("{}: ignored its metrics.csv until it can be read ({}): its epochs show 0",
                                  trials_[t].id, read.unreadable));
        epochs = read.last;
    }
    std::vector<std::string> row{trials_[t].id,
                                 s.status,
                                 std::to_string(s.attempts),
                                 s.device,
                                 s.timed ? fmt::format("{:.1f}", s.seconds) : "",
                                 std::to_string(epochs)};
    if (spec_.uses_asha()) {
        const int rung = asha_rung(epochs, spec_.asha());
        row.push_back(rung < 0 ? "" : std::to_string(rung));
    }
    row.push_back(s.status == "finished" ? format_number(summary ? summary_score(*summary, spec_.metric) : NAN) : "");
    for (const auto& key : swept) row.push_back(trials_[t].params.contains(key) ? trials_[t].params[key].dump() : "");
    for (const auto& column : scores) {
        const double score = summary ? summary_score(*summary, column) : NAN;
        row.push_back(std::isnan(score) ? "" : format_number(score));
    }
    row.push_back(s.reason);
    row.push_back(fs::relative(dir, folder_).string());
    return row;
}

}  // namespace mer
