// CSV parsing (RFC 4180 quoting) with the tolerances listed in csv.hpp.
#include "core/data/csv.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "core/base/files.hpp"

namespace mer {

int CsvTable::column(const std::string& name) const {
    for (std::size_t i = 0; i < header.size(); ++i)
        if (header[i] == name) return static_cast<int>(i);
    return -1;
}

int CsvTable::require_column(const std::string& name) const {
    const int c = column(name);
    if (c >= 0) return c;
    std::string known;
    for (const auto& h : header) known += (known.empty() ? "" : ", ") + h;
    throw Error("no column '" + name + "' (the header has: " + known + ")", {file, 1});
}

Location CsvTable::at(std::size_t row) const {
    return Location{file, lines.at(row)};
}

// csv_field's guard undone: a text cell that began with = + - @ TAB CR or '
// was written with a ' before it (OWASP's advice against formula injection).
static std::string unguard(std::string s) {
    if (s.size() >= 2 && s[0] == '\'' && std::string("=+-@\t\r'").find(s[1]) != std::string::npos) s.erase(0, 1);
    return s;
}

static std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t\r");
    if (b == std::string::npos) return "";
    const auto e = s.find_last_not_of(" \t\r");
    return s.substr(b, e - b + 1);
}

CsvTable read_csv(const std::filesystem::path& path, CsvRows shape) {
    CsvTable table;
    table.file = path.string();
    std::string text;
    try {
        text = read_text_file(path);
    } catch (const Error& e) {
        throw Error(e.message(), {table.file});
    }
    if (text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);

    std::vector<std::vector<std::string>> records;
    std::vector<int> record_lines;
    std::vector<std::string> fields;
    std::string field;
    bool quoted = false, field_was_quoted = false;
    std::size_t closed_at = 0;  // where a quoted field's closing quote came
    int line = 1, record_line = 1;
    auto end_field = [&] {
        // After a closing quote only blanks may follow (a CRLF line's \r among them): they are not the value.
        fields.push_back(unguard(field_was_quoted ? field.substr(0, closed_at) + trim(field.substr(closed_at))
                                                  : trim(field)));
        field.clear();
        field_was_quoted = false;
    };
    auto end_record = [&] {
        end_field();
        const bool blank = fields.size() == 1 && fields[0].empty();
        if (!blank) {
            records.push_back(std::move(fields));
            record_lines.push_back(record_line);
        }
        fields.clear();
    };
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quoted) {
            if (c == '"' && i + 1 < text.size() && text[i + 1] == '"')
                field += '"', ++i;
            else if (c == '"')
                quoted = false, closed_at = field.size();
            else {
                if (c == '\n') ++line;
                field += c;
            }
        } else if (c == '"' && trim(field).empty()) {
            quoted = true;
            field_was_quoted = true;
            field.clear();
        } else if (c == ',') {
            end_field();
        } else if (c == '\n') {
            end_record();
            record_line = ++line;
        } else {
            field += c;
        }
    }
    if (quoted) throw Error("a quoted field is never closed", {table.file, record_line});
    if (!field.empty() || !fields.empty()) end_record();
    if (records.empty()) throw Error("the file is empty; expected a header line", {table.file});

    table.header = records[0];
    while (!table.header.empty() && table.header.back().empty()) table.header.pop_back();  // trailing commas
    for (std::size_t c = 0; c < table.header.size(); ++c) {
        if (table.header[c].empty())
            throw Error("column " + std::to_string(c + 1) + " of the header has no name",
                        {table.file, record_lines[0]});
        for (std::size_t d = 0; d < c; ++d)
            if (table.header[d] == table.header[c])
                throw Error("columns " + std::to_string(d + 1) + " and " + std::to_string(c + 1) +
                                " of the header are both named '" + table.header[c] + "'; which one is meant?",
                            {table.file, record_lines[0]});
    }
    for (std::size_t r = 1; r < records.size(); ++r) {
        auto& row = records[r];
        while (row.size() > table.header.size() && row.back().empty()) row.pop_back();
        if (shape == CsvRows::ragged && row.size() < table.header.size()) row.resize(table.header.size());
        if (row.size() != table.header.size())
            throw Error("row has " + std::to_string(row.size()) + " field" + (row.size() == 1 ? "" : "s") +
                            " but the header has " + std::to_string(table.header.size()) +
                            (row.size() < table.header.size() ? " (an empty cell still needs its comma)" : ""),
                        {table.file, record_lines[r]});
        table.rows.push_back(std::move(row));
        table.lines.push_back(record_lines[r]);
    }
    return table;
}

double parse_csv_number(const std::string& text, const Location& where, const std::string& column) {
    if (text.empty() || text == "NA" || text == "nan" || text == "NaN") return std::numeric_limits<double>::quiet_NaN();
    errno = 0;
    char* end = nullptr;
    const double value = std::strtod(text.c_str(), &end);
    if (end == text.c_str() || *end != '\0')
        throw Error("column '" + column + "': '" + text + "' is not a number", where);
    if (errno == ERANGE && std::fabs(value) > 1)
        throw Error("column '" + column + "': '" + text + "' is beyond the range of a number", where);
    return value;  // an underflow (1e-400) reads as 0 or a denormal
}

}  // namespace mer
