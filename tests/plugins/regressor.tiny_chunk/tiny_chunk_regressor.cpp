// regressor.tiny_chunk: a test-only LibTorch chunk model — one conv block,
// average pooling, a linear output. It exists to prove that a new chunk model
// is one folder and nothing else: the conformance, save/load, training,
// benchmark and GPU-check lists find it through its capabilities.
#include "core/torch/chunk_regressor.hpp"

namespace mer::plugins {

struct TinyChunkNet : torchx::ChunkNet {
    TinyChunkNet(int64_t outputs, double dropout)
        : block(register_module("block", torchx::ConvBlock(1, 4))),
          drop(register_module("dropout", torch::nn::Dropout(dropout))),
          out(register_module("out", torch::nn::Linear(4, outputs))) {}
    torch::Tensor forward(const torch::Tensor& x) override {
        const auto h = block->forward(x).mean({2, 3});  // any number of mels and frames
        return out->forward(drop->forward(h));
    }
    torchx::ConvBlock block;
    torch::nn::Dropout drop;
    torch::nn::Linear out;
};

class TinyChunkRegressor : public torchx::ChunkRegressor {
public:
    explicit TinyChunkRegressor(const nlohmann::json& p) : ChunkRegressor(p) {}

protected:
    std::shared_ptr<torchx::ChunkNet> make_network(int64_t outputs, double dropout) const override {
        return std::make_shared<TinyChunkNet>(outputs, dropout);
    }
    std::array<int64_t, 3> input_shape() const override { return {1, 0, 0}; }
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::TinyChunkRegressor, "regressor.tiny_chunk", "1.0.0",
           "Test-only: one conv block and a linear output on log-mel chunks of any size")
