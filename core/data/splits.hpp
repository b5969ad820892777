// Train/validation splits that never separate a group (by default a song:
// all chunks of one song stay on one side). Seeded and independent of the
// standard library's shuffle, so the same seed gives the same folds anywhere.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mer {

struct SplitSpec {
    std::string kind = "holdout";  // "holdout" | "kfold" | "predefined"
    double fraction = 0.2;         // holdout: share of groups held out for validation
    int k = 5;                     // kfold: number of folds
};

struct Fold {
    int index = 0;
    std::vector<std::size_t> train;       // row indices, ascending
    std::vector<std::size_t> validation;  // row indices, ascending
};

// `groups[i]` is the group of row i. Throws mer::Error when there are too few
// groups for the split.
std::vector<Fold> make_folds(const std::vector<std::string>& groups, const SplitSpec& spec, std::uint64_t seed);

// The dataset's own split: "train" rows train, "validation"/"test" rows
// validate. Throws mer::Error for other labels or an empty side.
Fold predefined_fold(const std::vector<std::string>& assigned_split);

// A seed for one consumer (node, fold) derived from the experiment seed.
std::uint64_t derive_seed(std::uint64_t seed, const std::string& purpose);

}  // namespace mer
