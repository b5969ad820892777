// PANNs CNN14 (Kong et al., 2020) in LibTorch, with the official module and
// parameter names, so the released checkpoint (Cnn14_mAP=0.431.pth) loads as
// it is: the front end at 32 kHz (STFT as two frozen convolutions, Slaney
// mel 64 bands 50–14 000 Hz, dB with no top_db), bn0 over mel bins, six conv
// blocks, max+mean pooling over time, fc1 → 2048-d embedding, fc_audioset →
// 527 AudioSet tags. docs/panns.md describes each stage.
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace mer::torchx {

inline constexpr int kCnn14SampleRateHz = 32000;
inline constexpr int64_t kCnn14Window = 1024;
inline constexpr int64_t kCnn14Hop = 320;
inline constexpr int64_t kCnn14MelBins = 64;
inline constexpr int64_t kCnn14Width = 2048;
inline constexpr int64_t kCnn14Classes = 527;
// The shortest input the five 2 × 2 poolings leave a time step of: 32 frames.
inline constexpr int64_t kCnn14MinSamples = 31 * kCnn14Hop;

// The state dict of a torch.save zip checkpoint (PANNs' {'model': …} or a
// bare state dict), read without Python (core/checkpoint/state_dict_pickle.hpp).
// A legacy (pre-zip) file is refused with the command that converts it.
// `ignored` receives the top-level entries other than the weights.
std::vector<std::pair<std::string, torch::Tensor>> read_torch_checkpoint(const std::string& path,
                                                                         std::vector<std::string>* ignored = nullptr);

// Copies `state` into `module`'s parameters and buffers; every key must be
// there with its shape, and nothing else. Errors name the key (and both
// shapes) and `file`.
void load_state_dict(torch::nn::Module& module, const std::vector<std::pair<std::string, torch::Tensor>>& state,
                     const std::string& file);

struct Cnn14StftImpl : torch::nn::Module {
    Cnn14StftImpl();
    torch::nn::Conv1d conv_real, conv_imag;
};
TORCH_MODULE(Cnn14Stft);

struct Cnn14SpectrogramImpl : torch::nn::Module {
    Cnn14SpectrogramImpl() : stft(register_module("stft", Cnn14Stft())) {}
    Cnn14Stft stft;
};
TORCH_MODULE(Cnn14Spectrogram);

struct Cnn14LogmelImpl : torch::nn::Module {
    Cnn14LogmelImpl();
    torch::Tensor melW;  // (513, 64)
};
TORCH_MODULE(Cnn14Logmel);

struct Cnn14ConvBlockImpl : torch::nn::Module {
    Cnn14ConvBlockImpl(int64_t in, int64_t out);
    // conv → bn → ReLU twice, then average pooling of `pool` × `pool`.
    torch::Tensor forward(const torch::Tensor& x, int64_t pool);
    torch::nn::Conv2d conv1, conv2;
    torch::nn::BatchNorm2d bn1, bn2;
};
TORCH_MODULE(Cnn14ConvBlock);

// What one forward pass gives, each (batch × width).
struct Cnn14Outputs {
    torch::Tensor embedding;      // relu(fc1(pooled)): PANNs' `embedding`, 2048
    torch::Tensor clipwise;       // sigmoid(fc_audioset(embedding)): AudioSet tags, 527
    torch::Tensor conv_max;       // conv block 6, mean over mel, max over time, 2048
    torch::Tensor conv_mean_max;  // the same, max + mean over time (what fc1 reads), 2048
};

class Cnn14Impl : public torch::nn::Module {
public:
    Cnn14Impl();

    // (batch, samples) mono 32 kHz in [-1, 1] → (batch, 1, frames, 64) log-mel
    // in dB, before bn0. Frames = 1 + samples / 320.
    torch::Tensor logmel(const torch::Tensor& waveform);
    // log-mel → conv block 6 averaged over mel: (batch, 2048, frames / 32).
    // Training mode applies dropout as the official model does.
    torch::Tensor trunk(const torch::Tensor& logmel);
    // trunk output → every output.
    Cnn14Outputs head(const torch::Tensor& trunk_out);
    Cnn14Outputs forward(const torch::Tensor& waveform) { return head(trunk(logmel(waveform))); }

    Cnn14Spectrogram spectrogram_extractor;
    Cnn14Logmel logmel_extractor;
    torch::nn::BatchNorm2d bn0;
    std::vector<Cnn14ConvBlock> blocks;  // conv_block1 … conv_block6
    torch::nn::Linear fc1, fc_audioset;
};
TORCH_MODULE(Cnn14);

// The official front end's frozen tensors, rebuilt from their formulas (for
// checking a checkpoint's and for tests): the STFT kernels, cos and −sin of
// the DFT times a periodic Hann window, (513, 1, 1024) each, and the Slaney
// mel filterbank (513, 64).
std::pair<torch::Tensor, torch::Tensor> cnn14_stft_kernels();
torch::Tensor cnn14_mel_filterbank();

// Inference only: the same model with every batch norm after a convolution
// folded into it (fewer passes over memory), the STFT as one matrix product
// over frames, and on the CPU the conv blocks in oneDNN's blocked layout
// with weights reordered once (LibTorch's conv2d reorders on every call):
// about 1.5× the official model's speed. Its own copy of the weights; gives
// the official outputs to float32 rounding.
class Cnn14Inference {
public:
    explicit Cnn14Inference(Cnn14Impl& model);
    Cnn14Outputs run(const torch::Tensor& waveform) const;
    // The front end alone: (batch, 1, frames, 64) log-mel in dB, before bn0.
    torch::Tensor logmel(const torch::Tensor& waveform) const;
    // Where the weights live: "cpu" or "cuda:N".
    void to(const torch::Device& device);

private:
    torch::Tensor stft_kernel_, mel_, bn0_scale_, bn0_shift_;     // stft_kernel_: (1024, 1026), real | imag
    std::vector<std::pair<torch::Tensor, torch::Tensor>> convs_;  // (weight, bias) per conv, 12, dense
    std::vector<torch::Tensor> blocked_;                          // the conv weights in oneDNN's layout (CPU)
    torch::Tensor fc1_w_, fc1_b_, fc_w_, fc_b_;
};

}  // namespace mer::torchx
