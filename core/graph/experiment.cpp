// Loading and whole-file validation of experiment YAML.
#include "core/graph/experiment.hpp"

#include <fmt/format.h>

#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>

#include "core/plugin/registry.hpp"

namespace mer {

using json = nlohmann::json;

extern const char kExperimentSchemaText[];  // generated from schemas/experiment.schema.json

const json& experiment_schema() {
    static const json schema = json::parse(kExperimentSchemaText);
    return schema;
}

const NodeSpec& Experiment::node(const std::string& id) const {
    for (const auto& n : nodes)
        if (n.id == id) return n;
    throw Error("no node '" + id + "' in experiment " + file);
}

namespace {

std::string join(const std::vector<std::string>& items, const std::string& separator = ", ") {
    std::string out;
    for (const auto& s : items) out += (out.empty() ? "" : separator) + s;
    return out;
}

// Applies "a.b.c=value" to the document; returns an error message or "".
std::string apply_override(YAML::Node& root, const std::string& assignment,
                           std::vector<std::pair<std::string, std::string>>& origins) {
    const auto eq = assignment.find('=');
    if (eq == std::string::npos || eq == 0)
        return "--set '" + assignment + "': expected path.to.key=value, e.g. --set nodes.ridge.params.alpha=10";
    const std::string path = assignment.substr(0, eq);
    YAML::Node value;
    try {
        value = YAML::Load(assignment.substr(eq + 1));
    } catch (const YAML::Exception& e) {
        return "--set '" + assignment + "': the value is not valid YAML: " + e.msg;
    }
    std::vector<std::string> keys;
    std::size_t start = 0;
    while (true) {
        const auto dot = path.find('.', start);
        keys.push_back(path.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
        if (dot == std::string::npos) break;
        start = dot + 1;
    }
    if (std::any_of(keys.begin(), keys.end(), [](const std::string& k) { return k.empty(); }))
        return "--set '" + assignment + "': empty key in '" + path + "'";
    if (!root.IsMap()) root = YAML::Node(YAML::NodeType::Map);
    // yaml-cpp nodes are handles: walking with copies edits the tree in place.
    std::vector<YAML::Node> chain{root};
    std::string pointer;
    for (std::size_t i = 0; i + 1 < keys.size(); ++i) {
        YAML::Node parent = chain.back();
        YAML::Node child = parent[keys[i]];
        pointer = pointer_child(pointer, keys[i]);
        if (!child.IsDefined() || child.IsNull()) {
            parent[keys[i]] = YAML::Node(YAML::NodeType::Map);
            child = parent[keys[i]];
        } else if (!child.IsMap()) {
            return "--set '" + assignment + "': " + dotted(pointer) + " is not a mapping, so it has no key '" +
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

}  // namespace

LoadedExperiment load_experiment(const std::string& file, const std::vector<std::string>& overrides,
                                 const PluginRegistry& registry) {
    LoadedExperiment out;
    Experiment& exp = out.experiment;
    Diagnostics& errors = out.errors;
    exp.file = file;
    SourceMap map(file);

    YAML::Node root;
    {
        std::ifstream in(file);
        if (!in) {
            errors.push_back({Location{file}, "cannot read the experiment file: " + std::string(std::strerror(errno))});
            return out;
        }
        try {
            root = YAML::Load(in);
        } catch (const YAML::ParserException& e) {
            errors.push_back({Location{file, e.mark.line + 1, e.mark.column + 1}, "YAML syntax error: " + e.msg});
            return out;
        }
    }
    if (!root.IsDefined() || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);

    std::vector<std::pair<std::string, std::string>> origins;
    for (const auto& assignment : overrides)
        if (std::string problem = apply_override(root, assignment, origins); !problem.empty())
            errors.push_back({Location{"--set"}, problem});

    json doc = yaml_to_json(root, map);
    for (const auto& [pointer, origin] : origins) map.set_origin(pointer, origin);

    SchemaValidator structure(experiment_schema());
    for (auto& d : structure.validate(doc, map)) errors.push_back(std::move(d));
    if (!doc.is_object()) return out;

    // Nodes, in file order (yaml-cpp keeps it; JSON objects do not).
    std::vector<std::string> order;
    if (root["nodes"] && root["nodes"].IsMap())
        for (const auto& kv : root["nodes"]) order.push_back(kv.first.Scalar());
    const json nodes = doc.contains("nodes") && doc["nodes"].is_object() ? doc["nodes"] : json::object();

    static const std::regex id_pattern("[A-Za-z_][A-Za-z0-9_-]*");
    std::map<std::string, NodeSpec> specs;
    for (const auto& id : order) {
        const std::string pointer = pointer_child("/nodes", id);
        const json& node = nodes.contains(id) ? nodes[id] : json();
        NodeSpec spec;
        spec.id = id;
        spec.where = map.key_at(pointer);
        if (!std::regex_match(id, id_pattern))
            errors.push_back({spec.where, "node id '" + id +
                                              "' must start with a letter or '_' and hold only letters, digits, "
                                              "'_' and '-' (it names files in the run folder)"});
        if (!node.is_object()) {
            specs[id] = spec;
            continue;
        }
        if (node.contains("inputs") && node["inputs"].is_array())
            for (const auto& input : node["inputs"])
                if (input.is_string()) spec.inputs.push_back(input.get<std::string>());
        if (node.contains("targets") && node["targets"].is_array())
            for (const auto& t : node["targets"])
                if (t.is_string()) spec.targets.push_back(t.get<std::string>());
        if (node.contains("uses") && node["uses"].is_string()) {
            spec.uses = node["uses"].get<std::string>();
            const Location uses_at = map.value_at(pointer_child(pointer, "uses"));
            try {
                spec.plugin = &registry.get(spec.uses);
                spec.kind = spec.plugin->kind;
            } catch (const Error& e) {
                errors.push_back({uses_at, "nodes." + id + ".uses: " + e.message()});
            }
        }
        if (spec.plugin) {
            const std::string params_pointer = pointer_child(pointer, "params");
            json params = node.contains("params") && node["params"].is_object() ? node["params"] : json::object();
            SchemaValidator validator(spec.plugin->schema);
            Diagnostics problems = validator.validate(params, map, params_pointer);
            for (auto& d : problems) {
                d.message += " [" + spec.uses + " parameters; see `mer-run plugins describe " + spec.uses + "`]";
                errors.push_back(std::move(d));
            }
            spec.params = validator.with_defaults(params);
            if (problems.empty()) {
                try {
                    registry.check_params(spec.uses, spec.params);
                } catch (const std::exception& e) {
                    const Error* error = dynamic_cast<const Error*>(&e);
                    errors.push_back({node.contains("params") ? map.key_at(params_pointer) : spec.where,
                                      "nodes." + id + ".params: " + (error ? error->message() : std::string(e.what())) +
                                          " [" + spec.uses + "]"});
                }
            }
            if (node.contains("grid") && node["grid"].is_object()) {
                const std::string grid_pointer = pointer_child(pointer, "grid");
                if (spec.kind != "regressor")
                    errors.push_back({map.key_at(grid_pointer), "nodes." + id + ".grid: only regressor nodes are tuned by grid search"});
                const json properties = spec.plugin->schema.value("properties", json::object());
                for (const auto& [key, values] : node["grid"].items()) {
                    const std::string key_pointer = pointer_child(grid_pointer, key);
                    if (!properties.contains(key)) {
                        std::vector<std::string> accepted;
                        for (const auto& [k, _] : properties.items()) accepted.push_back(k);
                        std::string message = "nodes." + id + ".grid: '" + key + "' is not a parameter of " + spec.uses +
                                              "; its parameters: " + join(accepted);
                        if (const std::string near = nearest_name(key, accepted); !near.empty())
                            message += " (did you mean '" + near + "'?)";
                        errors.push_back({map.key_at(key_pointer), message});
                        continue;
                    }
                    if (!values.is_array()) continue;  // the experiment schema reports it
                    // Each value must be a valid setting of that parameter.
                    for (std::size_t v = 0; v < values.size(); ++v) {
                        json trial = spec.params;
                        trial[key] = values[v];
                        for (auto& d : validator.validate(trial, map, params_pointer)) {
                            d.where = map.value_at(pointer_child(key_pointer, std::to_string(v)));
                            d.message = "nodes." + id + ".grid." + key + "[" + std::to_string(v) + "]: " + d.message;
                            errors.push_back(std::move(d));
                        }
                    }
                    spec.grid[key] = values;
                }
            }
            if (node.contains("grid_search")) {
                const json search = node["grid_search"];
                spec.grid_folds = search.value("folds", 5);
                spec.grid_metric = search.value("metric", "r2");
            }
            spec.label = node.value("label", "");
            if (!spec.targets.empty() && spec.kind != "regressor")
                errors.push_back({map.key_at(pointer_child(pointer, "targets")),
                                  "nodes." + id + ".targets: only regressor nodes learn targets; " + spec.uses +
                                      " is a " + spec.kind + " plugin"});
        }
        specs[id] = spec;
    }

    // Inputs exist and suit each kind.
    for (const auto& id : order) {
        NodeSpec& spec = specs[id];
        const std::string inputs_pointer = pointer_child(pointer_child("/nodes", id), "inputs");
        for (std::size_t i = 0; i < spec.inputs.size(); ++i) {
            const std::string& input = spec.inputs[i];
            const Location at = map.value_at(pointer_child(inputs_pointer, std::to_string(i)));
            if (!specs.count(input)) {
                std::string message = "nodes." + id + ".inputs: '" + input + "' is not a node of this experiment";
                if (const std::string near = nearest_name(input, order); !near.empty())
                    message += " (did you mean '" + near + "'?)";
                message += "; nodes: " + join(order);
                errors.push_back({at, message});
            } else if (input == id) {
                errors.push_back({at, "nodes." + id + " lists itself as an input"});
            } else if (!spec.kind.empty() && !specs[input].kind.empty()) {
                const auto& allowed = allowed_input_kinds().at(spec.kind);
                if (!allowed.count(specs[input].kind))
                    errors.push_back({at, "nodes." + id + ": a " + spec.kind + " node cannot take input from '" +
                                              input + "', a " + specs[input].kind + " node" +
                                              (allowed.empty() ? "; datasets take no inputs"
                                                               : "; it takes a " + join({allowed.begin(), allowed.end()},
                                                                                        " or ") + " node")});
            }
        }
        if (spec.kind == "dataset" && !spec.inputs.empty())
            continue;  // reported above, per input
        if (spec.plugin && spec.kind != "dataset" && static_cast<int>(spec.inputs.size()) != spec.plugin->inputs)
            errors.push_back({map.key_at(spec.inputs.empty() ? pointer_child("/nodes", id) : inputs_pointer),
                              fmt::format("nodes.{}: {} takes exactly {} input{}, got {}", id, spec.uses,
                                          spec.plugin->inputs, spec.plugin->inputs == 1 ? "" : "s", spec.inputs.size())});
    }

    // Cycles (self-loops are reported above).
    std::map<std::string, int> state;  // 0 new, 1 on stack, 2 done
    std::vector<std::string> stack;
    std::set<std::string> reported;
    std::function<void(const std::string&)> visit = [&](const std::string& id) {
        state[id] = 1;
        stack.push_back(id);
        for (const auto& input : specs[id].inputs) {
            if (!specs.count(input) || input == id) continue;
            if (state[input] == 1) {
                auto from = std::find(stack.begin(), stack.end(), input);
                std::vector<std::string> cycle(from, stack.end());
                cycle.push_back(input);
                std::vector<std::string> members(from, stack.end());
                std::sort(members.begin(), members.end());
                if (reported.insert(join(members)).second)
                    errors.push_back({specs[input].where, "the inputs of these nodes form a cycle: " +
                                                              join(cycle, " → ") + "; remove one of the inputs"});
            } else if (state[input] == 0) {
                visit(input);
            }
        }
        stack.pop_back();
        state[id] = 2;
    };
    for (const auto& id : order)
        if (state[id] == 0) visit(id);

    if (!errors.empty()) return out;

    // Execution order: dependencies first, file order among equals.
    std::set<std::string> placed;
    while (exp.nodes.size() < order.size()) {
        for (const auto& id : order) {
            if (placed.count(id)) continue;
            const auto& inputs = specs[id].inputs;
            if (std::all_of(inputs.begin(), inputs.end(), [&](const std::string& i) { return placed.count(i) > 0; })) {
                exp.nodes.push_back(specs[id]);
                placed.insert(id);
                break;
            }
        }
    }

    const json full = structure.with_defaults(doc);
    exp.name = full.value("name", "experiment");
    exp.seed = full.value("seed", std::uint64_t{42});
    exp.threads = full.value("threads", 0);
    exp.device = full.value("device", "cpu");
    // LibTorch models (their schema has `device`) train on their own device
    // or the experiment's; a build against a CPU-only LibTorch cannot honour
    // cuda, so say so now rather than when the first model starts.
    if (std::string(MER_CUDA_VERSION) == "none")
        for (const auto& spec : exp.nodes) {
            if (!spec.plugin || !spec.plugin->schema.value("properties", json::object()).contains("device")) continue;
            const std::string own = spec.params.value("device", "");
            const std::string device = own.empty() ? exp.device : own;
            if (device.rfind("cuda", 0) != 0) continue;
            const std::string pointer =
                own.empty() ? "/device" : pointer_child(pointer_child(pointer_child("/nodes", spec.id), "params"), "device");
            errors.push_back({map.value_at(pointer),
                              "nodes." + spec.id + ": device '" + device + "' needs mer built against a CUDA LibTorch, "
                              "and this build's LibTorch is CPU-only (docs/models.md says how to build with CUDA); "
                              "use device: cpu or auto"});
        }
    exp.cache_dir = full.value("cache_dir", "cache");
    exp.runs_dir = full.value("runs_dir", "runs");
    exp.max_skipped_fraction = full.value("max_skipped_fraction", 0.05);
    json evaluation = full.value("evaluation", json::object());
    json split = evaluation.value("split", json::object());
    exp.evaluation.split.kind = split.value("kind", "holdout");
    exp.evaluation.split.fraction = split.value("fraction", 0.2);
    exp.evaluation.split.k = split.value("k", 5);
    exp.evaluation.group_by = split.value("group_by", "song");
    for (const auto& m : evaluation.value("metrics", json::array({"r2", "rmse", "mae"})))
        exp.evaluation.metrics.push_back(m.get<std::string>());

    // The resolved document: overrides applied, every default written out.
    json resolved = full;
    resolved["evaluation"] = {{"split", split}, {"metrics", exp.evaluation.metrics}};
    resolved["evaluation"]["split"]["kind"] = exp.evaluation.split.kind;
    for (const auto& spec : exp.nodes) resolved["nodes"][spec.id]["params"] = spec.params;
    YAML::Node yaml = json_to_yaml(resolved);
    // Keep the node order of the file rather than JSON's sorted keys.
    YAML::Node ordered_nodes(YAML::NodeType::Map);
    for (const auto& id : order) ordered_nodes[id] = yaml["nodes"][id];
    yaml["nodes"] = ordered_nodes;
    exp.resolved = yaml;
    return out;
}

}  // namespace mer
