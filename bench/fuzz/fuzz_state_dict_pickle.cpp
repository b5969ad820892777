// Fuzz target: the data.pkl of a torch.save checkpoint through
// read_state_dict_pickle; refusals are mer::Error. A state dict it accepts
// must keep the promises core/torch/cnn14.cpp builds tensors on: sizes and
// strides of one length, none negative, every element a non-empty tensor reads
// inside its storage, the storage's byte size within 64 bits, and one
// description per storage key (the loader reads a storage once, by key).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <string>

#include "core/checkpoint/state_dict_pickle.hpp"
#include "core/error.hpp"

namespace {

[[noreturn]] void broken(const mer::PickledTensor& t, const char* why) {
    std::fprintf(stderr, "read_state_dict_pickle accepted tensor '%s' (storage '%s'): %s\n", t.key.c_str(),
                 t.storage.c_str(), why);
    std::abort();
}

void check(const mer::PickledTensor& t) {
    if (t.sizes.size() != t.strides.size()) broken(t, "sizes and strides of different lengths");
    if (t.offset < 0 || t.storage_elements < 0) broken(t, "a negative offset or storage size");
    std::uint64_t bytes = 0;
    if (__builtin_mul_overflow(static_cast<std::uint64_t>(t.storage_elements), t.element_bytes, &bytes) ||
        bytes > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        broken(t, "a storage of more than 2^63 bytes");
    // The highest element index read, in unsigned 128 bits so that the check cannot overflow itself.
    unsigned __int128 last = static_cast<std::uint64_t>(t.offset);
    bool empty = false;
    for (std::size_t d = 0; d < t.sizes.size(); ++d) {
        if (t.sizes[d] < 0 || t.strides[d] < 0) broken(t, "a negative size or stride");
        if (t.sizes[d] == 0)
            empty = true;
        else
            last += static_cast<unsigned __int128>(t.sizes[d] - 1) * static_cast<std::uint64_t>(t.strides[d]);
    }
    if (!empty && last >= static_cast<std::uint64_t>(t.storage_elements)) broken(t, "it reads past its storage");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        const mer::PickledStateDict dict =
            mer::read_state_dict_pickle(std::string(reinterpret_cast<const char*>(data), size), "data.pkl");
        std::map<std::string, const mer::PickledTensor*> storages;
        for (const mer::PickledTensor& t : dict.tensors) {
            check(t);
            const auto [it, first] = storages.emplace(t.storage, &t);
            if (!first && (it->second->dtype != t.dtype || it->second->storage_elements != t.storage_elements))
                broken(t, "its storage is described differently by another tensor");
        }
    } catch (const mer::Error&) {
    }
    return 0;
}
