// The dynamic task's sequence models on the shared training loop
// (training_loop.hpp): each song a sequence of windows (the tensor its features node wrote: windows × values,
// or windows × 1 × mels × frames), one output per window, trained against the
// song's 2 Hz annotations aligned to the windows (core/data/dynamic.hpp).
// Whole songs form the batches (padded, masked), the loss is the MSE over the
// annotated windows of the standardised targets (valence and arousal
// jointly), and the epoch kept is the one with the best frame-level R² on the
// songs the model watches. A model plugin only builds its network.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>

#include "core/torch/training_loop.hpp"

namespace mer::torchx {

// Every sequence model: (B, T, window…) in, zero past each song's length,
// with the lengths (B, int64, on the CPU); (B, T, outputs) out.
class SequenceNet : public torch::nn::Module {
public:
    virtual torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& lengths) = 0;
};

// A GRU over padded songs (B, T, values) with their lengths, packed so that
// the backward direction starts at each song's own last window, not in its
// padding: (B, T, hidden · directions), zero past each length.
torch::Tensor packed_gru(torch::nn::GRU& gru, const torch::Tensor& x, const torch::Tensor& lengths);

class SequenceRegressor : public RegressorPlugin, public ChunkPredictions {
public:
    // Trains on a device, rates every window (predict_chunks: one row per
    // window, a song being the mean of its windows), fits one at a time,
    // predicts per time step and keeps its best epoch.
    static constexpr auto kCapabilities = more_capabilities(kLoopCapabilities, R"({"chunks": true, "sequence": true})");

    // `window_rank`: the axes of one window (1: a vector; 3: 1 × mels × frames;
    // 0: any, the first song's tensor decides).
    SequenceRegressor(const nlohmann::json& params, std::size_t window_rank);
    ~SequenceRegressor() override;

    void fit(const SongTable& train, const SongTable* validation, const EpochCallback& on_epoch,
             const PluginContext& ctx) override;
    Eigen::MatrixXd predict(const SongTable& songs) const override;
    std::vector<Eigen::MatrixXd> predict_chunks(const SongTable& songs) const override;
    // model.pt (the best epoch's weights) and model.json (window shape,
    // input and target normalisation, best epoch).
    void save(const std::string& dir) const override;
    void load(const std::string& dir) override;
    // The network itself (null before fit or load).
    std::shared_ptr<SequenceNet> network() const;

protected:
    // The network for windows of `window_shape` (the axes after time).
    virtual std::shared_ptr<SequenceNet> make_network(const std::vector<int64_t>& window_shape, int64_t outputs,
                                                      double dropout) const = 0;

private:
    struct State;
    std::vector<torch::Tensor> load_songs(const SongTable& songs) const;
    // Songs normalised as the model was fitted, on its device.
    std::vector<torch::Tensor> prepare(std::vector<torch::Tensor> songs) const;
    std::vector<Eigen::MatrixXd> predict_songs(const std::vector<torch::Tensor>& songs) const;
    TrainingSettings settings_;
    std::size_t window_rank_;
    std::unique_ptr<State> state_;
};

}  // namespace mer::torchx
