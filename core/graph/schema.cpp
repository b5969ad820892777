// YAML → JSON with source marks, and valijson errors rewritten for people.
#include "core/graph/schema.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>

#include "core/base/files.hpp"       // format_number
#include "core/plugin/registry.hpp"  // nearest_name

namespace mer {

using json = nlohmann::json;

std::string pointer_child(const std::string& pointer, const std::string& key) {
    std::string escaped;
    for (char c : key) {
        if (c == '~')
            escaped += "~0";
        else if (c == '/')
            escaped += "~1";
        else
            escaped += c;
    }
    return pointer + "/" + escaped;
}

static std::vector<std::string> pointer_parts(const std::string& pointer) {
    std::vector<std::string> parts;
    std::size_t i = 0;
    while (i < pointer.size()) {
        const std::size_t next = pointer.find('/', i + 1);
        std::string part = pointer.substr(i + 1, next == std::string::npos ? std::string::npos : next - i - 1);
        std::string unescaped;
        for (std::size_t k = 0; k < part.size(); ++k) {
            if (part[k] == '~' && k + 1 < part.size())
                unescaped += part[++k] == '1' ? '/' : '~';
            else
                unescaped += part[k];
        }
        parts.push_back(unescaped);
        if (next == std::string::npos) break;
        i = next;
    }
    return parts;
}

std::string dotted(const std::string& pointer) {
    std::string out;
    for (const auto& part : pointer_parts(pointer)) {
        const bool index = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
        if (index)
            out += "[" + part + "]";
        else
            out += (out.empty() ? "" : ".") + part;
    }
    return out.empty() ? "(top level)" : out;
}

Location SourceMap::lookup(const std::string& pointer, bool prefer_key) const {
    // Anything inside a value that came from --set is the --set's: its own
    // marks are positions in the --set text, not in the file.
    for (std::string q = pointer;; q = q.substr(0, q.rfind('/'))) {
        if (auto o = origins_.find(q); o != origins_.end()) return Location{o->second};
        if (q.empty()) break;
    }
    std::string p = pointer;
    while (true) {
        if (auto o = origins_.find(p); o != origins_.end()) return Location{o->second};
        if (prefer_key)
            if (auto k = keys_.find(p); k != keys_.end() && !k->second.is_null())
                return Location{file_, k->second.line + 1, k->second.column + 1};
        if (auto v = values_.find(p); v != values_.end() && !v->second.is_null())
            return Location{file_, v->second.line + 1, v->second.column + 1};
        if (p.empty()) return Location{file_};
        p = p.substr(0, p.rfind('/'));
        prefer_key = false;
    }
}

Location SourceMap::key_at(const std::string& pointer) const {
    return lookup(pointer, true);
}
Location SourceMap::value_at(const std::string& pointer) const {
    return lookup(pointer, false);
}

static json plain_scalar(const std::string& s) {
    static const std::regex integer(R"([-+]?[0-9]+)");
    static const std::regex real(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
    if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
    if (std::regex_match(s, integer)) {
        try {
            return std::stoll(s);
        } catch (const std::out_of_range&) {
            return std::strtod(s.c_str(), nullptr);  // beyond double's range: ±inf, refused by the caller
        }
    }
    if (std::regex_match(s, real)) return std::strtod(s.c_str(), nullptr);
    if (s == ".inf" || s == ".Inf" || s == "+.inf") return std::numeric_limits<double>::infinity();
    if (s == "-.inf" || s == "-.Inf") return -std::numeric_limits<double>::infinity();
    return s;
}

namespace {
// YAML aliases let a few hundred bytes name billions of values; an
// experiment has hundreds. Past these bounds the file is refused.
constexpr std::size_t kMaxYamlValues = 100000;
constexpr int kMaxYamlDepth = 64;

// Whether `text` is well-formed UTF-8 (JSON text, and every message quoting
// a value, must be).
bool valid_utf8(const std::string& text) {
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        const int extra = c < 0x80 ? 0 : (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xE ? 2 : (c >> 3) == 0x1E ? 3 : -1;
        if (extra < 0 || c == 0xC0 || c == 0xC1 || c > 0xF4) return false;
        if (text.size() - i <= static_cast<std::size_t>(extra)) return false;  // cut short
        for (int k = 1; k <= extra; ++k)
            if ((static_cast<unsigned char>(text[i + static_cast<std::size_t>(k)]) & 0xC0) != 0x80) return false;
        i += static_cast<std::size_t>(extra) + 1;
    }
    return true;
}

class YamlToJson {
public:
    explicit YamlToJson(SourceMap& map) : map_(map) {}

    json convert(const YAML::Node& node, const std::string& pointer, int depth) {
        map_.set_value(pointer, node.Mark());
        if (++values_ > kMaxYamlValues)
            throw Error(fmt::format("the experiment expands to more than {} values (YAML aliases repeating "
                                    "anchors?); an experiment needs far fewer",
                                    kMaxYamlValues),
                        at(node.Mark()));
        if (depth > kMaxYamlDepth)
            throw Error(fmt::format("{} is nested more than {} levels deep; an experiment needs far fewer",
                                    pointer.empty() ? "the document" : dotted(pointer), kMaxYamlDepth),
                        at(node.Mark()));
        switch (node.Type()) {
            case YAML::NodeType::Undefined:
            case YAML::NodeType::Null:
                return nullptr;
            case YAML::NodeType::Scalar: {
                if (!valid_utf8(node.Scalar()))
                    throw Error((pointer.empty() ? std::string("the document") : dotted(pointer)) +
                                    " is not valid UTF-8 text; save the experiment as UTF-8",
                                at(pointer, node.Mark()));
                if (node.Tag() == "!") return node.Scalar();  // quoted: always text
                json value = plain_scalar(node.Scalar());
                const bool spelled_infinite = node.Scalar().find("inf") != std::string::npos ||
                                              node.Scalar().find("Inf") != std::string::npos;  // YAML's .inf
                if (value.is_number_float() && !std::isfinite(value.get<double>()) && !spelled_infinite)
                    throw Error(fmt::format("{} = {} is beyond the range of a number (about ±1.8e308)",
                                            pointer.empty() ? "the document" : dotted(pointer), node.Scalar()),
                                at(pointer, node.Mark()));
                return value;
            }
            case YAML::NodeType::Sequence: {
                json out = json::array();
                for (std::size_t i = 0; i < node.size(); ++i)
                    out.push_back(convert(node[i], pointer_child(pointer, std::to_string(i)), depth + 1));
                return out;
            }
            case YAML::NodeType::Map: {
                json out = json::object();
                std::map<std::string, YAML::Mark> seen;
                for (const auto& kv : node) {
                    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
                    if (!kv.first.IsScalar())
                        throw Error("a mapping key must be plain text, not a list or a mapping", at(kv.first.Mark()));
                    if (!valid_utf8(key))
                        throw Error("a key is not valid UTF-8 text; save the experiment as UTF-8", at(kv.first.Mark()));
                    const std::string child = pointer_child(pointer, key);
                    if (const auto first = seen.find(key); first != seen.end())
                        throw Error(fmt::format("{} appears twice in the same mapping (first at line {}); YAML "
                                                "keeps only one, so remove the other",
                                                dotted(child), first->second.line + 1),
                                    at(kv.first.Mark()));
                    seen.emplace(key, kv.first.Mark());
                    map_.set_key(child, kv.first.Mark());
                    out[key] = convert(kv.second, child, depth + 1);
                }
                return out;
            }
        }
        return nullptr;
    }

private:
    Location at(const YAML::Mark& mark) const {
        return mark.is_null() ? Location(map_.file()) : Location(map_.file(), mark.line + 1, mark.column + 1);
    }
    // A value from --set is the --set's (its marks are positions in the --set text), else the file's.
    Location at(const std::string& pointer, const YAML::Mark& mark) const {
        const Location origin = map_.value_at(pointer);
        return origin.file.rfind("--", 0) == 0 ? origin : at(mark);
    }
    SourceMap& map_;
    std::size_t values_ = 0;
};
}  // namespace

namespace {
// Records where each document of a YAML stream starts; ignores the rest.
struct DocumentStarts : YAML::EventHandler {
    std::vector<YAML::Mark> marks;
    void OnDocumentStart(const YAML::Mark& mark) override { marks.push_back(mark); }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
};
}  // namespace

std::string yaml_error_text(const YAML::Exception& e) {
    if (dynamic_cast<const YAML::DeepRecursion*>(&e))
        return fmt::format("mappings and lists are nested more than {} levels deep here; an experiment needs far fewer",
                           kMaxYamlDepth);
    return e.msg;
}

YAML::Node parse_yaml_document(const std::string& text, const std::string& file) {
    // yaml-cpp reads a NUL as the end of a quoted string's escape, or of the text.
    if (const auto nul = text.find('\0'); nul != std::string::npos) {
        const auto line_start = text.rfind('\n', nul);
        const int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(nul), '\n'));
        const int column = static_cast<int>(nul - (line_start == std::string::npos ? 0 : line_start + 1)) + 1;
        throw Error("the file holds a NUL byte (a binary file, or text saved as UTF-16?); an experiment is UTF-8 "
                    "YAML text",
                    Location(file, line, column));
    }
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const YAML::ParserException& e) {
        throw Error("YAML syntax error: " + yaml_error_text(e), Location(file, e.mark.line + 1, e.mark.column + 1));
    }
    // YAML::Load reads the first document and silently drops the others.
    DocumentStarts starts;
    std::istringstream in(text);
    YAML::Parser parser(in);
    try {
        while (starts.marks.size() < 2 && parser.HandleNextDocument(starts)) {
        }
    } catch (const YAML::ParserException&) {
        // Only a broken second document gets here: refused below all the same.
    }
    if (starts.marks.size() > 1) {
        const YAML::Mark& second = starts.marks[1];
        throw Error("a second YAML document starts here (after a '---' line); an experiment file holds one "
                    "document, and mer would ignore this one: remove the '---' and merge the two, or move it to a "
                    "file of its own",
                    Location(file, second.line + 1, second.column + 1));
    }
    return root;
}

