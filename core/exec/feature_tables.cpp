// features_<node>.csv, pearson_<node>.csv and labels_<node>.csv.
#include "core/exec/feature_tables.hpp"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "core/base/files.hpp"
#include "core/eval/metrics.hpp"

namespace mer {

namespace {

std::string features_csv(const SongTable& t) {
    std::string csv = csv_row(feature_table_columns(t)) + "\n";
    for (std::size_t r = 0; r < t.size(); ++r) {
        csv += csv_field(t.song_ids[r]);
        for (Eigen::Index c = 0; c < t.features.cols(); ++c)
            csv += "," + format_number(t.features(static_cast<Eigen::Index>(r), c));
        csv += "\n";
    }
    return csv;
}

// Every feature's r with target y (over the labelled rows), ranked by |r|.
std::string pearson_rows(const SongTable& t, const std::string& target, const std::vector<Eigen::Index>& labelled,
                         const Eigen::VectorXd& y) {
    std::vector<std::pair<double, Eigen::Index>> scored;
    for (Eigen::Index c = 0; c < t.features.cols(); ++c) {
        Eigen::VectorXd x(y.size());
        for (std::size_t i = 0; i < labelled.size(); ++i) x(static_cast<Eigen::Index>(i)) = t.features(labelled[i], c);
        scored.emplace_back(pearson_r(x, y), c);
    }
    std::stable_sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) {
        const double fa = std::isnan(a.first) ? -1 : std::abs(a.first),
                     fb = std::isnan(b.first) ? -1 : std::abs(b.first);
        return fa > fb;
    });
    std::string rows;
    for (std::size_t rank = 0; rank < scored.size(); ++rank)
        rows += csv_field(target) + "," + csv_field(t.feature_names[static_cast<std::size_t>(scored[rank].second)]) +
                "," + format_number(scored[rank].first) + "," + std::to_string(rank + 1) + "," +
                (rank < 15 ? "1" : "0") + "\n";
    return rows;
}

// Half-unit bins over the observed range (DEAM's 1–9 scale gives 16 bins).
std::string histogram_rows(const std::string& target, const Eigen::VectorXd& y) {
    const double lo = std::floor(y.minCoeff() * 2) / 2, hi = std::floor(y.maxCoeff() * 2) / 2 + 0.5;
    const int bins = std::max(1, static_cast<int>(std::lround((hi - lo) / 0.5)));
    std::vector<int> counts(static_cast<std::size_t>(bins), 0);
    for (Eigen::Index i = 0; i < y.size(); ++i)
        ++counts[static_cast<std::size_t>(std::clamp(static_cast<int>((y(i) - lo) / 0.5), 0, bins - 1))];
    std::string rows;
    for (int b = 0; b < bins; ++b)
        rows += csv_field(target) + "," + format_number(lo + 0.5 * b) + "," + format_number(lo + 0.5 * (b + 1)) + "," +
                std::to_string(counts[static_cast<std::size_t>(b)]) + "\n";
    return rows;
}

}  // namespace

std::vector<std::string> feature_table_columns(const SongTable& t) {
    std::vector<std::string> columns{"song_id"};
    columns.insert(columns.end(), t.feature_names.begin(), t.feature_names.end());
    return columns;
}

const std::vector<std::string>& pearson_columns() {
    static const std::vector<std::string> columns{"target", "feature", "r", "abs_rank", "top15"};
    return columns;
}

const std::vector<std::string>& label_columns() {
    static const std::vector<std::string> columns{"target", "bin_low", "bin_high", "songs"};
    return columns;
}

FeatureTables feature_tables(const SongTable& t) {
    FeatureTables out{features_csv(t), {}, {}};
    if (t.target_names.empty()) return out;
    out.pearson = csv_row(pearson_columns()) + "\n";
    out.labels = csv_row(label_columns()) + "\n";
    for (std::size_t j = 0; j < t.target_names.size(); ++j) {
        const auto tj = static_cast<Eigen::Index>(j);
        std::vector<Eigen::Index> labelled;
        for (Eigen::Index r = 0; r < t.targets.rows(); ++r)
            if (std::isfinite(t.targets(r, tj))) labelled.push_back(r);
        if (labelled.size() < 3) continue;
        Eigen::VectorXd y(static_cast<Eigen::Index>(labelled.size()));
        for (std::size_t i = 0; i < labelled.size(); ++i) y(static_cast<Eigen::Index>(i)) = t.targets(labelled[i], tj);
        out.pearson += pearson_rows(t, t.target_names[j], labelled, y);
        out.labels += histogram_rows(t.target_names[j], y);
    }
    return out;
}

}  // namespace mer
