// regressor.frame_mlp: a baseline for the dynamic task — each window rated on
// its own by a small MLP (Linear → ReLU → Dropout → Linear), no context from
// its neighbours; trained by the shared sequence loop on the 2 Hz annotations.
#include "core/torch/sequence_regressor.hpp"

namespace mer::plugins {

struct FrameMlpNet : torchx::SequenceNet {
    FrameMlpNet(int64_t inputs, int64_t hidden, int64_t outputs, double dropout)
        : fc(register_module("fc", torch::nn::Linear(inputs, hidden))),
          drop(register_module("dropout", torch::nn::Dropout(dropout))),
          out(register_module("out", torch::nn::Linear(hidden, outputs))) {}
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor&) override {
        return out->forward(drop->forward(torch::relu(fc->forward(x))));
    }
    torch::nn::Linear fc;
    torch::nn::Dropout drop;
    torch::nn::Linear out;
};

class FrameMlpRegressor : public torchx::SequenceRegressor {
public:
    explicit FrameMlpRegressor(const nlohmann::json& p) : SequenceRegressor(p, 1), hidden_(p.at("hidden").get<int64_t>()) {}

protected:
    std::shared_ptr<torchx::SequenceNet> make_network(const std::vector<int64_t>& window, int64_t outputs,
                                                      double dropout) const override {
        return std::make_shared<FrameMlpNet>(window.at(0), hidden_, outputs, dropout);
    }

private:
    int64_t hidden_;
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::FrameMlpRegressor, "regressor.frame_mlp", "1.0.0",
           "Frame-wise MLP baseline of the dynamic task: each window's valence and arousal from that window alone")
