// Tolerant CSV reading for label and feature files as they occur in the wild:
// spaces around fields ("song_id, valence_mean"), Windows line endings, a
// byte-order mark, trailing commas, quoted fields, blank lines. Errors name
// the file and line.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace mer {

struct CsvTable {
    std::string file;
    std::vector<std::string> header;
    std::vector<std::vector<std::string>> rows;  // each as long as the header (CsvRows::ragged pads short ones with "")
    std::vector<int> lines;                      // 1-based line of each row

    // Column index of `name`, or -1.
    int column(const std::string& name) const;
    // Column index of `name`; throws naming the file and the columns it has.
    int require_column(const std::string& name) const;
    Location at(std::size_t row) const;  // file and line of a row
};

// How rows may differ from the header: rectangular (every CSV mer writes,
// manifests and tables: a row with fewer or more fields is an error naming
// its line) or ragged (fewer fields are padded with "": DEAM's per-second
// annotation files, whose rows end with each song's last annotation).
enum class CsvRows { rectangular, ragged };

CsvTable read_csv(const std::filesystem::path& path, CsvRows rows = CsvRows::rectangular);

// "" (or NA, nan) → NaN; anything else must be a number within double's
// range, else throws naming the column and the location (file, line, song).
double parse_csv_number(const std::string& text, const Location& where, const std::string& column);

}  // namespace mer
