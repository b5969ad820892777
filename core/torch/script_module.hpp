// TorchScript files as mer reads them (features.torchscript,
// regressor.torchscript): the archive is checked before anything runs (a
// zip with TorchScript code in it, not a torch.save weights file), its
// optional `mer.json` extra file read without loading the model, and the
// module loaded with LibTorch's errors turned into mer's, naming the file.
// A TorchScript file is code: load only files you trust.
#pragma once

#include <torch/script.h>

#include <nlohmann/json.hpp>
#include <string>

namespace mer::torchx {

// The `mer.json` the file carries (torch.jit.save(m, f, _extra_files={'mer.json': …})),
// or null where it carries none. Throws an Error whose message names the file
// where it is not a TorchScript archive, or its mer.json is not a JSON object.
nlohmann::json script_defaults(const std::string& path);

// The module, on `device`, in eval mode; its forward must take one tensor
// (any further arguments need defaults). Error messages name the file.
torch::jit::Module load_script(const std::string& path, const torch::Device& device);

// What a forward returned, in words, for errors: "a tensor (2, 64) of Float",
// "a tuple of 3", "a list of 13 tensors", "a dict with keys a, b".
std::string describe_value(const c10::IValue& value);

}  // namespace mer::torchx
