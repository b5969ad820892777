// PANNs CNN14 in LibTorch and its checkpoint reader (see cnn14.hpp).
#include "core/torch/cnn14.hpp"

#include <caffe2/serialize/inline_container.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "core/checkpoint/state_dict_pickle.hpp"
#include "core/error.hpp"

namespace mer::torchx {

namespace fs = std::filesystem;
namespace F = torch::nn::functional;

namespace {

constexpr int64_t kBins = kCnn14Window / 2 + 1;  // 513
constexpr double kFminHz = 50, kFmaxHz = 14000;
constexpr int64_t kChannels[] = {1, 64, 128, 256, 512, 1024, 2048};

torch::Dtype dtype_of(const std::string& name) {
    static const std::map<std::string, torch::Dtype> kDtypes{
        {"float32", torch::kFloat32}, {"float64", torch::kFloat64}, {"float16", torch::kFloat16},
        {"bfloat16", torch::kBFloat16}, {"int64", torch::kInt64},   {"int32", torch::kInt32},
        {"int16", torch::kInt16},       {"int8", torch::kInt8},     {"uint8", torch::kUInt8},
        {"bool", torch::kBool}};
    return kDtypes.at(name);
}

std::string shape_text(at::IntArrayRef sizes) {
    return fmt::format("[{}]", fmt::join(sizes, ", "));
}

// The official model's forward pass up to the spectrogram, shared by the
// module and the inference copy: reflect padding of half a window each side
// (torchlibrosa's center=True), then the DFT as a strided convolution.
torch::Tensor padded(const torch::Tensor& waveform) {
    if (waveform.dim() != 2) throw Error("CNN14 reads a (batch, samples) waveform");
    if (waveform.size(1) < kCnn14MinSamples)
        throw Error(fmt::format("CNN14 needs at least {} samples ({:.2f} s at 32 kHz); got {}", kCnn14MinSamples,
                                static_cast<double>(kCnn14MinSamples) / kCnn14SampleRateHz, waveform.size(1)));
    return F::pad(waveform.unsqueeze(1), F::PadFuncOptions({kCnn14Window / 2, kCnn14Window / 2}).mode(torch::kReflect));
}

// mel power → dB with a 1e-10 floor and no top_db (torchlibrosa's defaults).
torch::Tensor to_db(const torch::Tensor& mel) {
    return 10.0 * torch::log10(torch::clamp_min(mel, 1e-10));
}

}  // namespace

std::vector<std::pair<std::string, torch::Tensor>> read_torch_checkpoint(const std::string& path,
                                                                         std::vector<std::string>* ignored) {
    const Location where(path);
    std::error_code ec;
    if (!fs::is_regular_file(path, ec))
        throw Error(fs::exists(path, ec) ? "the checkpoint is not a regular file" : "the checkpoint file does not exist",
                    where);
    {
        std::ifstream in(path, std::ios::binary);
        char head[4] = {};
        in.read(head, 4);
        if (std::memcmp(head, "PK\x03\x04", 4) != 0) {
            if (static_cast<unsigned char>(head[0]) == 0x80)
                throw Error("this is a legacy (pre-1.6, not zip) torch.save file, which mer reads only in the zip "
                            "format; convert it once with PyTorch: python3 scripts/panns-convert-checkpoint.py '" +
                                path + "' converted.pth",
                            where);
            throw Error("not a torch.save checkpoint (a zip archive with data.pkl was expected)", where);
        }
    }
    try {
        caffe2::serialize::PyTorchStreamReader reader(path);
        auto record = [&](const std::string& name) {
            if (!reader.hasRecord(name)) throw Error("the checkpoint archive has no record '" + name + "'", where);
            auto [data, size] = reader.getRecord(name);
            return std::string(static_cast<const char*>(data.get()), size);
        };
        if (reader.hasRecord("byteorder") && record("byteorder") != "little")
            throw Error("the checkpoint was saved on a big-endian machine; mer reads little-endian ones", where);
        const PickledStateDict pickled = read_state_dict_pickle(record("data.pkl"), path);
        if (ignored) *ignored = pickled.ignored;
        std::map<std::string, torch::Tensor> storages;
        std::vector<std::pair<std::string, torch::Tensor>> out;
        for (const PickledTensor& t : pickled.tensors) {
            auto found = storages.find(t.storage);
            if (found == storages.end()) {
                const std::string bytes = record("data/" + t.storage);
                if (bytes.size() != static_cast<std::size_t>(t.storage_elements) * t.element_bytes)
                    throw Error(fmt::format("storage '{}' of the checkpoint holds {} bytes where its tensors need {}",
                                            t.storage, bytes.size(), t.storage_elements * t.element_bytes),
                                where);
                torch::Tensor s = torch::empty({t.storage_elements}, dtype_of(t.dtype));
                if (!bytes.empty()) std::memcpy(s.data_ptr(), bytes.data(), bytes.size());
                found = storages.emplace(t.storage, s).first;
            }
            out.emplace_back(t.key, found->second.as_strided(t.sizes, t.strides, t.offset).clone());
        }
        return out;
    } catch (const c10::Error& e) {
        throw Error(std::string("cannot read the checkpoint archive: ") + e.what_without_backtrace(), where);
    }
}

void load_state_dict(torch::nn::Module& module, const std::vector<std::pair<std::string, torch::Tensor>>& state,
                     const std::string& file) {
    std::map<std::string, torch::Tensor> own;
    for (const auto& p : module.named_parameters(true)) own[p.key()] = p.value();
    for (const auto& b : module.named_buffers(true)) own[b.key()] = b.value();
    std::vector<std::string> problems;
    std::map<std::string, const torch::Tensor*> given;
    for (const auto& [key, tensor] : state) {
        given[key] = &tensor;
        const auto it = own.find(key);
        if (it == own.end())
            problems.push_back(fmt::format("it has '{}' {}, which CNN14 does not have", key, shape_text(tensor.sizes())));
        else if (it->second.sizes() != tensor.sizes())
            problems.push_back(fmt::format("'{}' has shape {} where CNN14's is {}", key, shape_text(tensor.sizes()),
                                           shape_text(it->second.sizes())));
    }
    for (const auto& [key, tensor] : own)
        if (!given.count(key)) problems.push_back(fmt::format("it lacks '{}' {}", key, shape_text(tensor.sizes())));
    if (!problems.empty()) {
        const std::size_t shown = std::min<std::size_t>(problems.size(), 5);
        throw Error(fmt::format("the checkpoint is not the official CNN14 (32 kHz, 64 mels, 527 classes): {}{}",
                                fmt::join(problems.begin(), problems.begin() + static_cast<std::ptrdiff_t>(shown), "; "),
                                problems.size() > shown ? fmt::format("; and {} more", problems.size() - shown) : ""),
                    Location(file));
    }
    // A NaN or an infinity in a weight changes every song's embedding (or
    // skips every song, blaming its audio): refused, naming the tensors.
    std::vector<std::string> damaged;
    for (const auto& [key, tensor] : state)
        if (at::isFloatingType(tensor.scalar_type())) {
            const int64_t bad = tensor.numel() - torch::isfinite(tensor).sum().item<int64_t>();
            if (bad > 0) damaged.push_back(fmt::format("'{}' holds {} NaN or infinite value{}", key, bad, bad == 1 ? "" : "s"));
        }
    if (!damaged.empty())
        throw Error(fmt::format("the checkpoint's weights are damaged: {} (a corrupted file, or a training run that "
                                "diverged); use the official weights",
                                fmt::join(damaged, "; ")),
                    Location(file));
    torch::NoGradGuard no_grad;
    for (const auto& [key, tensor] : state) own.at(key).copy_(tensor.to(own.at(key).dtype()));
}

Cnn14StftImpl::Cnn14StftImpl()
    : conv_real(register_module(
          "conv_real", torch::nn::Conv1d(torch::nn::Conv1dOptions(1, kBins, kCnn14Window).stride(kCnn14Hop).bias(false)))),
      conv_imag(register_module(
          "conv_imag", torch::nn::Conv1d(torch::nn::Conv1dOptions(1, kBins, kCnn14Window).stride(kCnn14Hop).bias(false)))) {
    const auto [real, imag] = cnn14_stft_kernels();
    torch::NoGradGuard no_grad;
    conv_real->weight.copy_(real);
    conv_imag->weight.copy_(imag);
    conv_real->weight.set_requires_grad(false);  // frozen, as torchlibrosa's
    conv_imag->weight.set_requires_grad(false);
}

Cnn14LogmelImpl::Cnn14LogmelImpl() {
    melW = register_parameter("melW", cnn14_mel_filterbank(), /*requires_grad=*/false);
}

Cnn14ConvBlockImpl::Cnn14ConvBlockImpl(int64_t in, int64_t out)
    : conv1(register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1).bias(false)))),
      conv2(register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(out, out, 3).padding(1).bias(false)))),
      bn1(register_module("bn1", torch::nn::BatchNorm2d(out))),
      bn2(register_module("bn2", torch::nn::BatchNorm2d(out))) {}

