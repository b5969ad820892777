// Songs through a frozen network, chunk by chunk, as the features plugins
// with a network (features.panns_cnn14, features.torchscript) run them: a
// thread decodes songs a few ahead of the network, which sees batches of
// chunks across songs; each song's outputs are handed over as soon as its
// last chunk has gone through. A song whose audio cannot be used (or whose
// outputs the plugin refuses) is skipped with its reason; the machine's
// trouble (no memory, a disk error) stops the node.
#pragma once

#include <torch/torch.h>

#include <Eigen/Core>
#include <functional>
#include <string>
#include <vector>

#include "core/plugin/plugin.hpp"

namespace mer::torchx {

struct ChunkEmbedding {
    // The song at `row` cut into chunks, (chunks × samples), float32 on the
    // CPU. Runs on the decoding thread; an input Error skips the song.
    std::function<torch::Tensor(std::size_t row)> decode;
    // A batch of chunks (n × samples, on the CPU) through the network: its
    // output (n × …), float32 on the CPU. Runs on the calling thread.
    std::function<torch::Tensor(const torch::Tensor& batch)> forward;
    // A song's outputs (chunks × …), in song order of `todo`; an input Error
    // skips the song.
    std::function<void(std::size_t row, const torch::Tensor& outputs)> finish;
    int64_t batch_size = 15;
    // One song per batch, whatever its length (whole clips differ in length).
    // Then, once a batch has gone through, an input Error from `forward`
    // skips that song (a clip too short for the network) rather than
    // stopping the node; on the first batch it stops it (the model's own
    // trouble, named once).
    bool song_per_batch = false;
};

// Runs `todo` (rows of the plugin's song table) through `job`, reporting
// progress; failures[row] receives why a song was skipped.
void embed_songs(const std::vector<std::size_t>& todo, const ChunkEmbedding& job, std::vector<std::string>& failures,
                 const PluginContext& ctx);

// A song's samples as chunks (chunks × samples, float32): `chunk` samples
// every `hop`, a remainder shorter than a chunk dropped, a song shorter than
// one chunk zero-padded to one; or, `whole`, the song as one chunk.
torch::Tensor cut_chunks(std::vector<float> samples, int64_t chunk, int64_t hop, bool whole);

// A song's vector from its chunks' (chunks × width): their mean, max, or
// mean_max (both side by side: twice the width).
Eigen::RowVectorXd pool_chunks(const Eigen::MatrixXf& chunks, const std::string& pooling);
// The names of pool_chunks' columns: STEM_1 … STEM_width, each suffixed _mean
// and then _max for mean_max.
std::vector<std::string> pooled_columns(const std::string& stem, int64_t width, const std::string& pooling);

}  // namespace mer::torchx