json yaml_to_json(const YAML::Node& node, SourceMap& map, const std::string& pointer) {
    return YamlToJson(map).convert(node, pointer, 0);
}

YAML::Node json_to_yaml(const json& value) {
    switch (value.type()) {
        case json::value_t::object: {
            YAML::Node out(YAML::NodeType::Map);
            for (const auto& [k, v] : value.items()) out[k] = json_to_yaml(v);
            return out;
        }
        case json::value_t::array: {
            YAML::Node out(YAML::NodeType::Sequence);
            for (const auto& v : value) out.push_back(json_to_yaml(v));
            return out;
        }
        case json::value_t::string:
            return YAML::Node(value.get<std::string>());
        case json::value_t::boolean:
            return YAML::Node(value.get<bool>());
        case json::value_t::number_integer:
            return YAML::Node(value.get<std::int64_t>());
        case json::value_t::number_unsigned:
            return YAML::Node(value.get<std::uint64_t>());
        case json::value_t::number_float:
            return YAML::Node(format_number(value.get<double>()));  // shortest form: 0.2, not 0.20000000000000001
        default:
            return YAML::Node(YAML::NodeType::Null);
    }
}

std::string describe_schema_type(const json& schema) {
    auto one = [](const std::string& t) -> std::string {
        if (t == "integer") return "an integer";
        if (t == "number") return "a number";
        if (t == "string") return "a string";
        if (t == "boolean") return "true or false";
        if (t == "array") return "a list";
        if (t == "object") return "a mapping of keys to values";
        if (t == "null") return "null";
        return t;
    };
    if (!schema.contains("type")) {
        if (schema.contains("enum")) return "one of " + schema["enum"].dump();
        for (const char* key : {"oneOf", "anyOf"})
            if (schema.contains(key)) {
                std::string out;
                for (const auto& option : schema[key])
                    out += (out.empty() ? "" : ", or ") + describe_schema_type(option);
                return out;
            }
        return "a value";
    }
    const json& type = schema["type"];
    if (type.is_string()) return one(type.get<std::string>());
    std::string out;
    for (std::size_t i = 0; i < type.size(); ++i)
        out += (i == 0 ? "" : i + 1 == type.size() ? " or " : ", ") + one(type[i].get<std::string>());
    return out;
}

