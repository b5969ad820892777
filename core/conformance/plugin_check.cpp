#include "core/conformance/plugin_check.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>

#include "core/base/files.hpp"
#include "core/graph/schema.hpp"
#include "core/plugin/capabilities.hpp"
#include "core/plugin/dataset.hpp"
#include "core/plugin/features.hpp"
#include "core/plugin/regressor.hpp"
#include "core/plugin/transform.hpp"

namespace mer {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

json wrong_value_for(const json& property) {
    // "type" is one name or a list of them (["integer", "null"]).
    const json given = property.value("type", json());
    std::vector<std::string> types;
    for (const auto& t : given.is_array() ? given : json::array({given}))
        if (t.is_string()) types.push_back(t.get<std::string>());
    const auto has = [&](const char* t) { return std::find(types.begin(), types.end(), t) != types.end(); };
    if (!has("string")) return "not-a-" + (types.empty() ? std::string("value") : types.front());
    if (!has("integer") && !has("number")) return 12345;
    return json::array({"not", "a", "value"});
}

// 60 songs × 6 features, valence and arousal linear in them plus noise: what a table model can fit in a moment.
SongTable small_table() {
    SongTable t;
    std::mt19937_64 random(11);
    std::normal_distribution<double> normal;
    const int songs = 60, features = 6;
    t.features.resize(songs, features);
    t.targets.resize(songs, 2);
    for (int c = 0; c < features; ++c) t.feature_names.push_back(fmt::format("f{}", c + 1));
    t.target_names = {"valence", "arousal"};
    for (int r = 0; r < songs; ++r) {
        t.song_ids.push_back(std::to_string(r + 1));
        t.groups.push_back(t.song_ids.back());
        for (int c = 0; c < features; ++c) t.features(r, c) = normal(random);
        t.targets(r, 0) = 5 + t.features(r, 0) - 0.5 * t.features(r, 1) + 0.3 * normal(random);
        t.targets(r, 1) = 5 + 0.8 * t.features(r, 2) + 0.3 * normal(random);
    }
    return t;
}

PluginContext quiet_context() {
    PluginContext ctx;
    ctx.node = "check";
    ctx.seed = 1;
    ctx.log = [](const std::string&) {};
    ctx.progress = [](std::size_t, std::size_t, const char*) {};
    ctx.skip = [](const std::string&, const std::string&, const std::string&) {};
    ctx.artifact = [](const Artifact&, const std::string&) {};
    ctx.note = [](const std::string&, const json&) {};
    return ctx;
}

std::vector<std::string> metadata_problems(const PluginRecord& p) {
    std::vector<std::string> problems;
    if (p.description.empty()) problems.push_back("no description in MER_PLUGIN()");
    if (p.version.find('.') == std::string::npos) problems.push_back("version '" + p.version + "' is not x.y.z");
    if (p.name.rfind(p.kind + ".", 0) != 0) problems.push_back("the name must start with its kind: " + p.kind + ".");
    return problems;
}

std::vector<std::string> schema_problems(const json& schema) {
    std::vector<std::string> problems;
    const json properties = schema.value("properties", json::object());
    const json required = schema.value("required", json::array());
    if (schema.value("additionalProperties", true) != false)
        problems.push_back("params.schema.json needs \"additionalProperties\": false, so misspelt keys are caught");
    for (const auto& [key, property] : properties.items()) {
        const bool is_required = std::find(required.begin(), required.end(), key) != required.end();
        if (!property.contains("description")) problems.push_back("'" + key + "' has no description");
        if (!property.contains("default") && !is_required)
            problems.push_back("'" + key + "' has neither a default nor a place in required");
        if (is_required && !property.contains("examples"))
            problems.push_back("required '" + key + "' has no examples (mer-run plugins template shows one)");
    }
    return problems;
}

std::vector<std::string> capability_problems(const PluginRecord& p) {
    std::vector<std::string> problems;
    for (const auto& [name, value] : p.capabilities.items())
        if (std::string problem = capability::declaration_problem(p.kind, name, value, p.schema); !problem.empty())
            problems.push_back(problem);
    return problems;
}

// The schema's defaults, with the first example of each required key.
json default_params(const json& schema, const SchemaValidator& validator) {
    const json properties = schema.value("properties", json::object());
    const json required = schema.value("required", json::array());
    json params = json::object();
    for (const auto& key : required)
        if (properties.contains(key.get<std::string>()) && properties[key.get<std::string>()].contains("examples"))
            params[key.get<std::string>()] = properties[key.get<std::string>()]["examples"][0];
    return validator.with_defaults(params);
}

// An instance of plugin `p` through the interface of its kind; null for an unknown kind.
std::shared_ptr<PluginBase> create_instance(const PluginRegistry& registry, const PluginRecord& p, const json& params) {
    std::shared_ptr<PluginBase> instance;
    if (p.kind == "dataset") instance = registry.create<DatasetPlugin>(p.name, params);
    if (p.kind == "features") instance = registry.create<FeaturesPlugin>(p.name, params);
    if (p.kind == "transform") instance = registry.create<TransformPlugin>(p.name, params);
    if (p.kind == "regressor") instance = registry.create<RegressorPlugin>(p.name, params);
    return instance;
}

// An unknown key, and a value of the wrong type for each key, must be refused
// with an error that names the key.
std::vector<std::string> bad_parameter_problems(const SchemaValidator& validator, const json& schema,
                                                const json& params) {
    std::vector<std::string> problems;
    SourceMap map("check.yaml");
    json unknown = params;
    unknown["definitely_not_a_parameter"] = 1;
    if (validator.validate(unknown, map).empty()) problems.push_back("an unknown parameter was accepted");
    const json properties = schema.value("properties", json::object());
    for (const auto& [key, property] : properties.items()) {
        json wrong = params;
        wrong[key] = wrong_value_for(property);
        const auto errors = validator.validate(wrong, map);
        if (errors.empty()) problems.push_back("'" + key + "' accepted " + wrong[key].dump());
        else if (errors[0].message.find(key) == std::string::npos)
            problems.push_back("the error for a bad '" + key + "' does not name it: " + errors[0].message);
    }
    return problems;
}

// Whether the save-and-load check applies: a one-input regressor or transform
// that reads feature columns (not chunks, tensors or sequences).
bool round_trip_applies(const PluginRecord& p) {
    const bool tensors = p.capability("chunks") == true || p.capability("input_shape") == true ||
                         p.capability("sequence") == true || p.capability("whole_table") == true;
    return (p.kind == "regressor" || p.kind == "transform") && !tensors && p.inputs == 1;
}

// Fitted state survives save() and load() exactly: what mer-run predict relies on.
std::vector<std::string> round_trip_problems(const PluginRegistry& registry, const PluginRecord& p,
                                             const json& params) {
    const SongTable table = small_table();
    const fs::path dir = fs::temp_directory_path() / fmt::format("mer-plugin-check-{}", ::getpid());
    fs::remove_all(dir);
    fs::create_directories(dir);
    std::vector<std::string> problems;
    try {
        const PluginContext ctx = quiet_context();
        if (p.kind == "regressor") {
            auto fitted = registry.create<RegressorPlugin>(p.name, params);
            fitted->fit(table, &table, [](const EpochReport&) {}, ctx);
            const Eigen::MatrixXd before = fitted->predict(table);
            if (before.rows() != static_cast<Eigen::Index>(table.size()) || before.cols() != 2)
                problems.push_back(fmt::format("predict() returned {}×{} for 60 songs × 2 targets", before.rows(), before.cols()));
            fitted->save(dir.string());
            auto loaded = registry.create<RegressorPlugin>(p.name, params);
            loaded->load(dir.string());
            if (problems.empty() && loaded->predict(table) != before)
                problems.push_back("a reloaded model predicts differently from the fitted one");
        } else {
            auto fitted = registry.create<TransformPlugin>(p.name, params);
            fitted->fit({&table}, ctx);
            const SongTable before = fitted->apply({&table});
            fitted->save(dir.string());
            auto loaded = registry.create<TransformPlugin>(p.name, params);
            loaded->load(dir.string());
            const SongTable after = loaded->apply({&table});
            if (after.features != before.features || after.feature_names != before.feature_names)
                problems.push_back("a reloaded transform applies differently from the fitted one");
        }
    } catch (const std::exception& e) {
        problems.push_back(e.what());
    }
    fs::remove_all(dir);
    return problems;
}

}  // namespace

