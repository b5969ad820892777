// regressor.cnn_gru: the paper's CNN-GRU — SE-CNN blocks, the feature map
// read as a sequence over time (B, T, C·F), one GRU layer, its last hidden
// state → FC 128 → dropout → output.
#include "core/torch/chunk_regressor.hpp"

namespace mer::plugins {

struct CnnGruNet : torchx::ChunkNet {
    CnnGruNet(int64_t outputs, double dropout, int64_t reduction, int64_t hidden)
        : trunk(register_module("trunk", torchx::SeCnnTrunk(reduction))),
          gru(register_module("gru", torch::nn::GRU(torch::nn::GRUOptions(64 * 16, hidden).batch_first(true)))),
          fc(register_module("fc", torch::nn::Linear(hidden, 128))),
          drop(register_module("dropout", torch::nn::Dropout(dropout))),
          out(register_module("out", torch::nn::Linear(128, outputs))) {}
    torch::Tensor forward(const torch::Tensor& x) override {
        // x: (B, 1, mels, frames) → (B, C, F, T) after the blocks → (B, T, C·F).
        auto h = trunk->forward(x);
        h = h.permute({0, 3, 1, 2}).flatten(2);
        auto last = std::get<1>(gru->forward(h)).squeeze(0);  // (B, hidden)
        return out->forward(drop->forward(torch::relu(fc->forward(last))));
    }
    torchx::SeCnnTrunk trunk;
    torch::nn::GRU gru;
    torch::nn::Linear fc;
    torch::nn::Dropout drop;
    torch::nn::Linear out;
};

class CnnGruRegressor : public torchx::ChunkRegressor {
public:
    explicit CnnGruRegressor(const nlohmann::json& p)
        : ChunkRegressor(p), reduction_(p.at("se_reduction").get<int>()), hidden_(p.at("gru_hidden").get<int>()) {}

protected:
    std::shared_ptr<torchx::ChunkNet> make_network(int64_t outputs, double dropout) const override {
        return std::make_shared<CnnGruNet>(outputs, dropout, reduction_, hidden_);
    }

private:
    int reduction_, hidden_;
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::CnnGruRegressor, "regressor.cnn_gru", "1.0.0",
           "CNN-GRU on 3-s log-mel chunks (SE-CNN blocks, GRU over time, last state)")
