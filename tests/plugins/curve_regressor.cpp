// regressor.curve — a real plugin whose learning curve is known from its
// parameters, for the tests of early stopping across trials: every epoch it
// predicts the training mean moved `quality` of the way to each song's true
// label (R² = 1 − (1 − quality)² · SS_mean / SS_tot, the same every epoch),
// taking `epoch_ms` per epoch. Only a test could want that.
#include <chrono>
#include <thread>

#include "core/data/state.hpp"
#include "core/plugin/regressor.hpp"

namespace mer::testing {

class CurveRegressor : public RegressorPlugin {
public:
    explicit CurveRegressor(const nlohmann::json& params)
        : quality_(params.at("quality").get<double>()),
          epochs_(params.at("epochs").get<int>()),
          epoch_ms_(params.at("epoch_ms").get<int>()) {}

    void fit(const SongTable& train, const SongTable* validation, const EpochCallback& on_epoch,
             const PluginContext&) override {
        mean_ = train.targets.colwise().mean();
        for (int epoch = 1; epoch <= epochs_; ++epoch) {
            std::this_thread::sleep_for(std::chrono::milliseconds(epoch_ms_));
            EpochReport report;
            report.epoch = epoch;
            report.train_loss = 1.0 / epoch;
            report.train_predictions = moved(train);
            if (validation) report.validation_predictions = moved(*validation);
            if (on_epoch) on_epoch(report);
        }
    }

    // Rating new songs has no labels to move towards: the mean.
    Eigen::MatrixXd predict(const SongTable& songs) const override {
        return mean_.replicate(static_cast<Eigen::Index>(songs.size()), 1);
    }
    void save(const std::string& dir) const override { save_matrix(dir, "mean", mean_); }
    void load(const std::string& dir) override { mean_ = load_matrix(dir, "mean", 1, kAnySize); }

private:
    Eigen::MatrixXd moved(const SongTable& songs) const {
        const Eigen::MatrixXd mean = predict(songs);
        return mean + quality_ * (songs.targets - mean);
    }

    double quality_;
    int epochs_, epoch_ms_;
    Eigen::RowVectorXd mean_;
};

}  // namespace mer::testing

MER_PLUGIN(mer::testing::CurveRegressor, "regressor.curve", "0.1.0",
           "Test plugin: a learning curve known from its parameters")
