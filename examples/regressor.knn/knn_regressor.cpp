// regressor.knn: k-nearest-neighbour regression on standardised features —
// the example plugin of docs/plugins.md, built out of tree by the tests.
#include <algorithm>
#include <numeric>

#include "core/data/scaler.hpp"
#include "core/data/state.hpp"
#include "core/plugin/regressor.hpp"

namespace example {

class KnnRegressor : public mer::RegressorPlugin {
public:
    explicit KnnRegressor(const nlohmann::json& params)
        : k_(params.at("k").get<int>()), by_distance_(params.at("weights").get<std::string>() == "distance") {}

    void fit(const mer::SongTable& train, const mer::SongTable*, const mer::EpochCallback&,
             const mer::PluginContext& ctx) override {
        scaler_.fit(train.features);
        points_ = scaler_.apply(train.features);
        targets_ = train.targets;
        ctx.info("remembered " + std::to_string(train.size()) + " training songs");
    }

    Eigen::MatrixXd predict(const mer::SongTable& songs) const override {
        const Eigen::MatrixXd query = scaler_.apply(songs.features);
        const auto k = std::min<Eigen::Index>(k_, points_.rows());
        Eigen::MatrixXd out(query.rows(), targets_.cols());
        std::vector<Eigen::Index> order(static_cast<std::size_t>(points_.rows()));
        for (Eigen::Index i = 0; i < query.rows(); ++i) {
            const Eigen::VectorXd distance = (points_.rowwise() - query.row(i)).rowwise().norm();
            std::iota(order.begin(), order.end(), 0);
            std::partial_sort(order.begin(), order.begin() + k, order.end(),
                              [&](Eigen::Index a, Eigen::Index b) { return distance(a) < distance(b); });
            Eigen::RowVectorXd sum = Eigen::RowVectorXd::Zero(targets_.cols());
            double total = 0;
            for (Eigen::Index j = 0; j < k; ++j) {
                const double w = by_distance_ ? 1.0 / std::max(distance(order[j]), 1e-12) : 1.0;
                sum += w * targets_.row(order[j]);
                total += w;
            }
            out.row(i) = sum / total;
        }
        return out;
    }

    // The fitted model for the run's bundle: the remembered songs and scaling.
    void save(const std::string& dir) const override {
        scaler_.save(dir);
        mer::save_matrix(dir, "points", points_);
        mer::save_matrix(dir, "targets", targets_);
    }
    void load(const std::string& dir) override {
        scaler_.load(dir);
        points_ = mer::load_matrix(dir, "points", mer::kAnySize, scaler_.mean.cols());
        targets_ = mer::load_matrix(dir, "targets", points_.rows(), mer::kAnySize);
    }

private:
    int k_;
    bool by_distance_;
    mer::FeatureScaler scaler_;
    Eigen::MatrixXd points_, targets_;
};

}  // namespace example

MER_PLUGIN(example::KnnRegressor, "regressor.knn", "1.0.0",
           "k-nearest-neighbour regression on standardised features (example plugin)")
