// The shared LibTorch training loop (see chunk_regressor.hpp).
#include "core/torch/chunk_regressor.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/autocast_mode.h>
#include <torch/version.h>
#include <fmt/format.h>

#include <filesystem>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <sstream>

#include "core/data/npy.hpp"
#include "core/error.hpp"
#include "core/plugin/capabilities.hpp"
#include "core/run/files.hpp"
#include "core/run/heap.hpp"

namespace mer::torchx {

namespace fs = std::filesystem;

TrainingSettings TrainingSettings::from(const nlohmann::json& p) {
    TrainingSettings s;
    s.epochs = p.at("epochs").get<int>();
    s.batch_size = p.at("batch_size").get<int>();
    s.learning_rate = p.at("learning_rate").get<double>();
    s.weight_decay = p.at("weight_decay").get<double>();
    s.patience = p.at("patience").get<int>();
    s.grad_clip = p.at("grad_clip").get<double>();
    s.dropout = p.at("dropout").get<double>();
    s.normalize = p.at("normalize").get<std::string>();
    s.device = p.at("device").get<std::string>();
    s.precision = p.value("precision", "fp32");
    return s;
}

torch::Device resolve_device(const std::string& name) {
    if (name.empty() || name == "cpu") return torch::kCPU;
    if (name == "auto")
        return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
    if (!torch::cuda::is_available())
        throw environment_error("device '" + name +
                                "' was asked for, but this LibTorch has no CUDA device (Debian's libtorch is "
                                "CPU-only; build mer against a CUDA LibTorch, see docs/models.md, or use device: cpu)");
    const torch::Device device(name);
    const auto count = static_cast<int>(torch::cuda::device_count());
    if (device.is_cuda() && device.has_index() && device.index() >= count)
        throw environment_error(
            fmt::format("device '{}' was asked for, but this machine has {} CUDA device{} (cuda:0{})", name, count,
                        count == 1 ? "" : "s", count > 1 ? fmt::format(" … cuda:{}", count - 1) : ""));
    return device;
}

Chunks load_chunks(const SongTable& songs) {
    if (songs.tensor_paths.size() != songs.size())
        throw Error("this model reads log-mel chunks: put features.logmel_chunks between the dataset and the model");
    return load_chunk_files(songs, 4, "a chunks × 1 × mels × frames tensor");
}

Chunks load_chunk_files(const SongTable& songs, std::size_t rank, const std::string& layout) {
    const bool first_decides = rank == 0;
    std::vector<torch::Tensor> parts;
    Chunks out;
    out.songs = songs.size();
    for (std::size_t s = 0; s < songs.size(); ++s) {
        std::vector<std::size_t> shape;
        std::vector<float> values = read_npy_float32(songs.tensor_paths[s], shape);
        if (first_decides && s == 0) rank = shape.size();
        if (shape.size() != rank || shape[0] == 0)
            throw Error("expected " + layout + (first_decides ? fmt::format(" ({} axes)", rank) : ""),
                        Location(songs.tensor_paths[s]));
        std::vector<int64_t> dims(shape.begin(), shape.end());
        parts.push_back(torch::from_blob(values.data(), dims, torch::kFloat32).clone());
        for (std::size_t c = 0; c < shape[0]; ++c) out.song_of_chunk.push_back(static_cast<int64_t>(s));
    }
    out.x = torch::cat(parts, 0);
    return out;
}

Chunks table_rows(const SongTable& songs) {
    Chunks out;
    out.songs = songs.size();
    out.x = torch::empty({songs.features.rows(), songs.features.cols()}, torch::kFloat32);
    auto a = out.x.accessor<float, 2>();
    for (Eigen::Index r = 0; r < songs.features.rows(); ++r) {
        for (Eigen::Index c = 0; c < songs.features.cols(); ++c) a[r][c] = static_cast<float>(songs.features(r, c));
        out.song_of_chunk.push_back(r);
    }
    return out;
}

torch::Tensor to_tensor(const Eigen::MatrixXd& m) {
    torch::Tensor t = torch::empty({m.rows(), m.cols()}, torch::kFloat32);
    auto a = t.accessor<float, 2>();
    for (Eigen::Index r = 0; r < m.rows(); ++r)
        for (Eigen::Index c = 0; c < m.cols(); ++c) a[r][c] = static_cast<float>(m(r, c));
    return t;
}

Eigen::MatrixXd to_matrix(const torch::Tensor& t) {
    const torch::Tensor c = t.to(torch::kCPU).to(torch::kFloat64).contiguous();
    Eigen::MatrixXd m(c.size(0), c.size(1));
    auto a = c.accessor<double, 2>();
    for (Eigen::Index r = 0; r < m.rows(); ++r)
        for (Eigen::Index col = 0; col < m.cols(); ++col) m(r, col) = a[r][col];
    return m;
}

Error torch_error(const c10::Error& e, const std::string& while_doing) {
    return Error("LibTorch failed while " + while_doing + ": " + e.what_without_backtrace());
}

torch::Device start_inference(const std::string& device_param, const PluginContext& ctx) {
    const std::string asked = device_param.empty() ? ctx.device : device_param;
    const torch::Device device = resolve_device(asked);
    ctx.record("device", {{"asked", asked}, {"used", device.str()}});
    at::set_num_threads(std::max(1, ctx.threads));
    return device;
}

torch::Device start_training(const std::string& device_param, const PluginContext& ctx) {
    keep_large_blocks_in_heap();  // every batch allocates and frees tens of MiB of activations
    torch::manual_seed(ctx.seed);
    const torch::Device device = start_inference(device_param, ctx);
    const std::string asked = device_param.empty() ? ctx.device : device_param;
    if (asked != "cpu" && !device.is_cuda())
        ctx.info("device '" + asked + "' was asked for and LibTorch sees no CUDA device: training on the CPU");
    if (device.is_cuda()) {  // the same kernels every run, not the fastest of an autotuning pass
        at::globalContext().setDeterministicCuDNN(true);
        at::globalContext().setBenchmarkCuDNN(false);
    }
    return device;
}

std::vector<torch::Tensor> copy_weights(const torch::nn::Module& net) {
    std::vector<torch::Tensor> weights;
    for (const auto& p : net.parameters()) weights.push_back(p.detach().clone());
    for (const auto& b : net.buffers()) weights.push_back(b.detach().clone());
    return weights;
}

void restore_weights(torch::nn::Module& net, const std::vector<torch::Tensor>& weights) {
    torch::NoGradGuard no_grad;
    std::size_t i = 0;
    for (auto& p : net.parameters()) p.copy_(weights.at(i++));
    for (auto& b : net.buffers()) b.copy_(weights.at(i++));
}

namespace {

// Each chunk gets its song's targets.
Eigen::MatrixXd chunk_targets(const SongTable& songs, const Chunks& chunks) {
    Eigen::MatrixXd y(static_cast<Eigen::Index>(chunks.song_of_chunk.size()), songs.targets.cols());
    for (std::size_t c = 0; c < chunks.song_of_chunk.size(); ++c)
        y.row(static_cast<Eigen::Index>(c)) = songs.targets.row(chunks.song_of_chunk[c]);
    return y;
}

// Song predictions: the mean of each song's chunk predictions.
Eigen::MatrixXd song_means(const Eigen::MatrixXd& per_chunk, const Chunks& chunks) {
    Eigen::MatrixXd sums = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(chunks.songs), per_chunk.cols());
    Eigen::VectorXd counts = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(chunks.songs));
    for (std::size_t c = 0; c < chunks.song_of_chunk.size(); ++c) {
        sums.row(chunks.song_of_chunk[c]) += per_chunk.row(static_cast<Eigen::Index>(c));
        counts(chunks.song_of_chunk[c]) += 1;
    }
    for (Eigen::Index s = 0; s < sums.rows(); ++s) sums.row(s) /= std::max(1.0, counts(s));
    return sums;
}

