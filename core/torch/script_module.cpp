// TorchScript files (see script_module.hpp).
#include "core/torch/script_module.hpp"

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/passes/tensorexpr_fuser.h>
#include <torch/version.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include "core/base/files.hpp"
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

torch::jit::Module load_script(const std::string& path, const torch::Device& device, std::size_t tensors) {
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
    for (std::size_t a = 1 + tensors; a < arguments.size(); ++a)
        if (!arguments[a].default_value()) extra.push_back(arguments[a].name());
    if (arguments.size() < 1 + tensors || !extra.empty())
        throw Error(fmt::format("{}: its forward is {}; mer calls forward with {}, so every other argument needs a "
                                "default: wrap the model in a module whose forward takes {} (docs/backbones.md)",
                                path, forward->function().getSchema().name() + "(" +
                                    [&] {
                                        std::vector<std::string> names;
                                        for (std::size_t a = 1; a < arguments.size(); ++a) names.push_back(arguments[a].name());
                                        return fmt::format("{}", fmt::join(names, ", "));
                                    }() +
                                    ")",
                                tensors == 1 ? "one tensor (a batch)" : "two tensors (a batch of padded songs, their lengths)",
                                tensors == 1 ? "one tensor" : "(x, lengths)"));
    module.eval();
    return module;
}

void adopt_tensors(torch::nn::Module& owner, const torch::jit::Module& module, const std::string& file) {
    std::size_t trainable = 0;
    std::set<const void*> seen;                // a weight tied between two layers is trained once
    std::map<std::string, std::string> names;  // '/'-name → the module's own
    auto claim = [&](std::string dotted) {
        std::string name = dotted;
        std::replace(name.begin(), name.end(), '.', '/');
        if (const auto [at, fresh] = names.emplace(name, dotted); !fresh)
            throw Error(fmt::format("the TorchScript model has both '{}' and '{}', which mer cannot tell apart; rename one",
                                    at->second, dotted),
                        Location(file));
        return name;
    };
    for (const auto& p : module.named_parameters(true)) {
        if (!seen.insert(p.value.unsafeGetTensorImpl()).second) continue;
        owner.register_parameter(claim(p.name), p.value, p.value.requires_grad());
        trainable += p.value.requires_grad() ? 1 : 0;
    }
    for (const auto& b : module.named_buffers(true))
        if (seen.insert(b.value.unsafeGetTensorImpl()).second) owner.register_buffer(claim(b.name), b.value);
    if (trainable == 0)
        throw Error("the TorchScript model has no parameter that requires a gradient: nothing to train", Location(file));
}

torch::Tensor forward_ratings(torch::jit::Module& module, const std::vector<c10::IValue>& inputs, const std::string& file,
                              const std::vector<int64_t>& shape, const std::string& layout) {
    const std::string name = std::filesystem::path(file).filename().string();
    const torch::Tensor& x = inputs.front().toTensor();
    c10::IValue out;
    auto failed = [&](const std::string& why) {
        return Error(fmt::format("{} failed on a batch of shape ({}), what the input node gives: {}", name,
                                 fmt::join(x.sizes(), ", "), why),
                     Location(file));
    };
    try {
        out = module.forward(inputs);
    } catch (const c10::Error& e) {
        throw failed(e.what_without_backtrace());
    } catch (const std::exception& e) {  // the TorchScript interpreter's own
        throw failed(e.what());
    }
    std::vector<std::string> axes;
    for (const int64_t d : shape) axes.push_back(d < 0 ? "any" : std::to_string(d));
    const std::string expected = fmt::format("({})", fmt::join(axes, ", "));
    if (!out.isTensor())
        throw Error(fmt::format("{} returns {}; a model mer trains returns one tensor, {}: {}", name,
                                describe_value(out), expected, layout),
                    Location(file));
    const torch::Tensor& t = out.toTensor();
    bool fits = t.dim() == static_cast<int64_t>(shape.size());
    for (std::size_t d = 0; fits && d < shape.size(); ++d) fits = shape[d] < 0 || t.size(static_cast<int64_t>(d)) == shape[d];
    if (!fits)
        throw Error(fmt::format("{} returns {} for a batch of shape ({}); expected {}: {}", name, describe_value(out),
                                fmt::join(x.sizes(), ", "), expected, layout),
                    Location(file));
    if (!at::isFloatingType(t.scalar_type()))
        throw Error(fmt::format("{} returns {}; expected floating-point ratings", name, describe_value(out)),
                    Location(file));
    return t;
}

void save_script(const torch::jit::Module& module, const std::string& file) {
    std::ostringstream bytes;
    module.save(bytes);
    write_file_atomic(file, bytes.str());
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
