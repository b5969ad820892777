// regressor.failing — a real plugin used by the tests of failure handling: it
// reports epochs (mean predictions) and throws at fail_at_epoch, so a test
// can check that finished epochs and earlier nodes survive a failed node; or
// with fail_at_epoch 0 finishes after `epochs` and, with predict: nan, rates
// every song NaN, as a diverged model does. With fail_with: foreign it throws
// a value that is no std::exception, which nothing in mer translates: mer-run
// must end with its internal-error exit code, not abort.
#include <limits>

#include "core/data/state.hpp"
#include "core/error.hpp"
#include "core/plugin/regressor.hpp"

namespace mer::testing {

class FailingRegressor : public RegressorPlugin {
public:
    explicit FailingRegressor(const nlohmann::json& params)
        : fail_at_(params.at("fail_at_epoch").get<int>()),
          epochs_(params.at("epochs").get<int>()),
          nan_(params.at("predict").get<std::string>() == "nan"),
          foreign_(params.at("fail_with").get<std::string>() == "foreign") {}

    void fit(const SongTable& train, const SongTable* validation, const EpochCallback& on_epoch,
             const PluginContext&) override {
        mean_ = train.targets.colwise().mean();
        for (int epoch = 1; fail_at_ > 0 || epoch <= epochs_; ++epoch) {
            if (epoch == fail_at_ && foreign_) throw epoch;
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
        Eigen::MatrixXd out = mean_.replicate(static_cast<Eigen::Index>(songs.size()), 1);
        if (nan_) out.setConstant(std::numeric_limits<double>::quiet_NaN());
        return out;
    }

    void save(const std::string& dir) const override { save_matrix(dir, "mean", mean_); }
    void load(const std::string& dir) override { mean_ = load_matrix(dir, "mean", 1, kAnySize); }

private:
    int fail_at_, epochs_;
    bool nan_, foreign_;
    Eigen::RowVectorXd mean_;
};

}  // namespace mer::testing

MER_PLUGIN(mer::testing::FailingRegressor, "regressor.failing", "0.1.0",
           "Test plugin: reports epochs, then fails on purpose")
