// Conformance of every plugin found in the build: complete metadata, a
// closed parameter schema whose required keys carry examples, creation with
// default parameters, and bad parameters rejected with a useful message.
#include <catch2/catch.hpp>
#include <set>

#include "core/graph/schema.hpp"
#include "core/plugin/dataset.hpp"
#include "core/plugin/features.hpp"
#include "core/plugin/registry.hpp"
#include "core/plugin/regressor.hpp"
#include "core/plugin/transform.hpp"
#include "tests/support/test_support.hpp"

using namespace mer::test;
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

json wrong_value_for(const json& property) {
    const std::string type = property.value("type", "");
    if (type == "string" || type == "array" || type == "object") return 12345;
    return "not-a-" + (type.empty() ? std::string("value") : type);
}

}  // namespace

TEST_CASE("every plugin in the build conforms", "[plugins][conformance]") {
    mer::PluginRegistry registry;
    registry.scan({plugin_dir(), test_plugin_dir("models")});
    REQUIRE(registry.plugins().size() >= 3);
    for (const auto& p : registry.plugins()) {
        INFO("plugin " << p.name << " (" << p.file << ")");
        const json properties = p.schema.value("properties", json::object());
        CHECK(!p.description.empty());
        CHECK(p.version.find('.') != std::string::npos);
        CHECK(p.name.rfind(p.kind + ".", 0) == 0);

        // A closed schema: misspelt keys must be caught, not ignored.
        CHECK(p.schema.value("additionalProperties", true) == false);
        for (const auto& key : p.schema.value("required", json::array())) {
            const json& property = p.schema["properties"][key.get<std::string>()];
            CHECK(property.contains("examples"));
        }
        for (const auto& [key, property] : properties.items()) {
            INFO("parameter " << key);
            CHECK(property.contains("description"));
            CHECK((property.contains("default") ||
                   std::count(p.schema["required"].begin(), p.schema["required"].end(), key) == 1));
        }

        // Capabilities: known names with values of the documented type.
        for (const auto& [name, value] : p.capabilities.items()) {
            INFO("capability " << name);
            CHECK(std::set<std::string>{"device", "chunks", "concurrent_fit", "fingerprint", "output_shape",
                                        "input_shape", "early_stopping", "staged", "sequence", "whole_table", "independent_targets", "per_target"}
                      .count(name) == 1);
            if (name == "fingerprint")
                CHECK(value.is_array());
            else
                CHECK(value.is_boolean());
        }

        // Created with default parameters, as its declared kind.
        const json params = default_params(p);
        mer::SourceMap map("conformance.yaml");
        const mer::SchemaValidator validator(p.schema);
        CHECK(validator.validate(params, map).empty());
        if (p.kind == "dataset") CHECK(registry.create<mer::DatasetPlugin>(p.name, params) != nullptr);
        if (p.kind == "features") CHECK(registry.create<mer::FeaturesPlugin>(p.name, params) != nullptr);
        if (p.kind == "transform") CHECK(registry.create<mer::TransformPlugin>(p.name, params) != nullptr);
        if (p.kind == "regressor") CHECK(registry.create<mer::RegressorPlugin>(p.name, params) != nullptr);
        // A capability answered per instance is answered with default parameters.
        for (const char* asked : {"output_shape", "input_shape"}) {
            if (p.capability(asked) != true) continue;
            const json shape = p.kind == "features"
                                   ? registry.create<mer::FeaturesPlugin>(p.name, params)->query(asked)
                                   : registry.create<mer::RegressorPlugin>(p.name, params)->query(asked);
            CHECK(shape.contains("shape"));
            CHECK(shape.value("axes", json::array()).size() == shape["shape"].size());
        }

        if (p.capability("per_target") == true) {
            REQUIRE(p.kind == "transform");
            CHECK(registry.create<mer::TransformPlugin>(p.name, params)->query("per_target").is_boolean());
        }

        // Bad parameters are rejected with a message that names them.
        json unknown = params;
        unknown["definitely_not_a_parameter"] = 1;
        const auto unknown_errors = validator.validate(unknown, map);
        REQUIRE(unknown_errors.size() == 1);
        CHECK_THAT(unknown_errors[0].message,
                   Catch::Contains("unknown key 'definitely_not_a_parameter'") && Catch::Contains("accepted keys"));
        for (const auto& [key, property] : properties.items()) {
            json wrong = params;
            wrong[key] = wrong_value_for(property);
            const auto errors = validator.validate(wrong, map);
            INFO("wrong value for " << key);
            REQUIRE(!errors.empty());
            CHECK_THAT(errors[0].message, Catch::Contains(key) && Catch::Contains("must"));
        }
    }
}

TEST_CASE("the test-only chunk model is held to the same rules", "[plugins][conformance][torch]") {
    mer::PluginRegistry registry;
    registry.scan({test_plugin_dir("models")});
    CHECK(registry.find("regressor.tiny_chunk") != nullptr);  // so the conformance test above checks it
}
