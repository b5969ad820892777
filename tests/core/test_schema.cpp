// YAML → JSON typing and the wording of schema errors.
#include <catch2/catch.hpp>

#include "core/graph/schema.hpp"
#include "tests/support/test_support.hpp"

using nlohmann::json;
using namespace mer::test;
namespace fs = std::filesystem;

TEST_CASE("YAML scalars become typed JSON, quoted ones stay strings", "[schema]") {
    const YAML::Node doc = YAML::Load("a: 5\nb: 2.5\nc: true\nd: '5'\ne: ~\nf: hello\ng: [1, x]\nh: 1e-3\n");
    mer::SourceMap map("doc.yaml");
    const json j = mer::yaml_to_json(doc, map);
    CHECK(j["a"] == 5);
    CHECK(j["a"].is_number_integer());
    CHECK(j["b"] == 2.5);
    CHECK(j["c"] == true);
    CHECK(j["d"] == "5");
    CHECK(j["e"].is_null());
    CHECK(j["f"] == "hello");
    CHECK(j["g"] == json::array({1, "x"}));
    CHECK(j["h"] == Approx(0.001));
    const mer::Location where = map.value_at("/g/1");
    CHECK(where.file == "doc.yaml");
    CHECK(where.line == 7);
    CHECK(where.column == 8);
}

TEST_CASE("schema errors name the key, the expectation and the location", "[schema]") {
    const json schema = json::parse(R"({
      "type": "object", "additionalProperties": false,
      "properties": {
        "alpha": {"type": "number", "minimum": 0, "maximum": 10},
        "kernel": {"enum": ["rbf", "linear"]},
        "layers": {"type": "array", "items": {"type": "integer"}}
      }})");
    const YAML::Node doc = YAML::Load("alpha: 12\nkernal: rbf\nkernel: poly\nlayers: [1, two]\n");
    mer::SourceMap map("p.yaml");
    const json value = mer::yaml_to_json(doc, map);
    const mer::SchemaValidator validator(schema);
    const mer::Diagnostics errors = validator.validate(value, map);
    std::string all;
    for (const auto& e : errors) all += e.str() + "\n";
    INFO(all);
    CHECK(errors.size() == 4);
    CHECK_THAT(all, Catch::Contains("p.yaml:1:8: alpha = 12 is out of range: it must be ≥ 0 and ≤ 10"));
    CHECK_THAT(all, Catch::Contains("p.yaml:2:1: unknown key 'kernal'") && Catch::Contains("did you mean 'kernel'?"));
    CHECK_THAT(all, Catch::Contains("accepted keys: alpha, kernel, layers"));
    CHECK_THAT(all, Catch::Contains("p.yaml:3:9: kernel must be one of \"rbf\", \"linear\", not \"poly\""));
    CHECK_THAT(all, Catch::Contains("p.yaml:4:13: layers[1] must be an integer, not the string \"two\""));
}

TEST_CASE("range errors print their numbers short, never DBL_MAX as 309 digits", "[schema][hardening]") {
    // x's bound sits where the message cannot quote the schema (inside allOf):
    // valijson's own sentence, which writes numbers with std::to_string.
    const json schema = json::parse(R"({
      "type": "object",
      "properties": {
        "x": {"allOf": [{"type": "number", "maximum": 1.7976931348623157e308}]},
        "y": {"type": "number", "minimum": 0.001}
      }})");
    mer::SourceMap map("p.yaml");
    const json value = mer::yaml_to_json(YAML::Load("x: .inf\ny: 0\n"), map);
    std::string all;
    for (const auto& e : mer::SchemaValidator(schema).validate(value, map)) all += e.str() + "\n";
    INFO(all);
    CHECK_THAT(all, Catch::Contains("p.yaml:1:4: x = inf is out of range: Expected number less than or equal to "
                                    "1.7976931348623157e+308"));
    CHECK_THAT(all, Catch::Contains("p.yaml:2:4: y = 0 is out of range: it must be ≥ 0.001"));
    CHECK(all.find("000000") == std::string::npos);
    CHECK(all.size() < 300);
}

TEST_CASE("defaults are filled in without touching given values", "[schema]") {
    const json schema = json::parse(
        R"({"type": "object", "properties": {"a": {"type": "number", "default": 1}, "b": {"default": "x"}}})");
    const mer::SchemaValidator validator(schema);
    const json filled = validator.with_defaults(json{{"a", 3}});
    CHECK(filled == json{{"a", 3}, {"b", "x"}});
}

TEST_CASE("mer-run schema checks plugin names and parameters as an editor would", "[schema][cli]") {
    TempDir dir;
    const auto r = run_mer({"schema"}, dir.path());
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const json schema = json::parse(r.out);
    CHECK(schema["definitions"]["node"]["properties"]["uses"]["enum"].size() >= 20);
    const mer::SchemaValidator validator(schema);
    auto problems = [&](const std::string& yaml, const std::string& file) {
        mer::SourceMap map(file);
        return validator.validate(mer::yaml_to_json(YAML::Load(yaml), map), map);
    };
    // Every shipped experiment passes.
    int checked = 0;
    for (const auto& e : fs::directory_iterator(source_dir() / "experiments")) {
        if (e.path().extension() != ".yaml") continue;
        INFO(e.path().string());
        const auto found = problems(read_file(e.path()), e.path().string());
        CHECK(found.empty());
        if (!found.empty()) WARN(found.front().str());
        ++checked;
    }
    CHECK(checked >= 10);
    // A misspelt plugin name and a misspelt parameter do not.
    const std::string good = "name: x\nnodes:\n  songs: {uses: dataset.table, params: {path: s.csv}}\n"
                             "  ridge: {uses: regressor.ridge, inputs: [songs], params: {alpha: 10}}\n";
    CHECK(problems(good, "good.yaml").empty());
    std::string misspelt_plugin = good, misspelt_param = good;
    misspelt_plugin.replace(misspelt_plugin.find("regressor.ridge"), 15, "regressor.ridg");
    misspelt_param.replace(misspelt_param.find("alpha"), 5, "alpah");
    CHECK_FALSE(problems(misspelt_plugin, "plugin.yaml").empty());
    CHECK_FALSE(problems(misspelt_param, "param.yaml").empty());
    // The wrong type for a known parameter too.
    std::string wrong_type = good;
    wrong_type.replace(wrong_type.find("alpha: 10"), 9, "alpha: lots");
    CHECK_FALSE(problems(wrong_type, "type.yaml").empty());
}
