#include "core/eval/run_reader.hpp"

#include <cmath>
#include <cstdlib>

#include "core/base/files.hpp"
#include "core/data/csv.hpp"
#include "core/error.hpp"
#include "core/eval/metrics.hpp"

namespace mer {

namespace fs = std::filesystem;
using json = nlohmann::json;

double cell_number(const std::string& text) {
    if (text.empty()) return std::nan("");
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    return end && *end == '\0' ? v : std::nan("");
}

std::vector<ArtifactEntry> RunManifest::of(const std::string& kind) const {
    std::vector<ArtifactEntry> out;
    for (const auto& e : entries)
        if (e.kind == kind) out.push_back(e);
    return out;
}

RunManifest read_manifest(const fs::path& run_dir) {
    const fs::path file = run_dir / "run.json";
    if (!fs::exists(file))
        throw Error(run_dir.string() + " is not a run folder: it has no run.json (give the folder mer-run run printed)");
    const json manifest = read_json_file(file);
    RunManifest out;
    out.dir = run_dir;
    try {
        out.experiment = manifest.value("experiment", run_dir.parent_path().filename().string());
        for (const auto& a : manifest.at("artifacts"))
            out.entries.push_back({a.at("file"), a.at("kind"), a.at("node"), a.at("columns"), a.at("meaning")});
    } catch (const json::exception& e) {
        throw Error(std::string("not a run manifest: ") + e.what(), Location(file.string()));
    }
    return out;
}

nlohmann::ordered_json read_summary(const fs::path& run_dir) {
    const fs::path file = run_dir / "summary.json";
    if (!fs::exists(file)) return nlohmann::ordered_json::object();
    auto summary = read_json_file<nlohmann::ordered_json>(file);
    if (!summary.is_object()) throw Error("expected a JSON object (a run's summary)", Location(file.string()));
    return summary;
}

json read_environment(const fs::path& run_dir) {
    const fs::path file = run_dir / "environment.json";
    if (!fs::exists(file)) return json::object();
    json environment = read_json_file(file);
    if (!environment.is_object()) throw Error("expected a JSON object (a run's environment)", Location(file.string()));
    return environment;
}

double EpochRow::metric(const std::string& name) const {
    if (name == "loss") return loss;
    const auto it = metrics.find(name);
    return it == metrics.end() ? std::nan("") : it->second;
}

std::vector<EpochRow> read_epochs(const fs::path& run_dir) {
    std::vector<EpochRow> out;
    const fs::path file = run_dir / "metrics.csv";
    if (!fs::exists(file)) return out;
    const CsvTable t = read_csv(file);
    const auto column = [&](const char* name) { return static_cast<std::size_t>(t.require_column(name)); };
    const std::size_t node = column("node"), fold = column("fold"), epoch = column("epoch"), split = column("split"),
                      target = column("target"), loss = column("loss"), r2 = column("r2"), rmse = column("rmse"),
                      mae = column("mae");
    const int seed = t.column("seed"), best = t.column("best");
    std::vector<std::pair<std::string, std::size_t>> metric_columns;
    for (const auto& name : metric_names())
        if (const int at = t.column(name); at >= 0) metric_columns.emplace_back(name, static_cast<std::size_t>(at));
    out.reserve(t.rows.size());
    for (const auto& row : t.rows) {
        EpochRow r;
        r.node = row[node];
        r.split = row[split];
        r.target = row[target];
        r.seed = seed >= 0 ? row[static_cast<std::size_t>(seed)] : "";
        r.fold = static_cast<int>(cell_number(row[fold]));
        r.epoch = static_cast<int>(cell_number(row[epoch]));
        r.loss = cell_number(row[loss]);
        r.r2 = cell_number(row[r2]);
        r.rmse = cell_number(row[rmse]);
        r.mae = cell_number(row[mae]);
        r.best = best >= 0 && row[static_cast<std::size_t>(best)] == "1";
        for (const auto& [name, at] : metric_columns) r.metrics[name] = cell_number(row[at]);
        out.push_back(std::move(r));
    }
    return out;
}

BestEpochs best_epochs(const std::vector<EpochRow>& rows) {
    BestEpochs marked;
    for (const auto& r : rows)
        if (r.best) marked[r.node][r.seed + "/" + std::to_string(r.fold)] = r.epoch;
    if (!marked.empty()) return marked;
    // node → run (seed/fold) → split → epoch → (sum of R², targets)
    std::map<std::string, std::map<std::string, std::map<std::string, std::map<int, std::pair<double, int>>>>> scores;
    for (const auto& r : rows) {
        if (r.split != "inner_validation" && r.split != "validation") continue;
        if (!std::isfinite(r.r2)) continue;
        auto& cell = scores[r.node][r.seed + "/" + std::to_string(r.fold)][r.split][r.epoch];
        cell.first += r.r2;
        cell.second += 1;
    }
    BestEpochs best;
    for (const auto& [node, runs] : scores) {
        for (const auto& [run, splits] : runs) {
            const auto& epochs = splits.count("inner_validation") ? splits.at("inner_validation") : splits.begin()->second;
            if (epochs.size() < 2) continue;
            int chosen = 0;
            double top = -INFINITY;
            for (const auto& [epoch, sum] : epochs) {
                const double mean = sum.first / sum.second;
                if (mean > top) top = mean, chosen = epoch;
            }
            best[node][run] = chosen;
        }
    }
    return best;
}

std::map<int, double> watched_curve(const std::vector<EpochRow>& rows, const std::string& node,
                                    const std::string& target, const std::string& metric, int fold) {
    bool inner = false;
    for (const auto& r : rows)
        if (r.node == node && r.split == "inner_validation") inner = true;
    const std::string split = inner ? "inner_validation" : "validation";
    const std::string* first_seed = nullptr;
    std::map<int, std::pair<double, int>> sums;
    for (const auto& r : rows) {
        if (r.node != node || r.target != target || r.split != split) continue;
        if (fold >= 0) {
            if (r.fold != fold) continue;
            if (!first_seed) first_seed = &r.seed;
            if (r.seed != *first_seed) continue;
        }
        const double v = r.metric(metric);
        if (!std::isfinite(v)) continue;
        sums[r.epoch].first += v;
        sums[r.epoch].second += 1;
    }
    std::map<int, double> out;
    for (const auto& [epoch, s] : sums) out[epoch] = s.first / s.second;
    return out;
}

int last_epoch(const std::vector<EpochRow>& rows, const std::string& node) {
    int last = 0;
    for (const auto& r : rows)
        if (node.empty() || r.node == node) last = std::max(last, r.epoch);
    return last;
}

std::optional<MetricPath> split_metric_path(const std::string& dotted) {
    const std::size_t first = dotted.find('.'), last = dotted.rfind('.');
    if (first == std::string::npos || first == last) return std::nullopt;
    return MetricPath{dotted.substr(0, first), dotted.substr(first + 1, last - first - 1), dotted.substr(last + 1)};
}

double summary_score(const nlohmann::ordered_json& summary, const std::string& metric) {
    const auto path = split_metric_path(metric);
    if (!path) return NAN;
    const nlohmann::ordered_json* at = &summary;
    for (const std::string& key : {std::string("nodes"), path->node, std::string("validation"), path->target,
                                   path->metric, std::string("mean")}) {
        if (!at->is_object() || !at->contains(key)) return NAN;
        at = &(*at)[key];
    }
    return at->is_number() ? at->get<double>() : NAN;
}

}  // namespace mer