// LibTorch's autocast for the forward passes in its scope, on the device's
// type, in 16 bits (precision bf16 or fp16); nothing for fp32, nor for fp16
// on the CPU (a model trained in fp16 on a GPU rates music on a machine
// without one in fp32). Leaving the scope turns it off again and drops the
// cached 16-bit copies of the weights; scopes are never nested.
class Autocast {
public:
    Autocast(const torch::Device& device, const std::string& precision) {
        if (precision == "fp32" || (precision == "fp16" && !device.is_cuda())) return;
        const at::ScalarType type = precision == "fp16" ? at::kHalf : at::kBFloat16;
        cuda_ = device.is_cuda();
        set(true, type);
    }
    ~Autocast() {
        if (!on_) return;
        set(false, std::nullopt);
        at::autocast::clear_cache();
    }
    Autocast(const Autocast&) = delete;
    Autocast& operator=(const Autocast&) = delete;

private:
    void set(bool on, std::optional<at::ScalarType> type) {
        on_ = on;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
        const at::DeviceType kind = cuda_ ? at::kCUDA : at::kCPU;
        if (type) at::autocast::set_autocast_dtype(kind, *type);
        at::autocast::set_autocast_enabled(kind, on);
#else
        if (cuda_) {
            if (type) at::autocast::set_autocast_gpu_dtype(*type);
            at::autocast::set_enabled(on);
        } else {
            if (type) at::autocast::set_autocast_cpu_dtype(*type);
            at::autocast::set_cpu_enabled(on);
        }
#endif
    }
    bool cuda_ = false, on_ = false;
};

