// The pickle inside a `torch.save` zip checkpoint (its data.pkl), read by a
// strict interpreter of our own: no Python, and nothing in the file can run
// code. It understands what torch.save writes for state dicts — dicts and
// OrderedDicts, lists, tuples, numbers, strings, and tensors rebuilt by
// torch._utils._rebuild_tensor_v2 over storages kept as separate records —
// and describes each tensor; the LibTorch side (read_torch_checkpoint in
// core/torch/cnn14.hpp) reads the storages. Free of LibTorch, so it can be
// fuzzed on its own: it is its own layer of mer_core, on core/error alone.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mer {

// One tensor of the state dict, as the pickle describes it.
struct PickledTensor {
    std::string key;                 // state-dict key, e.g. "conv_block1.conv1.weight"
    std::string storage;             // record of the storage: <archive>/data/<storage>
    std::string dtype;               // "float32", "int64", …
    std::size_t element_bytes = 0;   // bytes per element of that dtype
    std::int64_t storage_elements = 0;  // elements the storage holds
    std::int64_t offset = 0;         // first element of the tensor in its storage
    std::vector<std::int64_t> sizes, strides;
};

struct PickledStateDict {
    std::vector<PickledTensor> tensors;  // in the file's order
    std::string source;                  // "the 'model' entry" or "the top level"
    std::vector<std::string> ignored;    // other top-level entries (training extras), by key
};

// Interprets `bytes` (a data.pkl). Throws mer::Error naming `file` when the
// pickle is malformed, names a Python global other than the few torch.save
// uses for state dicts and their training extras (numpy arrays, sets), or
// holds anything but tensors under its state dict: the top-level 'model'
// entry when there is one (PANNs' layout), else the top level itself.
PickledStateDict read_state_dict_pickle(const std::string& bytes, const std::string& file);

}  // namespace mer
