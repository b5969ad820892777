// Grouped holdout and k-fold splits.
#include "core/data/splits.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "core/error.hpp"

namespace mer {

std::uint64_t derive_seed(std::uint64_t seed, const std::string& purpose) {
    std::uint64_t h = 1469598103934665603ULL ^ seed;  // FNV-1a over the purpose, keyed by the seed
    for (unsigned char c : purpose) h = (h ^ c) * 1099511628211ULL;
    return h;
}

std::vector<Fold> make_folds(const std::vector<std::string>& groups, const SplitSpec& spec, std::uint64_t seed) {
    std::vector<std::string> unique;
    std::map<std::string, std::size_t> group_index;
    for (const auto& g : groups)
        if (group_index.emplace(g, unique.size()).second) unique.push_back(g);

    // Fisher–Yates with mt19937_64, whose output the standard fixes.
    std::mt19937_64 rng(seed);
    std::vector<std::size_t> order(unique.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng() % i]);

    std::vector<int> fold_of_group(unique.size());
    int folds = 0;
    if (spec.kind == "kfold") {
        if (spec.k < 2) throw Error("k-fold needs k ≥ 2, got " + std::to_string(spec.k));
        if (unique.size() < static_cast<std::size_t>(spec.k))
            throw Error(std::to_string(spec.k) + "-fold cross-validation needs at least " + std::to_string(spec.k) +
                        " songs (groups), the data has " + std::to_string(unique.size()));
        folds = spec.k;
        for (std::size_t i = 0; i < order.size(); ++i) fold_of_group[order[i]] = static_cast<int>(i % spec.k);
    } else if (spec.kind == "holdout") {
        if (unique.size() < 2)
            throw Error("a holdout split needs at least 2 songs (groups), the data has " +
                        std::to_string(unique.size()));
        auto held = static_cast<std::size_t>(std::llround(spec.fraction * static_cast<double>(unique.size())));
        held = std::clamp<std::size_t>(held, 1, unique.size() - 1);
        folds = 1;
        for (std::size_t i = 0; i < order.size(); ++i) fold_of_group[order[i]] = i < held ? 0 : -1;
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

}  // namespace mer
