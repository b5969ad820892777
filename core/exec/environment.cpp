// environment.json and plugins.lock.
#include "core/exec/environment.hpp"

#include <fmt/format.h>
#include <openssl/opensslv.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <Eigen/Core>
#include <boost/version.hpp>
#include <cstdio>
#include <filesystem>
#include <set>

#include "core/audio/audio.hpp"
#include "core/base/files.hpp"
#include "core/plugin/abi.hpp"
#include "core/plugin/registry.hpp"
#include "core/run/run_folder.hpp"

namespace mer {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

// The output of a fixed command (git) with trailing blanks removed; "" on failure.
std::string command_output(const std::string& command) {
    std::string out;
    if (FILE* pipe = ::popen(command.c_str(), "r")) {
        char buffer[256];
        while (std::fgets(buffer, sizeof buffer, pipe)) out += buffer;
        ::pclose(pipe);
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
}

std::string git_revision() {
    const std::string source = MER_SOURCE_DIR;
    std::string revision = command_output("git -C '" + source + "' rev-parse HEAD 2>/dev/null");
    if (revision.empty()) return "unknown";
    if (!command_output("git -C '" + source + "' status --porcelain --untracked-files=no 2>/dev/null").empty())
        revision += "-dirty";
    return revision;
}

json library_versions() {
    return json{{"eigen", fmt::format("{}.{}.{}", EIGEN_WORLD_VERSION, EIGEN_MAJOR_VERSION, EIGEN_MINOR_VERSION)},
                {"boost", BOOST_LIB_VERSION},
                {"yaml-cpp", MER_YAMLCPP_VERSION},
                {"fmt", FMT_VERSION},
                {"nlohmann_json", fmt::format("{}.{}.{}", NLOHMANN_JSON_VERSION_MAJOR, NLOHMANN_JSON_VERSION_MINOR,
                                              NLOHMANN_JSON_VERSION_PATCH)},
                {"openssl", OPENSSL_VERSION_TEXT},
                {"libsndfile", sndfile_version()},
                {"libsoxr", soxr_library_version()},
                {"torch", build_torch_version()},
                {"cuda", build_cuda_version()}};
}

}  // namespace

std::vector<std::string> overrides_of(const std::vector<std::string>& command_line) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i + 1 < command_line.size(); ++i)
        if (command_line[i] == "--set")
            out.push_back(command_line[i + 1]);
        else if (command_line[i] == "--unset")
            out.push_back("~" + command_line[i + 1]);
    return out;
}

json environment_json(const Experiment& exp, int threads, const std::vector<std::string>& command_line) {
    char host[256] = {0};
    ::gethostname(host, sizeof host - 1);
    utsname os{};
    ::uname(&os);
    std::string command;
    for (const auto& arg : command_line) command += (command.empty() ? "" : " ") + arg;
    return json{
        {"mer_version", MER_VERSION},
        {"git_revision", git_revision()},
        {"compiler", "GCC " __VERSION__},
        {"abi_tag", host_abi_tag()},
        {"libraries", library_versions()},
        {"device", exp.device},
        {"threads", threads},
        {"seed", exp.seed},
        {"seeds", exp.seeds},
        {"host", host},
        {"os", std::string(os.sysname) + " " + os.release + " " + os.machine},
        {"started_at", utc_timestamp_iso()},
        {"command", command},
        {"overrides", overrides_of(command_line)},
        {"working_directory", fs::current_path().string()},
    };
}

json plugins_lock(const Experiment& exp) {
    json lock = json::array();
    std::set<std::string> seen;
    for (const auto& node : exp.nodes) {
        if (!seen.insert(node.uses).second) continue;
        lock.push_back({{"name", node.plugin->name},
                        {"version", node.plugin->version},
                        {"file", node.plugin->file},
                        {"sha256", sha256_file(node.plugin->file)}});
    }
    return lock;
}

}  // namespace mer