static std::string describe_value(const json& v) {
    std::string text = v.dump();
    if (text.size() > 60) text = text.substr(0, 57) + "...";
    switch (v.type()) {
        case json::value_t::string:
            return "the string " + text;
        case json::value_t::number_integer:
        case json::value_t::number_unsigned:
            return "the integer " + text;
        case json::value_t::number_float:
            return "the number " + text;
        case json::value_t::boolean:
            return text;
        case json::value_t::array:
            return "a list";
        case json::value_t::object:
            return "a mapping";
        default:
            return "nothing (null)";
    }
}

struct SchemaValidator::Compiled {
    valijson::Schema schema;
};

SchemaValidator::SchemaValidator(json schema) : schema_(std::move(schema)), compiled_(std::make_unique<Compiled>()) {
    valijson::SchemaParser parser;
    valijson::adapters::NlohmannJsonAdapter adapter(schema_);
    parser.populateSchema(adapter, compiled_->schema);
}

SchemaValidator::~SchemaValidator() = default;

// The sub-schema that governs the value at `parts` (after resolving local
// $refs), or nullptr when the schema does not say.
static const json* schema_at(const json& root, const json* schema, const json& value,
                             const std::vector<std::string>& parts, std::size_t depth = 0) {
    for (int guard = 0; schema && schema->is_object() && schema->contains("$ref") && guard < 16; ++guard) {
        const std::string ref = (*schema)["$ref"].get<std::string>();
        if (ref.rfind("#", 0) != 0) return nullptr;
        try {
            schema = &root.at(json::json_pointer(ref.substr(1)));
        } catch (const std::exception&) {
            return nullptr;
        }
    }
    if (!schema || depth == parts.size()) return schema;
    const std::string& key = parts[depth];
    if (value.is_array()) {
        if (!schema->contains("items")) return nullptr;
        const std::size_t index = std::stoul(key);
        return index < value.size() ? schema_at(root, &(*schema)["items"], value[index], parts, depth + 1) : nullptr;
    }
    if (value.is_object() && value.contains(key)) {
        const json* next = nullptr;
        if (schema->contains("properties") && (*schema)["properties"].contains(key))
            next = &(*schema)["properties"][key];
        else if (schema->contains("additionalProperties") && (*schema)["additionalProperties"].is_object())
            next = &(*schema)["additionalProperties"];
        return next ? schema_at(root, next, value[key], parts, depth + 1) : nullptr;
    }
    return nullptr;
}

