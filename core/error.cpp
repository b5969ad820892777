// Formatting of mer::Error: "FILE:LINE:COL: node 'n': message".
#include "core/error.hpp"

#include <filesystem>
#include <new>
#include <system_error>

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

Error::Error(std::string message, Location where, ErrorKind kind)
    : std::runtime_error(with_location(message, where)),
      where_(std::move(where)),
      message_(std::move(message)),
      kind_(kind) {}

Error as_error(const std::exception& e, const Location& where) {
    if (const auto* error = dynamic_cast<const Error*>(&e)) {
        if (!error->where().str().empty() || where.str().empty()) return *error;
        return Error(error->message(), where, error->kind());
    }
    if (const auto* fs_error = dynamic_cast<const std::filesystem::filesystem_error*>(&e)) {
        const auto code = fs_error->code();
        const bool machine = code == std::errc::no_space_on_device || code == std::errc::permission_denied ||
                             code == std::errc::read_only_file_system;
        return Error(fs_error->what(), where, machine ? ErrorKind::environment : ErrorKind::input);
    }
    if (dynamic_cast<const std::bad_alloc*>(&e)) return Error("out of memory", where, ErrorKind::environment);
    return Error(e.what(), where);
}

}  // namespace mer
