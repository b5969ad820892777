// regressor.mean: predicts each target's training mean for every song — the
// baseline every results table should show (its validation R² is ≤ 0 by
// construction, so any model must beat it to have learnt something).
#include "core/data/state.hpp"
#include "core/plugin/regressor.hpp"

namespace mer::plugins {

class MeanRegressor : public RegressorPlugin {
public:
    static constexpr const char* kCapabilities = R"({"independent_targets": true})";

    explicit MeanRegressor(const nlohmann::json&) {}

    void fit(const SongTable& train, const SongTable*, const EpochCallback&, const PluginContext&) override {
        mean_ = train.targets.colwise().mean();
    }

    Eigen::MatrixXd predict(const SongTable& songs) const override {
        return mean_.replicate(static_cast<Eigen::Index>(songs.size()), 1);
    }

    void save(const std::string& dir) const override { save_matrix(dir, "mean", mean_); }
    void load(const std::string& dir) override { mean_ = load_matrix(dir, "mean", 1, kAnySize); }

private:
    Eigen::RowVectorXd mean_;
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::MeanRegressor, "regressor.mean", "1.0.0",
           "Baseline: predicts each target's mean over the training songs")
