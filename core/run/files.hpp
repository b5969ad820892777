// File helpers every writer in mer uses: atomic replacement (write a sibling
// temporary, then rename, so a reader or a crash never sees half a file),
// SHA-256 of files and strings, and CSV field quoting.
#pragma once

#include <filesystem>
#include <string>

namespace mer {

void write_file_atomic(const std::filesystem::path& path, const std::string& content);
std::string read_text_file(const std::filesystem::path& path);  // throws mer::Error naming the file

std::string sha256_hex(const std::string& bytes);
std::string sha256_file(const std::filesystem::path& path);

// The field as CSV needs it: quoted when it holds a comma, quote or newline.
std::string csv_field(const std::string& text);
// Shortest text that reads back as the same double; "nan"/"inf" as is.
std::string format_number(double value);

}  // namespace mer
