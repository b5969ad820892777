// Grouped holdout and k-fold splits, optionally stratified by the labels.
#include "core/data/splits.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <tuple>

#include "core/data/sources.hpp"
#include "core/error.hpp"

namespace mer {

namespace {

// Each group's labels: the mean of its rows' labels per target, NaN where
// none of its rows has one.
Eigen::MatrixXd group_labels(const std::vector<std::string>& groups,
                             const std::map<std::string, std::size_t>& group_index, std::size_t group_count,
                             const Eigen::MatrixXd& targets) {
    if (static_cast<std::size_t>(targets.rows()) != groups.size())
        throw Error("evaluation.split.stratify: the labels have " + std::to_string(targets.rows()) + " rows for " +
                    std::to_string(groups.size()) + " rows of data");
    const auto n = static_cast<Eigen::Index>(group_count);
    Eigen::MatrixXd sum = Eigen::MatrixXd::Zero(n, targets.cols());
    Eigen::MatrixXd count = Eigen::MatrixXd::Zero(n, targets.cols());
    for (std::size_t row = 0; row < groups.size(); ++row) {
        const auto g = static_cast<Eigen::Index>(group_index.at(groups[row]));
        for (Eigen::Index t = 0; t < targets.cols(); ++t) {
            const double v = targets(static_cast<Eigen::Index>(row), t);
            if (!std::isfinite(v)) continue;
            sum(g, t) += v;
            count(g, t) += 1;
        }
    }
    Eigen::MatrixXd mean(n, targets.cols());
    for (Eigen::Index g = 0; g < n; ++g)
        for (Eigen::Index t = 0; t < targets.cols(); ++t)
            mean(g, t) = count(g, t) > 0 ? sum(g, t) / count(g, t) : std::numeric_limits<double>::quiet_NaN();
    return mean;
}

// The p-quantile of ascending values, interpolated linearly (numpy's default).
double quantile(const std::vector<double>& sorted, double p) {
    const double position = p * static_cast<double>(sorted.size() - 1);
    const auto below = static_cast<std::size_t>(std::floor(position));
    if (below + 1 >= sorted.size()) return sorted.back();
    return sorted[below] + (position - static_cast<double>(below)) * (sorted[below + 1] - sorted[below]);
}

// The stratum of each group and how many strata there are; groups lacking a
// label the strata need are in the last one.
std::vector<int> label_strata(const Eigen::MatrixXd& labels, const SplitSpec& spec, int& strata) {
    const Eigen::Index n = labels.rows();
    std::vector<int> stratum(static_cast<std::size_t>(n));
    if (spec.stratify == "quadrant") {
        if (labels.cols() < 2)
            throw Error("evaluation.split.stratify: quadrant needs two targets (valence and arousal), the data has " +
                        std::to_string(labels.cols()) + "; use stratify: bins or none");
        strata = 5;
        std::vector<std::vector<double>> labelled(2);
        for (Eigen::Index g = 0; g < n; ++g)
            if (std::isfinite(labels(g, 0)) && std::isfinite(labels(g, 1)))
                for (int t = 0; t < 2; ++t) labelled[t].push_back(labels(g, t));
        double median[2] = {0, 0};
        for (int t = 0; t < 2 && !labelled[t].empty(); ++t) {
            std::sort(labelled[t].begin(), labelled[t].end());
            median[t] = quantile(labelled[t], 0.5);
        }
        for (Eigen::Index g = 0; g < n; ++g)
            stratum[static_cast<std::size_t>(g)] =
                std::isfinite(labels(g, 0)) && std::isfinite(labels(g, 1))
                    ? 2 * (labels(g, 0) >= median[0] ? 1 : 0) + (labels(g, 1) >= median[1] ? 1 : 0)
                    : 4;
    } else if (spec.stratify == "bins") {
        if (spec.bins < 2) throw Error("evaluation.split.bins must be at least 2, got " + std::to_string(spec.bins));
        if (labels.cols() < 1) throw Error("evaluation.split.stratify: bins needs a target, the data has none");
        strata = spec.bins + 1;
        std::vector<double> values;
        for (Eigen::Index g = 0; g < n; ++g)
            if (std::isfinite(labels(g, 0))) values.push_back(labels(g, 0));
        std::sort(values.begin(), values.end());
        std::vector<double> edges;
        for (int j = 1; j < spec.bins && !values.empty(); ++j)
            edges.push_back(quantile(values, static_cast<double>(j) / spec.bins));
        for (Eigen::Index g = 0; g < n; ++g) {
            const double v = labels(g, 0);
            stratum[static_cast<std::size_t>(g)] =
                std::isfinite(v)
                    ? static_cast<int>(std::count_if(edges.begin(), edges.end(), [v](double edge) { return edge < v; }))
                    : spec.bins;
        }
    } else {
        throw Error("unknown evaluation.split.stratify '" + spec.stratify + "' (expected none, quadrant or bins)");
    }
    return stratum;
}

// Holds out round(fraction · n) of each stratum's groups (in `members`, in
// shuffled order); if that leaves a side empty, the largest stratum gives or
// takes one group, so each stratum stays within one group of its share.
void hold_out_strata(const std::vector<std::vector<std::size_t>>& members, double fraction,
                     std::vector<int>& fold_of_group) {
    std::vector<std::size_t> held(members.size());
    std::size_t total = 0, groups = 0, largest = 0;
    for (std::size_t s = 0; s < members.size(); ++s) {
        held[s] = static_cast<std::size_t>(std::llround(fraction * static_cast<double>(members[s].size())));
        total += held[s];
        groups += members[s].size();
        if (members[s].size() > members[largest].size()) largest = s;
    }
    if (total == 0)
        ++held[largest];
    else if (total == groups)
        --held[largest];
    for (std::size_t s = 0; s < members.size(); ++s)
        for (std::size_t i = 0; i < members[s].size(); ++i) fold_of_group[members[s][i]] = i < held[s] ? 0 : -1;
}

}  // namespace

std::uint64_t derive_seed(std::uint64_t seed, const std::string& purpose) {
    std::uint64_t h = 1469598103934665603ULL ^ seed;  // FNV-1a over the purpose, keyed by the seed
    for (unsigned char c : purpose) h = (h ^ c) * 1099511628211ULL;
    return h;
}

std::vector<Fold> make_folds(const std::vector<std::string>& groups, const SplitSpec& spec, std::uint64_t seed,
                             const Eigen::MatrixXd& targets) {
    std::vector<std::string> unique;
    std::map<std::string, std::size_t> group_index;
    for (const auto& g : groups)
        if (group_index.emplace(g, unique.size()).second) unique.push_back(g);

    // Fisher–Yates with mt19937_64, whose output the standard fixes.
    std::mt19937_64 rng(seed);
    std::vector<std::size_t> order(unique.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng() % i]);

