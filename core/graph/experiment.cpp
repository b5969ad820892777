// Loading and whole-file validation of experiment YAML.
#include "core/graph/experiment.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

#include "core/base/files.hpp"
#include "core/base/names.hpp"
#include "core/eval/run_reader.hpp"
#include "core/plugin/capabilities.hpp"
#include "core/plugin/dataset.hpp"
#include "core/plugin/features.hpp"
#include "core/plugin/registry.hpp"
#include "core/plugin/regressor.hpp"

namespace mer {

namespace fs = std::filesystem;

using json = nlohmann::json;

extern const char kExperimentSchemaText[];  // generated from schemas/experiment.schema.json

const json& experiment_schema() {
    static const json schema = json::parse(kExperimentSchemaText);
    return schema;
}

Diagnostics check_data_paths(const Experiment& experiment, std::vector<std::string>* resolved) {
    Diagnostics errors;
    for (const auto& node : experiment.nodes) {
        if (!node.plugin || !node.plugin->schema.contains("properties")) continue;
        for (const auto& [key, property] : node.plugin->schema["properties"].items()) {
            if (!property.is_object() || !property.contains("x-mer-path") || !node.params.contains(key) ||
                !node.params[key].is_string())
                continue;
            const std::string given = node.params[key].get<std::string>();
            if (given.empty()) continue;  // "found under root" and the like
            const bool folder = property["x-mer-path"] == "folder";
            std::error_code ec;
            const fs::path absolute = fs::absolute(given, ec).lexically_normal();
            const std::string name = "nodes." + node.id + ".params." + key;
            if (resolved) resolved->push_back(name + " = " + absolute.string());
            const bool exists = fs::exists(absolute, ec);
            if (exists && fs::is_directory(absolute, ec) == folder) continue;
            errors.push_back({node.where, fmt::format("{}: {} '{}' {} (relative paths start at the working directory "
                                                      "{}, which makes it {})",
                                                      name, folder ? "the folder" : "the file", given,
                                                      !exists ? "does not exist" : folder ? "is not a folder" : "is a folder",
                                                      fs::current_path(ec).string(), absolute.string())});
        }
    }
    return errors;
}

Diagnostics check_dataset_rows(const Experiment& experiment, const PluginRegistry& registry, Diagnostics* warnings) {
    Diagnostics errors;
    for (const auto& node : experiment.nodes) {
        if (node.kind != "dataset" || !node.plugin || !node.plugin->has(capability::kCheckData)) continue;
        const std::string who = "nodes." + node.id + " (" + node.uses + ")";
        try {
            const json problems = registry.create<DatasetPlugin>(node.uses, node.params)->query(capability::kCheckData);
            for (const auto& p : problems.is_array() ? problems : json::array()) {
                Location where(p.value("file", ""), p.value("line", 0));
                if (where.file.empty()) where = node.where;
                Diagnostic d{where, who + ": " + p.value("message", std::string("unreadable data"))};
                if (!p.value("warning", false)) errors.push_back(std::move(d));
                else if (warnings) warnings->push_back(std::move(d));
            }
        } catch (const std::exception& e) {
            const Error error = as_error(e, node.where);
            errors.push_back({error.where(), who + ": " + error.message()});
        }
    }
    return errors;
}

json editor_schema(const PluginRegistry& registry) {
    json schema = experiment_schema();
    schema.erase("$id");
    json& node = schema["definitions"]["node"];
    json names = json::array(), rules = json::array();
    std::vector<const PluginRecord*> plugins;
    for (const auto& p : registry.plugins()) plugins.push_back(&p);
    std::sort(plugins.begin(), plugins.end(), [](const auto* a, const auto* b) { return a->name < b->name; });
    for (const auto* p : plugins) {
        names.push_back(p->name);
        json params = p->schema;
        params.erase("$schema");  // a subschema here, not a document
        params["description"] = p->description + " (mer-run plugins describe " + p->name + ")";
        rules.push_back({{"if", {{"properties", {{"uses", {{"const", p->name}}}}}, {"required", {"uses"}}}},
                         {"then", {{"properties", {{"params", params}}}}}});
    }
    node["properties"]["uses"]["enum"] = names;
    node["allOf"] = rules;
    return schema;
}

const NodeSpec& Experiment::node(const std::string& id) const {
    for (const auto& n : nodes)
        if (n.id == id) return n;
    throw Error("no node '" + id + "' in experiment " + file);
}

bool Experiment::has_sources() const {
    return std::any_of(nodes.begin(), nodes.end(),
                       [](const NodeSpec& n) { return n.kind == "dataset" && !n.inputs.empty(); });
}

namespace {

std::string join(const std::vector<std::string>& items, const std::string& separator = ", ") {
    std::string out;
    for (const auto& s : items) out += (out.empty() ? "" : separator) + s;
    return out;
}

// "a.b.c" → {a, b, c}; empty when a key is empty ("a..c", ".a").
std::vector<std::string> dotted_keys(const std::string& path) {
    std::vector<std::string> keys;
    std::size_t start = 0;
    while (true) {
        const auto dot = path.find('.', start);
        keys.push_back(path.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
        if (dot == std::string::npos) break;
        start = dot + 1;
    }
    if (std::any_of(keys.begin(), keys.end(), [](const std::string& k) { return k.empty(); })) return {};
    return keys;
}

// Removes "a.b.c" from the document (--unset a.b.c); returns an error message
// or "" (reported as "--unset a.b.c: message"). A key that is not there is an
// error naming the nearest key that is, so a typo does not pass for a removal.
std::string apply_removal(YAML::Node& root, const std::string& path) {
    if (path.find('=') != std::string::npos)
        return "expected a key without a value, e.g. --unset nodes.ridge.grid (to change a value: --set " + path + ")";
    const std::vector<std::string> keys = dotted_keys(path);
    if (keys.empty()) return "empty key in '" + path + "'";
    // yaml-cpp nodes are handles: `node` walks the tree and removes in place.
    YAML::Node node = root;
    std::string walked;  // the dotted path of `node`
    for (std::size_t i = 0; i < keys.size(); ++i) {
        const std::string here = walked.empty() ? keys[i] : walked + "." + keys[i];
        if (!node.IsMap())
            return (walked.empty() ? "the document" : walked) + " is not a mapping, so it has no key '" + keys[i] + "'";
        std::vector<std::string> names;
        for (const auto& kv : node) names.push_back(kv.first.as<std::string>());
        if (std::find(names.begin(), names.end(), keys[i]) == names.end()) {
            const std::string near = nearest_name(keys[i], names);
            std::string listed;
            for (const auto& n : names) listed += (listed.empty() ? "" : ", ") + n;
            return "there is no key '" + here + "' to remove" +
                   (near.empty() ? "" : " (did you mean '" + (walked.empty() ? near : walked + "." + near) + "'?)") +
                   "; " + (walked.empty() ? "the top-level keys" : walked + "'s keys") +
                   " are: " + (listed.empty() ? "none" : listed);
        }
        if (i + 1 == keys.size()) {
            node.remove(keys[i]);
            return "";
        }
        node.reset(node[keys[i]]);
        walked = here;
    }
    return "";
}

// Applies "a.b.c=value" to the document, or removes the key for "~a.b.c"
// (--unset, Hydra's spelling; sweep.json records it so); returns an error
// message or "" (reported as "--set a.b.c=value: message").
std::string apply_override(YAML::Node& root, const std::string& assignment,
                           std::vector<std::pair<std::string, std::string>>& origins) {
    if (!assignment.empty() && assignment[0] == '~') return apply_removal(root, assignment.substr(1));
    const auto eq = assignment.find('=');
    if (eq == std::string::npos || eq == 0)
        return "expected path.to.key=value, e.g. --set nodes.ridge.params.alpha=10 (to remove a key: --unset KEY)";
    const std::string path = assignment.substr(0, eq);
    YAML::Node value;
    try {
        value = YAML::Load(assignment.substr(eq + 1));
    } catch (const YAML::Exception& e) {
        return "the value is not valid YAML: " + yaml_error_text(e);
    }
    const std::vector<std::string> keys = dotted_keys(path);
    if (keys.empty()) return "empty key in '" + path + "'";
    if (!root.IsMap()) root = YAML::Node(YAML::NodeType::Map);
    // yaml-cpp nodes are handles: walking with copies edits the tree in place.
    std::vector<YAML::Node> chain{root};
    std::string pointer;
    for (std::size_t i = 0; i + 1 < keys.size(); ++i) {
        YAML::Node parent = chain.back();
        YAML::Node child = parent[keys[i]];
        pointer = pointer_child(pointer, keys[i]);
        if (!child.IsDefined() || child.IsNull()) {
            // A new node needs its plugin first; a mistyped id gets the nearest existing one.
            if (i == 1 && keys[0] == "nodes" && !(keys.size() == 3 && keys[2] == "uses")) {
                std::vector<std::string> ids;
                for (const auto& n : parent) ids.push_back(n.first.as<std::string>());
                const std::string near = nearest_name(keys[1], ids);
                std::string listed;
                for (const auto& id : ids) listed += (listed.empty() ? "" : ", ") + id;
                return "there is no node '" + keys[1] + "'" +
                       (near.empty() ? "" : " (did you mean '" + near + "'?)") + "; the nodes are: " + listed +
                       " (a new node needs --set nodes." + keys[1] + ".uses=PLUGIN first)";
            }
            parent[keys[i]] = YAML::Node(YAML::NodeType::Map);
            child = parent[keys[i]];
        } else if (!child.IsMap()) {
            return dotted(pointer) + " is not a mapping, so it has no key '" +
                   keys[i + 1] + "'";
        }
        chain.push_back(child);
    }
    chain.back()[keys.back()] = value;
    origins.emplace_back(pointer_child(pointer, keys.back()), "--set " + assignment);
    return "";
}

const std::map<std::string, std::set<std::string>>& allowed_input_kinds() {
    static const std::map<std::string, std::set<std::string>> allowed{
        {"dataset", {}},
        {"features", {"dataset", "features"}},
        {"transform", {"dataset", "features", "transform"}},
        {"regressor", {"dataset", "features", "transform"}},
    };
    return allowed;
}

// Loading is a sequence of passes over one document, each adding to the same
// list of errors: parse → overrides → structure (schema) → each node and its
// parameters → inputs → cycles → order → settings → cross-node checks.
class ExperimentLoader {
public:
    ExperimentLoader(const std::string& file, const PluginRegistry& registry, LoadedExperiment& out)
        : file_(file), registry_(registry), exp_(out.experiment), errors_(out.errors), map_(file) {
        exp_.file = file;
    }

    void load(const std::vector<std::string>& overrides) {
        if (!parse()) return;
        apply_overrides(overrides);
        if (!check_structure()) return;
        for (const auto& id : order_) read_node(id);
        check_inputs();
        check_cycles();
        if (!errors_.empty()) return;
        place_in_order();
        read_settings();
        check_sweep();
        check_split();
        check_devices();
        check_connections();
        check_unions();
        check_fingerprinted_files();
        resolve();
    }

private:
    bool parse() {
        std::error_code ec;
        if (fs::is_directory(file_, ec)) {
            errors_.push_back({Location{file_}, "is a folder; expected an experiment YAML file, e.g. " +
                                                    (fs::path(file_) / "experiment.yaml").string()});
            return false;
        }
        if (fs::exists(file_, ec) && !fs::is_regular_file(file_, ec)) {
            errors_.push_back({Location{file_}, "is not a regular file (a pipe or a device?); expected an experiment "
                                                "YAML file"});
            return false;
        }
        std::ifstream in(file_);
        if (!in) {
            errors_.push_back(
                {Location{file_}, "cannot read the experiment file: " + std::string(std::strerror(errno))});
            return false;
        }
        std::ostringstream text;
        text << in.rdbuf();
        try {
            root_ = parse_yaml_document(text.str(), file_);
        } catch (const Error& e) {
            errors_.push_back({e.where(), e.message()});
            return false;
        }
        if (!root_.IsDefined() || root_.IsNull()) root_ = YAML::Node(YAML::NodeType::Map);
        return true;
    }

    void apply_overrides(const std::vector<std::string>& overrides) {
        std::vector<std::pair<std::string, std::string>> origins;
        for (const auto& assignment : overrides)
            if (std::string problem = apply_override(root_, assignment, origins); !problem.empty())
                errors_.push_back({Location{assignment.rfind('~', 0) == 0 ? "--unset " + assignment.substr(1)
                                                                          : "--set " + assignment},
                                   problem});
        // Before the conversion: its own errors (1e999 in a --set value) name the --set too.
        for (const auto& [pointer, origin] : origins) map_.set_origin(pointer, origin);
        try {
            doc_ = yaml_to_json(root_, map_);
        } catch (const Error& e) {
            errors_.push_back({e.where(), e.message()});
            return;
        }
    }

    bool check_structure() {
        if (!errors_.empty() && doc_.is_null()) return false;  // the YAML could not become a document
        for (auto& d : structure_.validate(doc_, map_)) errors_.push_back(std::move(d));
        if (!doc_.is_object()) return false;
        // Nodes, in file order (yaml-cpp keeps it; JSON objects do not);
        // yaml_to_json refused duplicate ids.
        if (root_["nodes"] && root_["nodes"].IsMap())
            for (const auto& kv : root_["nodes"]) order_.push_back(kv.first.Scalar());
        nodes_ = doc_.contains("nodes") && doc_["nodes"].is_object() ? doc_["nodes"] : json::object();
        return true;
    }

    void read_node(const std::string& id) {
        static const std::regex id_pattern("[A-Za-z_][A-Za-z0-9_-]*");
        const std::string pointer = pointer_child("/nodes", id);
        const json& node = nodes_.contains(id) ? nodes_[id] : json();
        NodeSpec& spec = specs_[id];
        spec.id = id;
        spec.where = map_.key_at(pointer);
        if (!std::regex_match(id, id_pattern))
            errors_.push_back({spec.where, "node id '" + id +
                                               "' must start with a letter or '_' and hold only letters, digits, "
                                               "'_' and '-' (it names files in the run folder)"});
        if (!node.is_object()) return;
        if (node.contains("inputs") && node["inputs"].is_array())
            for (const auto& input : node["inputs"])
                if (input.is_string()) spec.inputs.push_back(input.get<std::string>());
        if (node.contains("targets") && node["targets"].is_array())
            for (std::size_t i = 0; i < node["targets"].size(); ++i) {
                const json& t = node["targets"][i];
                if (!t.is_string()) continue;
                spec.targets.push_back(t.get<std::string>());
                check_target_name(spec.targets.back(), pointer_child(pointer_child(pointer, "targets"), std::to_string(i)),
                                  "nodes." + id + ".targets");
            }
        if (node.contains("uses") && node["uses"].is_string()) {
            spec.uses = node["uses"].get<std::string>();
            try {
                spec.plugin = &registry_.get(spec.uses);
                spec.kind = spec.plugin->kind;
            } catch (const Error& e) {
                errors_.push_back(
                    {map_.value_at(pointer_child(pointer, "uses")), "nodes." + id + ".uses: " + e.message()});
            }
        }
        if (!spec.plugin) return;
        read_params(spec, node, pointer);
        if (node.contains("grid") && node["grid"].is_object()) read_grid(spec, node["grid"], pointer);
        // Values of the wrong type are the schema's to report, with their location: read only the right ones.
        if (node.contains("grid_search") && node["grid_search"].is_object()) {
            const json& search = node["grid_search"];
            if (search.contains("folds") && search["folds"].is_number_integer()) spec.grid_folds = search["folds"].get<int>();
            if (search.contains("metric") && search["metric"].is_string()) spec.grid_metric = search["metric"].get<std::string>();
        }
        read_grid_by(spec, node, pointer);
        if (node.contains("label") && node["label"].is_string()) spec.label = node["label"].get<std::string>();
        if (node.contains("limit") && node["limit"].is_number_integer()) {
            spec.limit = node["limit"].get<std::size_t>();
            if (spec.kind != "dataset")
                errors_.push_back({map_.key_at(pointer_child(pointer, "limit")),
                                   "nodes." + id + ".limit: only dataset nodes take a sample of their songs; " +
                                       spec.uses + " is a " + spec.kind + " plugin"});
        }
        if (!spec.targets.empty() && spec.kind != "regressor")
            errors_.push_back({map_.key_at(pointer_child(pointer, "targets")),
                               "nodes." + id + ".targets: only regressor nodes learn targets; " + spec.uses + " is a " +
                                   spec.kind + " plugin"});
    }

    void check_target_name(const std::string& name, const std::string& pointer, const std::string& key) {
        if (!is_file_safe_name(name))
            errors_.push_back({map_.value_at(pointer), key + ": target name '" + name + "' must hold only " +
                                                           kFileSafeNameRule});
    }

    // The node's parameters against its plugin's schema, then the plugin's own checks.
    void read_params(NodeSpec& spec, const json& node, const std::string& pointer) {
        const std::string params_pointer = pointer_child(pointer, "params");
        json params = node.contains("params") && node["params"].is_object() ? node["params"] : json::object();
        SchemaValidator validator(spec.plugin->schema);
        Diagnostics problems = validator.validate(params, map_, params_pointer);
        for (auto& d : problems) {
            d.message += " [" + spec.uses + " parameters; see `mer-run plugins describe " + spec.uses + "`]";
            errors_.push_back(std::move(d));
        }
        spec.params = validator.with_defaults(params);
        if (!problems.empty()) {
            params_refused_.insert(spec.id);
            return;
        }
        // A dataset's target names become parts of file names.
        if (spec.kind == "dataset" && params.contains("targets") && params["targets"].is_array())
            for (std::size_t i = 0; i < params["targets"].size(); ++i)
                if (params["targets"][i].is_string())
                    check_target_name(params["targets"][i].get<std::string>(),
                                      pointer_child(pointer_child(params_pointer, "targets"), std::to_string(i)),
                                      "nodes." + spec.id + ".params.targets");
        try {
            registry_.check_params(spec.uses, spec.params);
        } catch (const std::exception& e) {
            const Error error = as_error(e);
            errors_.push_back({node.contains("params") ? map_.key_at(params_pointer) : spec.where,
                               "nodes." + spec.id + ".params: " + error.message() + " [" + spec.uses + "]"});
            params_refused_.insert(spec.id);
        }
    }

    // Each grid key is a parameter of the plugin and each value a valid setting of it.
    void read_grid(NodeSpec& spec, const json& grid, const std::string& pointer) {
        const std::string grid_pointer = pointer_child(pointer, "grid");
        const std::string& id = spec.id;
        if (spec.kind != "regressor")
            errors_.push_back(
                {map_.key_at(grid_pointer), "nodes." + id + ".grid: only regressor nodes are tuned by grid search"});
        const json properties = spec.plugin->schema.value("properties", json::object());
        SchemaValidator validator(spec.plugin->schema);
        for (const auto& [key, values] : grid.items()) {
            const std::string key_pointer = pointer_child(grid_pointer, key);
            if (!properties.contains(key)) {
                std::vector<std::string> accepted;
                for (const auto& [k, _] : properties.items()) accepted.push_back(k);
                std::string message = "nodes." + id + ".grid: '" + key + "' is not a parameter of " + spec.uses +
                                      "; its parameters: " + join(accepted);
                if (const std::string near = nearest_name(key, accepted); !near.empty())
                    message += " (did you mean '" + near + "'?)";
                errors_.push_back({map_.key_at(key_pointer), message});
                continue;
            }
            if (!values.is_array()) continue;  // the experiment schema reports it
            for (std::size_t v = 0; v < values.size(); ++v) {
                json trial = spec.params;
                trial[key] = values[v];
                for (auto& d : validator.validate(trial, map_, pointer_child(pointer, "params"))) {
                    d.where = map_.value_at(pointer_child(key_pointer, std::to_string(v)));
                    d.message = "nodes." + id + ".grid." + key + "[" + std::to_string(v) + "]: " + d.message;
                    errors_.push_back(std::move(d));
                }
            }
            spec.grid[key] = values;
        }
    }

    // Per target where the model learns each target on its own (as
    // GridSearchCV tunes a model per target), jointly where it cannot.
    void read_grid_by(NodeSpec& spec, const json& node, const std::string& pointer) {
        const bool independent = spec.plugin->capability(capability::kIndependentTargets, false) == true;
        spec.grid_by = independent ? "target" : "joint";
        const json search = node.value("grid_search", json::object());
        if (!search.is_object() || !search.contains("by") || !search["by"].is_string()) return;
        const std::string asked = search["by"].get<std::string>();
        if (spec.kind != "regressor" || (asked != "target" && asked != "joint")) return;  // reported by the schema
        if (asked == "target" && !independent) {
            errors_.push_back({map_.value_at(pointer_child(pointer_child(pointer, "grid_search"), "by")),
                               "nodes." + spec.id + ".grid_search.by: " + spec.uses +
                                   " learns its targets jointly (it does not declare independent_targets), so one "
                                   "candidate serves them all; use by: joint, or one node per target "
                                   "(targets: [valence])"});
            return;
        }
        spec.grid_by = asked;
    }

    // Inputs exist and suit each kind.
    void check_inputs() {
        for (const auto& id : order_) {
            NodeSpec& spec = specs_[id];
            const std::string inputs_pointer = pointer_child(pointer_child("/nodes", id), "inputs");
            for (std::size_t i = 0; i < spec.inputs.size(); ++i)
                check_input(spec, spec.inputs[i], map_.value_at(pointer_child(inputs_pointer, std::to_string(i))));
            if (spec.kind == "dataset" && spec.plugin && spec.plugin->inputs < 0) {  // a union of dataset nodes
                check_union_inputs(spec, inputs_pointer);
                continue;
            }
            if (spec.kind == "dataset" && !spec.inputs.empty()) continue;  // reported above, per input
            if (spec.plugin && spec.kind != "dataset" && static_cast<int>(spec.inputs.size()) != spec.plugin->inputs)
                errors_.push_back(
                    {map_.key_at(spec.inputs.empty() ? pointer_child("/nodes", id) : inputs_pointer),
                     fmt::format("nodes.{}: {} takes exactly {} input{}, got {}", id, spec.uses, spec.plugin->inputs,
                                 spec.plugin->inputs == 1 ? "" : "s", spec.inputs.size())});
        }
    }

    void check_input(const NodeSpec& spec, const std::string& input, const Location& at) {
        const std::string& id = spec.id;
        if (!specs_.count(input)) {
            std::string message = "nodes." + id + ".inputs: '" + input + "' is not a node of this experiment";
            if (const std::string near = nearest_name(input, order_); !near.empty())
                message += " (did you mean '" + near + "'?)";
            errors_.push_back({at, message + "; nodes: " + join(order_)});
        } else if (input == id) {
            errors_.push_back({at, "nodes." + id + " lists itself as an input"});
        } else if (!spec.kind.empty() && !specs_[input].kind.empty()) {
            // A dataset that stacks others (dataset.union) takes dataset nodes.
            static const std::set<std::string> datasets{"dataset"};
            const bool stacks = spec.kind == "dataset" && spec.plugin && spec.plugin->inputs < 0;
            const auto& allowed = stacks ? datasets : allowed_input_kinds().at(spec.kind);
            if (!allowed.count(specs_[input].kind))
                errors_.push_back(
                    {at, "nodes." + id + ": a " + spec.kind + " node cannot take input from '" + input + "', a " +
                             specs_[input].kind + " node" +
                             (allowed.empty()
                                  ? "; datasets take no inputs"
                                  : "; it takes a " + join({allowed.begin(), allowed.end()}, " or ") + " node")});
        }
    }

    // A union stacks two or more distinct dataset nodes: each is a source.
    void check_union_inputs(const NodeSpec& spec, const std::string& inputs_pointer) {
        if (spec.inputs.size() < 2)
            errors_.push_back({map_.key_at(spec.inputs.empty() ? pointer_child("/nodes", spec.id) : inputs_pointer),
                               fmt::format("nodes.{}: {} stacks two or more dataset nodes (inputs: [a, b]), got {}",
                                           spec.id, spec.uses, spec.inputs.size())});
        for (std::size_t i = 0; i < spec.inputs.size(); ++i)
            if (std::find(spec.inputs.begin(), spec.inputs.begin() + static_cast<std::ptrdiff_t>(i), spec.inputs[i]) !=
                spec.inputs.begin() + static_cast<std::ptrdiff_t>(i))
                errors_.push_back({map_.value_at(pointer_child(inputs_pointer, std::to_string(i))),
                                   "nodes." + spec.id + ".inputs: '" + spec.inputs[i] +
                                       "' is listed twice; each input is one source"});
    }

    // Cycles (self-loops are reported by check_inputs).
    void check_cycles() {
        std::map<std::string, int> state;  // 0 new, 1 on stack, 2 done
        std::vector<std::string> stack;
        std::set<std::string> reported;
        std::function<void(const std::string&)> visit = [&](const std::string& id) {
            state[id] = 1;
            stack.push_back(id);
            for (const auto& input : specs_[id].inputs) {
                if (!specs_.count(input) || input == id) continue;
                if (state[input] == 1) {
                    auto from = std::find(stack.begin(), stack.end(), input);
                    std::vector<std::string> cycle(from, stack.end());
                    cycle.push_back(input);
                    std::vector<std::string> members(from, stack.end());
                    std::sort(members.begin(), members.end());
                    if (reported.insert(join(members)).second)
                        errors_.push_back({specs_[input].where, "the inputs of these nodes form a cycle: " +
                                                                    join(cycle, " → ") + "; remove one of the inputs"});
                } else if (state[input] == 0) {
                    visit(input);
                }
            }
            stack.pop_back();
            state[id] = 2;
        };
        for (const auto& id : order_)
            if (state[id] == 0) visit(id);
    }

    // Execution order: dependencies first, file order among equals.
    void place_in_order() {
        std::set<std::string> placed;
        for (bool progress = true; progress;) {  // check_cycles() made sure every node gets placed
            progress = false;
            for (const auto& id : order_) {
                if (placed.count(id)) continue;
                const auto& inputs = specs_[id].inputs;
                if (std::all_of(inputs.begin(), inputs.end(),
                                [&](const std::string& i) { return placed.count(i) > 0; })) {
                    exp_.nodes.push_back(specs_[id]);
                    placed.insert(id);
                    progress = true;
                    break;
                }
            }
        }
    }

    void read_settings() {
        full_ = structure_.with_defaults(doc_);
        exp_.name = full_.value("name", "experiment");
        exp_.seed = full_.value("seed", std::uint64_t{42});
        for (const auto& s : full_.value("seeds", json::array())) exp_.seeds.push_back(s.get<std::uint64_t>());
        exp_.sweep = full_.value("sweep", json());
        exp_.threads = full_.value("threads", 0);
        exp_.device = full_.value("device", "cpu");
        exp_.cache_dir = full_.value("cache_dir", "cache");
        exp_.runs_dir = full_.value("runs_dir", "runs");
        exp_.max_skipped_fraction = full_.value("max_skipped_fraction", 0.05);
        const json evaluation = full_.value("evaluation", json::object());
        split_ = evaluation.value("split", json::object());
        exp_.evaluation.split.kind = split_.value("kind", "holdout");
        exp_.evaluation.split.fraction = split_.value("fraction", 0.2);
        exp_.evaluation.split.k = split_.value("k", 5);
        exp_.evaluation.split.stratify = split_.value("stratify", "none");
        exp_.evaluation.split.bins = split_.value("bins", 4);
        exp_.evaluation.group_by = split_.value("group_by", "song");
        exp_.evaluation.split.train_sources = split_.value("train", std::vector<std::string>{});
        exp_.evaluation.split.test_sources = split_.value("test", std::vector<std::string>{});
        for (const auto& m : evaluation.value("metrics", json::array({"r2", "rmse", "mae"})))
            exp_.evaluation.metrics.push_back(m.get<std::string>());
        const json stopping = evaluation.value("early_stopping", json::object());
        exp_.evaluation.early_stopping.on = stopping.value("on", "inner");
        exp_.evaluation.early_stopping.fraction = stopping.value("fraction", 0.15);
    }

    // What mer-run sweep would read: a metric every trial reports (else each
    // trial "finishes" with nan) and random ranges it can draw from.
    void check_sweep() {
        if (!exp_.sweep.is_object()) return;
        check_sweep_metric();
        const json random = exp_.sweep.value("random", json::object());
        const json params = random.is_object() ? random.value("params", json::object()) : json::object();
        if (!params.is_object()) return;
        for (const auto& [key, range] : params.items()) {
            if (!range.is_object() || !range.contains("low") || !range.contains("high") || !range["low"].is_number() ||
                !range["high"].is_number())
                continue;  // a list, or the schema's to report
            const double low = range["low"].get<double>(), high = range["high"].get<double>();
            const std::string pointer = pointer_child("/sweep/random/params", key);
            const std::string name = "sweep.random.params." + key;
            if (low > high)
                errors_.push_back({map_.value_at(pointer_child(pointer, "low")),
                                   fmt::format("{}: low {} is above high {}; a range goes from low up to high (swap "
                                               "them)",
                                               name, format_number(low), format_number(high))});
            if (range.value("log", false) && low <= 0)
                errors_.push_back({map_.value_at(pointer_child(pointer, "low")),
                                   fmt::format("{}: a log-scale range needs low > 0 (a logarithm of {} does not "
                                               "exist); e.g. low: 1e-5, or drop log: true",
                                               name, format_number(low))});
        }
    }

    // sweep.metric is NODE.TARGET.METRIC: a regressor node, a target it
    // learns and one of evaluation.metrics (summary.json holds only those).
    void check_sweep_metric() {
        if (!exp_.sweep.contains("metric") || !exp_.sweep["metric"].is_string()) return;
        const std::string metric = exp_.sweep["metric"].get<std::string>();
        const auto path = split_metric_path(metric);
        if (!path) return;  // the schema's pattern reports it
        const std::string &node_id = path->node, &target = path->target, &score = path->metric;
        const Location at = map_.value_at("/sweep/metric");
        std::vector<std::string> regressors;
        const NodeSpec* node = nullptr;
        for (const auto& spec : exp_.nodes) {
            if (spec.kind == "regressor") regressors.push_back(spec.id);
            if (spec.id == node_id) node = &spec;
        }
        if (!node || node->kind != "regressor") {
            std::string message = fmt::format(
                "sweep.metric '{}': {} '{}'; the metric is NODE.TARGET.METRIC of a regressor node, and the "
                "regressor nodes are: {}",
                metric, node ? "not a regressor node:" : "there is no node", node_id,
                regressors.empty() ? std::string("(none)") : join(regressors));
            if (const std::string near = nearest_name(node_id, regressors); !near.empty() && !node)
                message += " (did you mean '" + near + "'?)";
            errors_.push_back({at, message});
            return;
        }
        const std::vector<std::string> targets = learned_targets(*node);
        if (!targets.empty() && std::find(targets.begin(), targets.end(), target) == targets.end())
            errors_.push_back({at, fmt::format("sweep.metric '{}': node '{}' learns no target '{}'; its targets: {}",
                                               metric, node_id, target, join(targets))});
        const auto& metrics = exp_.evaluation.metrics;
        if (std::find(metrics.begin(), metrics.end(), score) == metrics.end())
            errors_.push_back({at, fmt::format("sweep.metric '{}': {} is not among evaluation.metrics ({}), so no "
                                               "trial would report it; add it there or rank by one of those",
                                               metric, score, join(metrics))});
    }

    // The targets a regressor learns: its own list, else every target of
    // the datasets upstream; empty when a dataset does not say.
    std::vector<std::string> learned_targets(const NodeSpec& node) const {
        if (!node.targets.empty()) return node.targets;
        std::vector<std::string> targets;
        std::set<std::string> visited;
        std::vector<std::string> pending = node.inputs;
        while (!pending.empty()) {
            const std::string id = pending.back();
            pending.pop_back();
            if (!visited.insert(id).second) continue;
            const NodeSpec& input = exp_.node(id);
            if (input.kind != "dataset") {
                pending.insert(pending.end(), input.inputs.begin(), input.inputs.end());
                continue;
            }
            if (!input.params.is_object() || !input.params.contains("targets") || !input.params["targets"].is_array())
                return {};
            for (const auto& t : input.params["targets"])
                if (t.is_string() && std::find(targets.begin(), targets.end(), t.get<std::string>()) == targets.end())
                    targets.push_back(t.get<std::string>());
        }
        return targets;
    }

    // The dataset's own split, and splits by source, have no shares to
    // stratify; by_source names the union inputs each side takes.
    void check_split() {
        const SplitSpec& split = exp_.evaluation.split;
        if ((split.kind == "predefined" || splits_by_source(split)) && split.stratify != "none")
            errors_.push_back({map_.value_at("/evaluation/split/stratify"),
                               "evaluation.split.stratify: " + split.stratify + " cannot apply to kind " + split.kind +
                                   (split.kind == "predefined" ? ", which keeps the dataset's own split"
                                                               : ", which splits by source") +
                                   "; use kind holdout or kfold, or stratify none"});
        for (const char* key : {"train", "test"}) {
            const bool given = split_.contains(key);
            if (given && split.kind != "by_source")
                errors_.push_back({map_.key_at(std::string("/evaluation/split/") + key),
                                   fmt::format("evaluation.split.{}: only kind by_source takes source lists; this "
                                               "split is {}",
                                               key, split.kind)});
            if (!given && split.kind == "by_source")
                errors_.push_back({map_.value_at("/evaluation/split/kind"),
                                   fmt::format("evaluation.split.{}: kind by_source needs the sources (input nodes of "
                                               "a dataset.union) to {} on, e.g. {}: [deam]",
                                               key, key == std::string("train") ? "train" : "test", key)});
        }
        if (!splits_by_source(split)) return;
        // The sources: the inputs of the datasets that stack others.
        std::vector<std::string> sources;
        for (const auto& spec : exp_.nodes)
            if (spec.kind == "dataset" && spec.plugin && spec.plugin->inputs < 0)
                for (const auto& input : spec.inputs)
                    if (std::find(sources.begin(), sources.end(), input) == sources.end()) sources.push_back(input);
        if (sources.empty()) {
            errors_.push_back({map_.value_at("/evaluation/split/kind"),
                               "evaluation.split.kind " + split.kind +
                                   " splits by the songs' sources, and no node stacks datasets; add a dataset.union "
                                   "node (inputs: [a, b]) and feed the models from it"});
            return;
        }
        for (const auto& [key, listed] :
             {std::pair{"train", &split.train_sources}, std::pair{"test", &split.test_sources}})
            for (std::size_t i = 0; i < listed->size(); ++i) {
                const std::string& source = (*listed)[i];
                const std::string at = pointer_child(std::string("/evaluation/split/") + key, std::to_string(i));
                if (std::find(sources.begin(), sources.end(), source) == sources.end()) {
                    std::string message = fmt::format(
                        "evaluation.split.{}: '{}' is not a source; the sources (inputs "
                        "of the dataset.union nodes) are: {}",
                        key, source, join(sources));
                    if (const std::string near = nearest_name(source, sources); !near.empty())
                        message += " (did you mean '" + near + "'?)";
                    errors_.push_back({map_.value_at(at), message});
                } else if (key == std::string("test") &&
                           std::find(split.train_sources.begin(), split.train_sources.end(), source) !=
                               split.train_sources.end()) {
                    errors_.push_back({map_.value_at(at),
                                       fmt::format("evaluation.split.test: '{}' is in train too; a source is trained "
                                                   "on or tested on, not both (kfold on the union mixes them)",
                                                   source)});
                }
            }
    }

    // Every input of a union declares the scale of every target it stacks
    // (capability label_range), so its labels can be mapped; asked now, not
    // after the inputs have loaded.
    void check_unions() {
        for (const auto& spec : exp_.nodes) {
            if (spec.kind != "dataset" || !spec.plugin || spec.plugin->inputs >= 0) continue;
            const std::vector<std::string> targets = spec.params.value("targets", std::vector<std::string>{});
            const std::string inputs_pointer = pointer_child(pointer_child("/nodes", spec.id), "inputs");
            for (std::size_t i = 0; i < spec.inputs.size(); ++i) {
                const NodeSpec& input = exp_.node(spec.inputs[i]);
                json declared;
                try {
                    if (input.plugin && input.plugin->has(capability::kLabelRange))
                        declared =
                            registry_.create<DatasetPlugin>(input.uses, input.params)->query(capability::kLabelRange);
                } catch (const std::exception&) {
                    continue;  // its parameters were reported by read_params
                }
                std::vector<std::string> missing;
                for (const auto& t : targets)
                    if (!declared.is_object() || !declared.contains(t)) missing.push_back(t);
                if (!missing.empty())
                    errors_.push_back(
                        {map_.value_at(pointer_child(inputs_pointer, std::to_string(i))),
                         fmt::format("nodes.{}: input '{}' ({}) declares no scale for {} (capability label_range), so "
                                     "its labels cannot be mapped onto the common scale; set nodes.{}.params."
                                     "label_range, or use a loader that declares one",
                                     spec.id, input.id, input.uses, join(missing), input.id)});
            }
        }
    }

    // Models that train on a device (capability `device`) use their own or
    // the experiment's; a build against a CPU-only LibTorch cannot honour
    // cuda, so say so now rather than when the first model starts.
    void check_devices() {
        if (build_has_cuda()) return;
        for (const auto& spec : exp_.nodes) {
            if (!spec.plugin || !spec.plugin->has(capability::kDevice)) continue;
            const std::string own = spec.params.value("device", "");
            const std::string device = own.empty() ? exp_.device : own;
            if (device.rfind("cuda", 0) != 0) continue;
            const std::string pointer =
                own.empty() ? "/device"
                            : pointer_child(pointer_child(pointer_child("/nodes", spec.id), "params"), "device");
            errors_.push_back(
                {map_.value_at(pointer),
                 "nodes." + spec.id + ": device '" + device +
                     "' needs mer built against a CUDA LibTorch, "
                     "and this build's LibTorch is CPU-only (docs/models.md says how to build with CUDA); "
                     "use device: cpu or auto"});
        }
    }

    // Files whose content enters a node's cache key (capability
    // `fingerprint`, e.g. a weights file) must be there before anything runs;
    // the error quotes the parameter's description, which says where the
    // file comes from.
    void check_fingerprinted_files() {
        for (auto& spec : exp_.nodes) {
            if (!spec.plugin) continue;
            const json names = spec.plugin->capability(capability::kFingerprint);
            if (!names.is_array()) continue;
            for (const auto& name : names) {
                const std::string key = name.get<std::string>();
                if (!spec.params.contains(key) || !spec.params[key].is_string()) continue;
                const std::string path = spec.params[key].get<std::string>();
                const Location at =
                    map_.value_at(pointer_child(pointer_child(pointer_child("/nodes", spec.id), "params"), key));
                std::error_code ec;
                if (std::filesystem::is_regular_file(path, ec)) {
                    try {
                        spec.files[key] = {{"path", std::filesystem::absolute(path).string()},
                                           {"sha256", sha256_file(path)}};
                    } catch (const std::exception& e) {
                        errors_.push_back({at, fmt::format("nodes.{}.params.{}: {}", spec.id, key, as_error(e).message())});
                    }
                    continue;
                }
                const json& about = spec.plugin->schema["properties"][key];
                errors_.push_back(
                    {at, fmt::format("nodes.{}.params.{}: '{}' {} (from the folder mer-run runs in, {}){}", spec.id,
                                     key, path,
                                     std::filesystem::exists(path, ec) ? "is not a regular file" : "does not exist",
                                     std::filesystem::current_path(ec).string(),
                                     about.contains("description") ? "; " + about["description"].get<std::string>()
                                                                   : std::string())});
            }
        }
    }

    // What a features node produces against what the model it feeds reads
    // (capabilities output_shape and input_shape), before anything runs.
    void check_connections() {
        for (const auto& model : exp_.nodes) {
            if (model.plugin && model.plugin->has(capability::kSequence)) check_windows(model);
            if (!model.plugin || !model.plugin->has(capability::kInputShape)) continue;
            const NodeSpec* source = tensor_source(model);
            if (!source || !source->plugin->has(capability::kOutputShape)) continue;
            const std::optional<json> wanted = instance_query(model, capability::kInputShape);
            const std::optional<json> produced = instance_query(*source, capability::kOutputShape);
            if (!wanted || !produced || !wanted->is_object() || !produced->is_object()) continue;
            if (const std::string problem = shape_mismatch(*source, *produced, model, *wanted); !problem.empty())
                errors_.push_back({map_.key_at(pointer_child(pointer_child("/nodes", model.id), "inputs")), problem});
        }
    }

    // A sequence model pairs each window with the annotation made at its
    // time in the song: its features node must cut windows, from the song's start.
    void check_windows(const NodeSpec& model) {
        const NodeSpec* source = tensor_source(model);
        if (!source || !source->plugin || !source->params.is_object()) return;
        const std::string at = pointer_child(pointer_child("/nodes", model.id), "inputs");
        const std::optional<json> windows =
            source->plugin->has(capability::kWindows) ? instance_query(*source, capability::kWindows) : std::nullopt;
        if (windows && (windows->is_null() || (windows->is_object() && !windows->contains("seconds"))))
            errors_.push_back({map_.key_at(at),
                               fmt::format("nodes.{}: {} rates each song's windows, and its input '{}' cuts none; {} "
                                           "(docs/dynamic.md)",
                                           model.id, model.uses, source->id, windows_hint(*source, *windows))});
        if (source->plugin->has(capability::kCrop) && source->params.value("offset_seconds", 0.0) > 0.0)
            errors_.push_back({map_.key_at(at),
                               fmt::format("nodes.{}: {} pairs each window with the annotation made at its time in "
                                           "the song, and nodes.{}.params.offset_seconds {} would shift every "
                                           "window; leave it at 0 (docs/dynamic.md)",
                                           model.id, model.uses, source->id,
                                           source->params.at("offset_seconds").get<double>())});
    }

    // How a features node that cuts no windows would cut them, from its
    // `windows` answer: the parameters it names under "set" (in order, the
    // first the one to set), or none: a whole clip is one window.
    static std::string windows_hint(const NodeSpec& source, const json& windows) {
        const json set = windows.is_object() ? windows.value("set", json::array()) : json::array();
        auto is_pair = [](const json& p) { return p.is_array() && p.size() == 2 && p[0].is_string(); };
        if (!set.is_array() || set.empty() || !is_pair(set[0]))
            return "a whole clip is one window, not windows over time";
        std::string also;
        for (std::size_t i = 1; i < set.size(); ++i)
            if (is_pair(set[i])) also += fmt::format(" with {} {}", set[i][0].get<std::string>(), set[i][1].dump());
        const json why = windows.value("why", json());
        return fmt::format("set nodes.{}.params.{} ({}{}{})", source.id, set[0][0].get<std::string>(), set[0][1].dump(),
                           also, why.is_string() ? ": " + why.get<std::string>() : "");
    }

    // The features node whose tensors reach a model (through transforms).
    const NodeSpec* tensor_source(const NodeSpec& node) const {
        for (const NodeSpec* n = &node; !n->inputs.empty();) {
            n = &exp_.node(n->inputs.front());
            if (n->kind == "features") return n;
            if (n->kind != "transform") return nullptr;
        }
        return nullptr;
    }

    // The instance's answer to query(capability); nothing when the node's
    // parameters were refused (read_params said why) or the plugin fails to
    // answer (an error naming the node).
    std::optional<json> instance_query(const NodeSpec& node, const char* capability) {
        if (params_refused_.count(node.id)) return std::nullopt;
        try {
            if (node.kind == "features")
                return registry_.create<FeaturesPlugin>(node.uses, node.params)->query(capability);
            return registry_.create<RegressorPlugin>(node.uses, node.params)->query(capability);
        } catch (const std::exception& e) {
            errors_.push_back({node.where, "nodes." + node.id + ": " + node.uses + " could not say its '" + capability +
                                               "' (" + as_error(e).message() + ")"});
            return std::nullopt;
        }
    }

    std::string shape_mismatch(const NodeSpec& source, const json& produced, const NodeSpec& model,
                               const json& wanted) const {
        const json& have = produced.at("shape");
        const json& want = wanted.at("shape");
        const json axes = produced.value("axes", json::array());
        const json params = produced.value("params", json::array());
        std::vector<std::string> fixes;
        bool differs = have.size() != want.size();
        for (std::size_t a = 0; !differs && a < want.size(); ++a) {
            if (want[a].is_null() || want[a] == have[a]) continue;
            differs = true;
            const std::string axis = a < axes.size() ? axes[a].get<std::string>() : "axis " + std::to_string(a);
            if (a < params.size() && params[a].is_string())
                fixes.push_back(fmt::format("set nodes.{}.params.{} to {} ({})", source.id,
                                            params[a].get<std::string>(), want[a].dump(), axis));
        }
        if (!differs) return "";
        auto shape_text = [&axes](const json& shape) {
            std::vector<std::string> parts;
            for (std::size_t a = 0; a < shape.size(); ++a)
                parts.push_back((shape[a].is_null() ? "any" : shape[a].dump()) +
                                (a < axes.size() ? " " + axes[a].get<std::string>() : ""));
            return join(parts, " × ");
        };
        return fmt::format("nodes.{}: {} reads chunks of {}, but its input '{}' ({}) produces {}{}", model.id,
                           model.uses, shape_text(want), source.id, source.uses, shape_text(have),
                           fixes.empty() ? "" : "; " + join(fixes, ", "));
    }

    // The resolved document: overrides applied, every default written out.
    void resolve() {
        json resolved = full_;
        resolved["evaluation"] = {{"split", split_}, {"metrics", exp_.evaluation.metrics}};
        resolved["evaluation"]["split"]["kind"] = exp_.evaluation.split.kind;
        resolved["evaluation"]["early_stopping"] = {{"on", exp_.evaluation.early_stopping.on},
                                                    {"fraction", exp_.evaluation.early_stopping.fraction}};
        for (const auto& spec : exp_.nodes) resolved["nodes"][spec.id]["params"] = spec.params;
        YAML::Node yaml = json_to_yaml(resolved);
        // Keep the node order of the file rather than JSON's sorted keys.
        YAML::Node ordered_nodes(YAML::NodeType::Map);
        for (const auto& id : order_) ordered_nodes[id] = yaml["nodes"][id];
        yaml["nodes"] = ordered_nodes;
        exp_.resolved = yaml;
    }

    const std::string& file_;
    const PluginRegistry& registry_;
    Experiment& exp_;
    Diagnostics& errors_;
    SourceMap map_;
    SchemaValidator structure_{experiment_schema()};
    YAML::Node root_;
    json doc_, nodes_, full_, split_;
    std::vector<std::string> order_;
    std::set<std::string> params_refused_;  // nodes whose parameters read_params reported
    std::map<std::string, NodeSpec> specs_;
};

}  // namespace

LoadedExperiment load_experiment(const std::string& file, const std::vector<std::string>& overrides,
                                 const PluginRegistry& registry) {
    LoadedExperiment out;
    ExperimentLoader(file, registry, out).load(overrides);
    return out;
}

}  // namespace mer
