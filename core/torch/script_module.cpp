// TorchScript files (see script_module.hpp).
#include "core/torch/script_module.hpp"

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/passes/tensorexpr_fuser.h>
#include <torch/version.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <vector>

#include "core/error.hpp"

namespace mer::torchx {

namespace {
const char* kExport = "export it with torch.jit.script(model) (or torch.jit.trace) and torch.jit.save (docs/backbones.md)";
}

nlohmann::json script_defaults(const std::string& path) {
    std::vector<std::string> records;
    std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
    try {
        reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
        records = reader->getAllRecords();
    } catch (const c10::Error& e) {
        throw Error(fmt::format("{} is not a TorchScript file: LibTorch cannot open it as a model archive ({}); {}",
                                path, e.what_without_backtrace(), kExport));
    }
    bool code = false;
    for (const auto& r : records) code = code || r.rfind("code/", 0) == 0;
    if (!code)
        throw Error(path +
                    " is a torch.save file (weights or a pickled object), not a TorchScript model: it holds no "
                    "TorchScript code; " +
                    kExport);
    if (!reader->hasRecord("extra/mer.json")) return nullptr;
    try {
        const auto [data, size] = reader->getRecord("extra/mer.json");
        const auto* bytes = static_cast<const char*>(data.get());
        nlohmann::json about = nlohmann::json::parse(std::string(bytes, bytes + size));
        if (!about.is_object()) throw Error("it is not a JSON object");
        return about;
    } catch (const std::exception& e) {
        throw Error(path + ": its extra file mer.json cannot be read: " + as_error(e).message());
    }
}

torch::jit::Module load_script(const std::string& path, const torch::Device& device) {
    // LibTorch 1.13's tensor-expression fuser breaks a torchaudio HuBERT
    // graph on its second call ("r INTERNAL ASSERT FAILED at
    // jit_type_base.h:547", in Python too); without it the profiling
    // executor runs as fast on these models, and every call takes one path.
    torch::jit::setTensorExprFuserEnabled(false);
    torch::jit::Module module;
    try {
        module = torch::jit::load(path, device);
    } catch (const c10::Error& e) {
        throw Error(path + ": LibTorch cannot load this TorchScript model: " + e.what_without_backtrace());
    } catch (const std::exception& e) {  // the TorchScript compiler's own (an operator this LibTorch lacks)
        throw Error(path + ": LibTorch " + TORCH_VERSION +
                    " cannot compile this TorchScript model (made by a newer PyTorch, using an operator this one "
                    "lacks?): " + e.what() +
                    "; export it again with a PyTorch of this version, or without that operator (for Hugging Face "
                    "models, attn_implementation=\"eager\")");
    }
    const auto forward = module.find_method("forward");
    if (!forward)
        throw Error(path + ": the TorchScript model has no forward method; " + kExport);
    const auto& arguments = forward->function().getSchema().arguments();
    std::vector<std::string> extra;
    for (std::size_t a = 2; a < arguments.size(); ++a)
        if (!arguments[a].default_value()) extra.push_back(arguments[a].name());
    if (arguments.size() < 2 || !extra.empty())
        throw Error(fmt::format("{}: its forward is {}; mer calls forward with one tensor (a batch), so every other "
                                "argument needs a default: wrap the model in a module whose forward takes one tensor "
                                "(docs/backbones.md)",
                                path, forward->function().getSchema().name() + "(" +
                                    [&] {
                                        std::vector<std::string> names;
                                        for (std::size_t a = 1; a < arguments.size(); ++a) names.push_back(arguments[a].name());
                                        return fmt::format("{}", fmt::join(names, ", "));
                                    }() +
                                    ")"));
    module.eval();
    return module;
}

std::string describe_value(const c10::IValue& value) {
    if (value.isTensor()) {
        const at::Tensor& t = value.toTensor();
        return fmt::format("a tensor ({}) of {}", fmt::join(t.sizes(), ", "), c10::toString(t.scalar_type()));
    }
    if (value.isTuple()) return fmt::format("a tuple of {}", value.toTupleRef().elements().size());
    if (value.isTensorList()) return fmt::format("a list of {} tensors", value.toTensorList().size());
    if (value.isList()) return fmt::format("a list of {}", value.toListRef().size());
    if (value.isGenericDict()) {
        std::vector<std::string> keys;
        for (const auto& entry : value.toGenericDict()) keys.push_back(entry.key().isString() ? entry.key().toStringRef() : entry.key().tagKind());
        return fmt::format("a dict with keys {}", fmt::join(keys, ", "));
    }
    return "a " + value.tagKind();
}

}  // namespace mer::torchx
