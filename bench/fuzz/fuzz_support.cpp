// Scratch files and the plugin registry for the fuzz targets.
#include "bench/fuzz/fuzz_support.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "core/plugin/registry.hpp"

namespace mer::fuzz {

namespace fs = std::filesystem;

const fs::path& scratch_dir() {
    static const fs::path dir = [] {
        const fs::path d = fs::temp_directory_path() / ("mer-fuzz-" + std::to_string(::getpid()));
        fs::create_directories(d);
        std::atexit([] {
            std::error_code ec;
            fs::remove_all(scratch_dir(), ec);
        });
        return d;
    }();
    return dir;
}

fs::path write_scratch(const std::string& name, const std::uint8_t* data, std::size_t size) {
    const fs::path path = scratch_dir() / name;
    std::ofstream(path, std::ios::binary | std::ios::trunc)
        .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    return path;
}

const PluginRegistry& plugins() {
    static const PluginRegistry registry = [] {
        PluginRegistry r;
        r.scan({fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "plugins"});
        return r;
    }();
    return registry;
}

}  // namespace mer::fuzz
