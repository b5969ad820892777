// The capabilities a plugin can declare, by name, and the one table of them
// (capability_table(): name, kinds, value type, meaning) that the registry
// (refusing a malformed declaration), the conformance kit, validation and
// docs/plugins.md (a test compares its table with capability_markdown()) read.
// A plugin lists the ones it has in its metadata (CLASS::kCapabilities, a
// JSON object); the host asks the registry (PluginRecord::has,
// PluginRegistry::with_capability) instead of building a plugin or reading
// its schema to learn what it is. A value of `true` for a capability whose
// value type is `instance` means "ask an instance": PluginBase::query(name)
// returns the value for the instance's parameters.
//
// Behavioural capabilities (chunks, staged) are extension interfaces
// (regressor.hpp): a plugin declaring one derives from its interface, and the
// registry refuses an instance that declares one without implementing it. The
// host finds an extension by asking the object (extension<T>(plugin)), so a
// new one needs no ABI bump. (A class may implement an interface its plugin
// does not declare, e.g. a subclass withdrawing "staged": the host then calls
// it only where it did before the interface existed.)
//
// Adding a capability is a name here and a row in capabilities.cpp's table:
// plugins built before it simply do not declare it, and the host reads a
// missing capability as the behaviour every plugin had before.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace mer {
class PluginBase;
}

namespace mer::capability {

inline constexpr const char* kDevice = "device";
inline constexpr const char* kChunks = "chunks";
inline constexpr const char* kConcurrentFit = "concurrent_fit";
inline constexpr const char* kFingerprint = "fingerprint";
inline constexpr const char* kOutputShape = "output_shape";
inline constexpr const char* kInputShape = "input_shape";
inline constexpr const char* kWholeTable = "whole_table";
inline constexpr const char* kIndependentTargets = "independent_targets";
inline constexpr const char* kPerTarget = "per_target";
inline constexpr const char* kEarlyStopping = "early_stopping";
inline constexpr const char* kStaged = "staged";
inline constexpr const char* kSequence = "sequence";
inline constexpr const char* kLabelRange = "label_range";
inline constexpr const char* kCheckData = "check_data";
inline constexpr const char* kCrop = "crop";
inline constexpr const char* kWindows = "windows";
inline constexpr const char* kBudget = "budget";

// What the metadata's value of a capability must be.
enum class Value {
    flag,        // true
    boolean,     // true or false, the same for every instance
    instance,    // true: ask an instance, PluginBase::query(name)
    parameters,  // a list of the plugin's parameter names
    parameter,   // one of the plugin's parameter names
};

struct Info {
    const char* name;
    std::vector<std::string> kinds;  // the plugin kinds that may declare it; empty: any
    Value value;
    const char* meaning;  // markdown: docs/plugins.md's table is made of these
};

// Every capability the host knows, in docs/plugins.md's order.
const std::vector<Info>& table();
// nullptr for a name the host does not know.
const Info* find(std::string_view name);

// What is wrong with a plugin of `kind` declaring `name` with `value` against
// its parameter schema `schema` ("" when nothing): an unknown name, a kind
// that may not declare it, a value of the wrong type, a parameter name that is
// not in the schema.
std::string declaration_problem(const std::string& kind, const std::string& name, const nlohmann::json& value,
                                const nlohmann::json& schema);

// The declared capability whose extension interface `instance` lacks, as a
// sentence ("" when it implements every one it declares).
std::string extension_problem(const PluginBase& instance, const nlohmann::json& declared);

// docs/plugins.md's table of capabilities, one row per table() entry.
std::string markdown_table();

}  // namespace mer::capability