torch::Tensor Cnn14ConvBlockImpl::forward(const torch::Tensor& x, int64_t pool) {
    auto h = torch::relu(bn1->forward(conv1->forward(x)));
    h = torch::relu(bn2->forward(conv2->forward(h)));
    return pool > 1 ? torch::avg_pool2d(h, pool) : h;
}

Cnn14Impl::Cnn14Impl()
    : spectrogram_extractor(register_module("spectrogram_extractor", Cnn14Spectrogram())),
      logmel_extractor(register_module("logmel_extractor", Cnn14Logmel())),
      bn0(register_module("bn0", torch::nn::BatchNorm2d(kCnn14MelBins))),
      fc1(register_module("fc1", torch::nn::Linear(kCnn14Width, kCnn14Width))),
      fc_audioset(register_module("fc_audioset", torch::nn::Linear(kCnn14Width, kCnn14Classes))) {
    for (int b = 0; b < 6; ++b)
        blocks.push_back(register_module(fmt::format("conv_block{}", b + 1),
                                         Cnn14ConvBlock(kChannels[b], kChannels[b + 1])));
}

torch::Tensor Cnn14Impl::logmel(const torch::Tensor& waveform) {
    const torch::Tensor x = padded(waveform);
    auto& stft = spectrogram_extractor->stft;
    const torch::Tensor real = stft->conv_real->forward(x), imag = stft->conv_imag->forward(x);  // (B, 513, T)
    const torch::Tensor power = (real.pow(2) + imag.pow(2)).transpose(1, 2);                    // (B, T, 513)
    return to_db(torch::matmul(power, logmel_extractor->melW)).unsqueeze(1);                    // (B, 1, T, 64)
}

