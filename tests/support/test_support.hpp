// Helpers shared by the tests: temporary folders, files, and running the real
// mer-run binary with a chosen plugin path.
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace mer {
class PluginRegistry;
}

namespace mer::test {

// The plugins in build/plugins and the test-only models in
// build/test-plugins/models, scanned once.
const mer::PluginRegistry& registry();
// `params` with the plugin's schema defaults filled in.
nlohmann::json with_defaults(const std::string& plugin, nlohmann::json params = nlohmann::json::object());

// Paths of the build being tested (compile definitions from tests/CMakeLists.txt).
std::filesystem::path build_dir();
std::filesystem::path source_dir();
// tests/fixtures: the test signals and librosa's numbers for them (its librosa/README.md says how they were made).
std::filesystem::path fixtures_dir();
std::filesystem::path mer_run();
std::filesystem::path plugin_dir();                               // build/plugins
std::filesystem::path test_plugin_dir(const std::string& which);  // build/test-plugins/<which>

class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

void write_file(const std::filesystem::path& path, const std::string& content);
std::string read_file(const std::filesystem::path& path);
int count_lines(const std::string& text);

struct CommandResult {
    int exit_code = -1;
    std::string out;
    std::string err;
};

// Runs mer-run with `args` in `cwd`; MER_PLUGIN_PATH is set to `plugin_path`
// (empty: unset). `shell` runs before it in the same shell (e.g. "ulimit -f 64;").
CommandResult run_mer(const std::vector<std::string>& args, const std::filesystem::path& cwd,
                      const std::string& plugin_path = "", const std::string& shell = "");

// The run folder `mer-run run` printed (relative to its working directory).
std::filesystem::path run_folder_of(const CommandResult& result);

// A mono 32-bit float WAV holding `samples` exactly (libsndfile's float WAV),
// e.g. samples far beyond full scale.
void write_float_wav(const std::filesystem::path& path, const std::vector<float>& samples, int rate);

// A test that cannot run here without a tool (Chromium, Slurm, Debian's
// python3-torch). Where the README's test command installed the tools
// (scripts/test exports MER_TEST_TOOLS=installed), a missing one fails the
// test; elsewhere the test stops as skipped — not passed: the process exits
// with 77, which ctest reports as "Skipped" (SKIP_RETURN_CODE).
[[noreturn]] void missing_tool(const std::string& what);
// Stops the test as skipped whatever the machine offers (a kernel feature
// no package installs, such as user namespaces).
[[noreturn]] void skip_test(const std::string& why);

// The quickstart table (mer-run synth-table) at cwd/songs.csv.
void write_synthetic_table(const std::filesystem::path& cwd, int songs = 120, int seed = 7);

}  // namespace mer::test
