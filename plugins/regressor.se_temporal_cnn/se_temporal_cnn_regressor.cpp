// regressor.se_temporal_cnn: the paper's SE-Temporal CNN — each conv block
// followed by Squeeze-and-Excitation, then (B, C, T·F) and a Conv1D temporal
// layer, flattened into FC 128, dropout, output (the paper's head, R415 and
// R424–425); `head: mean` averages over the T·F positions instead (mer's
// head before 2.0.0: 64 inputs to FC 128 instead of 16 384).
#include "core/torch/chunk_regressor.hpp"

namespace mer::plugins {

struct SeTemporalNet : torchx::ChunkNet {
    // The trunk leaves 64 channels × 16 × 16 positions of a 128 × 128 chunk.
    static constexpr int64_t kChannels = 64, kPositions = 16 * 16;

    SeTemporalNet(int64_t outputs, double dropout, int64_t reduction, int64_t kernel, bool flatten)
        : trunk(register_module("trunk", torchx::SeCnnTrunk(reduction))),
          temporal(register_module("temporal", torch::nn::Conv1d(torch::nn::Conv1dOptions(kChannels, kChannels, kernel)
                                                                     .padding(kernel / 2)))),
          fc(register_module("fc", torch::nn::Linear(flatten ? kChannels * kPositions : kChannels, 128))),
          drop(register_module("dropout", torch::nn::Dropout(dropout))),
          out(register_module("out", torch::nn::Linear(128, outputs))),
          flatten_(flatten) {}
    torch::Tensor forward(const torch::Tensor& x) override {
        auto h = torch::relu(temporal->forward(trunk->forward(x).flatten(2)));  // (B, C, T·F)
        h = flatten_ ? h.flatten(1) : h.mean(2);
        return out->forward(drop->forward(torch::relu(fc->forward(h))));
    }
    torchx::SeCnnTrunk trunk;
    torch::nn::Conv1d temporal;
    torch::nn::Linear fc;
    torch::nn::Dropout drop;
    torch::nn::Linear out;
    bool flatten_;
};

class SeTemporalRegressor : public torchx::ChunkRegressor {
public:
    explicit SeTemporalRegressor(const nlohmann::json& p)
        : ChunkRegressor(p),
          reduction_(p.at("se_reduction").get<int>()),
          kernel_(p.at("conv1d_kernel").get<int>()),
          flatten_(p.at("head").get<std::string>() == "flatten") {}

protected:
    std::shared_ptr<torchx::ChunkNet> make_network(int64_t outputs, double dropout) const override {
        return std::make_shared<SeTemporalNet>(outputs, dropout, reduction_, kernel_, flatten_);
    }

private:
    int reduction_, kernel_;
    bool flatten_;
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::SeTemporalRegressor, "regressor.se_temporal_cnn", "2.0.0",
           "SE-Temporal CNN on 3-s log-mel chunks (SE blocks, Conv1D temporal layer)")
