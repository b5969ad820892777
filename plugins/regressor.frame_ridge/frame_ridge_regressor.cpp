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

class FrameRidgeRegressor : public RegressorPlugin {
public:
    static constexpr const char* kCapabilities = R"({"chunks": true, "sequence": true})";

    explicit FrameRidgeRegressor(const nlohmann::json& params) : alpha_(params.at("alpha").get<double>()) {}

    void fit(const SongTable& train, const SongTable*, const EpochCallback&, const PluginContext& ctx) override {
        if (train.dynamic.size() != train.size())
            throw Error("regressor.frame_ridge learns from each song's annotations over time, and its songs have "
                        "none: set dynamic: true on dataset.deam (docs/dynamic.md)",
                        Location::of_node(ctx.node));
        const std::vector<Eigen::MatrixXd> windows = read_windows(train);
        Eigen::Index rows = 0;
        std::vector<Eigen::MatrixXd> labels;
        for (std::size_t s = 0; s < train.size(); ++s) {
            DynamicLabels d = train.dynamic[s];
            if (d.values.size() == 0) d.values.resize(0, train.targets.cols());
            labels.push_back(window_labels(d, train.chunk_timing, static_cast<std::size_t>(windows[s].rows())));
            for (Eigen::Index r = 0; r < labels.back().rows(); ++r) rows += labels.back().row(r).allFinite();
        }
        if (rows < 2)
            throw Error(fmt::format("the {} training songs have {} annotated windows (docs/dynamic.md, alignment)",
                                    train.size(), rows),
                        Location::of_node(ctx.node));
        Eigen::MatrixXd x(rows, windows.front().cols()), y(rows, train.targets.cols());
        Eigen::Index at = 0;
        for (std::size_t s = 0; s < train.size(); ++s)
            for (Eigen::Index r = 0; r < labels[s].rows(); ++r)
                if (labels[s].row(r).allFinite()) {
                    x.row(at) = windows[s].row(r);
                    y.row(at++) = labels[s].row(r);
                }
        model_ = fit_ridge(x, y, alpha_);
        ctx.info(fmt::format("fitted on {} annotated windows of {} songs", rows, train.size()));
    }

    std::vector<Eigen::MatrixXd> predict_chunks(const SongTable& songs) const override {
        std::vector<Eigen::MatrixXd> out;
        for (const auto& w : read_windows(songs)) out.push_back(model_.predict(w));
        return out;
    }

    Eigen::MatrixXd predict(const SongTable& songs) const override {
        const std::vector<Eigen::MatrixXd> per_window = predict_chunks(songs);
        Eigen::MatrixXd out(static_cast<Eigen::Index>(songs.size()), model_.weights.cols());
        for (std::size_t s = 0; s < per_window.size(); ++s) out.row(static_cast<Eigen::Index>(s)) = per_window[s].colwise().mean();
        return out;
    }

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