    // Stratified: each stratum's groups in the shuffled order (empty: not stratified).
    std::vector<std::vector<std::size_t>> members;
    if (spec.stratify != "none") {
        int strata = 0;
        const std::vector<int> stratum =
            label_strata(group_labels(groups, group_index, unique.size(), targets), spec, strata);
        members.resize(static_cast<std::size_t>(strata));
        for (std::size_t g : order) members[static_cast<std::size_t>(stratum[g])].push_back(g);
    }

    std::vector<int> fold_of_group(unique.size());
    int folds = 0;
    if (spec.kind == "kfold") {
        if (spec.k < 2) throw Error("k-fold needs k ≥ 2, got " + std::to_string(spec.k));
        if (unique.size() < static_cast<std::size_t>(spec.k))
            throw Error(std::to_string(spec.k) + "-fold cross-validation needs at least " + std::to_string(spec.k) +
                        " songs (groups), the data has " + std::to_string(unique.size()));
        folds = spec.k;
        if (members.empty()) {
            for (std::size_t i = 0; i < order.size(); ++i) fold_of_group[order[i]] = static_cast<int>(i % spec.k);
        } else {
            std::size_t dealt = 0;  // dealing on across strata keeps the folds' sizes within one group
            for (const auto& stratum : members)
                for (std::size_t g : stratum) fold_of_group[g] = static_cast<int>(dealt++ % spec.k);
        }
    } else if (spec.kind == "holdout") {
        if (unique.size() < 2)
            throw Error("a holdout split needs at least 2 songs (groups), the data has " +
                        std::to_string(unique.size()));
        auto held = static_cast<std::size_t>(std::llround(spec.fraction * static_cast<double>(unique.size())));
        held = std::clamp<std::size_t>(held, 1, unique.size() - 1);
        folds = 1;
        if (members.empty()) {
            for (std::size_t i = 0; i < order.size(); ++i) fold_of_group[order[i]] = i < held ? 0 : -1;
        } else {
            hold_out_strata(members, spec.fraction, fold_of_group);
        }
    } else {
        throw Error("unknown split kind '" + spec.kind + "' (expected holdout or kfold)");
    }

