// regressor.cnn_gru_seq: the paper's CNN-GRU emitting one output per window
// — the SE-CNN trunk reads each log-mel window (1 × mels × frames) into a
// 64-value vector (its map averaged), and a bidirectional GRU over the
// song's windows rates every one; trained on the 2 Hz annotations by the
// shared sequence loop.
#include "core/torch/blocks.hpp"
#include "core/torch/sequence_regressor.hpp"

namespace mer::plugins {

struct CnnGruSeqNet : torchx::SequenceNet {
    CnnGruSeqNet(int64_t reduction, int64_t hidden, int64_t outputs, double dropout)
        : trunk(register_module("trunk", torchx::SeCnnTrunk(reduction))),
          gru(register_module("gru", torch::nn::GRU(torch::nn::GRUOptions(64, hidden).batch_first(true).bidirectional(true)))),
          drop(register_module("dropout", torch::nn::Dropout(dropout))),
          out(register_module("out", torch::nn::Linear(2 * hidden, outputs))) {}
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& lengths) override {
        // Only the songs' own windows go through the CNN, not the batch's padding.
        const int64_t batch = x.size(0), steps = x.size(1);
        const auto valid = torch::arange(steps).unsqueeze(0).lt(lengths.unsqueeze(1)).flatten().nonzero().squeeze(1);
        const auto index = valid.to(x.device());
        const auto windows = x.flatten(0, 1).index_select(0, index);
        const auto vectors = trunk->forward(windows).mean({2, 3});
        auto h = torch::zeros({batch * steps, vectors.size(1)}, vectors.options()).index_copy(0, index, vectors);
        return out->forward(drop->forward(torchx::packed_gru(gru, h.view({batch, steps, -1}), lengths)));
    }
    torchx::SeCnnTrunk trunk;
    torch::nn::GRU gru;
    torch::nn::Dropout drop;
    torch::nn::Linear out;
};

class CnnGruSeqRegressor : public torchx::SequenceRegressor {
public:
    explicit CnnGruSeqRegressor(const nlohmann::json& p)
        : SequenceRegressor(p, 3), reduction_(p.at("se_reduction").get<int64_t>()), hidden_(p.at("gru_hidden").get<int64_t>()) {}

protected:
    std::shared_ptr<torchx::SequenceNet> make_network(const std::vector<int64_t>& window, int64_t outputs,
                                                      double dropout) const override {
        if (window.at(0) != 1 || window.at(1) < 8 || window.at(2) < 8)
            throw Error("regressor.cnn_gru_seq reads log-mel windows of 1 × mels × frames with at least 8 mels and "
                        "8 frames (three 2× poolings); features.logmel_chunks with chunk_seconds 1 gives 1 × 128 × 44");
        return std::make_shared<CnnGruSeqNet>(reduction_, hidden_, outputs, dropout);
    }

private:
    int64_t reduction_, hidden_;
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::CnnGruSeqRegressor, "regressor.cnn_gru_seq", "1.0.0",
           "CNN-GRU over a song's log-mel windows, one valence/arousal output per window (the dynamic task)")
