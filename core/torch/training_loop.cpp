// The one LibTorch training loop (see training_loop.hpp).
#include "core/torch/training_loop.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/autocast_mode.h>
#include <torch/version.h>
#include <fmt/format.h>

#include <filesystem>
#include <limits>
#include <random>
#include <sstream>

#include "core/base/files.hpp"
#include "core/base/heap.hpp"

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

void save_archive(torch::serialize::OutputArchive& archive, const fs::path& file) {
    std::string bytes;
    archive.save_to([&bytes](const void* data, size_t size) -> size_t {
        bytes.append(static_cast<const char*>(data), size);
        return size;
    });
    write_file_atomic(file, bytes);
}

void load_archive(const fs::path& file, const torch::Device& device,
                  const std::function<void(torch::serialize::InputArchive&)>& read) {
    try {
        torch::serialize::InputArchive archive;
        archive.load_from(file.string(), device);
        read(archive);
    } catch (const c10::Error& e) {
        throw Error(fmt::format("LibTorch cannot read {} (damaged, cut short, or saved by another model?): {}",
                                file.filename().string(), e.what_without_backtrace()),
                    Location(file.string()));
    }
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

Autocast::Autocast(const torch::Device& device, const std::string& precision) {
    if (precision == "fp32" || (precision == "fp16" && !device.is_cuda())) return;
    const at::ScalarType type = precision == "fp16" ? at::kHalf : at::kBFloat16;
    cuda_ = device.is_cuda();
    set(true, type);
}

Autocast::~Autocast() {
    if (!on_) return;
    set(false, std::nullopt);
    at::autocast::clear_cache();
}

void Autocast::set(bool on, std::optional<at::ScalarType> type) {
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

namespace {

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

// Where run_training checkpoints one fold of one node; empty when the run
// keeps no checkpoints (no work folder, or not inside a fold).
fs::path checkpoint_folder(const PluginContext& ctx) {
    if (ctx.work_dir.empty() || ctx.fold < 0) return {};
    return fs::path(ctx.work_dir) / "checkpoints" / ctx.node / ("fold" + std::to_string(ctx.fold));
}

// What Adam trains: the task's groups, or every parameter at one learning rate.
std::vector<torch::optim::OptimizerParamGroup> parameter_groups(TrainingTask& task) {
    std::vector<torch::optim::OptimizerParamGroup> groups = std::move(task.groups);
    if (groups.empty()) groups.emplace_back(task.net->parameters());
    return groups;
}

// One call of run_training: the optimiser, the loss scale, the shuffling
// generator and the kept epoch. A checkpoint after every epoch holds all of
// them (with the weights and LibTorch's generator), so an interrupted run
// continues exactly where it stopped.
class TrainingRun {
public:
    TrainingRun(TrainingTask& task, const TrainingSettings& settings, const torch::Device& device,
                const PluginContext& ctx)
        : task_(task),
          net_(*task.net),
          settings_(settings),
          device_(device),
          ctx_(ctx),
          loss_scale_(settings.precision == "fp16", device),
          optimiser_(parameter_groups(task),
                     torch::optim::AdamOptions(settings.learning_rate).weight_decay(settings.weight_decay)),
          shuffle_(ctx.seed),
          checkpoint_(checkpoint_folder(ctx)) {}

    int run(const EpochCallback& on_epoch) {
        const int first_epoch = resume();
        for (int epoch = first_epoch; epoch <= settings_.epochs && since_best_ < settings_.patience; ++epoch) {
            const double train_loss = train_epoch();
            EpochReport report;
            report.epoch = epoch;
            report.train_loss = train_loss;
            finish_epoch(report, on_epoch);
            save_checkpoint(epoch);
        }
        if (best_weights_.empty()) throw Error("no epoch was trained (the checkpoint already reached every epoch?)");
        // Keep the best epoch's weights (parameters and batch-norm statistics).
        restore_weights(net_, best_weights_);
        ctx_.info(fmt::format("fold {}: best epoch {} ({} {:.3f} on the watched songs)", ctx_.fold, best_epoch_,
                              task_.score_name, best_score_));
        return best_epoch_;
    }

private:
    // One pass over the items in a fresh shuffled order; the mean loss of the
    // steps taken (fp16 skips those that overflowed).
    double train_epoch() {
        net_.train();
        std::vector<int64_t> order = shuffled_items();
        const auto n = static_cast<int64_t>(order.size());
        // The epoch's order goes to the device once; batches are gathered
        // there, and the loss sums there: no batch waits on the host.
        const torch::Tensor epoch_order =
            torch::from_blob(order.data(), {n}, torch::kInt64).to(device_, /*non_blocking=*/false, /*copy=*/true);
        torch::Tensor loss_sum = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(device_));
        const int64_t batch_size = std::max(1, settings_.batch_size);
        int64_t seen = 0, counted = 0;
        for (int64_t start = 0; start < n; start += batch_size) {
            const int64_t end = std::min(n, start + batch_size);
            const std::vector<int64_t> batch(order.begin() + start, order.begin() + end);
            if (train_batch(batch, epoch_order.slice(0, start, end), loss_sum)) counted += end - start;
            seen += end - start;
            ctx_.report_progress(static_cast<std::size_t>(seen), static_cast<std::size_t>(n), task_.unit.c_str());
        }
        return loss_sum.item<double>() / static_cast<double>(std::max<int64_t>(1, counted));
    }

    // The items in this epoch's order: a Fisher-Yates shuffle drawn from shuffle_.
    std::vector<int64_t> shuffled_items() {
        std::vector<int64_t> order = task_.items;
        for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[shuffle_() % i]);
        return order;
    }

    // Forward (under autocast), backward, and an optimiser step unless fp16's
    // gradients overflowed; a step taken adds the batch's loss to loss_sum.
    // True when the step was taken.
    bool train_batch(const std::vector<int64_t>& batch, const torch::Tensor& index, torch::Tensor& loss_sum) {
        torch::Tensor out;
        {
            const Autocast autocast(device_, settings_.precision);
            out = task_.forward(batch, index);
        }
        const torch::Tensor loss = task_.loss(out.to(torch::kFloat32), batch, index);
        optimiser_.zero_grad();
        loss_scale_.scaled(loss).backward();
        const auto parameters = net_.parameters();
        const bool stepped = loss_scale_.unscale(parameters);
        if (stepped) {
            if (settings_.grad_clip > 0) clip_gradients(parameters, settings_.grad_clip);
            optimiser_.step();
            loss_sum += loss.detach().to(torch::kFloat64) * static_cast<double>(batch.size());
        }
        loss_scale_.update();
        return stepped;
    }

    // Scores the trained epoch, keeps its weights when it is the best so far,
    // and reports it to on_epoch and the log.
    void finish_epoch(EpochReport& report, const EpochCallback& on_epoch) {
        const double evaluated = task_.evaluate(report);
        const double score = task_.watching ? evaluated : -*report.train_loss;
        const bool improved = score > best_score_ || best_weights_.empty();
        if (improved) {
            best_score_ = score;
            best_epoch_ = report.epoch;
            since_best_ = 0;
            best_weights_ = copy_weights(net_);
        } else {
            ++since_best_;
        }
        report.kept_epoch = best_epoch_;
        report.kept_score = best_score_;
        if (on_epoch) on_epoch(report);
        ctx_.info(fmt::format(
            "fold {}: epoch {}/{}: train loss {:.4f}{}", ctx_.fold, report.epoch, settings_.epochs, *report.train_loss,
            task_.watching ? fmt::format(", {} {:.3f} on the watched songs", task_.score_name, score) : std::string()));
        if (!improved && since_best_ >= settings_.patience)
            ctx_.info(fmt::format("fold {}: early stop after epoch {} (best epoch {})", ctx_.fold, report.epoch,
                                  best_epoch_));
    }

    void save_checkpoint(int epoch) {
        if (checkpoint_.empty()) return;
        fs::create_directories(checkpoint_);
        torch::serialize::OutputArchive weights, best, optimiser_state;
        net_.save(weights);
        save_archive(weights, checkpoint_ / "weights.pt");
        for (std::size_t i = 0; i < best_weights_.size(); ++i) best.write("w" + std::to_string(i), best_weights_[i]);
        best.write("torch_rng", at::detail::getDefaultCPUGenerator().get_state());
        loss_scale_.save(best);
        save_archive(best, checkpoint_ / "best.pt");
        optimiser_.save(optimiser_state);
        save_archive(optimiser_state, checkpoint_ / "optimiser.pt");
        std::ostringstream rng;
        rng << shuffle_;
        write_file_atomic(checkpoint_ / "state.json", nlohmann::json{{"epoch", epoch},
                                                                     {"best_epoch", best_epoch_},
                                                                     {"best_score", best_score_},
                                                                     {"since_best", since_best_},
                                                                     {"best_tensors", best_weights_.size()},
                                                                     {"shuffle", rng.str()}}
                                                              .dump(2) +
                                                          "\n");
    }

    // With --resume and a checkpoint of this fold: everything save_checkpoint
    // wrote, restored. The first epoch to train.
    int resume() {
        if (!ctx_.resume || checkpoint_.empty() || !fs::exists(checkpoint_ / "state.json")) return 1;
        const auto saved = nlohmann::json::parse(read_text_file(checkpoint_ / "state.json"));
        load_archive(checkpoint_ / "weights.pt", device_,
                     [&](torch::serialize::InputArchive& weights) { net_.load(weights); });
        // On the CPU: the CPU generator's state stays there.
        load_archive(checkpoint_ / "best.pt", torch::Device(torch::kCPU), [&](torch::serialize::InputArchive& best) {
            for (std::size_t i = 0; i < saved.at("best_tensors").get<std::size_t>(); ++i) {
                torch::Tensor t;
                best.read("w" + std::to_string(i), t);
                best_weights_.push_back(t);
            }
            torch::Tensor rng_state;
            best.read("torch_rng", rng_state);
            loss_scale_.load(best);
            at::Generator generator = at::detail::getDefaultCPUGenerator();  // a handle to the global generator
            generator.set_state(rng_state);
        });
        load_archive(checkpoint_ / "optimiser.pt", device_,
                     [&](torch::serialize::InputArchive& optimiser_state) { optimiser_.load(optimiser_state); });
        std::istringstream rng(saved.at("shuffle").get<std::string>());
        rng >> shuffle_;
        const int first_epoch = saved.at("epoch").get<int>() + 1;
        best_epoch_ = saved.at("best_epoch").get<int>();
        best_score_ = saved.at("best_score").get<double>();
        since_best_ = saved.at("since_best").get<int>();
        ctx_.info(fmt::format("fold {}: resuming after epoch {} (best so far: epoch {})", ctx_.fold, first_epoch - 1,
                              best_epoch_));
        return first_epoch;
    }

    TrainingTask& task_;
    torch::nn::Module& net_;
    const TrainingSettings& settings_;
    const torch::Device device_;
    const PluginContext& ctx_;
    LossScale loss_scale_;
    torch::optim::Adam optimiser_;
    std::mt19937_64 shuffle_;
    const fs::path checkpoint_;
    // The kept epoch: the best score so far, its weights, and the epochs trained since.
    double best_score_ = -std::numeric_limits<double>::infinity();
    std::vector<torch::Tensor> best_weights_;
    int best_epoch_ = 0, since_best_ = 0;
};

}  // namespace

int run_training(TrainingTask& task, const TrainingSettings& settings, const torch::Device& device,
                 const EpochCallback& on_epoch, const PluginContext& ctx) {
    if (settings.precision == "fp16" && !device.is_cuda())
        throw Error(
            "precision: fp16 needs a CUDA device (LibTorch's CPU autocast runs bf16): use precision: bf16 "
            "or fp32 on the CPU");
    TrainingRun training(task, settings, device, ctx);
    return training.run(on_epoch);
}

}  // namespace mer::torchx
