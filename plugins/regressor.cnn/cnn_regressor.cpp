// regressor.cnn: the paper's baseline CNN on 128 × 128 log-mel chunks —
// three Conv2D → BN → ReLU → MaxPool(2) blocks (16, 32, 64 filters),
// flatten 64·16·16 → FC 128 → Dropout → output. The 3×3 kernels are ours:
// the paper gives no kernel size.
#include "core/torch/chunk_regressor.hpp"

namespace mer::plugins {

struct CnnNet : torchx::ChunkNet {
    CnnNet(int64_t outputs, double dropout)
        : b1(register_module("block1", torchx::ConvBlock(1, 16))),
          b2(register_module("block2", torchx::ConvBlock(16, 32))),
          b3(register_module("block3", torchx::ConvBlock(32, 64))),
          fc(register_module("fc", torch::nn::Linear(64 * 16 * 16, 128))),
          drop(register_module("dropout", torch::nn::Dropout(dropout))),
          out(register_module("out", torch::nn::Linear(128, outputs))) {}
    torch::Tensor forward(const torch::Tensor& x) override {
        auto h = b3->forward(b2->forward(b1->forward(x))).flatten(1);
        return out->forward(drop->forward(torch::relu(fc->forward(h))));
    }
    torchx::ConvBlock b1, b2, b3;
    torch::nn::Linear fc;
    torch::nn::Dropout drop;
    torch::nn::Linear out;
};

class CnnRegressor : public torchx::ChunkRegressor {
public:
    explicit CnnRegressor(const nlohmann::json& p) : ChunkRegressor(p) {}

protected:
    std::shared_ptr<torchx::ChunkNet> make_network(int64_t outputs, double dropout) const override {
        return std::make_shared<CnnNet>(outputs, dropout);
    }
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::CnnRegressor, "regressor.cnn", "1.0.0",
           "CNN on 3-s log-mel chunks (3 conv blocks, FC 128), song = mean of its chunks")
