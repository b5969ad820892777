// What the fuzz targets of bench/fuzz share: a scratch folder for the files a
// reader under test opens, and the plugins of the fuzz build.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace mer {
class PluginRegistry;
}

namespace mer::fuzz {

// A folder of this process under the temporary folder ($TMPDIR), removed at exit.
const std::filesystem::path& scratch_dir();
// Writes `size` bytes to scratch_dir()/name (replacing it) and returns its path.
std::filesystem::path write_scratch(const std::string& name, const std::uint8_t* data, std::size_t size);
// The plugins built beside the fuzz target (build-fuzz/plugins), scanned once.
const PluginRegistry& plugins();

}  // namespace mer::fuzz