// clip_grad_norm_ without waiting for the device: LibTorch's C++ version
// reads the total norm back to the host to return it, every batch. The same
// arithmetic otherwise (per-parameter 2-norms, their 2-norm, the factor
// max_norm / (norm + 1e-6) clamped at 1, in the gradients' type).
void clip_gradients(const std::vector<torch::Tensor>& parameters, double max_norm) {
    std::vector<torch::Tensor> grads, norms;
    for (const auto& p : parameters)
        if (p.grad().defined()) grads.push_back(p.grad()), norms.push_back(p.grad().norm(2));
    if (grads.empty()) return;
    const torch::Tensor total = norms.size() == 1 ? norms[0] : torch::stack(norms).norm(2);
    const torch::Tensor coef = (max_norm / (total + 1e-6)).clamp_max(1.0);
    torch::NoGradGuard no_grad;
    for (auto& g : grads) g.mul_(coef);
}

// fp16 training's dynamic loss scale, as PyTorch's GradScaler keeps it: the
// loss is multiplied by the scale before backward, the gradients divided by
// it after; a step whose gradients overflowed is skipped and the scale
// halved, and it doubles after 2 000 steps without overflow.
class LossScale {
public:
    LossScale(bool on, const torch::Device& device) : on_(on) {
        if (!on_) return;
        scale_ = torch::full({1}, 65536.0f, torch::TensorOptions().device(device));
        growth_ = torch::zeros({1}, torch::TensorOptions().dtype(torch::kInt32).device(device));
    }
    torch::Tensor scaled(const torch::Tensor& loss) const { return on_ ? loss * scale_ : loss; }
    // Unscales the gradients; false when they overflowed (skip the step).
    bool unscale(const std::vector<torch::Tensor>& parameters) {
        if (!on_) return true;
        std::vector<torch::Tensor> grads;
        for (const auto& p : parameters)
            if (p.grad().defined()) grads.push_back(p.grad());
        found_inf_ = torch::zeros({1}, scale_.options());
        at::_amp_foreach_non_finite_check_and_unscale_(grads, found_inf_, scale_.reciprocal());
        return found_inf_.item<float>() == 0;  // a host sync per step, as GradScaler's
    }
    void update() {
        if (on_) at::_amp_update_scale_(scale_, growth_, found_inf_, 2.0, 0.5, 2000);
    }
    // Kept in the checkpoint, so a resumed fp16 run scales as the uninterrupted one.
    void save(torch::serialize::OutputArchive& archive) const {
        if (on_) archive.write("loss_scale", scale_), archive.write("loss_scale_growth", growth_);
    }
    void load(torch::serialize::InputArchive& archive) {
        if (!on_) return;
        torch::Tensor scale, growth;
        archive.read("loss_scale", scale);
        archive.read("loss_scale_growth", growth);
        scale_.copy_(scale);
        growth_.copy_(growth);
    }

private:
    bool on_;
    torch::Tensor scale_, growth_, found_inf_;
};

}  // namespace