torch::Tensor Cnn14Impl::trunk(const torch::Tensor& logmel) {
    torch::Tensor x = bn0->forward(logmel.transpose(1, 3)).transpose(1, 3);  // bn0 over mel bins
    for (std::size_t b = 0; b < blocks.size(); ++b) {
        x = blocks[b]->forward(x, b + 1 < blocks.size() ? 2 : 1);
        x = F::dropout(x, F::DropoutFuncOptions().p(0.2).training(is_training()));
    }
    return x.mean(3);
}

Cnn14Outputs Cnn14Impl::head(const torch::Tensor& trunk_out) {
    Cnn14Outputs out;
    out.conv_max = std::get<0>(trunk_out.max(2));
    out.conv_mean_max = out.conv_max + trunk_out.mean(2);
    const torch::Tensor x =
        torch::relu(fc1->forward(F::dropout(out.conv_mean_max, F::DropoutFuncOptions().p(0.5).training(is_training()))));
    out.embedding = F::dropout(x, F::DropoutFuncOptions().p(0.5).training(is_training()));
    out.clipwise = torch::sigmoid(fc_audioset->forward(x));
    return out;
}

std::pair<torch::Tensor, torch::Tensor> cnn14_stft_kernels() {
    // In float64, as torchlibrosa builds them (numpy), then float32.
    torch::Tensor real = torch::empty({kBins, 1, kCnn14Window}, torch::kFloat64);
    torch::Tensor imag = torch::empty({kBins, 1, kCnn14Window}, torch::kFloat64);
    auto r = real.accessor<double, 3>();
    auto i = imag.accessor<double, 3>();
    const double n_fft = static_cast<double>(kCnn14Window);
    for (int64_t n = 0; n < kCnn14Window; ++n) {
        const double window = 0.5 - 0.5 * std::cos(2 * M_PI * static_cast<double>(n) / n_fft);  // periodic Hann
        for (int64_t k = 0; k < kBins; ++k) {
            // The angle reduced modulo 2π exactly in integers first: k·n mod N.
            const double angle = 2 * M_PI * static_cast<double>((k * n) % kCnn14Window) / n_fft;
            r[k][0][n] = std::cos(angle) * window;
            i[k][0][n] = -std::sin(angle) * window;
        }
    }
    return {real.to(torch::kFloat32), imag.to(torch::kFloat32)};
}

