// regressor.failing — a real plugin used by the tests of failure handling: it
// reports two epochs (mean predictions), then throws at the third, so a test
// can check that finished epochs and earlier nodes survive a failed node.
#include "core/data/state.hpp"
#include "core/error.hpp"
#include "core/plugin/regressor.hpp"

namespace mer::testing {

class FailingRegressor : public RegressorPlugin {
public:
    explicit FailingRegressor(const nlohmann::json& params) : fail_at_(params.at("fail_at_epoch").get<int>()) {}

    void fit(const SongTable& train, const SongTable* validation, const EpochCallback& on_epoch,
             const PluginContext&) override {
        mean_ = train.targets.colwise().mean();
        for (int epoch = 1;; ++epoch) {
            if (epoch == fail_at_) throw Error("deliberate failure at epoch " + std::to_string(epoch));
            EpochReport report;
            report.epoch = epoch;
            report.train_loss = 1.0 / epoch;
            report.train_predictions = predict(train);
            if (validation) report.validation_predictions = predict(*validation);
            on_epoch(report);
        }
    }

    Eigen::MatrixXd predict(const SongTable& songs) const override {
        return mean_.replicate(static_cast<Eigen::Index>(songs.size()), 1);
    }

    void save(const std::string& dir) const override { save_matrix(dir, "mean", mean_); }
    void load(const std::string& dir) override { mean_ = load_matrix(dir, "mean"); }

private:
    int fail_at_;
    Eigen::RowVectorXd mean_;
};

}  // namespace mer::testing

MER_PLUGIN(mer::testing::FailingRegressor, "regressor.failing", "0.1.0",
           "Test plugin: reports epochs, then fails on purpose")
