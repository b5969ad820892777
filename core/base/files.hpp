// File helpers every writer in mer uses: atomic replacement (write a sibling
// temporary, then rename, so a reader or a crash never sees half a file),
// SHA-256 of files and strings, and CSV field quoting.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace mer {

// Writes a temporary file beside `path` and renames it over `path`: a reader
// sees the old content or the new, never half. A `path` that exists and is
// not a regular file (a device, a FIFO, a link to one: --out /dev/stdout) is
// written to directly instead, never replaced.
void write_file_atomic(const std::filesystem::path& path, const std::string& content);

// Throws when `path` is a symbolic link: a file of a run or sweep folder is
// never written through one (a link planted there could point anywhere).
void refuse_link(const std::filesystem::path& path);

// Creates `dir` and its parents; a failure (a file where a folder should be,
// no permission) is an environment error: "cannot create the <what> DIR: why".
void create_folder(const std::filesystem::path& dir, const std::string& what);
std::string read_text_file(const std::filesystem::path& path);  // throws mer::Error naming the file
// A JSON file, parsed (as nlohmann::ordered_json to keep the file's key
// order); throws mer::Error naming the file and the parser's complaint.
template <class Json = nlohmann::json>
Json read_json_file(const std::filesystem::path& path);
extern template nlohmann::json read_json_file<nlohmann::json>(const std::filesystem::path&);
extern template nlohmann::ordered_json read_json_file<nlohmann::ordered_json>(const std::filesystem::path&);

std::string sha256_hex(const std::string& bytes);
std::string sha256_file(const std::filesystem::path& path);

// What the feature caches key an audio file by, without reading all of it:
// size, modification time and the SHA-256 of its first MiB. nullopt when the
// file cannot be read.
struct FileFingerprint {
    long long size = 0;
    long long mtime_seconds = 0, mtime_nanoseconds = 0;
    std::string head_sha256;
};
std::optional<FileFingerprint> file_fingerprint(const std::filesystem::path& path);

// The field as CSV needs it: quoted when it holds a comma, quote or newline
// or has blanks at an edge; a text that a spreadsheet would run as a formula
// (starting with = + - @ TAB CR, and not a number) or that starts with ' gets
// a ' before it, which read_csv takes off again (round-trip exact).
std::string csv_field(const std::string& text);
// Fields quoted as needed and joined by commas (no newline): a CSV header or row.
std::string csv_row(const std::vector<std::string>& fields);
// Shortest text that reads back as the same double; "nan"/"inf" as is.
std::string format_number(double value);

}  // namespace mer
