// The result tables' columns and comparisons.csv (see run_results.hpp).
#include "core/exec/run_results.hpp"

#include "core/eval/paired.hpp"

namespace mer {

using json = nlohmann::ordered_json;

const std::vector<std::string>& prediction_columns() {
    static const std::vector<std::string> columns{"node", "song_id", "fold", "target", "true", "predicted", "seed"};
    return columns;
}

const std::vector<std::string>& frame_prediction_columns() {
    static const std::vector<std::string> columns{"node",   "song_id", "fold", "seed",
                                                  "time_s", "target",  "true", "predicted"};
    return columns;
}

const std::vector<std::string>& curve_columns() {
    static const std::vector<std::string> columns{"node",        "model",          "target",     "songs",
                                                  "frames",      "rmse_mean",      "rmse_std",   "pearson_mean",
                                                  "pearson_std", "ccc_mean",       "ccc_std",    "constant_songs",
                                                  "global_rmse", "global_pearson", "global_ccc", "global_r2"};
    return columns;
}

const std::vector<std::string>& results_columns(bool with_source) {
    static const std::vector<std::string> columns{
        "feature_set", "model", "node",     "target",      "level",          "r2", "r2_std", "mae",
        "mae_std",     "rmse",  "rmse_std", "selected_on", "selected_params"};
    static const std::vector<std::string> with_source_columns = [] {
        std::vector<std::string> c = columns;
        c.insert(c.begin() + 5, "source");  // after level
        return c;
    }();
    return with_source ? with_source_columns : columns;
}

const std::vector<std::string>& comparison_columns() {
    static const std::vector<std::string> columns{"node_a", "node_b",    "target",   "metric", "runs", "mean_a",
                                                  "mean_b", "mean_diff", "diff_std", "t",      "df",   "p"};
    return columns;
}

std::string comparisons_csv(const nlohmann::ordered_json& summary) {
    if (!summary.contains("nodes")) return {};
    std::string rows;
    std::vector<std::pair<std::string, const json*>> nodes;
    for (const auto& [id, entry] : summary["nodes"].items())
        if (entry.contains("songs_sha256")) nodes.emplace_back(id, &entry);
    auto same = [](const json& a, const json& b, const char* key) {
        return a.value(key, json()) == b.value(key, json());
    };
    for (std::size_t i = 0; i < nodes.size(); ++i)
        for (std::size_t j = i + 1; j < nodes.size(); ++j) {
            const json& a = *nodes[i].second;
            const json& b = *nodes[j].second;
            if (!same(a, b, "songs_sha256") || !same(a, b, "folds") || !same(a, b, "seeds")) continue;
            for (const auto& [target, scores] : a["validation"].items()) {
                if (!b["validation"].contains(target)) continue;
                const auto r2_a = scores.at("r2").at("folds").get<std::vector<double>>();
                const auto r2_b = b["validation"][target].at("r2").at("folds").get<std::vector<double>>();
                if (r2_a.size() != r2_b.size()) continue;
                const PairedComparison c = corrected_paired_t(r2_a, r2_b, a.value("test_train_ratio", 0.0));
                // Repetitions of one split are no resamples: the difference and its spread, no test.
                const bool tested = scores_are_resamples(a) || c.runs < 2;
                rows += csv_field(nodes[i].first) + "," + csv_field(nodes[j].first) + "," + csv_field(target) + ",r2," +
                        std::to_string(c.runs) + "," + format_number(c.mean_a) + "," + format_number(c.mean_b) + "," +
                        format_number(c.mean_diff) + "," + format_number(c.diff_std) + "," +
                        (tested ? format_number(c.t) : "") + "," + (tested ? std::to_string(c.runs - 1) : "") + "," +
                        (tested ? format_number(c.p) : "") + "\n";
            }
        }
    return rows.empty() ? std::string() : csv_row(comparison_columns()) + "\n" + rows;
}

}  // namespace mer
