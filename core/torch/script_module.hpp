// TorchScript files as mer reads them (features.torchscript,
// regressor.torchscript, regressor.torchscript_sequence): the archive is checked before anything runs (a
// zip with TorchScript code in it, not a torch.save weights file), its
// optional `mer.json` extra file read without loading the model, and the
// module loaded with LibTorch's errors turned into mer's, naming the file.
// A TorchScript file is code: load only files you trust.
#pragma once

#include <torch/nn/module.h>
#include <torch/script.h>

#include <nlohmann/json.hpp>
#include <string>

namespace mer::torchx {

// The `mer.json` the file carries (torch.jit.save(m, f, _extra_files={'mer.json': …})),
// or null where it carries none. Throws an Error whose message names the file
// where it is not a TorchScript archive, or its mer.json is not a JSON object.
nlohmann::json script_defaults(const std::string& path);

// The module, on `device`, in eval mode; its forward must take `tensors`
// tensors (any further arguments need defaults). Error messages name the file.
torch::jit::Module load_script(const std::string& path, const torch::Device& device, std::size_t tensors = 1);

// Registers the module's parameters and buffers as `owner`'s own (the same
// tensors, under their dotted names with '.' as '/', which LibTorch's C++
// modules do not allow; a weight tied between two layers once), so an
// optimiser, checkpoints and copied weights act on the scripted module
// itself: how mer's training loop trains a TorchScript file. Throws, naming
// `file`, where two names clash or nothing requires a gradient.
void adopt_tensors(torch::nn::Module& owner, const torch::jit::Module& module, const std::string& file);

// A trained module's forward on `inputs` (the first a batch, whose shape the
// errors name): its one tensor of floating-point ratings, of `shape` (-1: any
// size on that axis); `layout` says the shape in words for the error ("one
// row per input row, one column per target the node learns"). Errors name
// the file.
torch::Tensor forward_ratings(torch::jit::Module& module, const std::vector<c10::IValue>& inputs, const std::string& file,
                              const std::vector<int64_t>& shape, const std::string& layout);

// The module saved to `file` through mer's own writer (as save_archive: in
// memory first, so a full disk is an error naming the file).
void save_script(const torch::jit::Module& module, const std::string& file);

// What a forward returned, in words, for errors: "a tensor (2, 64) of Float",
// "a tuple of 3", "a list of 13 tensors", "a dict with keys a, b".
std::string describe_value(const c10::IValue& value);

}  // namespace mer::torchx
