// Songs through a frozen network, chunk by chunk, as the features plugins
// with a network (features.panns_cnn14, features.torchscript) run them: a
// thread decodes songs a few ahead of the network, which sees batches of
// chunks across songs; each song's outputs are handed over as soon as its
// last chunk has gone through. A song whose audio cannot be used (or whose
// outputs the plugin refuses) is skipped with its reason; the machine's
// trouble (no memory, a disk error) stops the node.
#pragma once

#include <torch/torch.h>

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
    bool song_per_batch = false;
};

// Runs `todo` (rows of the plugin's song table) through `job`, reporting
// progress; failures[row] receives why a song was skipped.
void embed_songs(const std::vector<std::size_t>& todo, const ChunkEmbedding& job, std::vector<std::string>& failures,
                 const PluginContext& ctx);

}  // namespace mer::torchx
