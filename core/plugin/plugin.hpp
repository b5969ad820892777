// The common part of every plugin: its metadata record, the capabilities it
// declares by name, the context the host hands it while it works, and
// MER_PLUGIN(), the one line a plugin source file adds to declare itself. The
// four kinds (dataset, features, transform, regressor) each have their own
// header beside this one; capabilities.hpp lists the capability names.
//
// A plugin library exports, through Boost.DLL aliases:
//   mer_plugin_metadata  a PluginMetadata record (name, kind, version, schema,
//                        capabilities), versioned by its first field
//   mer_plugin_create    a factory taking the validated parameters
// and carries the ABI tag (abi.hpp) in its `.mer_abi` ELF section.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/plugin/abi.hpp"

namespace mer {

// The layout of PluginMetadata. The host reads `metadata_version` first and
// then only the fields that version has, so a field added at the end later
// does not refuse plugins built before it.
#define MER_PLUGIN_METADATA_VERSION 2

struct PluginMetadata {
    int metadata_version;       // MER_PLUGIN_METADATA_VERSION when the plugin was built
    const char* name;           // "kind.name", e.g. "regressor.ridge"
    const char* kind;           // "dataset" | "features" | "transform" | "regressor"
    const char* version;        // semantic version of the plugin; part of every cache key
    const char* description;    // one sentence for `mer-run plugins`
    const char* params_schema;  // JSON Schema (draft 7) of the parameters
    int inputs;                 // how many input nodes the plugin takes
    // JSON object: capability name → its value for every instance (true when
    // the value depends on the parameters: ask an instance with query()).
    // Names the host does not know are ignored; see capabilities.hpp.
    const char* capabilities;
};

// A file a plugin writes into the run folder, recorded in the run's manifest
// (run.json) with its kind, node, columns and meaning. The host names the
// file: <kind>_<node>[_<part>].csv.
struct Artifact {
    std::string kind;                  // "attention", "shap", ...: what the file holds
    std::string part;                  // distinguishes a node's files of one kind ("fold0", "valence"); may be empty
    std::vector<std::string> columns;  // CSV header, in order
    std::string meaning;               // one line for a researcher reading run.json
};

// What a plugin may use while it runs. Owned by the host.
struct PluginContext {
    std::string node;            // id of the experiment node being run
    int fold = -1;               // evaluation fold being fitted (-1: none)
    bool resume = false;         // continue from this fold's checkpoint in work_dir, if any
    std::uint64_t seed = 0;      // derived from the experiment seed, node id and fold
    // The seed of any holdout a plugin draws from its training songs (e.g.
    // XGBoost's early-stopping songs): derived from the repetition's seed and
    // the fold only, so every node of an experiment holds out the same songs
    // and their scores stay paired.
    std::uint64_t split_seed = 0;
    int threads = 1;             // how many threads this plugin may use
    std::string device = "cpu";  // "cpu" or "cuda:N"
    std::string work_dir;        // private state that must survive a restart (checkpoints); empty: none
    std::string cache_dir;       // the plugin's own cache folder (CACHE_DIR/<plugin name>), shared by runs
    std::function<void(const std::string&)> log;  // one line to the run log
    // Records a song that cannot be used (written to the run's skipped.csv
    // and counted); the plugin then leaves the song out of its output.
    std::function<void(const std::string& song_id, const std::string& path, const std::string& reason)> skip;

    // Items done out of total ("songs", "chunks"); the host shows a progress
    // bar with the rate and time left. Counting from 0 again starts a new pass.
    std::function<void(std::size_t done, std::size_t total, const char* unit)> progress;

    // Writes an artifact into the run folder and records it in run.json;
    // unset (grid-search fits, predict) when nothing is to be kept.
    std::function<void(const Artifact& artifact, const std::string& content)> artifact;

    // A fact about how the node ran that belongs in environment.json (e.g.
    // "device": {"asked": "auto", "used": "cpu"}); also logged.
    std::function<void(const std::string& key, const nlohmann::json& value)> note;

