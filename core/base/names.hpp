// Names that become parts of file names in a run folder (target names in
// shap_<node>_<target>.csv, a plugin artifact's part): letters, digits and
// '_', '-', '.', not starting with '.' or '-', at most 64 characters — so no
// name can climb out of the run folder or hide a file.
#pragma once

#include <regex>
#include <string>

namespace mer {

inline bool is_file_safe_name(const std::string& name) {
    static const std::regex pattern("[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}");
    return std::regex_match(name, pattern);
}

inline const char* kFileSafeNameRule =
    "letters, digits, '_', '-' and '.', starting with a letter, digit or '_', at most 64 characters (it names files "
    "in the run folder)";

}  // namespace mer
