// Formatting of mer::Error: "FILE:LINE:COL: node 'n': message".
#include "core/error.hpp"

namespace mer {

std::string Location::str() const {
    std::string out;
    if (!file.empty()) {
        out = file;
        if (line > 0) {
            out += ":" + std::to_string(line);
            if (column > 0) out += ":" + std::to_string(column);
        }
    }
    auto add = [&out](const std::string& part) {
        if (!out.empty()) out += ": ";
        out += part;
    };
    if (!node.empty()) add("node '" + node + "'");
    if (!song.empty()) add("song '" + song + "'");
    return out;
}

static std::string with_location(const std::string& message, const Location& where) {
    const std::string loc = where.str();
    return loc.empty() ? message : loc + ": " + message;
}

Error::Error(std::string message, Location where)
    : std::runtime_error(with_location(message, where)), where_(std::move(where)), message_(std::move(message)) {}

}  // namespace mer
