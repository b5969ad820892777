// Fuzz target: the ABI tag reader, which parses every .so in the plugin
// folders as ELF before anything is loaded; refusals are mer::Error.
#include <cstddef>
#include <cstdint>

#include "bench/fuzz/fuzz_support.hpp"
#include "core/plugin/registry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto file = mer::fuzz::write_scratch("plugin.so", data, size);
    try {
        mer::read_abi_section(file);
    } catch (const mer::Error&) {
    }
    return 0;
}
