// regressor.torchscript: any architecture written in PyTorch, scripted
// untrained (torch.jit.script(MyNet()), torch.jit.save) and trained by mer's
// own LibTorch loop exactly as the native deep models are: log-mel chunks,
// chunk vectors or feature columns in (the upstream node decides), Adam,
// early stopping on held-out training songs, precision, device, seeds,
// per-epoch metrics, checkpoints and --resume. Each fit starts from the
// file's weights; the model bundle keeps the trained module (module.pt, a
// TorchScript file Python loads as it is) so predict needs nothing else.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>
#include <set>

#include "core/error.hpp"
#include "core/run/files.hpp"
#include "core/torch/chunk_regressor.hpp"
#include "core/torch/script_module.hpp"

namespace mer::plugins {

namespace fs = std::filesystem;

namespace {

// The scripted module as the loop's network: its parameters and buffers are
// the module's own tensors (registered under their dotted names with '.'
// as '/', which LibTorch's C++ modules do not allow), so the optimiser, the
// checkpoints and the kept epoch's weights all act on the module itself.
struct ScriptedNet : torchx::ChunkNet {
    ScriptedNet(torch::jit::Module m, std::string file, int64_t outputs)
        : module(std::move(m)), file_(std::move(file)), outputs_(outputs) {
        std::size_t trainable = 0;
        std::set<const void*> seen;      // a weight tied between two layers is trained once
        std::map<std::string, std::string> names;  // '/'-name → the module's own
        auto claim = [&](const std::string& dotted) {
            const std::string name = name_of(dotted);
            if (const auto [at, fresh] = names.emplace(name, dotted); !fresh)
                throw Error(fmt::format("the TorchScript model has both '{}' and '{}', which mer cannot tell apart; "
                                        "rename one",
                                        at->second, dotted),
                            Location(file_));
            return name;
        };
        for (const auto& p : module.named_parameters(true)) {
            if (!seen.insert(p.value.unsafeGetTensorImpl()).second) continue;
            register_parameter(claim(p.name), p.value, p.value.requires_grad());
            trainable += p.value.requires_grad() ? 1 : 0;
        }
        for (const auto& b : module.named_buffers(true))
            if (seen.insert(b.value.unsafeGetTensorImpl()).second) register_buffer(claim(b.name), b.value);
        if (trainable == 0)
            throw Error("the TorchScript model has no parameter that requires a gradient: nothing to train",
                        Location(file_));
    }

    torch::Tensor forward(const torch::Tensor& x) override {
        const std::string name = fs::path(file_).filename().string();
        c10::IValue out;
        auto failed = [&](const std::string& why) {
            return Error(fmt::format("{} failed on a batch of shape ({}), what the input node gives: {}", name,
                                     fmt::join(x.sizes(), ", "), why),
                         Location(file_));
        };
        try {
            out = module.forward({x});
        } catch (const c10::Error& e) {
            throw failed(e.what_without_backtrace());
        } catch (const std::exception& e) {  // the TorchScript interpreter's own
            throw failed(e.what());
        }
        if (!out.isTensor())
            throw Error(fmt::format("{} returns {}; a model mer trains returns one tensor, (batch, targets)", name,
                                    torchx::describe_value(out)),
                        Location(file_));
        const torch::Tensor& t = out.toTensor();
        if (t.dim() != 2 || t.size(0) != x.size(0) || t.size(1) != outputs_)
            throw Error(fmt::format("{} returns {} for a batch of {}; expected ({}, {}): one row per input row, one "
                                    "column per target the node learns",
                                    name, torchx::describe_value(out), x.size(0), x.size(0), outputs_),
                        Location(file_));
        if (!at::isFloatingType(t.scalar_type()))
            throw Error(fmt::format("{} returns {}; expected floating-point ratings", name, torchx::describe_value(out)),
                        Location(file_));
        return t;
    }

    void train(bool on) override {
        torch::nn::Module::train(on);
        module.train(on);
    }

    static std::string name_of(std::string dotted) {
        std::replace(dotted.begin(), dotted.end(), '.', '/');
        return dotted;
    }

    torch::jit::Module module;

private:
    std::string file_;
    int64_t outputs_;
};

}  // namespace

class TorchscriptRegressor : public torchx::ChunkRegressor {
public:
    // Reads whatever its input holds: no fixed input_shape.
    static constexpr const char* kCapabilities =
        R"({"device": true, "chunks": true, "concurrent_fit": false, "early_stopping": true, "fingerprint": ["model"]})";

    explicit TorchscriptRegressor(const nlohmann::json& p)
        : ChunkRegressor(p), model_(p.at("model").get<std::string>()), inputs_(p.at("inputs").get<std::string>()) {
        std::error_code ec;
        if (fs::is_regular_file(model_, ec)) torchx::script_defaults(model_);  // refuses a file that is not TorchScript
    }

    nlohmann::json query(const std::string&) const override { return nullptr; }

    void save(const std::string& dir) const override {
        ChunkRegressor::save(dir);
        const auto net = std::dynamic_pointer_cast<ScriptedNet>(network());
        try {
            // On the CPU: a model trained on a GPU loads anywhere, in mer and in Python.
            torch::jit::Module copy = net->module.clone();
            copy.to(torch::kCPU);
            copy.save((fs::path(dir) / "module.pt").string());
        } catch (const c10::Error& e) {
            throw torchx::torch_error(e, "saving the trained TorchScript module");
        }
    }

    // Every fit starts from the file's weights, even on an instance that loaded a bundle.
    void fit(const SongTable& train, const SongTable* validation, const EpochCallback& on_epoch,
             const PluginContext& ctx) override {
        source_.clear();
        ChunkRegressor::fit(train, validation, on_epoch, ctx);
    }

    // The bundle's own module: predict needs neither the original file nor Python.
    void load(const std::string& dir) override {
        source_ = (fs::path(dir) / "module.pt").string();
        ChunkRegressor::load(dir);
    }

protected:
    std::shared_ptr<torchx::ChunkNet> make_network(int64_t outputs, double) const override {
        const std::string file = source_.empty() ? model_ : source_;
        // Every fit starts from the file's weights, on the CPU (the loop moves them).
        return std::make_shared<ScriptedNet>(torchx::load_script(file, torch::kCPU), file, outputs);
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
    std::string model_, inputs_;
    std::string source_;  // set by load(): the bundle's module
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::TorchscriptRegressor, "regressor.torchscript", "1.0.0",
           "Any PyTorch architecture, scripted untrained, trained by mer's loop on chunks, vectors or feature columns")
