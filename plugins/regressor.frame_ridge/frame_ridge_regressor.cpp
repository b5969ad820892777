// regressor.frame_ridge: the linear baseline of the dynamic task — ridge
// regression (closed form, standardised inputs, as regressor.ridge) from
// each window's features to the annotation at its centre, fitted on every
// annotated window of the training songs; a song is the mean of its windows.
#include <fmt/format.h>

#include "core/data/dynamic.hpp"
#include "core/data/npy.hpp"
#include "core/error.hpp"
#include "core/ml/linear_model.hpp"
#include "core/plugin/regressor.hpp"

namespace mer::plugins {

class FrameRidgeRegressor : public RegressorPlugin, public ChunkPredictions {
public:
    static constexpr const char* kCapabilities = R"({"chunks": true, "sequence": true})";

    explicit FrameRidgeRegressor(const nlohmann::json& params) : alpha_(params.at("alpha").get<double>()) {}

    void fit(const SongTable& train, const SongTable*, const EpochCallback&, const PluginContext& ctx) override {
        const std::vector<Eigen::MatrixXd> windows = read_windows(train);
        std::vector<Eigen::Index> counts;
        for (const auto& w : windows) counts.push_back(w.rows());
        // Every annotated window of every song: its features, and its frame's labels.
        const AnnotatedRows rows = annotated_rows(
            songs_window_labels(train, counts, "regressor.frame_ridge", Location::of_node(ctx.node)), windows);
        if (rows.labels.rows() < 2)
            throw Error(fmt::format("the {} training songs have {} annotated windows (docs/dynamic.md, alignment)",
                                    train.size(), rows.labels.rows()),
                        Location::of_node(ctx.node));
        model_ = fit_ridge(rows.values, rows.labels, alpha_);
        ctx.info(fmt::format("fitted on {} annotated windows of {} songs", rows.labels.rows(), train.size()));
    }

    std::vector<Eigen::MatrixXd> predict_chunks(const SongTable& songs) const override {
        std::vector<Eigen::MatrixXd> out;
        for (const auto& w : read_windows(songs)) out.push_back(model_.predict(w));
        return out;
    }

    Eigen::MatrixXd predict(const SongTable& songs) const override { return window_means(predict_chunks(songs)); }

    void save(const std::string& dir) const override { model_.save(dir); }
    void load(const std::string& dir) override { model_.load(dir); }

private:
    // Each song's windows × features matrix (the tensor its features node wrote).
    std::vector<Eigen::MatrixXd> read_windows(const SongTable& songs) const {
        if (songs.tensor_paths.size() != songs.size())
            throw Error("regressor.frame_ridge reads each song's window features, and its input has none: use "
                        "features.handcrafted with window_seconds (or features.panns_cnn14's chunks) before it");
        std::vector<Eigen::MatrixXd> out;
        for (const auto& path : songs.tensor_paths) {
            std::vector<std::size_t> shape;
            const std::vector<float> values = read_npy_float32(path, shape);
            if (shape.size() != 2 || shape[0] == 0)
                throw Error("expected a windows × features matrix", Location(path));
            if (model_.weights.size() > 0 && static_cast<Eigen::Index>(shape[1]) != model_.weights.rows())
                throw Error(fmt::format("its windows have {} features, the model was fitted on {}", shape[1],
                                        model_.weights.rows()),
                            Location(path));
            out.push_back(Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
                              values.data(), static_cast<Eigen::Index>(shape[0]), static_cast<Eigen::Index>(shape[1]))
                              .cast<double>());
        }
        return out;
    }

    double alpha_;
    LinearModel model_;
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::FrameRidgeRegressor, "regressor.frame_ridge", "1.0.0",
           "Frame-wise ridge baseline of the dynamic task: each window's valence and arousal, linear in its features")