torch::Tensor cnn14_mel_filterbank() {
    // librosa.filters.mel(sr=32000, n_fft=1024, n_mels=64, fmin=50, fmax=14000),
    // Slaney scale and area normalisation, in float64; transposed to (513, 64).
    auto to_mel = [](double hz) {
        const double f_sp = 200.0 / 3, min_log_hz = 1000, min_log_mel = min_log_hz / f_sp, step = std::log(6.4) / 27;
        return hz >= min_log_hz ? min_log_mel + std::log(hz / min_log_hz) / step : hz / f_sp;
    };
    auto to_hz = [](double mel) {
        const double f_sp = 200.0 / 3, min_log_hz = 1000, min_log_mel = min_log_hz / f_sp, step = std::log(6.4) / 27;
        return mel >= min_log_mel ? min_log_hz * std::exp(step * (mel - min_log_mel)) : f_sp * mel;
    };
    std::vector<double> edges(kCnn14MelBins + 2);
    const double lo = to_mel(kFminHz), hi = to_mel(kFmaxHz);
    for (std::size_t e = 0; e < edges.size(); ++e)
        edges[e] = to_hz(lo + (hi - lo) * static_cast<double>(e) / static_cast<double>(edges.size() - 1));
    torch::Tensor w = torch::zeros({kBins, kCnn14MelBins}, torch::kFloat64);
    auto a = w.accessor<double, 2>();
    for (int64_t m = 0; m < kCnn14MelBins; ++m) {
        const double left = edges[m], centre = edges[m + 1], right = edges[m + 2];
        const double norm = 2.0 / (right - left);
        for (int64_t b = 0; b < kBins; ++b) {
            const double f = static_cast<double>(b) * (kCnn14SampleRateHz / 2.0) / static_cast<double>(kBins - 1);
            const double lower = (f - left) / (centre - left), upper = (right - f) / (right - centre);
            a[b][m] = std::max(0.0, std::min(lower, upper)) * norm;
        }
    }
    return w.to(torch::kFloat32);
}