// valijson writes its bounds with std::to_string: DBL_MAX as 309 digits and
// 0.001 as 0.001000. Each such number in its shortest form instead.
static std::string short_numbers(const std::string& text) {
    static const std::regex fixed(R"(-?[0-9]+\.[0-9]{6}\b)");
    std::string out;
    auto last = text.cbegin();
    for (std::sregex_iterator m(text.begin(), text.end(), fixed), end; m != end; ++m) {
        out.append(last, (*m)[0].first);
        out += format_number(std::strtod(m->str().c_str(), nullptr));
        last = (*m)[0].second;
    }
    return out.append(last, text.cend());
}

static std::string range_text(const json& s) {
    std::string low, high;
    if (s.contains("minimum")) low = "≥ " + s["minimum"].dump();
    if (s.contains("exclusiveMinimum")) low = "> " + s["exclusiveMinimum"].dump();
    if (s.contains("maximum")) high = "≤ " + s["maximum"].dump();
    if (s.contains("exclusiveMaximum")) high = "< " + s["exclusiveMaximum"].dump();
    if (!low.empty() && !high.empty()) return low + " and " + high;
    return low.empty() ? high : low;
}

Diagnostics SchemaValidator::validate(const json& value, const SourceMap& map, const std::string& base) const {
    valijson::Validator validator(valijson::Validator::kStrongTypes);
    valijson::ValidationResults results;
    valijson::adapters::NlohmannJsonAdapter target(value);
    if (validator.validate(compiled_->schema, target, &results)) return {};

    Diagnostics out;
    std::set<std::string> seen;
    auto add = [&](Location where, const std::string& message) {
        if (seen.insert(where.str() + message).second) out.push_back({std::move(where), message});
    };
    for (const auto& error : results) {
        const std::string& d = error.description;
        // Summaries of errors that are also reported on the offending child.
        if (d.rfind("Failed to validate against schema associated with property name", 0) == 0 ||
            d.rfind("Failed to validate item #", 0) == 0 ||
            d.rfind("Failed to validate against additional properties schema", 0) == 0 ||
            d.rfind("Failed to validate against child schema", 0) == 0)
            continue;
        std::vector<std::string> parts;
        std::string pointer = base;
        for (std::size_t i = 1; i < error.context.size(); ++i) {
            const std::string& c = error.context[i];
            parts.push_back(c.size() >= 2 && c.front() == '[' ? c.substr(1, c.size() - 2) : c);
            pointer = pointer_child(pointer, parts.back());
        }
        const json* here = &value;
        for (const auto& p : parts) {
            if (here->is_array())
                here = &(*here)[std::stoul(p)];
            else if (here->is_object() && here->contains(p))
                here = &(*here)[p];
        }
        const json* sub = schema_at(schema_, &schema_, value, parts);
        const std::string path = dotted(pointer);
        const bool alternatives = sub && (sub->contains("oneOf") || sub->contains("anyOf"));
        const bool alternatives_summary =
            d.rfind("Failed to validate against exactly one child schema", 0) == 0 ||
            d.rfind("Failed to validate against any child schemas allowed by oneOf", 0) == 0 ||
            d.rfind("Failed to validate against any schemas allowed by anyOf", 0) == 0;
        if (alternatives && !alternatives_summary) continue;  // each alternative's complaint; summarised below

        if (d.rfind("Object contains a property that could not be validated", 0) == 0 && sub && here->is_object()) {
            std::vector<std::string> accepted;
            if (sub->contains("properties"))
                for (const auto& [k, _] : (*sub)["properties"].items()) accepted.push_back(k);
            std::string list;
            for (const auto& k : accepted) list += (list.empty() ? "" : ", ") + k;
            for (const auto& [key, _] : here->items()) {
                if (std::find(accepted.begin(), accepted.end(), key) != accepted.end()) continue;
                std::string message =
                    "unknown key '" + key + "' in " + path + "; accepted keys: " + (list.empty() ? "(none)" : list);
                if (const std::string near = nearest_name(key, accepted); !near.empty())
                    message += " (did you mean '" + near + "'?)";
                add(map.key_at(pointer_child(pointer, key)), message);
            }
        } else if (d == "Value type not permitted by 'type' constraint." && sub) {
            add(map.value_at(pointer),
                path + " must be " + describe_schema_type(*sub) + ", not " + describe_value(*here));
        } else if (d.rfind("Expected number", 0) == 0) {
            const std::string range = sub ? range_text(*sub) : "";
            const std::string given = here->is_number_float() ? format_number(here->get<double>()) : here->dump();
            add(map.value_at(pointer), path + " = " + given + " is out of range: " +
                                           (range.empty() ? short_numbers(d) : "it must be " + range));
        } else if (d.rfind("Missing required property '", 0) == 0) {
            const std::string key = d.substr(27, d.size() - 29);  // "Missing required property 'KEY'."
            std::string message = path + " is missing the required key '" + key + "'";
            // The key's own description says what to put there (and where a file comes from).
            if (sub && sub->contains("properties") && (*sub)["properties"].contains(key) &&
                (*sub)["properties"][key].contains("description"))
                message += ": " + (*sub)["properties"][key]["description"].get<std::string>();
            add(map.value_at(pointer), message);
        } else if (d == "Failed to match against any enum values." && sub && sub->contains("enum")) {
            std::string list;
            for (const auto& v : (*sub)["enum"]) list += (list.empty() ? "" : ", ") + v.dump();
            add(map.value_at(pointer), path + " must be one of " + list + ", not " + here->dump());
        } else if (alternatives_summary && alternatives) {
            const json& options = sub->contains("oneOf") ? (*sub)["oneOf"] : (*sub)["anyOf"];
            std::string list;
            for (const auto& option : options) list += (list.empty() ? "" : ", or ") + describe_schema_type(option);
            add(map.value_at(pointer), path + " must be " + list + ", not " + describe_value(*here));
        } else if (d.rfind("Failed to match regex", 0) == 0 && sub && sub->contains("pattern")) {
            add(map.value_at(pointer),
                path + " = " + here->dump() + " does not match the pattern " + (*sub)["pattern"].dump());
        } else if (d.rfind("String should be no more than", 0) == 0 && sub && sub->contains("maxLength") &&
                   here->is_string()) {
            std::string message = fmt::format("{} is {} characters long, more than the {} it may have", path,
                                              here->get<std::string>().size(), (*sub)["maxLength"].dump());
            if (sub->contains("description")) message += ": " + (*sub)["description"].get<std::string>();
            add(map.value_at(pointer), message);
        } else {
            add(map.value_at(pointer), path + ": " + short_numbers(d));
        }
    }
    if (out.empty()) out.push_back({map.value_at(base), dotted(base) + " does not match its schema"});
    return out;
}

