// JSON Schema validation of YAML documents with errors a researcher can act
// on. YAML is turned into JSON (YAML 1.2 core scalars; quoted scalars stay
// strings) while remembering the line and column of every key and value, then
// checked by valijson with strict types; each valijson error is rewritten
// into a sentence naming the key, what was expected and what was found.
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace mer {

struct Diagnostic {
    Location where;
    std::string message;
    std::string str() const { return where.str().empty() ? message : where.str() + ": " + message; }
};
using Diagnostics = std::vector<Diagnostic>;

// Where each part of a document came from, keyed by JSON pointer.
class SourceMap {
public:
    explicit SourceMap(std::string file = {}) : file_(std::move(file)) {}
    void set_value(const std::string& pointer, const YAML::Mark& mark) { values_[pointer] = mark; }
    void set_key(const std::string& pointer, const YAML::Mark& mark) { keys_[pointer] = mark; }
    void set_origin(const std::string& pointer, const std::string& origin) { origins_[pointer] = origin; }
    // The location of the key (or else the value) at `pointer`, falling back to
    // the nearest enclosing value that has one.
    Location key_at(const std::string& pointer) const;
    Location value_at(const std::string& pointer) const;
    const std::string& file() const { return file_; }

private:
    Location lookup(const std::string& pointer, bool prefer_key) const;
    std::string file_;
    std::map<std::string, YAML::Mark> values_, keys_;
    std::map<std::string, std::string> origins_;  // values that came from --set
};

// JSON pointer helpers ("/nodes/ridge/params") and the dotted form used in
// messages ("nodes.ridge.params").
std::string pointer_child(const std::string& pointer, const std::string& key);
std::string dotted(const std::string& pointer);

// Parses YAML text that must hold one document (an experiment file). A NUL
// byte, a syntax error, nesting deeper than yaml_to_json accepts and a
// second document ("---" and more) are refused with their line and column
// in `file`.
YAML::Node parse_yaml_document(const std::string& text, const std::string& file);

// A yaml-cpp exception's message in words: its depth guard says only "bad file".
std::string yaml_error_text(const YAML::Exception& e);

// Converts a YAML tree into JSON and records marks under `pointer`.
nlohmann::json yaml_to_json(const YAML::Node& node, SourceMap& map, const std::string& pointer = "");
YAML::Node json_to_yaml(const nlohmann::json& value);

class SchemaValidator {
public:
    explicit SchemaValidator(nlohmann::json schema);
    ~SchemaValidator();
    SchemaValidator(const SchemaValidator&) = delete;
    SchemaValidator& operator=(const SchemaValidator&) = delete;

    // Validates `value`, which sits at `pointer` of the document described by
    // `map`; every error found, in document order.
    Diagnostics validate(const nlohmann::json& value, const SourceMap& map, const std::string& pointer = "") const;

    // `value` with every missing property that has a "default" filled in, and
    // its numbers typed as the schema says (3 → 3.0 for "number"): the typed
    // parameters that plugins get and cache keys are made of.
    nlohmann::json with_defaults(nlohmann::json value) const;

    const nlohmann::json& schema() const { return schema_; }

private:
    struct Compiled;
    nlohmann::json schema_;
    std::unique_ptr<Compiled> compiled_;
};

// Human wording of a JSON Schema type: "a number", "a list", ...
std::string describe_schema_type(const nlohmann::json& schema);

}  // namespace mer
