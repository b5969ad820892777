// The one LibTorch training loop every trained network in mer goes through —
// chunk models, models on vectors or feature columns, the dynamic task's
// sequence models, the native ones and regressor.torchscript alike: Adam
// (per-group learning rates where a network has them) with weight decay,
// seeded shuffling, gradient clipping, precision (autocast, fp16 loss
// scaling), early stopping with the best epoch's weights kept, a checkpoint
// after every epoch and --resume from it. What a model family adds is what a
// batch is, its loss, and how an epoch is scored (TrainingTask).
#pragma once

#include <torch/torch.h>

#include <Eigen/Core>
#include <filesystem>
#include <functional>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/plugin/regressor.hpp"

namespace mer::torchx {

// What every model on this loop declares (capabilities.hpp): it trains on a
// device, one fit at a time per process, keeps its best epoch, and counts its
// epochs with the `epochs` parameter. Its bases add chunks, sequence, ….
inline constexpr char kLoopCapabilities[] =
    R"({"device": true, "concurrent_fit": false, "early_stopping": true, "budget": "epochs"})";

struct TrainingSettings {
    int epochs = 8;
    int batch_size = 32;
    double learning_rate = 1e-3;
    double weight_decay = 1e-4;
    int patience = 5;
    double grad_clip = 5.0;
    double dropout = 0.3;
    std::string normalize = "dataset";
    std::string device;  // empty: the experiment's
    std::string precision = "fp32";  // or bf16, fp16: autocast of the forward passes
    static TrainingSettings from(const nlohmann::json& params);
};

// torch::Device for "cpu", "cuda:N", "auto" (CUDA when LibTorch sees a GPU).
torch::Device resolve_device(const std::string& name);

// A song-level matrix as a float32 tensor, and back (from any device).
torch::Tensor to_tensor(const Eigen::MatrixXd& m);
Eigen::MatrixXd to_matrix(const torch::Tensor& t);
// LibTorch's own exception, as mer's: the sentence without the C++ backtrace.
Error torch_error(const c10::Error& e, const std::string& while_doing);
// Where a network runs: its `device` parameter, else the experiment's,
// resolved (cuda on a machine without a GPU is refused) and recorded;
// LibTorch's threads set to the run's. What a features node with a network
// does first.
torch::Device start_inference(const std::string& device_param, const PluginContext& ctx);
// What every training loop does first: start_inference, then seeds
// LibTorch's generator, notes a GPU asked for and not there, and makes CUDA
// pick deterministic kernels.
torch::Device start_training(const std::string& device_param, const PluginContext& ctx);

// A LibTorch archive written to `file` by mer's own writer: serialised in
// memory first, then written whole (temporary file, rename). A full disk or
// a file-size limit is then an environment error naming the file; inside
// LibTorch's file writer it could throw from a destructor and abort mer.
void save_archive(torch::serialize::OutputArchive& archive, const std::filesystem::path& file);
// Reads the LibTorch archive `file` onto `device` and hands it to `read` (a
// module's or an optimiser's load): LibTorch's errors (a damaged or cut-short
// file, a tensor missing or of another shape) become mer::Error naming the file.
void load_archive(const std::filesystem::path& file, const torch::Device& device,
                  const std::function<void(torch::serialize::InputArchive&)>& read);

// A network's parameters and buffers (batch-norm statistics), copied: the
// weights of the epoch a training loop keeps; restore_weights puts them back.
std::vector<torch::Tensor> copy_weights(const torch::nn::Module& net);
void restore_weights(torch::nn::Module& net, const std::vector<torch::Tensor>& weights);

// LibTorch's autocast for the forward passes in its scope, on the device's
// type, in 16 bits (precision bf16 or fp16); nothing for fp32, nor for fp16
// on the CPU (a model trained in fp16 on a GPU rates music on a machine
// without one in fp32). Leaving the scope turns it off again and drops the
// cached 16-bit copies of the weights; scopes are never nested.
class Autocast {
public:
    Autocast(const torch::Device& device, const std::string& precision);
    ~Autocast();
    Autocast(const Autocast&) = delete;
    Autocast& operator=(const Autocast&) = delete;

private:
    void set(bool on, std::optional<at::ScalarType> type);
    bool cuda_ = false, on_ = false;
};

// What one model family trains: the loop shuffles `items` every epoch, cuts
// them into batch_size batches, and per batch calls forward (under autocast)
// then loss (in fp32); after each epoch, evaluate.
struct TrainingTask {
    torch::nn::Module* net = nullptr;  // on the training device already
    // What Adam trains (empty: every parameter at learning_rate).
    std::vector<torch::optim::OptimizerParamGroup> groups;
    std::vector<int64_t> items;  // what an epoch shuffles: chunk rows, songs
    std::string unit;            // of the progress bar: "chunks", "songs"
    std::string score_name;      // what the kept epoch is best on: "song-level R²"
    bool watching = false;       // evaluate scores held-out songs (else: minus the training loss)
    // The network's outputs for a batch: `batch` the items (on the host),
    // `index` the same on the training device.
    std::function<torch::Tensor(const std::vector<int64_t>& batch, const torch::Tensor& index)> forward;
    // The batch's loss (a float32 scalar on the device) from those outputs.
    std::function<torch::Tensor(const torch::Tensor& out, const std::vector<int64_t>& batch, const torch::Tensor& index)>
        loss;
    // After each epoch (report.epoch and train_loss set): fills the report's
    // predictions, and its validation_loss when watching; returns the score
    // (higher is better) when watching.
    std::function<double(EpochReport& report)> evaluate;
};

// Trains task.net for settings.epochs at most, reporting every epoch to
// on_epoch and the log, checkpointing into ctx.work_dir (continuing from
// there when ctx.resume), and leaves the kept epoch's weights in the network.
// Returns the kept epoch.
int run_training(TrainingTask& task, const TrainingSettings& settings, const torch::Device& device,
          const EpochCallback& on_epoch, const PluginContext& ctx);

}  // namespace mer::torchx