// What Adam trains: every parameter at `learning_rate` (one group, as
// always), or, for a network with parameters at rates of their own (a
// pretrained backbone), those groups and one for the remaining trainable
// parameters; frozen ones (no gradient) are left out.
static std::vector<torch::optim::OptimizerParamGroup> parameter_groups(const ChunkNet& net, double learning_rate,
                                                                      double weight_decay) {
    const auto own = net.own_learning_rates();
    if (own.empty()) return {torch::optim::OptimizerParamGroup(net.parameters())};
    std::vector<torch::optim::OptimizerParamGroup> groups;
    std::set<const void*> placed;
    for (const auto& [params, rate] : own) {
        for (const auto& p : params) placed.insert(p.unsafeGetTensorImpl());
        groups.emplace_back(params, std::make_unique<torch::optim::AdamOptions>(
                                        torch::optim::AdamOptions(rate).weight_decay(weight_decay)));
    }
    std::vector<torch::Tensor> rest;
    for (const auto& p : net.parameters())
        if (p.requires_grad() && !placed.count(p.unsafeGetTensorImpl())) rest.push_back(p);
    groups.emplace_back(rest, std::make_unique<torch::optim::AdamOptions>(
                                  torch::optim::AdamOptions(learning_rate).weight_decay(weight_decay)));
    return groups;
}

struct ChunkRegressor::State {
    int64_t outputs = 0;
    std::shared_ptr<ChunkNet> net;
    torch::Device device = torch::kCPU;
    float mean = 0, scale = 1;                   // dataset normalisation
    torch::Tensor feature_mean, feature_scale;   // feature normalisation: per input value
    int64_t input_width = 0;
    int best_epoch = 0;

    // x normalised, on the training device, in one tensor: a GPU keeps a
    // fold's chunks resident (every batch is gathered there, none copied from
    // the host); on the CPU x itself is overwritten, block by block.
    torch::Tensor prepare(torch::Tensor x, const std::string& mode) const {
        torch::Tensor out = device.is_cpu() ? x : torch::empty(x.sizes(), x.options().device(device));
        const int64_t n = x.size(0), block = 1024;
        for (int64_t start = 0; start < n; start += block) {
            const int64_t end = std::min(n, start + block);
            out.slice(0, start, end).copy_(normalise(x.slice(0, start, end), mode));
        }
        return out;
    }

    // The network's outputs (rows × targets, float32, on the device) for
    // rows already prepared, or raw rows normalised batch by batch.
    torch::Tensor forward_all(const torch::Tensor& x, bool prepared, int64_t batch, const std::string& mode,
                              const std::string& precision) const {
        torch::NoGradGuard no_grad;
        net->eval();
        std::vector<torch::Tensor> outputs;
        const int64_t n = x.size(0);
        const Autocast autocast(device, precision);  // the weights cast once per pass
        for (int64_t start = 0; start < n; start += batch) {
            const torch::Tensor rows = x.slice(0, start, std::min(n, start + batch));
            const torch::Tensor in = prepared ? rows : normalise(rows, mode).to(device);
            outputs.push_back(net->forward(in).to(torch::kFloat32));
        }
        return torch::cat(outputs, 0);
    }

    torch::Tensor normalise(const torch::Tensor& x, const std::string& mode) const {
        if (mode == "dataset") return (x - mean) / scale;
        if (mode == "feature") return (x - feature_mean) / feature_scale;
        if (mode == "chunk") {
            std::vector<int64_t> dims(static_cast<std::size_t>(x.dim() - 1));
            std::iota(dims.begin(), dims.end(), 1);
            const auto m = x.mean(dims, true);
            const auto s = x.std(dims, false, true).clamp_min(1e-6);
            return (x - m) / s;
        }
        return x;
    }
};

