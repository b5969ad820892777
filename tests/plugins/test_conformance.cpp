// Conformance of every plugin found in the build — mer::check_plugin, what
// `mer-run plugins check` runs on out-of-tree plugins: complete metadata, a
// closed parameter schema whose required keys carry examples, creation with
// default parameters, bad parameters rejected with a useful message, and a
// save/load round trip of table models; plus per-instance capability answers.
#include <catch2/catch.hpp>
#include <set>

#include "core/conformance/plugin_check.hpp"
#include "core/graph/schema.hpp"
#include "core/plugin/dataset.hpp"
#include "core/plugin/features.hpp"
#include "core/plugin/registry.hpp"
#include "core/plugin/regressor.hpp"
#include "core/plugin/transform.hpp"
#include "tests/support/test_support.hpp"

using namespace mer::test;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json default_params(const mer::PluginRecord& p) {
    json params = json::object();
    for (const auto& key : p.schema.value("required", json::array())) {
        const json& property = p.schema["properties"][key.get<std::string>()];
        params[key.get<std::string>()] = property["examples"][0];
    }
    return mer::SchemaValidator(p.schema).with_defaults(params);
}


}  // namespace

TEST_CASE("every plugin in the build conforms", "[plugins][conformance]") {
    mer::PluginRegistry registry;
    registry.scan({plugin_dir(), test_plugin_dir("models")});
    // Every plugin folder of plugins/ whose library this build made (LibTorch ones only with LibTorch) is found.
    int built = 0;
    for (const auto& folder : fs::directory_iterator(source_dir() / "plugins")) {
        if (!folder.is_directory()) continue;
        const std::string name = folder.path().filename().string();
        if (!fs::exists(plugin_dir() / (name + ".so"))) {
            INFO(name << ": only a LibTorch plugin may be missing from a build");
            CHECK(read_file(folder.path() / "CMakeLists.txt").find("MER_WITH_TORCH") != std::string::npos);
            continue;
        }
        ++built;
        INFO("plugin folder " << name);
        CHECK(registry.find(name) != nullptr);
    }
    REQUIRE(built >= 18);  // the classical plugins, in every build
    REQUIRE(registry.plugins().size() >= static_cast<std::size_t>(built));
    for (const auto& p : registry.plugins()) {
        INFO("plugin " << p.name << " (" << p.file << ")");
        // What `mer-run plugins check` runs on an out-of-tree plugin, every in-tree one passes.
        const auto checks = mer::check_plugin(registry, p);
        CHECK(checks.size() >= 5);
        for (const auto& c : checks) {
            INFO(c.what << ": " << c.detail);
            CHECK(c.passed);
        }
        // A capability answered per instance is answered with default
        // parameters: a shape, or null where the instance cannot know it
        // before it runs (features.torchscript on a file it has not read).
        const json params = default_params(p);
        for (const char* asked : {"output_shape", "input_shape"}) {
            if (p.capability(asked) != true) continue;
            const json shape = p.kind == "features"
                                   ? registry.create<mer::FeaturesPlugin>(p.name, params)->query(asked)
                                   : registry.create<mer::RegressorPlugin>(p.name, params)->query(asked);
            if (shape.is_null() && p.name == "features.torchscript") continue;
            CHECK(shape.contains("shape"));
            CHECK(shape.value("axes", json::array()).size() == shape["shape"].size());
        }
        if (p.capability("per_target") == true) {
            REQUIRE(p.kind == "transform");
            CHECK(registry.create<mer::TransformPlugin>(p.name, params)->query("per_target").is_boolean());
        }
    }
}

TEST_CASE("plugins check catches a parameter the code reads but the schema lacks", "[plugins][conformance][cli]") {
    TempDir dir;
    const auto r = run_mer({"plugins", "check", (test_plugin_dir("unchecked") / "regressor.undeclared.so").string()},
                           dir.path());
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.out, Catch::Contains("FAIL  created with the schema's defaults") && Catch::Contains("'k'") &&
                          Catch::Contains("does the code read a parameter the schema gives no default?"));
    const auto good = run_mer({"plugins", "check", (plugin_dir() / "regressor.ridge.so").string()}, dir.path());
    CHECK(good.exit_code == 0);
    CHECK_THAT(good.out, Catch::Contains("ok    fit on a 60-song table, save and load: the same output") &&
                             Catch::Contains("all checks passed"));
    const auto refused =
        run_mer({"plugins", "check", (test_plugin_dir("bad") / "regressor.mismatched.so").string()}, dir.path());
    CHECK(refused.exit_code == 2);
    CHECK_THAT(refused.err, Catch::Contains("refused: ABI mismatch"));
}

TEST_CASE("the test-only chunk model is held to the same rules", "[plugins][conformance][torch]") {
    mer::PluginRegistry registry;
    registry.scan({test_plugin_dir("models")});
    CHECK(registry.find("regressor.tiny_chunk") != nullptr);  // so the conformance test above checks it
}
