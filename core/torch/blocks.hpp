// Building blocks of the paper's Phase 2 models, shared by the four
// log-mel regressors: Conv2D(3×3) → BatchNorm → ReLU → MaxPool(2), and
// Squeeze-and-Excitation channel gating.
#pragma once

#include <torch/torch.h>

namespace mer::torchx {

struct ConvBlockImpl : torch::nn::Module {
    ConvBlockImpl(int64_t in, int64_t out)
        : conv(register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1)))),
          norm(register_module("norm", torch::nn::BatchNorm2d(out))) {}
    torch::Tensor forward(const torch::Tensor& x) {
        return torch::max_pool2d(torch::relu(norm->forward(conv->forward(x))), 2);
    }
    torch::nn::Conv2d conv;
    torch::nn::BatchNorm2d norm;
};
TORCH_MODULE(ConvBlock);

// Hu et al.'s squeeze-and-excitation: channel weights from the global mean.
struct SqueezeExcitationImpl : torch::nn::Module {
    SqueezeExcitationImpl(int64_t channels, int64_t reduction)
        : squeeze(register_module("squeeze", torch::nn::Linear(channels, std::max<int64_t>(1, channels / reduction)))),
          excite(register_module("excite", torch::nn::Linear(std::max<int64_t>(1, channels / reduction), channels))) {}
    torch::Tensor forward(const torch::Tensor& x) {
        const auto weights = torch::sigmoid(excite->forward(torch::relu(squeeze->forward(x.mean({2, 3})))));
        return x * weights.unsqueeze(-1).unsqueeze(-1);
    }
    torch::nn::Linear squeeze, excite;
};
TORCH_MODULE(SqueezeExcitation);

// The paper's SE-CNN trunk: three conv blocks (16, 32, 64 filters), each
// followed by squeeze-and-excitation. (B, 1, 128, 128) → (B, 64, 16, 16).
struct SeCnnTrunkImpl : torch::nn::Module {
    explicit SeCnnTrunkImpl(int64_t reduction)
        : b1(register_module("block1", ConvBlock(1, 16))),
          s1(register_module("se1", SqueezeExcitation(16, reduction))),
          b2(register_module("block2", ConvBlock(16, 32))),
          s2(register_module("se2", SqueezeExcitation(32, reduction))),
          b3(register_module("block3", ConvBlock(32, 64))),
          s3(register_module("se3", SqueezeExcitation(64, reduction))) {}
    torch::Tensor forward(const torch::Tensor& x) {
        return s3->forward(b3->forward(s2->forward(b2->forward(s1->forward(b1->forward(x))))));
    }
    ConvBlock b1;
    SqueezeExcitation s1;
    ConvBlock b2;
    SqueezeExcitation s2;
    ConvBlock b3;
    SqueezeExcitation s3;
};
TORCH_MODULE(SeCnnTrunk);

// Every chunk model: chunks × 1 × mels × frames in, chunks × targets out.
class ChunkNet : public torch::nn::Module {
public:
    virtual torch::Tensor forward(const torch::Tensor& x) = 0;
    // Attention over time steps of the last forward pass (chunks × steps), if the model has any.
    virtual torch::Tensor last_attention() const { return {}; }
    // Parameters trained at a learning rate of their own (a pretrained
    // backbone's), each with that rate; the loop trains every other
    // parameter that requires a gradient at its learning_rate. Empty: one
    // rate for all.
    virtual std::vector<std::pair<std::vector<torch::Tensor>, double>> own_learning_rates() const { return {}; }
};

}  // namespace mer::torchx
