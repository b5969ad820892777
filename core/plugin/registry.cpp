// Plugin discovery: ELF tag check, Boost.DLL loading, metadata checks.
#include "core/plugin/registry.hpp"

#include <dlfcn.h>
#include <elf.h>

#include <algorithm>
#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <set>
#include <string_view>

#include "core/plugin/abi.hpp"
#include "core/run/files.hpp"

namespace mer {

namespace fs = std::filesystem;

// Every offset and size in the file is checked against the file before it
// is used: a crafted or damaged file is refused with a reason, never read
// out of bounds.
std::string read_abi_section(const fs::path& file) {
    constexpr std::uintmax_t kLargestPlugin = std::uintmax_t{1} << 31;  // 2 GiB; LibTorch plugins are ~10 MB
    std::error_code ec;
    const std::uintmax_t size = fs::file_size(file, ec);
    if (ec) throw Error("cannot be read: " + ec.message());
    if (size > kLargestPlugin) throw Error("not a plugin: larger than 2 GiB");
    std::ifstream in(file, std::ios::binary);
    if (!in) throw Error("cannot be opened for reading");
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto fits = [&bytes](std::uint64_t offset, std::uint64_t length) {
        return offset <= bytes.size() && length <= bytes.size() - offset;
    };
    auto read = [&](std::uint64_t offset, std::uint64_t length, void* out) {
        if (!fits(offset, length)) throw Error("not a plugin: damaged ELF file (an offset points past its end)");
        std::memcpy(out, bytes.data() + offset, length);
    };
    if (bytes.size() < EI_NIDENT || std::memcmp(bytes.data(), ELFMAG, SELFMAG) != 0)
        throw Error("not a plugin: not an ELF shared library");
    if (bytes[EI_CLASS] != ELFCLASS64 || bytes[EI_DATA] != ELFDATA2LSB)
        throw Error("not a plugin: not a 64-bit little-endian ELF library");
    Elf64_Ehdr header;
    read(0, sizeof header, &header);
    if (header.e_shstrndx == SHN_UNDEF || header.e_shentsize != sizeof(Elf64_Shdr) ||
        header.e_shstrndx >= header.e_shnum)
        throw Error("not a plugin: ELF file without section names");
    if (!fits(header.e_shoff, std::uint64_t{header.e_shnum} * sizeof(Elf64_Shdr)))
        throw Error("not a plugin: damaged ELF file (its section table lies past its end)");
    auto section = [&](std::size_t i) {
        Elf64_Shdr s;
        read(header.e_shoff + i * sizeof(Elf64_Shdr), sizeof s, &s);
        return s;
    };
    const Elf64_Shdr names = section(header.e_shstrndx);
    if (!fits(names.sh_offset, names.sh_size))
        throw Error("not a plugin: damaged ELF file (its section names lie past its end)");
    const std::string_view name_table(bytes.data() + names.sh_offset, names.sh_size);
    for (std::size_t i = 0; i < header.e_shnum; ++i) {
        const Elf64_Shdr s = section(i);
        if (s.sh_name >= name_table.size()) continue;
        const std::string_view rest = name_table.substr(s.sh_name);
        if (rest.substr(0, rest.find('\0')) != ".mer_abi") continue;
        if (s.sh_size > 4096) throw Error("not a plugin: its .mer_abi section is too large");
        std::string tag(s.sh_size, '\0');
        read(s.sh_offset, s.sh_size, tag.data());
        return std::string(tag.c_str());  // the section holds one NUL-terminated string
    }
    throw Error("not a plugin: no .mer_abi section (plugins are built with mer_add_plugin())");
}

std::string nearest_name(const std::string& wanted, const std::vector<std::string>& candidates) {
    auto distance = [](const std::string& a, const std::string& b) {
        std::vector<std::size_t> row(b.size() + 1);
        for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
        for (std::size_t i = 1; i <= a.size(); ++i) {
            std::size_t diagonal = row[0];
            row[0] = i;
            for (std::size_t j = 1; j <= b.size(); ++j) {
                const std::size_t above = row[j];
                row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
                diagonal = above;
            }
        }
        return row[b.size()];
    };
    std::string best;
    std::size_t best_distance = std::max<std::size_t>(3, wanted.size() / 3) + 1;
    for (const auto& c : candidates) {
        const std::size_t d = distance(wanted, c);
        if (d < best_distance) best = c, best_distance = d;
    }
    return best;
}

std::vector<fs::path> PluginRegistry::default_folders() {
    std::vector<fs::path> folders;
    const fs::path exe_dir = boost::dll::program_location().parent_path().string();
    folders.push_back(exe_dir.parent_path() / "plugins");                  // build/bin/mer-run → build/plugins
    folders.push_back(exe_dir.parent_path() / "lib" / "mer" / "plugins");  // PREFIX/bin → PREFIX/lib/mer/plugins
    if (const char* env = std::getenv("MER_PLUGIN_PATH")) {
        std::string paths = env;
        std::size_t start = 0;
        while (start <= paths.size()) {
            const std::size_t end = std::min(paths.find(':', start), paths.size());
            if (end > start) folders.emplace_back(paths.substr(start, end - start));
            start = end + 1;
        }
    }
    return folders;
}

fs::path plugin_index_file() {
    if (const char* env = std::getenv("MER_PLUGIN_INDEX")) return std::string(env) == "off" ? fs::path() : fs::path(env);
    if (const char* cache = std::getenv("XDG_CACHE_HOME"); cache && *cache) return fs::path(cache) / "mer" / "plugin-index.json";
    if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".cache" / "mer" / "plugin-index.json";
    return {};
}

namespace {

std::string text_of(const char* s) {
    return s ? std::string(s) : std::string();
}

// Loads a plugin library; throws std::exception when the loader refuses it.
// RTLD_NODELETE: the library stays mapped even if a handle is closed.
std::shared_ptr<boost::dll::shared_library> open_library(const std::string& path) {
    auto library = std::make_shared<boost::dll::shared_library>();
    library->load(path, static_cast<boost::dll::load_mode::type>(RTLD_LAZY | RTLD_LOCAL | RTLD_NODELETE));
    return library;
}

// A file's identity for the index: its size and modification time.
nlohmann::json file_stamp(const fs::path& file) {
    std::error_code ec;
    const auto size = fs::file_size(file, ec);
    const auto time = fs::last_write_time(file, ec);
    if (ec) return nullptr;
    return {size, static_cast<long long>(time.time_since_epoch().count())};
}

nlohmann::json read_index() {
    const fs::path file = plugin_index_file();
    std::error_code ec;
    if (file.empty() || !fs::is_regular_file(file, ec)) return nlohmann::json::object();
    try {
        nlohmann::json index = nlohmann::json::parse(read_text_file(file));
        if (index.value("format", 0) == 1 && index.value("host_abi", "") == host_abi_tag() &&
            index.contains("files") && index["files"].is_object())
            return index["files"];
    } catch (const std::exception&) {  // damaged: rebuilt from the libraries
    }
    return nlohmann::json::object();
}

void write_index(const nlohmann::json& files) {
    const fs::path file = plugin_index_file();
    std::error_code ec;
    // Only a regular file (or none yet) is the index: a link to a device or a FIFO is left alone.
    if (file.empty() || (fs::exists(file, ec) && !fs::is_regular_file(file, ec))) return;
    try {
        fs::create_directories(file.parent_path());
        write_file_atomic(file, nlohmann::json{{"format", 1}, {"host_abi", host_abi_tag()}, {"files", files}}.dump() + "\n");
    } catch (const std::exception&) {  // a read-only home: every scan loads the libraries
    }
}

}  // namespace

void PluginRegistry::scan(const std::vector<fs::path>& folders) {
    index_ = read_index();
    const std::string before = index_.dump();
    scan_folders(folders);
    // Forget files that are gone; keep those of folders not scanned this time.
    for (auto it = index_.begin(); it != index_.end();) {
        std::error_code ec;
        if (fs::exists(it.key(), ec))
            ++it;
        else
            it = index_.erase(it);
    }
    if (index_.dump() != before) write_index(index_);
}

void PluginRegistry::scan_folders(const std::vector<fs::path>& folders) {
    std::set<fs::path> seen;
    for (const auto& folder : folders) {
        std::error_code ec;
        if (!fs::is_directory(folder, ec)) continue;
        std::vector<fs::path> files;
        for (const auto& entry : fs::directory_iterator(folder, ec)) {
            if (entry.path().extension() != ".so") continue;
            // Only regular files are opened: a FIFO would block, a folder or
            // a symlink loop named *.so is refused with its reason.
            std::error_code status_error;
            const fs::file_status status = fs::status(entry.path(), status_error);
            fs::path file = fs::weakly_canonical(entry.path(), status_error);
            if (status_error)
                refused_.push_back({entry.path().string(), "cannot be resolved: " + status_error.message()});
            else if (status.type() != fs::file_type::regular)
                refused_.push_back({entry.path().string(), status.type() == fs::file_type::directory
                                                               ? "is a folder, not a plugin library"
                                                               : "is not a regular file (a pipe or a device?)"});
            else
                files.push_back(std::move(file));
        }
        std::sort(files.begin(), files.end());
        for (const auto& file : files)
            if (seen.insert(file).second) load_file(file);
    }
}

void PluginRegistry::load_file(const fs::path& file) {
    const std::string path = file.string();
    auto refuse = [&](const std::string& reason) { refused_.push_back({path, reason}); };

    std::string tag;
    try {
        tag = read_abi_section(file);
    } catch (const Error& e) {
        return refuse(e.message());
    }
    if (const std::string diff = abi_mismatch(tag, host_abi_tag()); !diff.empty())
        return refuse("ABI mismatch: " + diff + "; rebuild this plugin against the mer SDK of this mer-run");

    // Known unchanged from an earlier scan: its metadata without loading it.
    const nlohmann::json stamp = file_stamp(file);
    if (index_.contains(path) && !stamp.is_null() && index_[path].value("stamp", nlohmann::json()) == stamp &&
        index_[path].value("abi_tag", "") == tag) {
        const nlohmann::json& entry = index_[path];
        PluginRecord record;
        try {
            record.name = entry.at("name");
            record.kind = entry.at("kind");
            record.version = entry.at("version");
            record.description = entry.at("description");
            record.inputs = entry.at("inputs");
            record.schema = entry.at("schema");
            record.capabilities = entry.at("capabilities");
            record.file = path;
            record.abi_tag = tag;
            return add(std::move(record));
        } catch (const nlohmann::json::exception&) {  // a damaged entry: load the library instead
            index_.erase(path);
        }
    }

    std::shared_ptr<boost::dll::shared_library> library;
    try {
        library = open_library(path);
    } catch (const std::exception& e) {
        return refuse(std::string("cannot be loaded: ") + e.what());
    }
    for (const char* symbol : {"mer_plugin_metadata", "mer_plugin_create"})
        if (!library->has(symbol))
            return refuse(std::string("missing symbol ") + symbol + " (declare the plugin with MER_PLUGIN())");

    const auto& meta = library->get_alias<const PluginMetadata>("mer_plugin_metadata");
    if (meta.metadata_version < 2)
        return refuse("metadata record version " + std::to_string(meta.metadata_version) +
                      " is older than this mer-run reads (2); rebuild the plugin against this mer SDK");
    PluginRecord record;
    const auto text = text_of;
    record.name = text(meta.name);
    record.kind = text(meta.kind);
    record.version = text(meta.version);
    record.description = text(meta.description);
    record.file = path;
    record.abi_tag = tag;
    record.inputs = meta.inputs;
    for (const auto& [field, value] : {std::pair{"name", record.name},
                                       {"kind", record.kind},
                                       {"version", record.version},
                                       {"description", record.description}})
        if (value.empty()) return refuse(std::string("metadata incomplete: empty ") + field);
    static const std::set<std::string> kinds{"dataset", "features", "transform", "regressor"};
    if (!kinds.count(record.kind)) return refuse("metadata: unknown kind '" + record.kind + "'");
    if (record.name.rfind(record.kind + ".", 0) != 0)
        return refuse("metadata: name '" + record.name + "' must start with its kind '" + record.kind + ".'");
    try {
        record.schema = nlohmann::json::parse(text(meta.params_schema));
    } catch (const std::exception& e) {
        return refuse(std::string("metadata: parameter schema is not valid JSON: ") + e.what());
    }
    if (!record.schema.is_object() || record.schema.value("type", "") != "object")
        return refuse("metadata: parameter schema must be a JSON Schema with \"type\": \"object\"");
    try {
        record.capabilities = nlohmann::json::parse(text(meta.capabilities).empty() ? "{}" : text(meta.capabilities));
    } catch (const std::exception& e) {
        return refuse(std::string("metadata: capabilities are not valid JSON: ") + e.what());
    }
    if (!record.capabilities.is_object()) return refuse("metadata: capabilities must be a JSON object (name → value)");
    record.factory = &library->get_alias<PluginFactory>("mer_plugin_create");
    record.library = library;
    if (!stamp.is_null())
        index_[path] = {{"stamp", stamp},
                        {"abi_tag", tag},
                        {"name", record.name},
                        {"kind", record.kind},
                        {"version", record.version},
                        {"description", record.description},
                        {"inputs", record.inputs},
                        {"schema", record.schema},
                        {"capabilities", record.capabilities}};
    add(std::move(record));
}

void PluginRegistry::add(PluginRecord record) {
    for (const auto& existing : plugins_)
        if (existing.name == record.name) {
            conflicts_.emplace_back(record.name, record.file);
            refused_.push_back({record.file, "plugin name '" + record.name + "' is already claimed by " +
                                                 existing.file +
                                                 "; remove one of the two files or take its folder off MER_PLUGIN_PATH"});
            return;
        }
    plugins_.push_back(std::move(record));
}

// A plugin listed from the index is loaded when its first instance is made.
void PluginRegistry::load_library(const PluginRecord& record) const {
    static std::mutex mutex;
    std::lock_guard<std::mutex> lock(mutex);
    if (record.loaded()) return;
    std::shared_ptr<boost::dll::shared_library> library;
    try {
        library = open_library(record.file);
    } catch (const std::exception& e) {
        throw Error("plugin '" + record.name + "' cannot be loaded from " + record.file + ": " + e.what());
    }
    if (!library->has("mer_plugin_metadata") || !library->has("mer_plugin_create") ||
        text_of(library->get_alias<const PluginMetadata>("mer_plugin_metadata").name) != record.name)
        throw Error("plugin '" + record.name + "': " + record.file +
                    " changed while mer-run was starting; run the command again");
    // A record from the plugin index must say what the library says: an
    // edited index (a schema without its minimum) would let parameters past
    // their checks. The library is the truth; the index only saves loading it.
    const auto& meta = library->get_alias<const PluginMetadata>("mer_plugin_metadata");
    std::string differs;
    try {
        if (text_of(meta.kind) != record.kind) differs = "kind";
        else if (text_of(meta.version) != record.version) differs = "version";
        else if (meta.inputs != record.inputs) differs = "inputs";
        else if (nlohmann::json::parse(text_of(meta.params_schema)) != record.schema) differs = "parameter schema";
        else if (nlohmann::json::parse(text_of(meta.capabilities).empty() ? "{}" : text_of(meta.capabilities)) !=
                 record.capabilities)
            differs = "capabilities";
    } catch (const std::exception&) {
        differs = "metadata";
    }
    if (!differs.empty())
        throw Error("plugin '" + record.name + "': the plugin index (" + plugin_index_file().string() +
                    ") disagrees with " + record.file + " about its " + differs +
                    ": the index was edited or damaged; delete it (it is rebuilt from the libraries) and run again");
    record.factory = &library->get_alias<PluginFactory>("mer_plugin_create");
    record.library = library;
}

const PluginRecord* PluginRegistry::find(const std::string& name) const {
    for (const auto& [conflict, second] : conflicts_)
        if (conflict == name)
            throw Error("two plugin files claim the name '" + name + "': " + find_unchecked(name)->file + " and " +
                        second + "; remove one of them or take its folder off MER_PLUGIN_PATH");
    return find_unchecked(name);
}

const PluginRecord* PluginRegistry::find_unchecked(const std::string& name) const {
    for (const auto& p : plugins_)
        if (p.name == name) return &p;
    return nullptr;
}

std::vector<std::string> PluginRegistry::names() const {
    std::vector<std::string> out;
    for (const auto& p : plugins_) out.push_back(p.name);
    return out;
}

std::vector<const PluginRecord*> PluginRegistry::with_capability(const std::string& capability) const {
    std::vector<const PluginRecord*> out;
    for (const auto& p : plugins_)
        if (p.has(capability)) out.push_back(&p);
    return out;
}

const PluginRecord& PluginRegistry::get(const std::string& name) const {
    if (const PluginRecord* p = find(name)) return *p;
    std::string message = "unknown plugin '" + name + "'";
    if (const std::string near = nearest_name(name, names()); !near.empty())
        message += " (did you mean '" + near + "'?)";
    message += "; `mer-run plugins` lists the plugins found and why any file was refused";
    throw Error(message);
}

std::shared_ptr<PluginBase> PluginRegistry::create_base(const std::string& name, const nlohmann::json& params) const {
    const PluginRecord& record = get(name);
    load_library(record);
    PluginBase* raw = record.factory(params);
    std::shared_ptr<void> library = record.library;
    return std::shared_ptr<PluginBase>(raw, [library](PluginBase* p) { delete p; });
}

}  // namespace mer
