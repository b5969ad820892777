// regressor.torchscript_sequence: any sequence architecture written in
// PyTorch, scripted untrained, trained by mer's loop exactly as the native
// sequence models (regressor.seq_gru, …) are: whole songs of windows in,
// one rating per window, the dynamic task's 2 Hz annotations as targets,
// early stopping on frame-level R², precision, device, seeds, checkpoints and
// --resume. Each fit starts from the file's weights; the model bundle keeps
// the trained module (module.pt) so predict needs nothing else.
#include "core/error.hpp"
#include "core/torch/script_module.hpp"
#include "core/torch/scripted_regressor.hpp"
#include "core/torch/sequence_regressor.hpp"

namespace mer::plugins {

namespace {

// The scripted module as the loop's network: whole songs in, a rating per window out.
struct ScriptedSequenceNet : torchx::ScriptedModuleNet<torchx::SequenceNet> {
    using ScriptedModuleNet::ScriptedModuleNet;

    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& lengths) override {
        return torchx::forward_ratings(module, {x, lengths}, file_, {x.size(0), x.size(1), outputs_},
                                       "one row per song, one step per window, one column per target the node learns");
    }
};

}  // namespace

class TorchscriptSequenceRegressor : public torchx::ScriptedRegressor<torchx::SequenceRegressor, ScriptedSequenceNet> {
public:
    static constexpr auto kCapabilities =
        more_capabilities(torchx::SequenceRegressor::kCapabilities, R"({"fingerprint": ["model"]})");

    explicit TorchscriptSequenceRegressor(const nlohmann::json& p) : ScriptedRegressor(p, std::size_t{0}) {}

protected:
    std::shared_ptr<torchx::SequenceNet> make_network(const std::vector<int64_t>&, int64_t outputs,
                                                      double) const override {
        return std::make_shared<ScriptedSequenceNet>(torchx::load_script(module_file(), torch::kCPU, 2), module_file(),
                                                     outputs);
    }
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::TorchscriptSequenceRegressor, "regressor.torchscript_sequence", "1.0.0",
           "Any PyTorch sequence architecture, scripted untrained, trained by mer's loop to rate every window of a song")
