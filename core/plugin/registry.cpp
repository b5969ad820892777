// Plugin discovery: ELF tag check, Boost.DLL loading, metadata checks.
#include "core/plugin/registry.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <elf.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>

#include "core/base/files.hpp"
#include "core/plugin/abi.hpp"
#include "core/plugin/capabilities.hpp"

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

// How long a probe may take to load a library (LibTorch plugins take a
// second or two); MER_PLUGIN_LOAD_TIMEOUT (seconds) changes it.
int probe_timeout_seconds() {
    if (const char* env = std::getenv("MER_PLUGIN_LOAD_TIMEOUT"); env && *env) {
        char* end = nullptr;
        const long seconds = std::strtol(env, &end, 10);
        if (end && *end == '\0' && seconds > 0 && seconds <= 3600) return static_cast<int>(seconds);
    }
    return 30;
}

// One library's metadata as the probe sends it back (one JSON line).
nlohmann::json probed_metadata(const std::string& path) {
    nlohmann::json out;
    try {
        const auto library = open_library(path);
        out["symbols"] = library->has("mer_plugin_metadata") && library->has("mer_plugin_create");
        if (out["symbols"]) {
            const auto& meta = library->get_alias<const PluginMetadata>("mer_plugin_metadata");
            out["metadata_version"] = meta.metadata_version;
            if (meta.metadata_version >= 2) {
                out["name"] = text_of(meta.name);
                out["kind"] = text_of(meta.kind);
                out["version"] = text_of(meta.version);
                out["description"] = text_of(meta.description);
                out["params_schema"] = text_of(meta.params_schema);
                out["inputs"] = meta.inputs;
                out["capabilities"] = text_of(meta.capabilities);
            }
        }
    } catch (const std::exception& e) {
        out = {{"error", std::string("cannot be loaded: ") + e.what()}};
    }
    return out;
}

// The probe process: loads paths[first…] one after the other and writes one
// line of metadata per library to `fd`, then leaves without running anything
// of this process's own (no atexit handlers, no static destructors: _exit).
[[noreturn]] void probe_child(const std::vector<std::string>& paths, std::size_t first, int fd) {
    const rlimit no_core{0, 0};  // a crashing library leaves no core dump of the probe
    ::setrlimit(RLIMIT_CORE, &no_core);
    for (std::size_t i = first; i < paths.size(); ++i) {
        std::string text;
        try {
            text = probed_metadata(paths[i]).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        } catch (...) {
            text = R"({"error":"its metadata could not be read"})";
        }
        text += "\n";
        for (std::size_t at = 0; at < text.size();) {
            const ssize_t n = ::write(fd, text.data() + at, text.size() - at);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) ::_exit(3);
            at += static_cast<std::size_t>(n);
        }
    }
    ::_exit(0);
}