ChunkRegressor::ChunkRegressor(const nlohmann::json& params)
    : settings_(TrainingSettings::from(params)), state_(std::make_unique<State>()) {}

ChunkRegressor::~ChunkRegressor() = default;

std::shared_ptr<ChunkNet> ChunkRegressor::network() const {
    return state_->net;
}
int ChunkRegressor::best_epoch() const {
    return state_->best_epoch;
}
int64_t ChunkRegressor::input_width() const {
    return state_->input_width;
}
void ChunkRegressor::set_input_width(int64_t width) {
    state_->input_width = width;
}

Eigen::MatrixXd ChunkRegressor::predict_chunks(const Chunks& chunks) const {
    try {
        if (!state_->net) throw Error("the model is not fitted");
        return to_matrix(state_->forward_all(chunks.x, false, std::max(1, settings_.batch_size) * 4,
                                             settings_.normalize, settings_.precision));
    } catch (const c10::Error& e) {
        throw torch_error(e, "rating chunks");
    }
}

std::vector<Eigen::MatrixXd> ChunkRegressor::predict_chunks(const SongTable& songs) const {
    try {
        const Chunks chunks = load_inputs(songs);
        const Eigen::MatrixXd all = predict_chunks(chunks);
        std::vector<Eigen::MatrixXd> out(songs.size());
        std::vector<std::vector<Eigen::Index>> rows(songs.size());
        for (std::size_t c = 0; c < chunks.song_of_chunk.size(); ++c)
            rows[static_cast<std::size_t>(chunks.song_of_chunk[c])].push_back(static_cast<Eigen::Index>(c));
        for (std::size_t s = 0; s < songs.size(); ++s) {
            out[s].resize(static_cast<Eigen::Index>(rows[s].size()), all.cols());
            for (std::size_t i = 0; i < rows[s].size(); ++i)
                out[s].row(static_cast<Eigen::Index>(i)) = all.row(rows[s][i]);
        }
        return out;
    } catch (const c10::Error& e) {
        throw torch_error(e, "rating chunks");
    }
}

Eigen::MatrixXd ChunkRegressor::predict(const SongTable& songs) const {
    try {
        const Chunks chunks = load_inputs(songs);
        return song_means(predict_chunks(chunks), chunks);
    } catch (const c10::Error& e) {
        throw torch_error(e, "rating songs");
    }
}

nlohmann::json ChunkRegressor::query(const std::string& capability) const {
    if (capability != capability::kInputShape) return nullptr;
    nlohmann::json shape = nlohmann::json::array();
    for (int64_t d : input_shape()) shape.push_back(d > 0 ? nlohmann::json(d) : nlohmann::json(nullptr));
    return {{"shape", shape}, {"axes", {"channels", "mels", "frames"}}};
}

void ChunkRegressor::save(const std::string& dir) const {
    try {
        if (!state_->net) throw Error("the model is not fitted");
        fs::create_directories(dir);
        torch::serialize::OutputArchive archive;
        state_->net->save(archive);
        archive.save_to((fs::path(dir) / "model.pt").string());
        nlohmann::json meta{{"outputs", state_->outputs},
                            {"mean", state_->mean},
                            {"scale", state_->scale},
                            {"best_epoch", state_->best_epoch},
                            {"normalize", settings_.normalize}};
        if (settings_.normalize == "feature") {
            meta["feature_mean"] = std::vector<float>(state_->feature_mean.data_ptr<float>(),
                                                      state_->feature_mean.data_ptr<float>() + state_->feature_mean.numel());
            meta["feature_scale"] = std::vector<float>(
                state_->feature_scale.data_ptr<float>(), state_->feature_scale.data_ptr<float>() + state_->feature_scale.numel());
        }
        write_file_atomic(fs::path(dir) / "model.json", meta.dump(2) + "\n");
    } catch (const c10::Error& e) {
        throw torch_error(e, "saving the model");
    }
}

