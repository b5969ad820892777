// Train/validation splits that never separate a group (by default a song:
// all chunks of one song stay on one side). Seeded and independent of the
// standard library's shuffle, so the same seed gives the same folds anywhere.
// Holdout and k-fold may be stratified: each stratum of the labels (a
// valence–arousal quadrant, a quantile bin) is split in the asked shares.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <string>
#include <vector>

namespace mer {

// Which songs a model that keeps its best epoch watches
// (evaluation.early_stopping): "inner", a `fraction` share of its training
// songs held out of its fit; "scored", the scored fold.
struct EarlyStoppingSpec {
    std::string on = "inner";
    double fraction = 0.15;
};

struct SplitSpec {
    std::string kind = "holdout";   // "holdout" | "kfold" | "predefined" | "by_source" | "leave_one_source_out"
    double fraction = 0.2;          // holdout: share of groups held out for validation
    int k = 5;                      // kfold: number of folds
    std::string stratify = "none";  // "none" | "quadrant" | "bins": strata each side mirrors
    int bins = 4;                   // stratify bins: quantile bins of the first target
    std::vector<std::string> train_sources{}, test_sources{};  // by_source: the union's input nodes on each side
};

// Whether the split is made by the songs' sources (a dataset.union's inputs).
inline bool splits_by_source(const SplitSpec& spec) {
    return spec.kind == "by_source" || spec.kind == "leave_one_source_out";
}

struct Fold {
    int index = 0;
    std::vector<std::size_t> train;       // row indices, ascending
    std::vector<std::size_t> validation;  // row indices, ascending
};

// `groups[i]` is the group of row i and `targets` row i's labels (rows ×
// targets, NaN = missing), read only when spec.stratify is not "none". A
// group's label is the mean of its rows' labels. Strata, over the groups:
//   quadrant: high or low in each of the first two targets, high meaning at
//             or above that target's median over the groups labelled in both
//             (the host does not know a dataset's scale, and the median keeps
//             the strata filled whatever the scale); 4 strata.
//   bins:     the first target cut at its j/bins quantiles (linear
//             interpolation, as numpy), a value on an edge in the lower bin
//             (as pandas.qcut); `bins` strata, some empty if values tie.
// Groups lacking a label the strata need form one more stratum. Holdout
// holds out round(fraction · n) of each stratum's n groups, the first in a
// seeded shuffle (one group moved if a side would be empty); k-fold deals
// each stratum's shuffled groups to the folds in turn. Throws mer::Error
// when there are too few groups or targets for the split.
std::vector<Fold> make_folds(const std::vector<std::string>& groups, const SplitSpec& spec, std::uint64_t seed,
                             const Eigen::MatrixXd& targets = Eigen::MatrixXd());

// The dataset's own split: "train" rows train, "validation"/"test" rows
// validate. Throws mer::Error for other labels or an empty side.
Fold predefined_fold(const std::vector<std::string>& assigned_split);

// Folds by the songs' sources (`sources[i]`: row i's, core/data/sources.hpp).
// by_source: one fold, training on the rows of spec.train_sources and scoring
// those of spec.test_sources (rows of other sources are in neither);
// leave_one_source_out: one fold per source, in order of first appearance,
// scoring that source and training on the others. Throws mer::Error naming
// evaluation.split's key when the data has no sources, or none from a listed one.
std::vector<Fold> source_folds(const std::vector<std::string>& sources, const SplitSpec& spec);

// A seed for one consumer (node, fold) derived from the experiment seed.
std::uint64_t derive_seed(std::uint64_t seed, const std::string& purpose);

}  // namespace mer
