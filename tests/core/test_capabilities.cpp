// The capability table (core/plugin/capabilities.hpp): docs/plugins.md shows
// it as it is, the registry refuses malformed declarations and instances that
// declare an extension they lack, and the named capabilities that replaced the
// host's parameter sniffing answer for the real plugins.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/graph/schema.hpp"
#include "core/plugin/capabilities.hpp"
#include "core/plugin/features.hpp"
#include "core/plugin/registry.hpp"
#include "core/plugin/regressor.hpp"
#include "tests/support/test_support.hpp"

using mer::test::plugin_dir;
using mer::test::source_dir;
using mer::test::test_plugin_dir;
using json = nlohmann::json;
namespace capability = mer::capability;

namespace {

std::string docs_table() {
    std::ifstream in(source_dir() / "docs" / "plugins.md");
    std::string line, out;
    bool inside = false;
    while (std::getline(in, line)) {
        if (line == "| name | kinds | value | meaning |") inside = true;
        if (!inside) continue;
        if (line.empty() || line[0] != '|') break;
        out += line + "\n";
    }
    return out;
}

}  // namespace

TEST_CASE("docs/plugins.md's table of capabilities is the table the host reads", "[capabilities]") {
    const std::string expected = capability::markdown_table();
    INFO("replace the table in docs/plugins.md#capabilities with:\n" << expected);
    CHECK(docs_table() == expected);
    CHECK(capability::table().size() >= 17);
}

TEST_CASE("a capability declaration is checked against the table and the plugin's schema", "[capabilities]") {
    const json schema = json::parse(R"({"type": "object", "properties": {"epochs": {"type": "integer"},
        "offset_seconds": {"type": "number"}, "duration_seconds": {"type": "number"}}})");
    const json bare = json::parse(R"({"type": "object", "properties": {}})");
    CHECK(capability::declaration_problem("regressor", "budget", "epochs", schema).empty());
    CHECK(capability::declaration_problem("regressor", "budget", "rounds", schema) ==
          "capability 'budget' names the parameter 'rounds', which is not in the plugin's schema");
    CHECK(capability::declaration_problem("regressor", "budget", true, schema) ==
          "capability 'budget' must be a parameter name, not true");
    CHECK(capability::declaration_problem("dataset", "chunks", true, schema) ==
          "capability 'chunks' is for regressor plugins, not dataset");
    CHECK(capability::declaration_problem("regressor", "chunk", true, schema) == "unknown capability 'chunk'");
    CHECK(capability::declaration_problem("regressor", "concurrent_fit", false, schema).empty());
    CHECK(capability::declaration_problem("regressor", "early_stopping", false, schema) ==
          "capability 'early_stopping' must be `true`, not false");
    CHECK(capability::declaration_problem("features", "fingerprint", json::array({"epochs"}), schema).empty());
    CHECK(capability::declaration_problem("features", "fingerprint", json::array({"model"}), schema) ==
          "capability 'fingerprint' names the parameter 'model', which is not in the plugin's schema");
    CHECK(capability::declaration_problem("features", "crop", true, schema).empty());
    CHECK(capability::declaration_problem("features", "crop", true, bare) ==
          "capability 'crop' names the parameter 'offset_seconds', which is not in the plugin's schema");
}

TEST_CASE("the registry refuses a plugin whose capabilities say more than it does", "[capabilities]") {
    mer::PluginRegistry registry;
    registry.scan({test_plugin_dir("liars")});
    std::string refusal;
    for (const auto& f : registry.refused())
        if (f.file.find("regressor.bad_budget") != std::string::npos) refusal = f.reason;
    CHECK(refusal ==
          "metadata: capability 'budget' names the parameter 'rounds', which is not in the plugin's schema "
          "(docs/plugins.md#capabilities)");
    REQUIRE(registry.find("regressor.claims_chunks") != nullptr);
    CHECK_THROWS_WITH(registry.create<mer::RegressorPlugin>("regressor.claims_chunks", json::object()),
                      Catch::Contains("is refused: it declares the capability 'chunks' but does not implement "
                                      "mer::ChunkPredictions"));
}

TEST_CASE("the named capabilities answer for the built plugins", "[capabilities]") {
    mer::PluginRegistry registry;
    registry.scan({plugin_dir()});
    std::vector<std::string> crop;
    for (const auto* p : registry.with_capability(capability::kCrop)) crop.push_back(p->name);
    CHECK(std::count(crop.begin(), crop.end(), "features.handcrafted") == 1);
    CHECK(std::count(crop.begin(), crop.end(), "features.logmel_chunks") == 1);
    CHECK(registry.get("regressor.xgboost").capability(capability::kBudget) == "n_estimators");
    CHECK(registry.get("regressor.gradient_boosting").capability(capability::kBudget) == "n_estimators");
    CHECK_FALSE(registry.get("regressor.random_forest").has(capability::kBudget));  // one round of many trees
    if (const auto* cnn = registry.find("regressor.cnn")) CHECK(cnn->capability(capability::kBudget) == "epochs");

    const auto& record = registry.get("features.handcrafted");
    const mer::SchemaValidator defaults(record.schema);
    auto handcrafted = [&](double window_seconds) {
        json params = defaults.with_defaults(json::object());
        params["window_seconds"] = window_seconds;
        return registry.create<mer::FeaturesPlugin>("features.handcrafted", params)->query(capability::kWindows);
    };
    // Cutting none, it says which parameters would cut windows (validation's hint).
    const json pairs = json::array({json::array({"window_seconds", 1.0}), json::array({"window_hop_seconds", 0.5})});
    CHECK(handcrafted(0) == json{{"set", pairs}, {"why", "one window per 2 Hz annotation frame"}});
    CHECK(handcrafted(1.0) == json{{"seconds", 1.0}, {"hop_seconds", 0.5}});

    // A model that declares chunks answers through its extension, and one that does not has none.
    const auto ridge = registry.create<mer::RegressorPlugin>(
        "regressor.frame_ridge",
        mer::SchemaValidator(registry.get("regressor.frame_ridge").schema).with_defaults(json::object()));
    CHECK(mer::extension<mer::ChunkPredictions>(*ridge) != nullptr);
    const auto mean = registry.create<mer::RegressorPlugin>("regressor.mean", json::object());
    CHECK(mer::extension<mer::ChunkPredictions>(*mean) == nullptr);
    CHECK(mer::extension<mer::StagedPredictions>(*mean) == nullptr);
}
