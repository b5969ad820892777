#include "core/report/run_data.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>

#include "core/base/files.hpp"
#include "core/data/csv.hpp"
#include "core/error.hpp"

namespace mer::report {

namespace fs = std::filesystem;
using json = nlohmann::json;

const nlohmann::ordered_json& member(const nlohmann::ordered_json& j, const std::string& key) {
    static const nlohmann::ordered_json empty = nlohmann::ordered_json::object();
    return j.is_object() && j.contains(key) ? j[key] : empty;
}

const json& member(const json& j, const std::string& key) {
    static const json empty = json::object();
    return j.is_object() && j.contains(key) ? j[key] : empty;
}

Error damaged_json(const std::string& where, const std::exception& e) {
    return Error(std::string("a JSON file here holds a value of the wrong kind (damaged, or edited by hand?): ") +
                     e.what(),
                 Location(where));
}

json plot_number(double value) {
    if (!std::isfinite(value)) return nullptr;
    return std::stod(fmt::format("{:.6g}", value));
}

namespace {

// "mean ± std"; the mean alone from one score (a holdout split), where a std says nothing.
std::string mean_std(const nlohmann::ordered_json& m) {
    if (!m.contains("mean") || !m["mean"].is_number()) return "";
    const double mean = m["mean"].get<double>();
    const bool has_std = m.contains("std") && m["std"].is_number() && std::isfinite(m["std"].get<double>()) &&
                         m.contains("folds") && m["folds"].size() > 1;
    return has_std ? fmt::format("{:.4f} ± {:.4f}", mean, m["std"].get<double>()) : fmt::format("{:.4f}", mean);
}

std::string epochs_text(const std::map<std::string, int>& runs) {
    std::set<int> distinct;
    std::string out;
    for (const auto& [run, epoch] : runs) out += (out.empty() ? "" : " ") + std::to_string(epoch), distinct.insert(epoch);
    if (distinct.size() == 1) return std::to_string(*distinct.begin());
    return out;
}

}  // namespace

Table source_table(const nlohmann::ordered_json& summary, const std::string& metric) {
    Table table{{"source", "target"}, {}};
    std::vector<std::pair<std::string, std::string>> keys;  // (source, target) in order of first appearance
    for (const auto& [id, node] : member(summary, "nodes").items()) {
        if (!node.contains("sources")) continue;
        table.columns.push_back(id + " (" + node.value("model", "") + ")");
        for (const auto& [source, targets] : node["sources"].items())
            for (const auto& [target, _] : targets.items())
                if (std::find(keys.begin(), keys.end(), std::pair{source, target}) == keys.end())
                    keys.emplace_back(source, target);
    }
    for (const auto& [source, target] : keys) {
        std::vector<std::string> row{source, target};
        for (const auto& [id, node] : member(summary, "nodes").items()) {
            if (!node.contains("sources")) continue;
            const auto& score = member(member(member(member(node, "sources"), source), target), metric);
            const auto mean = score.value("mean", nlohmann::ordered_json()),
                       sd = score.value("std", nlohmann::ordered_json());
            row.push_back(!mean.is_number() ? ""
                          : sd.is_number() && std::isfinite(sd.get<double>())
                              ? fmt::format("{:.4f} ± {:.4f}", mean.get<double>(), sd.get<double>())
                              : fmt::format("{:.4f}", mean.get<double>()));
        }
        table.rows.push_back(std::move(row));
    }
    return table;
}

Table fold_scores_table(const nlohmann::ordered_json& summary, const std::string& metric) {
    Table table;
    std::size_t widest = 0;
    bool seeded = false;
    for (const auto& [id, node] : member(summary, "nodes").items()) {
        const std::size_t folds = node.value("folds", std::size_t{0});
        widest = std::max(widest, folds);
        seeded = seeded || node.contains("seeds");
    }
    table.columns = {"node", "target"};
    if (seeded) table.columns.push_back("seed");
    for (std::size_t k = 0; k < widest; ++k) table.columns.push_back(fmt::format("fold {}", k));
    table.columns.push_back("mean");
    for (const auto& [id, node] : member(summary, "nodes").items()) {
        const std::size_t folds = node.value("folds", std::size_t{0});
        if (folds == 0) continue;
        const std::vector<std::uint64_t> seeds =
            node.contains("seeds") ? node["seeds"].get<std::vector<std::uint64_t>>() : std::vector<std::uint64_t>{};
        for (const auto& [target, values] : member(node, "validation").items()) {
            if (!values.contains(metric) || !values[metric].contains("folds")) continue;
            const auto& scores = values[metric]["folds"];
            const std::size_t repetitions = std::max<std::size_t>(1, seeds.size());
            for (std::size_t r = 0; r < repetitions && (r + 1) * folds <= scores.size(); ++r) {
                std::vector<std::string> row{id, target};
                if (seeded) row.push_back(seeds.empty() ? "" : std::to_string(seeds[r]));
                double sum = 0;
                int scored = 0;  // folds with a finite score (R² is undefined on a constant fold)
                for (std::size_t k = 0; k < widest; ++k) {
                    if (k >= folds) {
                        row.emplace_back();
                        continue;
                    }
                    const auto& v = scores[r * folds + k];
                    const double value = v.is_number() ? v.get<double>() : std::nan("");
                    if (std::isfinite(value)) sum += value, ++scored;
                    row.push_back(std::isfinite(value) ? fmt::format("{:.4f}", value) : "");
                }
                row.push_back(scored ? fmt::format("{:.4f}", sum / scored) : "");
                table.rows.push_back(std::move(row));
            }
        }
    }
    return table;
}

Table results_table(const nlohmann::ordered_json& summary, const BestEpochs& best, const std::string& label) {
    // The metrics any node reported, in the order the first node lists them.
    std::vector<std::string> metrics;
    const auto nodes = summary.contains("nodes") ? summary["nodes"] : nlohmann::ordered_json::object();
    for (const auto& [id, node] : nodes.items())
        for (const auto& [target, values] : member(node, "validation").items())
            for (const auto& [metric, v] : values.items())
                if (std::find(metrics.begin(), metrics.end(), metric) == metrics.end()) metrics.push_back(metric);
    Table table;
    if (!label.empty()) table.columns.push_back("run");
    for (const char* c : {"node", "model", "target", "level", "folds"}) table.columns.push_back(c);
    for (const auto& m : metrics) table.columns.push_back(m);
    table.columns.push_back("r2 pooled");
    table.columns.push_back("best epoch");
    for (const auto& [id, node] : nodes.items()) {
        const auto found = best.find(id);
        const std::string epochs = found == best.end() ? "" : epochs_text(found->second);
        for (const char* level : {"validation", "validation_chunks"}) {
            if (!node.contains(level)) continue;
            for (const auto& [target, values] : node[level].items()) {
                std::vector<std::string> row;
                if (!label.empty()) row.push_back(label);
                row.push_back(id);
                row.push_back(node.value("model", ""));
                row.push_back(target);
                row.push_back(std::string(level) == "validation" ? "song" : "chunk");
                row.push_back(node.contains("folds") ? node["folds"].dump() : "");
                for (const auto& m : metrics) row.push_back(values.contains(m) ? mean_std(values[m]) : "");
                const bool pooled = values.contains("r2") && values["r2"].contains("pooled") && values["r2"]["pooled"].is_number();
                row.push_back(pooled ? fmt::format("{:.4f}", values["r2"]["pooled"].get<double>()) : "");
                row.push_back(epochs);
                table.rows.push_back(std::move(row));
            }
        }
    }
    return table;
}

}  // namespace mer::report