    void info(const std::string& line) const {
        if (log) log(line);
    }
    void skip_song(const std::string& song_id, const std::string& path, const std::string& reason) const {
        if (skip) skip(song_id, path, reason);
    }
    void report_progress(std::size_t done, std::size_t total, const char* unit = "songs") const {
        if (progress) progress(done, total, unit);
    }
    bool keeps_artifacts() const { return static_cast<bool>(artifact); }
    void write_artifact(const Artifact& a, const std::string& content) const {
        if (artifact) artifact(a, content);
    }
    void record(const std::string& key, const nlohmann::json& value) const {
        if (note) note(key, value);
    }
};

// The capabilities of a class that adds to its base's, so that the base's
// are written once: static constexpr auto kCapabilities =
// mer::more_capabilities(Base::kCapabilities, R"({"fingerprint": ["model"]})");
// Both must be JSON objects written as `{…}`; the result is their union.
template <std::size_t N>
struct CapabilityText {
    char text[N];
    constexpr operator const char*() const { return text; }
};
template <std::size_t A, std::size_t B>
constexpr CapabilityText<A + B - 1> more_capabilities(const char (&base)[A], const char (&more)[B]) {
    if (A < 3 || base[0] != '{' || base[A - 2] != '}' || B < 3 || more[0] != '{' || more[B - 2] != '}')
        throw "more_capabilities: both must be JSON objects written {...}";  // a compile error in constexpr use
    CapabilityText<A + B - 1> out{};
    std::size_t n = 0;
    for (std::size_t i = 0; i + 2 < A; ++i) out.text[n++] = base[i];  // without its closing brace
    out.text[n++] = A == 3 ? ' ' : ',';                              // "{}" has nothing to separate
    out.text[n++] = ' ';
    for (std::size_t i = 1; i + 1 < B; ++i) out.text[n++] = more[i];  // without its opening brace
    out.text[n] = '\0';
    return out;
}
template <std::size_t A, std::size_t B>
constexpr CapabilityText<A + B - 1> more_capabilities(const CapabilityText<A>& base, const char (&more)[B]) {
    return more_capabilities(base.text, more);
}

// Base of every object a plugin creates. Its destructor lives in libmer_core,
// so the type information is shared by the host and every plugin.
class PluginBase {
public:
    static constexpr char kCapabilities[] = "{}";  // none; see MER_PLUGIN
    virtual ~PluginBase();

    // The value of a capability for this instance (its parameters applied),
    // for capabilities whose metadata value is `true`, e.g. output_shape;
    // null when the plugin has nothing to say. See capabilities.hpp.
    virtual nlohmann::json query(const std::string& capability) const;
};

using PluginFactory = PluginBase*(const nlohmann::json& params);

// The extension interface `Extension` (regressor.hpp: ChunkPredictions, …)
// of a plugin object, or nullptr when it has none: how the host finds what a
// capability lets it call.
template <class Extension>
const Extension* extension(const PluginBase& plugin) {
    return dynamic_cast<const Extension*>(&plugin);
}

}  // namespace mer

// Generated by mer_add_plugin() from the plugin's params.schema.json.
namespace mer_plugin_generated {
extern const char params_schema[];
}

// Declares the plugin implemented by CLASS (derived from one kind interface)
// under NAME, which must start with the kind: MER_PLUGIN(Ridge,
// "regressor.ridge", "1.0.0", "Ridge regression on standardised inputs").
// CLASS::kCapabilities (a JSON object, "{}" in every kind interface) declares
// its capabilities; a class that has some defines its own.
#define MER_PLUGIN(CLASS, NAME, VERSION, DESCRIPTION)                                                           \
    extern "C" __attribute__((used, section(".mer_abi"))) const char mer_plugin_abi_tag[] = MER_PLUGIN_ABI_TAG; \
    namespace {                                                                                                 \
    ::mer::PluginBase* mer_plugin_create_impl(const nlohmann::json& params) {                                   \
        return new CLASS(params);                                                                               \
    }                                                                                                           \
    const ::mer::PluginMetadata mer_plugin_metadata_impl{                                                       \
        MER_PLUGIN_METADATA_VERSION,           NAME,           CLASS::kKind,        VERSION, DESCRIPTION,       \
        ::mer_plugin_generated::params_schema, CLASS::kInputs, CLASS::kCapabilities};                           \
    }                                                                                                           \
    BOOST_DLL_ALIAS(mer_plugin_create_impl, mer_plugin_create)                                                  \
    BOOST_DLL_ALIAS(mer_plugin_metadata_impl, mer_plugin_metadata)

#ifndef MER_PLUGIN_ABI_TAG
#define MER_PLUGIN_ABI_TAG MER_ABI_TAG_STRING
#endif

#include <boost/dll/alias.hpp>
