// The one exception type of mer. Every error a researcher can act on carries
// where it happened (file:line:col, node id, song id) and a sentence saying
// what was expected; the CLI catches it, prints it once and exits non-zero.
#pragma once

#include <stdexcept>
#include <string>

namespace mer {

struct Location {
    Location() = default;
    Location(std::string file_, int line_ = 0, int column_ = 0, std::string node_ = {}, std::string song_ = {})
        : file(std::move(file_)), line(line_), column(column_), node(std::move(node_)), song(std::move(song_)) {}
    static Location of_node(std::string id) { return Location({}, 0, 0, std::move(id)); }

    std::string file;  // experiment, CSV or audio file; empty when not known
    int line = 0;      // 1-based; 0 when not known
    int column = 0;    // 1-based; 0 when not known
    std::string node;  // experiment node id
    std::string song;  // song id

    // "file:line:col" (the parts that are known), then "node 'x'", "song 'y'".
    std::string str() const;
};

// What kind of trouble an error is, for the exit code (docs/experiments.md):
// the input (a file, a parameter, a song: the researcher fixes it) or the
// environment (disk full, no permission, a missing device: the machine).
enum class ErrorKind { input, environment };

class Error : public std::runtime_error {
public:
    explicit Error(std::string message, Location where = {}, ErrorKind kind = ErrorKind::input);
    const Location& where() const { return where_; }
    const std::string& message() const { return message_; }
    ErrorKind kind() const { return kind_; }

private:
    Location where_;
    std::string message_;
    ErrorKind kind_;
};

// An error about the machine rather than the input (disk, permissions, device).
inline Error environment_error(std::string message, Location where = {}) {
    return Error(std::move(message), std::move(where), ErrorKind::environment);
}

// Any exception as mer's, keeping a mer::Error's location and kind and
// giving a foreign one (std::filesystem, JSON, …) the location `where`.
Error as_error(const std::exception& e, const Location& where = {});

}  // namespace mer
