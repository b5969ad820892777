// Fuzz target: .npy files (cached features, chunk tensors, model bundles)
// through both readers; refusals are mer::Error. An array read_npy_float32
// accepts must hold exactly its shape's elements: callers index the values
// by that shape.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
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
        const std::vector<float> values = mer::read_npy_float32(file, shape);
        std::size_t count = 1;
        bool overflow = false;
        for (std::size_t d : shape) overflow |= __builtin_mul_overflow(count, d, &count);
        if (overflow || count != values.size()) {
            std::fprintf(stderr, "read_npy_float32: %zu values for a shape of %s elements\n", values.size(),
                         overflow ? "more than 2^64" : std::to_string(count).c_str());
            std::abort();
        }
    } catch (const mer::Error&) {
    }
    return 0;
}
