// File helpers every writer in mer uses: atomic replacement (write a sibling
// temporary, then rename, so a reader or a crash never sees half a file),
// SHA-256 of files and strings, and CSV field quoting.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace mer {

void write_file_atomic(const std::filesystem::path& path, const std::string& content);
std::string read_text_file(const std::filesystem::path& path);  // throws mer::Error naming the file
// A JSON file, parsed; throws mer::Error naming the file and the parser's complaint.
nlohmann::json read_json_file(const std::filesystem::path& path);

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

// The field as CSV needs it: quoted when it holds a comma, quote or newline.
std::string csv_field(const std::string& text);
// Shortest text that reads back as the same double; "nan"/"inf" as is.
std::string format_number(double value);

}  // namespace mer
