// regressor.torchscript_sequence: any sequence architecture written in
// PyTorch, scripted untrained, trained by mer's loop exactly as the native
// sequence models (regressor.seq_gru, …) are: whole songs of windows in,
// one rating per window, the dynamic task's 2 Hz annotations as targets,
// early stopping on frame-level R², precision, device, seeds, checkpoints and
// --resume. Each fit starts from the file's weights; the model bundle keeps
// the trained module (module.pt) so predict needs nothing else.
#include <filesystem>

#include "core/error.hpp"
#include "core/torch/script_module.hpp"
#include "core/torch/sequence_regressor.hpp"

namespace mer::plugins {

namespace fs = std::filesystem;

namespace {

// The scripted module as the loop's network (its own tensors: adopt_tensors).
struct ScriptedSequenceNet : torchx::SequenceNet {
    ScriptedSequenceNet(torch::jit::Module m, std::string file, int64_t outputs)
        : module(std::move(m)), file_(std::move(file)), outputs_(outputs) {
        torchx::adopt_tensors(*this, module, file_);
    }

    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& lengths) override {
        return torchx::forward_ratings(module, {x, lengths}, file_, {x.size(0), x.size(1), outputs_},
                                       "one row per song, one step per window, one column per target the node learns");
    }

    void train(bool on) override {
        torch::nn::Module::train(on);
        module.train(on);
    }

    torch::jit::Module module;

private:
    std::string file_;
    int64_t outputs_;
};

}  // namespace

class TorchscriptSequenceRegressor : public torchx::SequenceRegressor {
public:
    static constexpr const char* kCapabilities =
        R"({"device": true, "chunks": true, "sequence": true, "concurrent_fit": false, "early_stopping": true, "fingerprint": ["model"]})";

    explicit TorchscriptSequenceRegressor(const nlohmann::json& p)
        : SequenceRegressor(p, 0), model_(p.at("model").get<std::string>()) {
        std::error_code ec;
        if (fs::is_regular_file(model_, ec)) torchx::script_defaults(model_);  // refuses a file that is not TorchScript
    }

    void save(const std::string& dir) const override {
        SequenceRegressor::save(dir);
        const auto net = std::dynamic_pointer_cast<ScriptedSequenceNet>(network());
        try {
            // On the CPU: a model trained on a GPU loads anywhere, in mer and in Python.
            torch::jit::Module copy = net->module.clone();
            copy.to(torch::kCPU);
            torchx::save_script(copy, (fs::path(dir) / "module.pt").string());
        } catch (const c10::Error& e) {
            throw torchx::torch_error(e, "saving the trained TorchScript module");
        }
    }

    // Every fit starts from the file's weights, even on an instance that loaded a bundle.
    void fit(const SongTable& train, const SongTable* validation, const EpochCallback& on_epoch,
             const PluginContext& ctx) override {
        source_.clear();
        SequenceRegressor::fit(train, validation, on_epoch, ctx);
    }

    // The bundle's own module: predict needs neither the original file nor Python.
    void load(const std::string& dir) override {
        source_ = (fs::path(dir) / "module.pt").string();
        SequenceRegressor::load(dir);
    }

protected:
    std::shared_ptr<torchx::SequenceNet> make_network(const std::vector<int64_t>&, int64_t outputs,
                                                      double) const override {
        const std::string file = source_.empty() ? model_ : source_;
        return std::make_shared<ScriptedSequenceNet>(torchx::load_script(file, torch::kCPU, 2), file, outputs);
    }

private:
    std::string model_;
    std::string source_;  // set by load(): the bundle's module
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::TorchscriptSequenceRegressor, "regressor.torchscript_sequence", "1.0.0",
           "Any PyTorch sequence architecture, scripted untrained, trained by mer's loop to rate every window of a song")
