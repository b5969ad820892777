// Regressor plugins: fit on the training songs' features and targets,
// predict every target for new songs. Iterative models report each epoch
// (boosting round, ...) through the callback; the host turns the predictions
// it carries into metric rows and appends them to the logs at once.
#pragma once

#include <functional>
#include <optional>

#include "core/data/song_table.hpp"
#include "core/plugin/capabilities.hpp"
#include "core/plugin/plugin.hpp"

namespace mer {

struct EpochReport {
    int epoch = 0;  // 1-based
    std::optional<double> train_loss;
    std::optional<double> validation_loss;
    Eigen::MatrixXd train_predictions;       // train songs × targets
    Eigen::MatrixXd validation_predictions;  // validation songs × targets; empty without validation

    // Models that predict per chunk also report chunk-level predictions with
    // the chunks' targets (logged as splits train_chunks / validation_chunks).
    Eigen::MatrixXd train_chunk_predictions, train_chunk_targets;
    Eigen::MatrixXd validation_chunk_predictions, validation_chunk_targets;

    // Models that keep their best epoch (capability "early_stopping") say
    // which epoch's weights they keep so far, and its score by their own
    // criterion: the last report's is the fold's kept epoch, the one number
    // metrics.csv, summary.json and the report show. 0: the model keeps no
    // epoch of its own.
    int kept_epoch = 0;
    double kept_score = 0;
};

using EpochCallback = std::function<void(const EpochReport&)>;

class RegressorPlugin : public PluginBase {
public:
    static constexpr const char* kKind = "regressor";
    static constexpr int kInputs = 1;
    ~RegressorPlugin() override;

    // `train.targets` holds exactly the targets to learn, without NaN.
    // `validation` may be null. Models that do not iterate need not call
    // `on_epoch`; the host then logs one epoch from predict().
    virtual void fit(const SongTable& train, const SongTable* validation, const EpochCallback& on_epoch,
                     const PluginContext& ctx) = 0;

    // songs × targets, in the order of the training targets.
    virtual Eigen::MatrixXd predict(const SongTable& songs) const = 0;

    // The fitted model into / out of a folder of its own (the run's model
    // bundle); load() on a fresh instance with the same parameters must
    // predict exactly what the fitted one does.
    virtual void save(const std::string& dir) const = 0;
    virtual void load(const std::string& dir) = 0;

};

// Extension interfaces (capabilities.hpp): a regressor declaring the
// capability derives from the interface as well, and the host asks for it with
// extension<ChunkPredictions>(model). The registry refuses a plugin that
// declares one without implementing it.

// Capability "chunks": one chunks × targets matrix per song, in chunk order,
// whose mean is predict()'s row (with "sequence": one row per window).
class ChunkPredictions {
public:
    static constexpr const char* kCapability = capability::kChunks;
    virtual std::vector<Eigen::MatrixXd> predict_chunks(const SongTable& songs) const = 0;

protected:
    virtual ~ChunkPredictions();
};

// Capability "staged": songs × targets from the first `stages` stages only,
// exactly what the model fitted with its query("staged") parameter set to
// `stages` predicts (boosting rounds). A grid search then fits the largest
// count once and scores the smaller ones from it.
class StagedPredictions {
public:
    static constexpr const char* kCapability = capability::kStaged;
    virtual Eigen::MatrixXd predict_stages(const SongTable& songs, int stages) const = 0;

protected:
    virtual ~StagedPredictions();
};

}  // namespace mer