Cnn14Inference::Cnn14Inference(Cnn14Impl& model) {
    torch::NoGradGuard no_grad;
    const auto& stft = model.spectrogram_extractor->stft;
    stft_kernel_ = torch::cat({stft->conv_real->weight, stft->conv_imag->weight}, 0).detach().squeeze(1).t().contiguous();
    mel_ = model.logmel_extractor->melW.detach().clone();
    // y = (x − mean) / sqrt(var + eps) · γ + β = x · scale + shift, in float64.
    auto fold = [](const torch::nn::BatchNorm2d& bn) {
        const auto var = bn->running_var.to(torch::kFloat64), mean = bn->running_mean.to(torch::kFloat64);
        const auto scale = bn->weight.detach().to(torch::kFloat64) / torch::sqrt(var + bn->options.eps());
        const auto shift = bn->bias.detach().to(torch::kFloat64) - mean * scale;
        return std::make_pair(scale, shift);
    };
    const auto [s0, b0] = fold(model.bn0);
    bn0_scale_ = s0.to(torch::kFloat32);
    bn0_shift_ = b0.to(torch::kFloat32);
    for (const auto& block : model.blocks)
        for (const auto& [conv, bn] : {std::make_pair(block->conv1, block->bn1), std::make_pair(block->conv2, block->bn2)}) {
            const auto [scale, shift] = fold(bn);
            const auto w = conv->weight.detach().to(torch::kFloat64) * scale.view({-1, 1, 1, 1});
            convs_.emplace_back(w.to(torch::kFloat32).contiguous(), shift.to(torch::kFloat32));
        }
    fc1_w_ = model.fc1->weight.detach().clone();
    fc1_b_ = model.fc1->bias.detach().clone();
    fc_w_ = model.fc_audioset->weight.detach().clone();
    fc_b_ = model.fc_audioset->bias.detach().clone();
    to(torch::kCPU);
}

void Cnn14Inference::to(const torch::Device& device) {
    for (torch::Tensor* t : {&stft_kernel_, &mel_, &bn0_scale_, &bn0_shift_, &fc1_w_, &fc1_b_, &fc_w_, &fc_b_})
        *t = t->to(device);
    for (auto& [w, b] : convs_) {
        w = w.to(device);
        b = b.to(device);
    }
    blocked_.clear();
    if (device.is_cpu() && at::hasMKLDNN())
        for (const auto& [w, b] : convs_)
            blocked_.push_back(torch::mkldnn_reorder_conv2d_weight(w.to_mkldnn(), {1, 1}, {1, 1}, {1, 1}, 1));
}

torch::Tensor Cnn14Inference::logmel(const torch::Tensor& waveform) const {
    torch::InferenceMode guard;
    const torch::Tensor frames = padded(waveform).squeeze(1).unfold(1, kCnn14Window, kCnn14Hop);  // (B, T, 1024)
    const torch::Tensor spectrum = torch::matmul(frames, stft_kernel_);                            // (B, T, 1026)
    const torch::Tensor power = spectrum.slice(2, 0, kBins).square() + spectrum.slice(2, kBins).square();
    return to_db(torch::matmul(power, mel_)).unsqueeze(1);
}

Cnn14Outputs Cnn14Inference::run(const torch::Tensor& waveform) const {
    torch::InferenceMode guard;
    torch::Tensor x = logmel(waveform) * bn0_scale_ + bn0_shift_;
    const bool blocked = !blocked_.empty() && x.is_cpu();
    if (blocked) x = x.to_mkldnn();
    for (std::size_t c = 0; c < convs_.size(); ++c) {
        x = blocked ? torch::mkldnn_convolution(x, blocked_[c], convs_[c].second, {1, 1}, {1, 1}, {1, 1}, 1)
                    : torch::conv2d(x, convs_[c].first, convs_[c].second, 1, 1);
        x = x.relu_();
        if (c % 2 == 1 && c + 1 < convs_.size()) x = torch::avg_pool2d(x, 2);
    }
    if (blocked) x = x.to_dense();
    x = x.mean(3);  // (B, 2048, T')
    Cnn14Outputs out;
    out.conv_max = std::get<0>(x.max(2));
    out.conv_mean_max = out.conv_max + x.mean(2);
    out.embedding = torch::linear(out.conv_mean_max, fc1_w_, fc1_b_).relu_();
    out.clipwise = torch::sigmoid(torch::linear(out.embedding, fc_w_, fc_b_));
    return out;
}

}  // namespace mer::torchx
