// regressor.panns_finetune: the paper's first item of future work — PANNs
// CNN14 fine-tuned end to end on the emotion targets. The backbone (bn0, the
// six conv blocks, fc1) starts from the official weights, its last N blocks
// unfrozen at a learning rate of their own; fc_audioset's place is taken by
// the regressor's head (the EmotionMLP's by default). It reads CNN14's own
// log-mel chunks (features.panns_cnn14 with output: logmel: the frozen front
// end computed once) and trains through the shared loop, a song being the
// mean of its chunks. (PANNs trained with SpecAugment and mixup; this does not.)
#include <fmt/format.h>

#include "core/plugin/capabilities.hpp"
#include "core/torch/chunk_regressor.hpp"
#include "core/torch/cnn14.hpp"

namespace mer::plugins {

struct FineTuneNet : torchx::ChunkNet {
    FineTuneNet(int64_t outputs, double dropout, const std::vector<int64_t>& hidden, int unfreeze_blocks,
                double backbone_learning_rate)
        : backbone(register_module("backbone", torchx::Cnn14())),
          unfreeze_blocks_(unfreeze_blocks),
          backbone_learning_rate_(backbone_learning_rate) {
        int64_t width = torchx::kCnn14Width;
        for (std::size_t h = 0; h < hidden.size(); ++h) {
            head.push_back(register_module(fmt::format("head_fc{}", h + 1), torch::nn::Linear(width, hidden[h])));
            drops.push_back(register_module(fmt::format("head_dropout{}", h + 1), torch::nn::Dropout(dropout)));
            width = hidden[h];
        }
        out = register_module("head_out", torch::nn::Linear(width, outputs));
        for (auto& p : backbone->parameters()) p.set_requires_grad(false);
        for (auto& p : trained_backbone()) p.set_requires_grad(true);
    }

    // (chunks, 1, frames, 64) log-mel in dB → (chunks, outputs).
    torch::Tensor forward(const torch::Tensor& x) override {
        torch::Tensor h = backbone->head(backbone->trunk(x)).embedding;
        for (std::size_t i = 0; i < head.size(); ++i) {
            h = torch::relu(head[i]->forward(h));
            if (i + 1 < head.size()) h = drops[i]->forward(h);
        }
        return out->forward(h);
    }

    // Frozen parts keep the pretrained batch-norm statistics while training.
    void train(bool on = true) override {
        torch::nn::Module::train(on);
        if (!on) return;
        auto& blocks = backbone->blocks;
        for (std::size_t b = 0; b + static_cast<std::size_t>(unfreeze_blocks_) < blocks.size(); ++b) blocks[b]->eval();
        if (unfreeze_blocks_ < static_cast<int>(blocks.size())) backbone->bn0->eval();
    }

    std::vector<std::pair<std::vector<torch::Tensor>, double>> own_learning_rates() const override {
        const auto trained = trained_backbone();
        if (trained.empty()) return {};  // a frozen backbone gets no gradient: one rate, the head's
        return {{trained, backbone_learning_rate_}};
    }

    torchx::Cnn14 backbone;
    std::vector<torch::nn::Linear> head;
    std::vector<torch::nn::Dropout> drops;
    torch::nn::Linear out{nullptr};

private:
    // The backbone's parameters that train: the last N blocks and fc1 (bn0 with all six).
    std::vector<torch::Tensor> trained_backbone() const {
        std::vector<torch::Tensor> out;
        if (unfreeze_blocks_ == 0) return out;
        const auto& blocks = backbone->blocks;
        for (std::size_t b = blocks.size() - static_cast<std::size_t>(unfreeze_blocks_); b < blocks.size(); ++b)
            for (const auto& p : blocks[b]->parameters()) out.push_back(p);
        for (const auto& p : backbone->fc1->parameters()) out.push_back(p);
        if (unfreeze_blocks_ == static_cast<int>(blocks.size()))
            for (const auto& p : backbone->bn0->parameters()) out.push_back(p);
        return out;
    }

    int unfreeze_blocks_;
    double backbone_learning_rate_;
};

class PannsFineTuneRegressor : public torchx::ChunkRegressor {
public:
    static constexpr auto kCapabilities = more_capabilities(ChunkRegressor::kCapabilities, R"({"fingerprint": ["checkpoint"]})");

    explicit PannsFineTuneRegressor(const nlohmann::json& p)
        : ChunkRegressor(p),
          checkpoint_(p.at("checkpoint").get<std::string>()),
          hidden_(p.at("hidden").get<std::vector<int64_t>>()),
          unfreeze_blocks_(p.at("unfreeze_blocks").get<int>()),
          backbone_learning_rate_(p.at("backbone_learning_rate").get<double>()) {}

    // Training starts from the official weights; a saved model is loaded
    // from its own (load() builds the network without reading the checkpoint).
    void fit(const SongTable& train, const SongTable* validation, const EpochCallback& on_epoch,
             const PluginContext& ctx) override {
        from_checkpoint_ = true;
        ctx.info(fmt::format("fine-tuning CNN14 from {}: the last {} conv block{} and fc1 at learning rate {:g}, the "
                             "head at the loop's",
                             checkpoint_, unfreeze_blocks_, unfreeze_blocks_ == 1 ? "" : "s", backbone_learning_rate_));
        ChunkRegressor::fit(train, validation, on_epoch, ctx);
        from_checkpoint_ = false;
    }

    nlohmann::json query(const std::string& capability) const override {
        if (capability != capability::kInputShape) return nullptr;
        return {{"shape", {1, nullptr, torchx::kCnn14MelBins}}, {"axes", {"channels", "frames", "mels"}}};
    }

protected:
    std::shared_ptr<torchx::ChunkNet> make_network(int64_t outputs, double dropout) const override {
        auto net = std::make_shared<FineTuneNet>(outputs, dropout, hidden_, unfreeze_blocks_, backbone_learning_rate_);
        if (from_checkpoint_)
            torchx::load_state_dict(*net->backbone, torchx::read_torch_checkpoint(checkpoint_), checkpoint_);
        return net;
    }
    std::array<int64_t, 3> input_shape() const override { return {1, 0, torchx::kCnn14MelBins}; }

private:
    std::string checkpoint_;
    std::vector<int64_t> hidden_;
    int unfreeze_blocks_;
    double backbone_learning_rate_;
    bool from_checkpoint_ = false;
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::PannsFineTuneRegressor, "regressor.panns_finetune", "1.0.0",
           "PANNs CNN14 fine-tuned on CNN14 log-mel chunks from the official weights, with an EmotionMLP head")
