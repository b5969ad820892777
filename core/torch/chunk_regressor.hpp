// The chunk models on the shared training loop (training_loop.hpp): log-mel
// chunks in (the .npy tensors of features.logmel_chunks, or any rows a model
// reads through load_inputs), one label per chunk (its song's), early
// stopping on song-level validation R², metrics at chunk and song level every
// epoch. A model plugin only builds its network.
#pragma once

#include <array>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/plugin/regressor.hpp"
#include "core/torch/blocks.hpp"
#include "core/torch/training_loop.hpp"

namespace mer::torchx {

struct Chunks {
    torch::Tensor x;                     // chunks × 1 × mels × frames, float32, on the CPU
    std::vector<int64_t> song_of_chunk;  // row of the song in its table
    std::size_t songs = 0;
};
// Reads every song's chunk tensor (SongTable::tensor_paths).
Chunks load_chunks(const SongTable& songs);
// The same for chunk files of any layout: each must have `rank` axes (0: as
// many as the first file has), the first the song's chunks (at least one);
// `layout` names them for the error ("a chunks × features matrix"). The
// caller checks that there are files.
Chunks load_chunk_files(const SongTable& songs, std::size_t rank, const std::string& layout);
// One row per song, its feature columns (songs × columns), for the models
// that read a feature table.
Chunks table_rows(const SongTable& songs);

class ChunkRegressor : public RegressorPlugin, public ChunkPredictions {
public:
    // Every model built on this loop trains on a device, rates chunks, fits
    // one at a time (weight initialisation and dropout draw from LibTorch's
    // global generator), reads 1 × mels × frames chunks (query()) and keeps
    // the epoch best on the validation songs it is given.
    static constexpr auto kCapabilities = more_capabilities(kLoopCapabilities, R"({"chunks": true, "input_shape": true})");

    explicit ChunkRegressor(const nlohmann::json& params);
    ~ChunkRegressor() override;

    void fit(const SongTable& train, const SongTable* validation, const EpochCallback& on_epoch,
             const PluginContext& ctx) override;
    Eigen::MatrixXd predict(const SongTable& songs) const override;
    // model.pt (LibTorch archive of the best epoch's weights) and model.json
    // (outputs, normalisation, best epoch).
    void save(const std::string& dir) const override;
    void load(const std::string& dir) override;

    // Chunk-level predictions (chunks × targets) of the fitted model.
    Eigen::MatrixXd predict_chunks(const Chunks& chunks) const;
    std::vector<Eigen::MatrixXd> predict_chunks(const SongTable& songs) const override;
    // input_shape: the chunk tensor make_network's layers are sized for.
    nlohmann::json query(const std::string& capability) const override;
    // The network itself (for tests and benchmarks).
    std::shared_ptr<ChunkNet> network() const;
    int best_epoch() const;

protected:
    virtual std::shared_ptr<ChunkNet> make_network(int64_t outputs, double dropout) const = 0;
    // The rows the network reads, one per chunk: by default every song's
    // log-mel chunks (load_chunks); a model on feature vectors reads those.
    virtual Chunks load_inputs(const SongTable& songs) const { return load_chunks(songs); }
    // Values per input row (e.g. 2048 for a PANNs embedding), known once
    // fit() has read its inputs or load() the saved model; 0 before.
    int64_t input_width() const;
    void set_input_width(int64_t width);
    // The chunk tensor the network reads: channels, mels, frames (0: any).
    // The paper's 3-s chunks of 128 mels × 128 frames unless a model says otherwise.
    virtual std::array<int64_t, 3> input_shape() const { return {1, 128, 128}; }

private:
    struct State;
    TrainingSettings settings_;
    std::unique_ptr<State> state_;
};

}  // namespace mer::torchx