std::vector<PluginCheck> check_plugin(const PluginRegistry& registry, const PluginRecord& p) {
    std::vector<PluginCheck> out;
    auto check = [&out](const std::string& what, const std::vector<std::string>& problems) {
        std::string detail;
        for (const auto& problem : problems) detail += (detail.empty() ? "" : "; ") + problem;
        out.push_back({what, problems.empty(), detail});
    };
    check("metadata", metadata_problems(p));
    check("parameter schema", schema_problems(p.schema));
    check("capabilities", capability_problems(p));

    // Creation with the schema's defaults (and the examples of required keys): what a plugin's code
    // reads must be in its schema, or it fails here rather than with a raw JSON exception mid-run.
    const SchemaValidator validator(p.schema);
    const json params = default_params(p.schema, validator);
    std::shared_ptr<PluginBase> instance;
    try {
        instance = create_instance(registry, p, params);
        check("created with the schema's defaults " + params.dump(),
              instance ? std::vector<std::string>{} : std::vector<std::string>{"unknown kind"});
    } catch (const std::exception& e) {
        check("created with the schema's defaults " + params.dump(),
              {std::string(e.what()) + " (does the code read a parameter the schema gives no default?)"});
        return out;
    }
    check("bad parameters refused by name", bad_parameter_problems(validator, p.schema, params));
    if (round_trip_applies(p))
        check("fit on a 60-song table, save and load: the same output", round_trip_problems(registry, p, params));
    return out;
}

}  // namespace mer
