// regressor.seq_gru: a bidirectional GRU over a song's window features (the
// recurrent family that won the MediaEval "Emotion in Music" benchmark), one
// valence/arousal output per window, trained on DEAM's 2 Hz annotations by
// the shared sequence loop (core/torch/sequence_regressor.hpp).
#include "core/torch/sequence_regressor.hpp"

namespace mer::plugins {

struct SeqGruNet : torchx::SequenceNet {
    SeqGruNet(int64_t inputs, int64_t hidden, int64_t layers, bool bidirectional, int64_t outputs, double dropout)
        : gru(register_module("gru", torch::nn::GRU(torch::nn::GRUOptions(inputs, hidden)
                                                        .num_layers(layers)
                                                        .batch_first(true)
                                                        .bidirectional(bidirectional)
                                                        .dropout(layers > 1 ? dropout : 0.0)))),
          drop(register_module("dropout", torch::nn::Dropout(dropout))),
          out(register_module("out", torch::nn::Linear(hidden * (bidirectional ? 2 : 1), outputs))) {}
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& lengths) override {
        return out->forward(drop->forward(torchx::packed_gru(gru, x, lengths)));
    }
    torch::nn::GRU gru;
    torch::nn::Dropout drop;
    torch::nn::Linear out;
};

class SeqGruRegressor : public torchx::SequenceRegressor {
public:
    explicit SeqGruRegressor(const nlohmann::json& p)
        : SequenceRegressor(p, 1),
          hidden_(p.at("hidden").get<int64_t>()),
          layers_(p.at("layers").get<int64_t>()),
          bidirectional_(p.at("bidirectional").get<bool>()) {}

protected:
    std::shared_ptr<torchx::SequenceNet> make_network(const std::vector<int64_t>& window, int64_t outputs,
                                                      double dropout) const override {
        return std::make_shared<SeqGruNet>(window.at(0), hidden_, layers_, bidirectional_, outputs, dropout);
    }

private:
    int64_t hidden_, layers_;
    bool bidirectional_;
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::SeqGruRegressor, "regressor.seq_gru", "1.0.0",
           "Bidirectional GRU over a song's window features: valence and arousal every window (the dynamic task)")
