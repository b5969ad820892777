// docs/architecture.md's layers, checked on the source: every file of core/,
// plugins/ and python/src/ belongs to one layer, and includes only files of
// its own layer or of the layers below it that the table allows. A new folder
// must be placed here (and in the document) before it builds green.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "tests/support/test_support.hpp"

namespace fs = std::filesystem;

namespace {

struct Layer {
    std::string name;
    std::vector<std::string> prefixes;  // path prefixes relative to the source root; the longest match wins
    std::set<std::string> below;        // the layers its files may include
};

// Bottom to top, as docs/architecture.md draws them. mer_core is error … plugin;
// mer_audio, mer_xgboost and mer_torch sit on it side by side; mer_host on all.
const std::set<std::string> kCore{"error", "base", "checkpoint", "data", "eval", "linear_model", "plugin"};

std::set<std::string> with(std::set<std::string> base, std::initializer_list<std::string> more) {
    base.insert(more);
    return base;
}

const std::vector<Layer>& layers() {
    static const std::vector<Layer> table{
        {"error", {"core/error.", "core/exit_codes."}, {}},
        {"base", {"core/base/"}, {"error"}},
        {"checkpoint", {"core/checkpoint/"}, {"error"}},  // the PyTorch pickle reader: torch/ and the fuzz targets
        {"data", {"core/data/"}, {"base", "error"}},
        {"eval", {"core/eval/"}, {"data", "base", "error"}},
        {"linear_model", {"core/ml/linear_model."}, {"eval", "data", "base", "error"}},
        {"plugin", {"core/plugin/"}, {"linear_model", "eval", "data", "base", "error"}},
        {"audio", {"core/audio/", "core/dsp/"}, kCore},
        {"xgboost", {"core/ml/xgboost."}, kCore},
        {"torch", {"core/torch/"}, kCore},
        // mer_host, bottom to top.
        {"run", {"core/run/"}, kCore},
        {"synth", {"core/synth/"}, with(kCore, {"audio"})},
        {"graph", {"core/graph/"}, kCore},
        {"report", {"core/report/"}, kCore},
        {"exec", {"core/exec/"}, with(kCore, {"run", "audio", "graph", "report"})},
        {"sweep", {"core/sweep/"}, with(kCore, {"run", "audio", "graph", "report", "exec"})},
        {"conformance", {"core/conformance/"}, with(kCore, {"graph"})},
        {"cli",
         {"core/cli/"},
         with(kCore, {"run", "audio", "synth", "graph", "report", "exec", "sweep", "conformance"})},
        {"python", {"python/src/"}, with(kCore, {"run", "audio", "synth", "graph", "report", "exec", "sweep"})},
        // Plugins link mer_core and what they use, never mer_host nor one another.
        {"plugins", {"plugins/"}, with(kCore, {"audio", "xgboost", "torch"})},
    };
    return table;
}

const Layer* layer_of(const std::string& path) {
    const Layer* best = nullptr;
    std::size_t best_length = 0;
    for (const auto& layer : layers())
        for (const auto& prefix : layer.prefixes)
            if (path.rfind(prefix, 0) == 0 && prefix.size() > best_length) {
                best = &layer;
                best_length = prefix.size();
            }
    return best;
}

// The folder a plugin's file lives in: plugins/<kind.name>/.
std::string plugin_folder(const std::string& path) {
    const auto slash = path.find('/', std::string("plugins/").size());
    return path.substr(0, slash + 1);
}

bool is_source(const fs::path& p) {
    const auto ext = p.extension().string();
    return ext == ".cpp" || ext == ".hpp" || ext == ".h";
}

}  // namespace

TEST_CASE("the layer table has no cycle", "[layers]") {
    std::map<std::string, std::set<std::string>> edges;
    for (const auto& layer : layers()) edges[layer.name] = layer.below;
    // Each layer may include only layers listed before it in the table: a
    // topological order, so no cycle.
    std::set<std::string> seen;
    for (const auto& layer : layers()) {
        for (const auto& lower : layer.below) {
            INFO(layer.name << " may include " << lower);
            CHECK(seen.count(lower) == 1);
        }
        seen.insert(layer.name);
    }
}

TEST_CASE("no file includes a layer above its own, and no plugin another plugin", "[layers]") {
    const fs::path root = mer::test::source_dir();
    const std::regex include_line(R"re(^\s*#\s*include\s*"([^"]+)")re");
    std::size_t files = 0, includes = 0;
    std::vector<std::string> violations;
    for (const char* top : {"core", "plugins", "python/src"}) {
        for (const auto& entry : fs::recursive_directory_iterator(root / top)) {
            if (!entry.is_regular_file() || !is_source(entry.path())) continue;
            const std::string path = fs::relative(entry.path(), root).generic_string();
            const Layer* own = layer_of(path);
            if (!own) {
                violations.push_back(path +
                                     ": in no layer (add its folder to tests/core/test_layers.cpp and "
                                     "docs/architecture.md)");
                continue;
            }
            ++files;
            std::ifstream in(entry.path());
            std::string line;
            for (int number = 1; std::getline(in, line); ++number) {
                std::smatch m;
                if (!std::regex_search(line, m, include_line)) continue;
                const std::string target = m[1];
                if (target.rfind("core/", 0) != 0 && target.rfind("plugins/", 0) != 0) continue;  // own folder, tools
                ++includes;
                const Layer* theirs = layer_of(target);
                const std::string where = path + ":" + std::to_string(number) + " includes " + target;
                if (!theirs) {
                    violations.push_back(where + ", which is in no layer");
                } else if (theirs != own && !own->below.count(theirs->name)) {
                    violations.push_back(where + ": layer " + own->name + " may not include layer " + theirs->name);
                } else if (theirs->name == "plugins" && plugin_folder(path) != plugin_folder(target)) {
                    violations.push_back(where + ": a plugin includes only core/ and its own folder");
                }
            }
        }
    }
    INFO(files << " files, " << includes << " includes of core/ or plugins/ read");
    CHECK(files > 150);
    CHECK(includes > 400);
    std::string all;
    for (const auto& v : violations) all += v + "\n";
    INFO(all);
    CHECK(violations.empty());
}
