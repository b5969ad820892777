// Splitting a regressor node's pipeline by target, and putting the parts'
// predictions back together.
#include "core/exec/target_pipelines.hpp"

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/plugin/capabilities.hpp"
#include "core/plugin/registry.hpp"
#include "core/plugin/transform.hpp"

namespace mer {

namespace fs = std::filesystem;

namespace {

// Whether the transform of `step`, with its parameters, fits per target.
bool fits_per_target(const PipelineStep& step, const PluginRegistry& registry) {
    if (registry.get(step.uses).capability(capability::kPerTarget, false) != true) return false;
    return registry.create<TransformPlugin>(step.uses, step.params)->query(capability::kPerTarget) == true;
}

}  // namespace

TargetPipelines::TargetPipelines(const PipelineSpec& spec, const PluginRegistry& registry,
                                 const std::vector<std::string>& targets, bool tuned_per_target)
    : targets_(targets.size()) {
    std::vector<std::string> per_target;
    for (const auto& step : spec.transforms)
        if (fits_per_target(step, registry)) per_target.push_back("'" + step.id + "'");
    const bool independent =
        registry.get(spec.regressor.uses).capability(capability::kIndependentTargets, false) == true;
    const bool split = (!per_target.empty() || tuned_per_target) && independent && targets.size() > 1;
    if (split) {
        for (std::size_t t = 0; t < targets.size(); ++t)
            parts_.push_back({{static_cast<Eigen::Index>(t)}, {spec, registry}});
    } else {
        std::vector<Eigen::Index> all;
        for (std::size_t t = 0; t < targets.size(); ++t) all.push_back(static_cast<Eigen::Index>(t));
        parts_.push_back({all, {spec, registry}});
    }
    const std::string transforms = fmt::format("{}", fmt::join(per_target, ", "));
    if (split && per_target.empty())
        how_ = fmt::format("one model per target ({}), each with the grid candidate best for it, as {} learns each "
                           "target on its own",
                           fmt::join(targets, ", "), spec.regressor.uses);
    else if (split)
        how_ = fmt::format("one pipeline per target ({}): {} fitted per target, as {} learns each target on its own",
                           fmt::join(targets, ", "), transforms, spec.regressor.uses);
    else if (!per_target.empty() && targets.size() > 1)
        how_ = fmt::format(
            "{} would be fitted per target, but {} learns {} jointly from one table: they are fitted on every target "
            "at once, and a selection keeps the union over the targets",
            transforms, spec.regressor.uses, fmt::join(targets, "/"));
}

Eigen::MatrixXd TargetPipelines::predict(const SongTable& songs, std::vector<Eigen::MatrixXd>* chunks) const {
    Eigen::MatrixXd out(static_cast<Eigen::Index>(songs.size()), static_cast<Eigen::Index>(targets_));
    if (chunks) chunks->clear();
    for (const Part& part : parts_) {
        const SongTable input = part.pipeline.apply_transforms(songs);
        const Eigen::MatrixXd predicted = part.pipeline.predict(input);
        if (predicted.rows() != out.rows() || predicted.cols() != static_cast<Eigen::Index>(part.targets.size()))
            throw Error(fmt::format("{} rated {} × {}, expected {} songs × {} targets (a damaged model bundle?)",
                                    part.pipeline.spec().regressor.uses, predicted.rows(), predicted.cols(), out.rows(),
                                    part.targets.size()));
        for (std::size_t j = 0; j < part.targets.size(); ++j)
            out.col(part.targets[j]) = predicted.col(static_cast<Eigen::Index>(j));
        if (!chunks) continue;
        const std::vector<Eigen::MatrixXd> part_chunks = part.pipeline.predict_chunks(input);
        if (part_chunks.empty()) continue;
        if (chunks->empty())
            for (const auto& song : part_chunks)
                chunks->push_back(Eigen::MatrixXd::Zero(song.rows(), static_cast<Eigen::Index>(targets_)));
        if (part_chunks.size() != chunks->size())
            throw Error(
                fmt::format("the per-target models rate {} and {} songs by chunk", chunks->size(), part_chunks.size()));
        for (std::size_t s = 0; s < part_chunks.size(); ++s) {
            if (part_chunks[s].rows() != (*chunks)[s].rows())
                throw Error("the per-target models cut song '" + songs.song_ids.at(s) + "' into different chunks");
            for (std::size_t j = 0; j < part.targets.size(); ++j)
                (*chunks)[s].col(part.targets[j]) = part_chunks[s].col(static_cast<Eigen::Index>(j));
        }
    }
    return out;
}

fs::path TargetPipelines::part_dir(const fs::path& fold_dir, const Part& part) const {
    return per_target() ? fold_dir / ("target" + std::to_string(part.targets.front())) : fold_dir;
}

void TargetPipelines::save(const fs::path& fold_dir) const {
    for (const Part& part : parts_) part.pipeline.save(part_dir(fold_dir, part));
}

void TargetPipelines::load(const fs::path& fold_dir) {
    for (Part& part : parts_) {
        const fs::path dir = part_dir(fold_dir, part);
        if (per_target() && !fs::is_directory(dir))
            throw Error(fmt::format("damaged model bundle: its pipeline is fitted per target, and {}/ is missing",
                                    dir.filename().string()),
                        Location(fold_dir.string()));
        part.pipeline.load(dir);
    }
}

}  // namespace mer
