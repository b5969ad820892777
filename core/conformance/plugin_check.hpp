// `mer-run plugins check PATH.so`: the conformance checks the in-tree plugins
// get in the test suite, run on any plugin — complete metadata, a closed
// parameter schema with descriptions and defaults, known capabilities,
// creation with the schema's defaults, bad parameters refused by name, and
// for table regressors and transforms a fit on a small table whose saved and
// reloaded state predicts exactly what the fitted one did.
#pragma once

#include <string>
#include <vector>

#include "core/plugin/registry.hpp"

namespace mer {

struct PluginCheck {
    std::string what;    // "closed schema", "save/load round trip", ...
    bool passed = true;  // false: `detail` says what is wrong and how to mend it
    std::string detail;
};

std::vector<PluginCheck> check_plugin(const PluginRegistry& registry, const PluginRecord& plugin);

}  // namespace mer
