// regressor.torchscript: any architecture written in PyTorch, scripted
// untrained (torch.jit.script(MyNet()), torch.jit.save) and trained by mer's
// own LibTorch loop exactly as the native deep models are: log-mel chunks,
// chunk vectors or feature columns in (the upstream node decides), Adam,
// early stopping on held-out training songs, precision, device, seeds,
// per-epoch metrics, checkpoints and --resume. Each fit starts from the
// file's weights; the model bundle keeps the trained module (module.pt, a
// TorchScript file Python loads as it is) so predict needs nothing else.
#include "core/base/files.hpp"
#include "core/error.hpp"
#include "core/torch/chunk_regressor.hpp"
#include "core/torch/script_module.hpp"
#include "core/torch/scripted_regressor.hpp"

namespace mer::plugins {

namespace {

// The scripted module as the loop's network; one input row, one rating row.
struct ScriptedNet : torchx::ScriptedModuleNet<torchx::ChunkNet> {
    using ScriptedModuleNet::ScriptedModuleNet;

    torch::Tensor forward(const torch::Tensor& x) override {
        return torchx::forward_ratings(module, {x}, file_, {x.size(0), outputs_},
                                       "one row per input row, one column per target the node learns");
    }
};

}  // namespace

class TorchscriptRegressor : public torchx::ScriptedRegressor<torchx::ChunkRegressor, ScriptedNet> {
public:
    // Reads whatever its input holds: no fixed input_shape.
    // A scripted module's input is not known before it runs: no input_shape.
    static constexpr auto kCapabilities =
        more_capabilities(torchx::kLoopCapabilities, R"({"chunks": true, "fingerprint": ["model"]})");

    explicit TorchscriptRegressor(const nlohmann::json& p)
        : ScriptedRegressor(p), inputs_(p.at("inputs").get<std::string>()) {}

    nlohmann::json query(const std::string&) const override { return nullptr; }

protected:
    std::shared_ptr<torchx::ChunkNet> make_network(int64_t outputs, double) const override {
        // Every fit starts from the file's weights, on the CPU (the loop moves them).
        return std::make_shared<ScriptedNet>(torchx::load_script(module_file(), torch::kCPU), module_file(), outputs);
    }

    torchx::Chunks load_inputs(const SongTable& songs) const override {
        const bool tensors = songs.tensor_paths.size() == songs.size() && !songs.tensor_paths.empty();
        if (inputs_ == "song" || (inputs_ == "auto" && !tensors)) {
            if (songs.features.cols() == 0)
                throw Error("regressor.torchscript reads feature columns here, and its input has none: put a features "
                            "node before it (or inputs: chunks for a node that keeps chunk tensors)");
            return torchx::table_rows(songs);
        }
        if (!tensors)
            throw Error("regressor.torchscript with inputs: chunks reads the chunk tensors of a features node such as "
                        "features.logmel_chunks, features.panns_cnn14 or features.torchscript, and its input has none");
        return torchx::load_chunk_files(songs, 0, "as many axes as the first song's tensor");
    }

private:
    std::string inputs_;
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::TorchscriptRegressor, "regressor.torchscript", "1.0.0",
           "Any PyTorch architecture, scripted untrained, trained by mer's loop on chunks, vectors or feature columns")
