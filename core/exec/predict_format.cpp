// What `mer-run predict` writes (see predict_format.hpp).
#include "core/exec/predict_format.hpp"

#include <nlohmann/json.hpp>

#include "core/base/files.hpp"
#include "core/data/csv.hpp"

namespace mer {

using nlohmann::json;

std::string ratings_json(const Ratings& ratings, bool per_chunk) {
    json rows = json::array();
    for (const auto& r : ratings.rows) {
        json row{{"path", r.path}};
        for (std::size_t t = 0; t < r.values.size(); ++t) row[ratings.targets[t]] = r.values[t];
        for (std::size_t t = 0; t < r.spread.size(); ++t) row[ratings.targets[t] + "_std"] = r.spread[t];
        if (ratings.excerpts > 0 && r.error.empty()) row["excerpts"] = ratings.excerpts;
        if (!r.quadrant.empty()) row["quadrant"] = r.quadrant;
        if (!r.outside.empty()) row["outside_range"] = r.outside;
        if (!r.audio_flag.empty()) row["audio_flag"] = r.audio_flag;
        if (!r.error.empty()) row["error"] = r.error;
        if (per_chunk) {
            row["chunks"] = json::array();
            for (const auto& c : r.chunks) {
                json chunk{{"chunk", c.chunk}, {"offset_seconds", c.offset_seconds}};
                for (std::size_t t = 0; t < c.values.size(); ++t) chunk[ratings.targets[t]] = c.values[t];
                row["chunks"].push_back(chunk);
            }
        }
        rows.push_back(row);
    }
    return rows.dump(2) + "\n";
}

// With --dynamic: one row per window of every file (its centre's time), or
// one row with the reason for a file that could not be rated.
std::string dynamic_csv(const Ratings& ratings) {
    std::string text = "path,time_s";
    for (const auto& t : ratings.targets) text += "," + t;
    text += ",outside_range,audio_flag,error\n";
    for (const auto& r : ratings.rows) {
        if (!r.error.empty()) {
            text += csv_field(r.path) + "," + std::string(ratings.targets.size(), ',') + ",," + r.audio_flag +
                    "," + csv_field(r.error) + "\n";
            continue;
        }
        for (const auto& c : r.chunks) {
            text += csv_field(r.path) + "," + format_number(c.centre_seconds);
            for (double v : c.values) text += "," + format_number(v);
            std::string outside;
            for (const auto& t : c.outside) outside += (outside.empty() ? "" : ";") + t;
            text += "," + outside + "," + r.audio_flag + ",\n";
        }
    }
    return text;
}

std::string dynamic_json(const Ratings& ratings) {
    json rows = json::array();
    for (const auto& r : ratings.rows) {
        json row{{"path", r.path}};
        if (!r.audio_flag.empty()) row["audio_flag"] = r.audio_flag;
        if (!r.error.empty()) {
            row["error"] = r.error;
        } else {
            row["frames"] = json::array();
            for (const auto& c : r.chunks) {
                json frame{{"time_s", c.centre_seconds}};
                for (std::size_t t = 0; t < c.values.size(); ++t) frame[ratings.targets[t]] = c.values[t];
                if (!c.outside.empty()) frame["outside_range"] = c.outside;
                row["frames"].push_back(frame);
            }
        }
        rows.push_back(row);
    }
    return rows.dump(2) + "\n";
}

// With --per-chunk, chunk rows follow each song's row: chunk and offset filled.
std::string ratings_csv(const Ratings& ratings, bool per_chunk) {
    std::string text = per_chunk ? "path,chunk,offset_seconds" : "path";
    for (const auto& t : ratings.targets) text += "," + t;
    if (ratings.excerpts > 0) {  // the ratings are means over excerpts: their spread and count
        for (const auto& t : ratings.targets) text += "," + t + "_std";
        text += ",excerpts";
    }
    text += ",quadrant,outside_range,audio_flag,error\n";
    for (const auto& r : ratings.rows) {
        text += csv_field(r.path) + (per_chunk ? ",," : "");
        for (std::size_t t = 0; t < ratings.targets.size(); ++t)
            text += "," + (t < r.values.size() ? format_number(r.values[t]) : std::string());
        if (ratings.excerpts > 0) {
            for (std::size_t t = 0; t < ratings.targets.size(); ++t)
                text += "," + (t < r.spread.size() ? format_number(r.spread[t]) : std::string());
            text += "," + (r.error.empty() ? std::to_string(ratings.excerpts) : std::string());
        }
        std::string outside;
        for (const auto& t : r.outside) outside += (outside.empty() ? "" : ";") + t;
        text += "," + r.quadrant + "," + outside + "," + r.audio_flag + "," + csv_field(r.error) + "\n";
        for (const auto& c : r.chunks) {
            text += csv_field(r.path) + "," + std::to_string(c.chunk) + "," + format_number(c.offset_seconds);
            for (double v : c.values) text += "," + format_number(v);
            text += ",,,,\n";
        }
    }
    return text;
}

}  // namespace mer
