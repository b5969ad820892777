// The pipelines one regressor node fits in a fold. Usually one, over all the
// node's targets. When a transform of the chain fits per target (capability
// per_target: a feature selection per target) and the regressor learns each
// target on its own (independent_targets), one per target instead, each fitted
// on the songs carrying only its target: the valence model then reads the
// valence selection and the arousal model the arousal one, as the paper
// selects "per dimension". The same split serves a grid search per target
// (grid_search.by: target): each target's model is fitted with its own
// candidate, as GridSearchCV tunes a model per target. A model that learns its targets jointly from one
// table cannot be split: its transforms see every target (a selection keeps
// the union over them), and how() says so for the run log. Fold evaluation,
// grid search and `mer-run predict` all go through this class, so a bundle is
// rated exactly as it was fitted.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/exec/pipeline.hpp"

namespace mer {

class TargetPipelines {
public:
    struct Part {
        std::vector<Eigen::Index> targets;  // the columns of the node's targets this part learns
        Pipeline pipeline;
    };

    // `targets`: the node's targets, in output order. `tuned_per_target`: the
    // node's grid picks a candidate per target (or, from a bundle, its
    // manifest says the pipeline was fitted per target).
    TargetPipelines(const PipelineSpec& spec, const PluginRegistry& registry, const std::vector<std::string>& targets,
                    bool tuned_per_target = false);

    std::vector<Part>& parts() { return parts_; }
    const std::vector<Part>& parts() const { return parts_; }
    bool per_target() const { return parts_.size() > 1; }
    // One sentence for the run log on how the node's targets are fitted; empty
    // when no transform of the chain fits per target.
    const std::string& how() const { return how_; }

    // songs × the node's targets from untransformed songs (each part's fitted
    // transforms, then its regressor); `chunks`, when given, gets each song's
    // chunks × targets for chunk models.
    Eigen::MatrixXd predict(const SongTable& songs, std::vector<Eigen::MatrixXd>* chunks = nullptr) const;

    // A fold of a model bundle: the one pipeline in `fold_dir` itself, or one
    // in `fold_dir`/target<t>/ per target (t: its column among the node's targets).
    void save(const std::filesystem::path& fold_dir) const;
    void load(const std::filesystem::path& fold_dir);

private:
    std::filesystem::path part_dir(const std::filesystem::path& fold_dir, const Part& part) const;

    std::vector<Part> parts_;
    std::size_t targets_;
    std::string how_;
};

}  // namespace mer
