// Implementation of the test helpers.
#include <sndfile.h>
#include "tests/support/test_support.hpp"

#include "core/graph/schema.hpp"
#include "core/plugin/registry.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>

namespace mer::test {

namespace fs = std::filesystem;

void missing_tool(const std::string& what) {
    const char* tools = std::getenv("MER_TEST_TOOLS");
    if (tools && std::string(tools) == "installed") {
        FAIL(what << " — scripts/test installs it, so its absence is a failure here");
    }
    skip_test(what);
}

void skip_test(const std::string& why) {
    std::cout << "SKIPPED: " << why << std::endl;
    std::exit(77);  // ctest: SKIP_RETURN_CODE (tests/CMakeLists.txt)
}

fs::path build_dir() {
    return MER_TEST_BUILD_DIR;
}
fs::path source_dir() {
    return MER_TEST_SOURCE_DIR;
}
fs::path fixtures_dir() {
    return source_dir() / "tests" / "fixtures";
}
fs::path mer_run() {
    return build_dir() / "bin" / "mer-run";
}
fs::path plugin_dir() {
    return build_dir() / "plugins";
}
fs::path test_plugin_dir(const std::string& which) {
    return build_dir() / "test-plugins" / which;
}

const mer::PluginRegistry& registry() {
    static const mer::PluginRegistry r = [] {
        mer::PluginRegistry reg;
        reg.scan({plugin_dir(), test_plugin_dir("models")});
        return reg;
    }();
    return r;
}

nlohmann::json with_defaults(const std::string& plugin, nlohmann::json params) {
    return mer::SchemaValidator(registry().get(plugin).schema).with_defaults(std::move(params));
}

TempDir::TempDir() {
    std::string pattern = (fs::temp_directory_path() / "mer-test-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
}

TempDir::~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
}

void write_file(const fs::path& path, const std::string& content) {
    if (path.has_parent_path()) fs::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary);
    out << content;
    if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path.string());
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

int count_lines(const std::string& text) {
    int n = 0;
    for (char c : text) n += c == '\n';
    return n;
}

static std::string quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

CommandResult run_mer(const std::vector<std::string>& args, const fs::path& cwd, const std::string& plugin_path,
                      const std::string& shell) {
    TempDir capture;
    std::string command = "cd " + quote(cwd.string()) + " && " + shell + " ";
    command += plugin_path.empty() ? "env -u MER_PLUGIN_PATH " : "env MER_PLUGIN_PATH=" + quote(plugin_path) + " ";
    command += quote(mer_run().string());
    for (const auto& a : args) command += " " + quote(a);
    command += " >" + quote((capture / "out").string()) + " 2>" + quote((capture / "err").string()) + " </dev/null";
    const int status = std::system(command.c_str());
    CommandResult result;
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.out = read_file(capture / "out");
    result.err = read_file(capture / "err");
    return result;
}

void write_float_wav(const fs::path& path, const std::vector<float>& samples, int rate) {
    SF_INFO info{};
    info.samplerate = rate;
    info.channels = 1;
    info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
    SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
    if (!f) throw std::runtime_error("cannot write " + path.string() + ": " + sf_strerror(nullptr));
    const sf_count_t written = sf_writef_float(f, samples.data(), static_cast<sf_count_t>(samples.size()));
    sf_close(f);
    if (written != static_cast<sf_count_t>(samples.size())) throw std::runtime_error("short write: " + path.string());
}

void write_synthetic_table(const fs::path& cwd, int songs, int seed) {
    const CommandResult r = run_mer(
        {"synth-table", "--out", "songs.csv", "--songs", std::to_string(songs), "--seed", std::to_string(seed)}, cwd);
    if (r.exit_code != 0) throw std::runtime_error("synth-table failed: " + r.err);
}

fs::path run_folder_of(const CommandResult& result) {
    std::string out = result.out;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
}

}  // namespace mer::test