// The metadata of plugin libraries mer has not seen, read by a probe: a
// child process that loads them one after the other (LibTorch once for all
// of them) and sends each library's metadata back. Their initialisation code
// (the constructors of their statics) runs there, not in mer: a library that
// crashes or hangs while loading is refused naming it — {"error": reason} in
// its place — and a new probe goes on with the libraries after it.
std::vector<nlohmann::json> probe_libraries(const std::vector<std::string>& paths) {
    std::vector<nlohmann::json> results;
    const int timeout = probe_timeout_seconds();
    auto refuse = [&](const std::string& reason) { results.push_back({{"error", reason}}); };
    while (results.size() < paths.size()) {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) {
            refuse(std::string("cannot probe it: pipe: ") + std::strerror(errno));
            continue;
        }
        std::fflush(nullptr);
        const pid_t child = ::fork();
        if (child < 0) {
            ::close(fds[0]);
            ::close(fds[1]);
            refuse(std::string("cannot probe it: fork: ") + std::strerror(errno));
            continue;
        }
        if (child == 0) {
            ::close(fds[0]);
            probe_child(paths, results.size(), fds[1]);
        }
        ::close(fds[1]);
        std::string pending;  // a line not yet complete
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout);
        bool timed_out = false;
        char buffer[65536];
        while (results.size() < paths.size()) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            pollfd wait{fds[0], POLLIN, 0};
            const int ready = left.count() > 0 ? ::poll(&wait, 1, static_cast<int>(left.count())) : 0;
            if (ready < 0 && errno == EINTR) continue;
            if (ready == 0) {
                timed_out = true;
                break;
            }
            const ssize_t n = ready < 0 ? -1 : ::read(fds[0], buffer, sizeof buffer);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;  // the probe has ended (finished, or died on the library it was loading)
            pending.append(buffer, static_cast<std::size_t>(n));
            for (std::size_t end; (end = pending.find('\n')) != std::string::npos;) {
                nlohmann::json line;
                try {
                    line = nlohmann::json::parse(pending.substr(0, end));
                    if (!line.is_object()) throw std::runtime_error("not an object");
                } catch (const std::exception&) {
                    line = {{"error", "wrote something other than its metadata while loading (it writes to file "
                                      "descriptors it does not own?)"}};
                }
                pending.erase(0, end + 1);
                if (results.size() < paths.size()) results.push_back(std::move(line));
                deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout);  // the next library's time
            }
        }
        ::close(fds[0]);
        if (timed_out) ::kill(child, SIGKILL);
        int status = 0;
        while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
        }
        if (results.size() == paths.size()) break;
        // The library being loaded when the probe stopped is the culprit; the next probe starts after it.
        if (timed_out)
            refuse(fmt::format("did not finish loading within {} s (does its initialisation code loop or wait?); "
                               "mer went on without it (MER_PLUGIN_LOAD_TIMEOUT sets the limit)",
                               timeout));
        else if (WIFSIGNALED(status))
            refuse(fmt::format("crashed while loading (signal {}, {}): its initialisation code fails; it was "
                               "loaded in a separate process, so mer went on without it",
                               WTERMSIG(status), ::strsignal(WTERMSIG(status))));
        else
            refuse(fmt::format("ended the process while loading (exit status {}: its initialisation code calls "
                               "exit?)",
                               WIFEXITED(status) ? WEXITSTATUS(status) : -1));
    }
    return results;
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
    std::vector<fs::path> ordered;  // every library to consider, in scan order
    for (const auto& folder : folders) {
        std::error_code ec;
        if (!fs::is_directory(folder, ec)) continue;
        std::vector<fs::path> files;
        for (const auto& entry : fs::directory_iterator(folder, ec)) {
            if (entry.path().extension() != ".so") continue;
            // Only regular files are opened: a FIFO would block, a folder, a
            // dangling link or a symlink loop named *.so is refused with its reason.
            std::error_code status_error, link_error;
            const fs::file_status status = fs::status(entry.path(), status_error);
            const bool link = fs::is_symlink(fs::symlink_status(entry.path(), link_error));
            if (link && status_error == std::errc::too_many_symbolic_link_levels) {
                refused_.push_back({entry.path().string(), "is a symbolic link loop (it leads back to itself), not a "
                                                           "plugin library"});
                continue;
            }
            if (link && status.type() == fs::file_type::not_found) {
                refused_.push_back({entry.path().string(),
                                    "is a dangling symbolic link: its target '" +
                                        fs::read_symlink(entry.path(), link_error).string() +
                                        "' does not exist (moved, deleted, or not built yet?)"});
                continue;
            }
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
            if (seen.insert(file).second) ordered.push_back(file);
    }
    admit(ordered);
}

void PluginRegistry::admit(const std::vector<fs::path>& files) {
    // Each file: refused for its tag, known from the index, or to be probed.
    struct Found {
        std::string path, tag, refusal;
        nlohmann::json stamp, meta;
        std::optional<PluginRecord> indexed;
    };
    std::vector<Found> found;
    std::vector<std::string> unknown;
    for (const auto& file : files) {
        Found& f = found.emplace_back();
        f.path = file.string();
        try {
            f.tag = read_abi_section(file);
        } catch (const Error& e) {
            f.refusal = e.message();
            continue;
        }
        if (const std::string diff = abi_mismatch(f.tag, host_abi_tag()); !diff.empty()) {
            f.refusal = "ABI mismatch: " + diff + "; rebuild this plugin against the mer SDK of this mer-run";
            continue;
        }
        // Known unchanged from an earlier scan: its metadata without loading it.
        f.stamp = file_stamp(file);
        if (index_.contains(f.path) && !f.stamp.is_null() && index_[f.path].value("stamp", nlohmann::json()) == f.stamp &&
            index_[f.path].value("abi_tag", "") == f.tag) {
            const nlohmann::json& entry = index_[f.path];
            try {
                PluginRecord record;
                record.name = entry.at("name");
                record.kind = entry.at("kind");
                record.version = entry.at("version");
                record.description = entry.at("description");
                record.inputs = entry.at("inputs");
                record.schema = entry.at("schema");
                record.capabilities = entry.at("capabilities");
                record.file = f.path;
                record.abi_tag = f.tag;
                f.indexed = std::move(record);
                continue;
            } catch (const nlohmann::json::exception&) {  // a damaged entry: probe the library instead
                index_.erase(f.path);
            }
        }
        unknown.push_back(f.path);
    }
    // Not known yet: the metadata from a probe process (the library is loaded
    // into mer itself when its first instance is made).
    const std::vector<nlohmann::json> probed = probe_libraries(unknown);
    std::size_t next = 0;
    for (auto& f : found) {
        if (f.refusal.empty() && !f.indexed) f.meta = probed[next++];
        if (!f.refusal.empty()) {
            refused_.push_back({f.path, f.refusal});
        } else if (f.indexed) {
            add(std::move(*f.indexed));
        } else if (const std::string refusal = admit_probed(f.path, f.tag, f.stamp, f.meta); !refusal.empty()) {
            refused_.push_back({f.path, refusal});
        }
    }
}

