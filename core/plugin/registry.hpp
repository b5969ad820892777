// Finding, checking and loading plugin libraries. The registry scans the
// build's plugin folder and every folder of MER_PLUGIN_PATH, reads each
// library's ABI tag from the file before loading it, and remembers why every
// refused file was refused. Loaded libraries are never unloaded (LibTorch
// does not survive dlclose) and every object a plugin creates holds its
// library.
//
// Loading a library costs (LibTorch's take a second): an index of every
// accepted file's metadata (plugin-index.json in the user's cache folder,
// keyed by path, size and modification time) lets a scan list plugins
// without loading them, and a library is loaded when its first instance is
// created. A changed file is loaded and checked again.
#pragma once

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/plugin/plugin.hpp"

namespace mer {

struct PluginRecord {
    std::string name;
    std::string kind;
    std::string version;
    std::string description;
    std::string file;  // absolute path of the shared library
    std::string abi_tag;
    nlohmann::json schema;                                   // JSON Schema of the parameters
    int inputs = 1;                                          // input nodes it takes
    nlohmann::json capabilities = nlohmann::json::object();  // name → value (capabilities.hpp)

    bool has(const std::string& capability) const { return capabilities.contains(capability); }
    // The declared value, or `fallback` when the plugin does not declare it.
    nlohmann::json capability(const std::string& name, const nlohmann::json& fallback = nullptr) const {
        return capabilities.contains(name) ? capabilities.at(name) : fallback;
    }

    // Loaded on first use (PluginRegistry::create): the library, kept loaded,
    // and its factory; null until then when the metadata came from the index.
    mutable std::shared_ptr<void> library;
    mutable PluginFactory* factory = nullptr;
    bool loaded() const { return factory != nullptr; }
};

struct RefusedFile {
    std::string file;
    std::string reason;
};

class PluginRegistry {
public:
    // Scans `folders` in order; missing folders are skipped silently, broken
    // files are recorded in refused() and never stop the scan.
    void scan(const std::vector<std::filesystem::path>& folders);

    // The plugin folder next to the running executable (build/plugins or
    // PREFIX/lib/mer/plugins), then each folder of MER_PLUGIN_PATH.
    static std::vector<std::filesystem::path> default_folders();

    const std::vector<PluginRecord>& plugins() const { return plugins_; }
    const std::vector<RefusedFile>& refused() const { return refused_; }

    // nullptr when no plugin has that name; throws when two files claim it.
    const PluginRecord* find(const std::string& name) const;
    // Throws mer::Error naming the nearest known plugin when there is none.
    const PluginRecord& get(const std::string& name) const;
    std::vector<std::string> names() const;
    // The plugins that declare a capability (capabilities.hpp), in scan order.
    std::vector<const PluginRecord*> with_capability(const std::string& capability) const;

    // A new instance with already validated parameters.
    template <class Kind>
    std::shared_ptr<Kind> create(const std::string& name, const nlohmann::json& params) const {
        auto base = create_base(name, params);
        auto typed = std::dynamic_pointer_cast<Kind>(base);
        if (!typed)
            throw Error("plugin '" + name + "' does not implement the " + std::string(Kind::kKind) +
                        " interface it declares; rebuild it against this mer SDK");
        return typed;
    }

    // Builds and drops one instance, so that the plugin's own checks of its
    // parameters (those a schema cannot express) run before anything else.
    void check_params(const std::string& name, const nlohmann::json& params) const { create_base(name, params); }

private:
    std::shared_ptr<PluginBase> create_base(const std::string& name, const nlohmann::json& params) const;
    void scan_folders(const std::vector<std::filesystem::path>& folders);
    // Reads each library's tag, takes known ones from the index, probes the
    // rest, and adds or refuses every file in order.
    void admit(const std::vector<std::filesystem::path>& files);
    std::string admit_probed(const std::string& path, const std::string& tag, const nlohmann::json& stamp,
                             const nlohmann::json& meta);
    void add(PluginRecord record);
    const PluginRecord* find_unchecked(const std::string& name) const;

    void load_library(const PluginRecord& record) const;

    std::vector<PluginRecord> plugins_;
    std::vector<RefusedFile> refused_;
    nlohmann::json index_;  // path → {size, mtime, metadata}: what the last scans accepted
    std::vector<std::pair<std::string, std::string>> conflicts_;  // name, second file
};

// The plugin index's file: $MER_PLUGIN_INDEX, else
// $XDG_CACHE_HOME/mer/plugin-index.json, else ~/.cache/mer/plugin-index.json;
// empty (no index) when MER_PLUGIN_INDEX is "off" or there is no home.
std::filesystem::path plugin_index_file();

// The contents of the `.mer_abi` section of an ELF shared library. Throws
// mer::Error saying why the file is not a mer plugin.
std::string read_abi_section(const std::filesystem::path& file);

// Closest candidate by edit distance, or "" when nothing is close.
std::string nearest_name(const std::string& wanted, const std::vector<std::string>& candidates);

}  // namespace mer
