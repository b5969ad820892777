// Fuzz target: .npy files (cached features, chunk tensors, model bundles)
// through both readers; refusals are mer::Error.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "bench/fuzz/fuzz_support.hpp"
#include "core/data/npy.hpp"
#include "core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto file = mer::fuzz::write_scratch("array.npy", data, size);
    try {
        mer::read_npy(file);
    } catch (const mer::Error&) {
    }
    try {
        std::vector<std::size_t> shape;
        mer::read_npy_float32(file, shape);
    } catch (const mer::Error&) {
    }
    return 0;
}
