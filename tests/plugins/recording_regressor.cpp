// regressor.recording — a real plugin for the tests of what a model is shown:
// it predicts the training mean, keeps its "best epoch" on the validation
// songs it is given (capability early_stopping, like the LibTorch models), and
// appends to the file `record` one line per fit: the fold, the training songs
// and the watched songs. A test reads the lines to check that no fit ever saw
// the songs it was then scored on.
#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <mutex>

#include "core/data/state.hpp"
#include "core/plugin/regressor.hpp"

namespace mer::testing {

class RecordingRegressor : public RegressorPlugin {
public:
    static constexpr const char* kCapabilities = R"({"early_stopping": true, "concurrent_fit": false})";

    explicit RecordingRegressor(const nlohmann::json& params)
        : record_(params.at("record").get<std::string>()),
          epochs_(params.at("epochs").get<int>()),
          kept_epoch_(params.at("kept_epoch").get<int>()) {}

    void fit(const SongTable& train, const SongTable* validation, const EpochCallback& on_epoch,
             const PluginContext& ctx) override {
        {
            static std::mutex mutex;
            std::lock_guard<std::mutex> lock(mutex);
            std::ofstream out(record_, std::ios::app);
            out << ctx.fold << "\t" << fmt::format("{}", fmt::join(train.song_ids, ",")) << "\t"
                << (validation ? fmt::format("{}", fmt::join(validation->song_ids, ",")) : std::string()) << "\n";
        }
        mean_ = train.targets.colwise().mean();
        for (int epoch = 1; epoch <= epochs_; ++epoch) {
            EpochReport report;
            report.epoch = epoch;
            report.train_loss = 1.0 / epoch;
            report.train_predictions = predict(train);
            if (validation) report.validation_predictions = predict(*validation);
            // Every epoch scores alike, so the host's own pick would be epoch 1: a kept epoch
            // other than that shows whose choice the run reports.
            if (kept_epoch_ > 0) report.kept_epoch = std::min(kept_epoch_, epoch);
            if (on_epoch) on_epoch(report);
        }
    }

    Eigen::MatrixXd predict(const SongTable& songs) const override {
        return mean_.replicate(static_cast<Eigen::Index>(songs.size()), 1);
    }

    void save(const std::string& dir) const override { save_matrix(dir, "mean", mean_); }
    void load(const std::string& dir) override { mean_ = load_matrix(dir, "mean", 1, kAnySize); }

private:
    std::string record_;
    int epochs_;
    int kept_epoch_;  // the epoch the "loop" says it keeps (0: says nothing)
    Eigen::RowVectorXd mean_;
};

}  // namespace mer::testing

MER_PLUGIN(mer::testing::RecordingRegressor, "regressor.recording", "0.1.0",
           "Test plugin: records the songs each fit is shown")
