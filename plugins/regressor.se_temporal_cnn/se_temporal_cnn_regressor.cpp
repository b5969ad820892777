// regressor.se_temporal_cnn: the report's SE-Temporal CNN — each conv block
// followed by Squeeze-and-Excitation, then (B, C, T·F) and a Conv1D temporal
// layer, global average, FC 128, dropout, output.
#include "core/torch/chunk_regressor.hpp"

namespace mer::plugins {

struct SeTemporalNet : torchx::ChunkNet {
    SeTemporalNet(int64_t outputs, double dropout, int64_t reduction, int64_t kernel)
        : trunk(register_module("trunk", torchx::SeCnnTrunk(reduction))),
          temporal(register_module("temporal",
                                   torch::nn::Conv1d(torch::nn::Conv1dOptions(64, 64, kernel).padding(kernel / 2)))),
          fc(register_module("fc", torch::nn::Linear(64, 128))),
          drop(register_module("dropout", torch::nn::Dropout(dropout))),
          out(register_module("out", torch::nn::Linear(128, outputs))) {}
    torch::Tensor forward(const torch::Tensor& x) override {
        auto h = trunk->forward(x).flatten(2);  // (B, C, T·F)
        h = torch::relu(temporal->forward(h)).mean(2);
        return out->forward(drop->forward(torch::relu(fc->forward(h))));
    }
    torchx::SeCnnTrunk trunk;
    torch::nn::Conv1d temporal;
    torch::nn::Linear fc;
    torch::nn::Dropout drop;
    torch::nn::Linear out;
};

class SeTemporalRegressor : public torchx::ChunkRegressor {
public:
    explicit SeTemporalRegressor(const nlohmann::json& p)
        : ChunkRegressor(p), reduction_(p.at("se_reduction").get<int>()), kernel_(p.at("conv1d_kernel").get<int>()) {}

protected:
    std::shared_ptr<torchx::ChunkNet> make_network(int64_t outputs, double dropout) const override {
        return std::make_shared<SeTemporalNet>(outputs, dropout, reduction_, kernel_);
    }

private:
    int reduction_, kernel_;
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::SeTemporalRegressor, "regressor.se_temporal_cnn", "1.0.0",
           "SE-Temporal CNN on 3-s log-mel chunks (SE blocks, Conv1D temporal layer)")