    std::vector<Fold> out(static_cast<std::size_t>(folds));
    for (int f = 0; f < folds; ++f) {
        out[f].index = f;
        for (std::size_t row = 0; row < groups.size(); ++row) {
            const bool held_out = fold_of_group[group_index[groups[row]]] == f;
            (held_out ? out[f].validation : out[f].train).push_back(row);
        }
    }
    return out;
}

Fold predefined_fold(const std::vector<std::string>& assigned) {
    if (assigned.empty())
        throw Error("evaluation.split.kind is predefined, but the data has no split column (dataset.manifest's split)");
    Fold fold;
    for (std::size_t r = 0; r < assigned.size(); ++r) {
        if (assigned[r] == "train")
            fold.train.push_back(r);
        else if (assigned[r] == "validation" || assigned[r] == "test")
            fold.validation.push_back(r);
        else
            throw Error("split label '" + assigned[r] + "' is not train, validation or test");
    }
    if (fold.train.empty() || fold.validation.empty())
        throw Error("the predefined split needs songs labelled train and songs labelled validation (or test)");
    return fold;
}

std::vector<Fold> source_folds(const std::vector<std::string>& sources, const SplitSpec& spec) {
    if (sources.empty())
        throw Error("evaluation.split.kind " + spec.kind +
                    " splits by the songs' sources, and this model's data comes from one dataset; feed it from a "
                    "dataset.union node (its inputs are the sources)");
    const std::vector<std::string> present = distinct_sources(sources);
    std::string listed;
    for (const auto& s : present) listed += (listed.empty() ? "" : ", ") + s;
    std::vector<Fold> out;
    if (spec.kind == "leave_one_source_out") {
        if (present.size() < 2)
            throw Error(
                "evaluation.split.kind leave_one_source_out needs songs from two or more sources, the data has "
                "only '" +
                listed + "'");
        for (std::size_t f = 0; f < present.size(); ++f) {
            Fold fold;
            fold.index = static_cast<int>(f);
            for (std::size_t row = 0; row < sources.size(); ++row)
                (sources[row] == present[f] ? fold.validation : fold.train).push_back(row);
            out.push_back(std::move(fold));
        }
        return out;
    }
    if (spec.kind != "by_source") throw Error("unknown source split kind '" + spec.kind + "'");
    Fold fold;
    for (const auto& [key, side, rows] : {std::tuple{"train", &spec.train_sources, &fold.train},
                                          std::tuple{"test", &spec.test_sources, &fold.validation}}) {
        for (const auto& source : *side)
            if (std::find(present.begin(), present.end(), source) == present.end())
                throw Error(std::string("evaluation.split.") + key + ": no song of the model's data comes from '" +
                            source + "' (its sources: " + listed + ")");
        for (std::size_t row = 0; row < sources.size(); ++row)
            if (std::find(side->begin(), side->end(), sources[row]) != side->end()) rows->push_back(row);
    }
    out.push_back(std::move(fold));
    return out;
}

}  // namespace mer
