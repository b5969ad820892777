// What regressor.torchscript and regressor.torchscript_sequence share on top
// of their loop's base (ChunkRegressor, SequenceRegressor): the TorchScript
// file in `model` (refused at once when it is not one), every fit from that
// file's weights, and the trained module kept in the bundle as module.pt —
// on the CPU, so a model trained on a GPU loads anywhere, in mer and in
// Python — which load() builds the network from, so predict needs neither
// the original file nor Python. `Net` is the plugin's network: it holds the
// scripted module as `module`.
#pragma once

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "core/torch/script_module.hpp"
#include "core/torch/training_loop.hpp"

namespace mer::torchx {

// A scripted module as the loop's network (NetBase: ChunkNet or
// SequenceNet): its parameters and buffers are the module's own tensors
// (adopt_tensors), so the optimiser, the checkpoints and the kept epoch's
// weights all act on the module itself, and train/eval mode reaches it. The
// plugin adds forward().
template <class NetBase>
struct ScriptedModuleNet : NetBase {
    ScriptedModuleNet(torch::jit::Module m, std::string file, int64_t outputs)
        : module(std::move(m)), file_(std::move(file)), outputs_(outputs) {
        adopt_tensors(*this, module, file_);
    }

    void train(bool on) override {
        torch::nn::Module::train(on);
        module.train(on);
    }

    torch::jit::Module module;

protected:
    std::string file_;
    int64_t outputs_;
};

template <class Base, class Net>
class ScriptedRegressor : public Base {
public:
    template <class... BaseArgs>
    explicit ScriptedRegressor(const nlohmann::json& params, BaseArgs&&... base_args)
        : Base(params, std::forward<BaseArgs>(base_args)...), model_(params.at("model").get<std::string>()) {
        std::error_code ec;
        if (std::filesystem::is_regular_file(model_, ec)) script_defaults(model_);  // refuses a file that is not TorchScript
    }

    void save(const std::string& dir) const override {
        Base::save(dir);
        const auto net = std::dynamic_pointer_cast<Net>(this->network());
        try {
            torch::jit::Module copy = net->module.clone();
            copy.to(torch::kCPU);
            save_script(copy, (std::filesystem::path(dir) / "module.pt").string());
        } catch (const c10::Error& e) {
            throw torch_error(e, "saving the trained TorchScript module");
        }
    }

    // Every fit starts from the file's weights, even on an instance that loaded a bundle.
    void fit(const SongTable& train, const SongTable* validation, const EpochCallback& on_epoch,
             const PluginContext& ctx) override {
        source_.clear();
        Base::fit(train, validation, on_epoch, ctx);
    }

    void load(const std::string& dir) override {
        source_ = (std::filesystem::path(dir) / "module.pt").string();
        Base::load(dir);
    }

protected:
    // The file the next network is built from: the bundle's module after load(), else `model`.
    const std::string& module_file() const { return source_.empty() ? model_ : source_; }

private:
    std::string model_;
    std::string source_;  // set by load(): the bundle's module
};

}  // namespace mer::torchx