void ChunkRegressor::load(const std::string& dir) {
    try {
        const auto meta = nlohmann::json::parse(read_text_file(fs::path(dir) / "model.json"));
        state_->outputs = meta.at("outputs").get<int64_t>();
        state_->mean = meta.at("mean").get<float>();
        state_->scale = meta.at("scale").get<float>();
        state_->best_epoch = meta.at("best_epoch").get<int>();
        if (settings_.normalize == "feature") {
            auto values = [&](const char* key) {
                auto v = meta.at(key).get<std::vector<float>>();
                return torch::from_blob(v.data(), {static_cast<int64_t>(v.size())}, torch::kFloat32).clone();
            };
            state_->feature_mean = values("feature_mean");
            state_->feature_scale = values("feature_scale");
            if (state_->feature_mean.numel() != state_->feature_scale.numel())
                throw Error("feature_mean and feature_scale differ in length", Location((fs::path(dir) / "model.json").string()));
        }
        state_->net = make_network(state_->outputs, settings_.dropout);
        torch::serialize::InputArchive archive;
        // Onto the CPU first: a model trained on a GPU loads on a machine without one.
        archive.load_from((fs::path(dir) / "model.pt").string(), torch::Device(torch::kCPU));
        state_->net->load(archive);
        // Rating music works anywhere: on the device the model was set up for
        // where there is one, on the CPU otherwise.
        try {
            state_->device = resolve_device(settings_.device);
        } catch (const Error&) {
            state_->device = torch::kCPU;
        }
        state_->net->to(state_->device);
    } catch (const c10::Error& e) {
        throw torch_error(e, "loading the model");
    }
}