static void fill_defaults(const json& root, const json* schema, json& value) {
    for (int guard = 0; schema && schema->contains("$ref") && guard < 16; ++guard)
        schema = &root.at(json::json_pointer((*schema)["$ref"].get<std::string>().substr(1)));
    if (!schema || !value.is_object() || !schema->contains("properties")) return;
    for (const auto& [key, sub] : (*schema)["properties"].items()) {
        if (!value.contains(key) && sub.contains("default")) value[key] = sub["default"];
        if (value.contains(key)) fill_defaults(root, &sub, value[key]);
    }
}

// One JSON type per schema type: 3 where the schema says number becomes 3.0,
// and 3.0 where it says integer becomes 3, so a value written either way (a
// run's config.yaml writes 3.0 as 3) gives the same parameters, and the same
// cache key.
static void normalize_numbers(const json& root, const json* schema, json& value) {
    for (int guard = 0; schema && schema->contains("$ref") && guard < 16; ++guard)
        schema = &root.at(json::json_pointer((*schema)["$ref"].get<std::string>().substr(1)));
    if (!schema || !schema->is_object()) return;
    const std::string type = schema->contains("type") && (*schema)["type"].is_string() ? (*schema)["type"] : "";
    if (type == "number" && value.is_number_integer()) {
        value = value.get<double>();
    } else if (type == "integer" && value.is_number_float()) {
        const double v = value.get<double>();
        if (std::isfinite(v) && std::floor(v) == v && std::fabs(v) < 9.0e15) value = static_cast<std::int64_t>(v);
    } else if (value.is_object() && schema->contains("properties")) {
        for (const auto& [key, sub] : (*schema)["properties"].items())
            if (value.contains(key)) normalize_numbers(root, &sub, value[key]);
    } else if (value.is_array() && schema->contains("items") && (*schema)["items"].is_object()) {
        for (auto& item : value) normalize_numbers(root, &(*schema)["items"], item);
    }
}

json SchemaValidator::with_defaults(json value) const {
    fill_defaults(schema_, &schema_, value);
    normalize_numbers(schema_, &schema_, value);
    return value;
}

}  // namespace mer