// A probed library's metadata checked and added; the refusal, or empty.
std::string PluginRegistry::admit_probed(const std::string& path, const std::string& tag, const nlohmann::json& stamp,
                                         const nlohmann::json& meta) {
    if (meta.contains("error")) return meta.value("error", "cannot be loaded");
    if (!meta.value("symbols", false))
        return "missing symbol mer_plugin_metadata or mer_plugin_create (declare the plugin with MER_PLUGIN())";
    if (const int version = meta.value("metadata_version", 0); version < 2)
        return "metadata record version " + std::to_string(version) +
               " is older than this mer-run reads (2); rebuild the plugin against this mer SDK";
    PluginRecord record;
    record.name = meta.value("name", "");
    record.kind = meta.value("kind", "");
    record.version = meta.value("version", "");
    record.description = meta.value("description", "");
    record.file = path;
    record.abi_tag = tag;
    record.inputs = meta.value("inputs", 0);
    for (const auto& [field, value] : {std::pair{"name", record.name},
                                       {"kind", record.kind},
                                       {"version", record.version},
                                       {"description", record.description}})
        if (value.empty()) return std::string("metadata incomplete: empty ") + field;
    static const std::set<std::string> kinds{"dataset", "features", "transform", "regressor"};
    if (!kinds.count(record.kind)) return "metadata: unknown kind '" + record.kind + "'";
    if (record.name.rfind(record.kind + ".", 0) != 0)
        return "metadata: name '" + record.name + "' must start with its kind '" + record.kind + ".'";
    try {
        record.schema = nlohmann::json::parse(meta.value("params_schema", ""));
    } catch (const std::exception& e) {
        return std::string("metadata: parameter schema is not valid JSON: ") + e.what();
    }
    if (!record.schema.is_object() || record.schema.value("type", "") != "object")
        return "metadata: parameter schema must be a JSON Schema with \"type\": \"object\"";
    try {
        const std::string capabilities = meta.value("capabilities", "");
        record.capabilities = nlohmann::json::parse(capabilities.empty() ? "{}" : capabilities);
    } catch (const std::exception& e) {
        return std::string("metadata: capabilities are not valid JSON: ") + e.what();
    }
    if (!record.capabilities.is_object()) return "metadata: capabilities must be a JSON object (name → value)";
    // A name this mer does not know (a newer mer's) is ignored; a known one must be well formed.
    for (const auto& [name, value] : record.capabilities.items())
        if (capability::find(name))
            if (std::string problem = capability::declaration_problem(record.kind, name, value, record.schema);
                !problem.empty())
                return "metadata: " + problem + " (docs/plugins.md#capabilities)";
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
    return "";
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

namespace {

// While a library is being loaded into mer itself, a crash in its
// initialisation code names the file before the process dies (the signal's
// default action then runs as it would have).
std::atomic<const char*> g_loading_file{nullptr};

extern "C" void name_crashing_plugin(int signal_number) {
    if (const char* file = g_loading_file.load()) {
        const char prefix[] = "mer: crashed while loading the plugin library ";
        const char suffix[] = " (its initialisation code fails; take it off MER_PLUGIN_PATH)\n";
        [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, prefix, sizeof prefix - 1);
        n = ::write(STDERR_FILENO, file, std::strlen(file));
        n = ::write(STDERR_FILENO, suffix, sizeof suffix - 1);
    }
    std::signal(signal_number, SIG_DFL);
    std::raise(signal_number);
}

class CrashNamesPlugin {
public:
    explicit CrashNamesPlugin(const std::string& file) {
        g_loading_file.store(file.c_str());
        struct sigaction action {};
        action.sa_handler = name_crashing_plugin;
        sigemptyset(&action.sa_mask);
        action.sa_flags = SA_RESETHAND | SA_NODEFER;
        for (std::size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &action, &previous_[i]);
    }
    ~CrashNamesPlugin() {
        for (std::size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &previous_[i], nullptr);
        g_loading_file.store(nullptr);
    }
    CrashNamesPlugin(const CrashNamesPlugin&) = delete;
    CrashNamesPlugin& operator=(const CrashNamesPlugin&) = delete;

private:
    static constexpr std::array<int, 5> kSignals{SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
    std::array<struct sigaction, 5> previous_{};
};

}  // namespace

// A plugin listed from the index is loaded when its first instance is made.
void PluginRegistry::load_library(const PluginRecord& record) const {
    static std::mutex mutex;
    std::lock_guard<std::mutex> lock(mutex);
    if (record.loaded()) return;
    std::shared_ptr<boost::dll::shared_library> library;
    try {
        const CrashNamesPlugin named(record.file);
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
    std::shared_ptr<PluginBase> instance(raw, [library](PluginBase* p) { delete p; });
    if (const std::string problem = capability::extension_problem(*instance, record.capabilities); !problem.empty())
        throw Error("plugin '" + name + "' (" + record.file + ") is refused: " + problem);
    return instance;
}

}  // namespace mer
