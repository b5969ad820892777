// The host's side of the ABI check and the out-of-line destructors that give
// each plugin interface one home for its type information.
#include "core/plugin/abi.hpp"

#include <map>
#include <sstream>

#include "core/plugin/dataset.hpp"
#include "core/plugin/features.hpp"
#include "core/plugin/regressor.hpp"
#include "core/plugin/transform.hpp"

namespace mer {

PluginBase::~PluginBase() = default;
DatasetPlugin::~DatasetPlugin() = default;
CombiningDataset::~CombiningDataset() = default;
SongTable CombiningDataset::load(const PluginContext& ctx) {
    throw Error("this dataset stacks the dataset nodes listed as its inputs; the host calls combine()",
                Location::of_node(ctx.node));
}
FeaturesPlugin::~FeaturesPlugin() = default;
TransformPlugin::~TransformPlugin() = default;
RegressorPlugin::~RegressorPlugin() = default;
ChunkPredictions::~ChunkPredictions() = default;
StagedPredictions::~StagedPredictions() = default;

const char* host_abi_tag() {
    return MER_ABI_TAG_WITH(MER_BUILD_TORCH_VERSION, MER_BUILD_CUDA_VERSION);
}
const char* build_torch_version() {
    return MER_BUILD_TORCH_VERSION;
}
const char* build_cuda_version() {
    return MER_BUILD_CUDA_VERSION;
}
bool build_has_cuda() {
    return std::string(MER_BUILD_CUDA_VERSION) != "none";
}

nlohmann::json PluginBase::query(const std::string&) const {
    return nullptr;
}

static std::map<std::string, std::string> parse_tag(const std::string& tag) {
    std::map<std::string, std::string> fields;
    std::stringstream in(tag);
    std::string part;
    while (std::getline(in, part, ';')) {
        const auto eq = part.find('=');
        if (eq != std::string::npos) fields[part.substr(0, eq)] = part.substr(eq + 1);
    }
    return fields;
}

std::string abi_mismatch(const std::string& plugin_tag, const std::string& host_tag) {
    if (plugin_tag == host_tag) return "";
    const auto plugin = parse_tag(plugin_tag), host = parse_tag(host_tag);
    const bool links_torch = plugin.count("torch") && plugin.at("torch") != "none";
    std::string out;
    for (const auto& [key, host_value] : host) {
        if (!links_torch && (key == "torch" || key == "cuda")) continue;
        auto it = plugin.find(key);
        const std::string plugin_value = it == plugin.end() ? "(missing)" : it->second;
        if (plugin_value != host_value) {
            if (!out.empty()) out += ", ";
            out += key + " is " + plugin_value + " in the plugin but " + host_value + " in mer-run";
        }
    }
    if (!out.empty()) return out;
    // Every field agrees (the torch fields aside for a plugin without LibTorch):
    // the tags differ only if the plugin has fields the host does not know.
    for (const auto& [key, value] : plugin)
        if (!host.count(key)) return "ABI tag '" + plugin_tag + "' differs from the host's '" + host_tag + "'";
    return "";
}

}  // namespace mer