void ChunkRegressor::fit(const SongTable& train, const SongTable* validation, const EpochCallback& on_epoch,
                         const PluginContext& ctx) {
    try {
        state_->device = start_training(settings_.device, ctx);
        if (settings_.precision == "fp16" && !state_->device.is_cuda())
            throw Error("precision: fp16 needs a CUDA device (LibTorch's CPU autocast runs bf16): use precision: bf16 "
                        "or fp32 on the CPU");
        Chunks train_chunks = load_inputs(train);
        Chunks valid_chunks = validation ? load_inputs(*validation) : Chunks{};
        state_->input_width = train_chunks.x.size(0) ? train_chunks.x.numel() / train_chunks.x.size(0) : 0;
        const Eigen::MatrixXd train_y = chunk_targets(train, train_chunks);
        const Eigen::MatrixXd valid_y = validation ? chunk_targets(*validation, valid_chunks) : Eigen::MatrixXd();

        if (settings_.normalize == "dataset") {
            state_->mean = train_chunks.x.mean().item<float>();
            state_->scale = std::max(1e-6f, train_chunks.x.std().item<float>());
        } else if (settings_.normalize == "feature") {  // each input value over the training rows
            state_->feature_mean = train_chunks.x.mean(0);
            // A value constant over the training rows (a ReLU unit that never
            // fires there) is only centred: dividing by its ~0 spread would
            // blow up any validation row where it does fire.
            const torch::Tensor spread = train_chunks.x.std(0, false);
            state_->feature_scale = torch::where(spread > 1e-6, spread, torch::ones_like(spread));
        }
        // Normalised once and kept on the training device for the whole fit;
        // the labels too.
        const torch::Tensor train_x = state_->prepare(train_chunks.x, settings_.normalize);
        const torch::Tensor valid_x = validation ? state_->prepare(valid_chunks.x, settings_.normalize) : torch::Tensor();
        train_chunks.x = valid_chunks.x = torch::Tensor();  // on a GPU: the host copies go
        const torch::Tensor y = to_tensor(train_y).to(state_->device);
        const int64_t n = train_x.size(0), eval_batch = std::max(1, settings_.batch_size) * 4;
        auto rate = [&](const torch::Tensor& x) {
            return to_matrix(state_->forward_all(x, true, eval_batch, settings_.normalize, settings_.precision));
        };

        state_->outputs = train.targets.cols();
        state_->net = make_network(state_->outputs, settings_.dropout);
        state_->net->to(state_->device);
        LossScale loss_scale(settings_.precision == "fp16", state_->device);
        torch::optim::Adam optimiser(
            parameter_groups(*state_->net, settings_.learning_rate, settings_.weight_decay),
            torch::optim::AdamOptions(settings_.learning_rate).weight_decay(settings_.weight_decay));

        std::mt19937_64 shuffle(ctx.seed);
        std::vector<int64_t> order(static_cast<std::size_t>(n));
        double best_score = -std::numeric_limits<double>::infinity();
        std::vector<torch::Tensor> best_weights;
        int since_best = 0;
        int first_epoch = 1;

        // A checkpoint after every epoch (weights, optimiser, best weights so far,
        // early-stopping state and both random generators) lets an interrupted
        // run continue exactly where it stopped.
        const fs::path checkpoint =
            ctx.work_dir.empty() || ctx.fold < 0
                ? fs::path()
                : fs::path(ctx.work_dir) / "checkpoints" / ctx.node / ("fold" + std::to_string(ctx.fold));
        auto save_checkpoint = [&](int epoch) {
            if (checkpoint.empty()) return;
            fs::create_directories(checkpoint);
            torch::serialize::OutputArchive weights, best, optimiser_state;
            state_->net->save(weights);
            weights.save_to((checkpoint / "weights.pt").string());
            for (std::size_t i = 0; i < best_weights.size(); ++i) best.write("w" + std::to_string(i), best_weights[i]);
            best.write("torch_rng", at::detail::getDefaultCPUGenerator().get_state());
            loss_scale.save(best);
            best.save_to((checkpoint / "best.pt").string());
            optimiser.save(optimiser_state);
            optimiser_state.save_to((checkpoint / "optimiser.pt").string());
            std::ostringstream rng;
            rng << shuffle;
            write_file_atomic(checkpoint / "state.json", nlohmann::json{{"epoch", epoch},
                                                                        {"best_epoch", state_->best_epoch},
                                                                        {"best_score", best_score},
                                                                        {"since_best", since_best},
                                                                        {"best_tensors", best_weights.size()},
                                                                        {"shuffle", rng.str()}}
                                                                 .dump(2) +
                                                             "\n");
        };
        if (ctx.resume && !checkpoint.empty() && fs::exists(checkpoint / "state.json")) {
            const auto saved = nlohmann::json::parse(read_text_file(checkpoint / "state.json"));
            torch::serialize::InputArchive weights, best, optimiser_state;
            weights.load_from((checkpoint / "weights.pt").string(), state_->device);
            state_->net->load(weights);
            best.load_from((checkpoint / "best.pt").string(),
                           torch::Device(torch::kCPU));  // the CPU generator's state stays there
            for (std::size_t i = 0; i < saved.at("best_tensors").get<std::size_t>(); ++i) {
                torch::Tensor t;
                best.read("w" + std::to_string(i), t);
                best_weights.push_back(t);
            }
            torch::Tensor rng_state;
            best.read("torch_rng", rng_state);
            loss_scale.load(best);
            at::Generator generator = at::detail::getDefaultCPUGenerator();  // a handle to the global generator
            generator.set_state(rng_state);
            optimiser_state.load_from((checkpoint / "optimiser.pt").string(), state_->device);
            optimiser.load(optimiser_state);
            std::istringstream rng(saved.at("shuffle").get<std::string>());
            rng >> shuffle;
            first_epoch = saved.at("epoch").get<int>() + 1;
            state_->best_epoch = saved.at("best_epoch").get<int>();
            best_score = saved.at("best_score").get<double>();
            since_best = saved.at("since_best").get<int>();
            ctx.info(fmt::format("fold {}: resuming after epoch {} (best so far: epoch {})", ctx.fold, first_epoch - 1,
                                 state_->best_epoch));
        }
        for (int epoch = first_epoch; epoch <= settings_.epochs && since_best < settings_.patience; ++epoch) {
            state_->net->train();
            std::iota(order.begin(), order.end(), 0);
            for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[shuffle() % i]);
            // The epoch's order goes to the device once; batches are gathered
            // there, and the loss sums there: no batch waits on the host.
            const torch::Tensor epoch_order =
                torch::from_blob(order.data(), {n}, torch::kInt64).to(state_->device, /*non_blocking=*/false, /*copy=*/true);
            torch::Tensor loss_sum = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(state_->device));
            int64_t seen = 0, counted = 0;
            for (int64_t start = 0; start < n; start += settings_.batch_size) {
                const int64_t end = std::min(n, start + settings_.batch_size);
                const torch::Tensor index = epoch_order.slice(0, start, end);
                const torch::Tensor xb = train_x.index_select(0, index), yb = y.index_select(0, index);
                torch::Tensor out;
                {
                    const Autocast autocast(state_->device, settings_.precision);
                    out = state_->net->forward(xb);
                }
                // Summed MSE over targets (fp32): one model learns one target or both jointly.
                const torch::Tensor loss = (out.to(torch::kFloat32) - yb).pow(2).mean(0).sum();
                optimiser.zero_grad();
                loss_scale.scaled(loss).backward();
                const auto parameters = state_->net->parameters();
                if (loss_scale.unscale(parameters)) {
                    if (settings_.grad_clip > 0) clip_gradients(parameters, settings_.grad_clip);
                    optimiser.step();
                    // The epoch's loss: the steps taken (fp16 skips those that overflowed).
                    loss_sum += loss.detach().to(torch::kFloat64) * static_cast<double>(end - start);
                    counted += end - start;
                }
                loss_scale.update();
                seen += end - start;
                ctx.report_progress(static_cast<std::size_t>(seen), static_cast<std::size_t>(n), "chunks");
            }

            EpochReport report;
            report.epoch = epoch;
            report.train_loss = loss_sum.item<double>() / static_cast<double>(std::max<int64_t>(1, counted));
            report.train_chunk_predictions = rate(train_x);
            report.train_chunk_targets = train_y;
            report.train_predictions = song_means(report.train_chunk_predictions, train_chunks);
            double score = 0;
            if (validation) {
                report.validation_chunk_predictions = rate(valid_x);
                report.validation_chunk_targets = valid_y;
                report.validation_predictions = song_means(report.validation_chunk_predictions, valid_chunks);
                report.validation_loss = (report.validation_chunk_predictions - valid_y).colwise().squaredNorm().sum() /
                                         static_cast<double>(valid_y.rows());
                const Eigen::MatrixXd& truth = validation->targets;
                for (Eigen::Index t = 0; t < truth.cols(); ++t) {
                    const Eigen::VectorXd p = report.validation_predictions.col(t), v = truth.col(t);
                    const double ss_res = (v - p).squaredNorm(), ss_tot = (v.array() - v.mean()).matrix().squaredNorm();
                    score += ss_tot > 0 ? 1 - ss_res / ss_tot : 0;
                }
                score /= static_cast<double>(truth.cols());
            } else {
                score = -*report.train_loss;
            }
            const bool improved = score > best_score;
            if (improved) {
                best_score = score;
                state_->best_epoch = epoch;
                since_best = 0;
                best_weights = copy_weights(*state_->net);
            } else {
                ++since_best;
            }
            report.kept_epoch = state_->best_epoch;
            report.kept_score = best_score;
            if (on_epoch) on_epoch(report);
            ctx.info(fmt::format("fold {}: epoch {}/{}: train loss {:.4f}{}", ctx.fold, epoch, settings_.epochs,
                                 *report.train_loss,
                                 validation ? fmt::format(", song-level R² {:.3f} on the watched songs", score)
                                            : std::string()));
            if (!improved && since_best >= settings_.patience)
                ctx.info(fmt::format("fold {}: early stop after epoch {} (best epoch {})", ctx.fold, epoch,
                                     state_->best_epoch));
            save_checkpoint(epoch);
        }
        if (best_weights.empty()) throw Error("no epoch was trained (the checkpoint already reached every epoch?)");
        // Keep the best epoch's weights (parameters and batch-norm statistics).
        restore_weights(*state_->net, best_weights);
        ctx.info(fmt::format("fold {}: best epoch {} (song-level R² {:.3f} on the watched songs)", ctx.fold, state_->best_epoch,
                             best_score));
    } catch (const c10::Error& e) {
        throw torch_error(e, "training");
    }
}

}  // namespace mer::torchx
