// Fuzz target: node cache tables (cache/<key>.table) through
// deserialize_song_table; a damaged file must be refused with mer::Error.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/data/node_cache.hpp"
#include "core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        mer::deserialize_song_table(std::string(reinterpret_cast<const char*>(data), size));
    } catch (const mer::Error&) {
    }
    return 0;
}
