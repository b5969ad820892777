// The pieces the corpus loaders share (corpus_files.hpp).
#include "core/data/corpus_files.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <regex>

#include "core/base/files.hpp"

namespace mer::corpus {

namespace fs = std::filesystem;

fs::path first_folder(const std::vector<fs::path>& candidates) {
    for (const auto& c : candidates)
        if (fs::is_directory(c)) return c;
    return {};
}

fs::path find_file(const fs::path& dir, const std::string& name, const std::string& parent_contains) {
    std::vector<fs::path> found;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, ec); it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        if (ec) break;
        if (it->is_regular_file() && it->path().filename() == name &&
            (parent_contains.empty() || it->path().parent_path().string().find(parent_contains) != std::string::npos))
            found.push_back(it->path());
    }
    std::sort(found.begin(), found.end());
    return found.empty() ? fs::path() : found.front();
}

std::string song_id_text(const std::string& cell, const Location& where) {
    const double v = parse_csv_number(cell, where, "song_id");
    if (!std::isfinite(v) || v < 0 || v != std::floor(v))
        throw Error("song id '" + cell + "' is not a whole number", where);
    return std::to_string(static_cast<long long>(v));
}

std::string folders_fingerprint(const std::vector<fs::path>& folders) {
    std::string listing;
    for (const fs::path& dir : folders) {
        if (dir.empty()) continue;
        std::vector<std::string> entries;
        std::error_code ec;
        auto add = [&](const fs::path& file, std::uintmax_t size) {
            const auto stamp = fs::last_write_time(file, ec).time_since_epoch().count();
            entries.push_back(file.string() + "|" + std::to_string(size) + "|" + std::to_string(stamp));
        };
        if (fs::is_regular_file(dir, ec)) add(dir, fs::file_size(dir, ec));
        for (auto it = fs::recursive_directory_iterator(dir, ec); it != fs::recursive_directory_iterator();
             it.increment(ec)) {
            if (ec || !it->is_regular_file()) continue;
            add(it->path(), it->file_size());
        }
        std::sort(entries.begin(), entries.end());
        for (const auto& e : entries) listing += e + "\n";
    }
    return sha256_hex(listing);
}

LabelScale::LabelScale(const nlohmann::json& params, const std::string& example)
    : mapping_(params.at("label_scale").get<std::string>()) {
    const auto range = params.at("label_range").get<std::vector<double>>();
    if (range.size() != 2 || !(range[0] < range[1]))
        throw Error("label_range must be [low, high] with low < high (the scale of the static annotation files, " +
                    example + "); got " + params.at("label_range").dump());
    low_ = range[0];
    high_ = range[1];
}

double LabelScale::from_native(double x) const {
    const double middle = (low_ + high_) / 2.0, half = (high_ - low_) / 2.0;
    if (mapping_ == "unit") return (x - low_) / (high_ - low_);
    if (mapping_ == "signed") return (x - middle) / half;
    return x;
}

double LabelScale::from_signed(double x) const {
    const double middle = (low_ + high_) / 2.0, half = (high_ - low_) / 2.0;
    if (mapping_ == "unit") return (x + 1.0) / 2.0;
    if (mapping_ == "raw") return middle + half * x;
    return x;
}

std::vector<double> LabelScale::range() const {
    return {from_native(low_), from_native(high_)};
}

nlohmann::json label_ranges(const std::vector<std::string>& targets, const LabelScale& scale) {
    nlohmann::json ranges = nlohmann::json::object();
    for (const auto& t : targets) ranges[t] = scale.range();
    return ranges;
}

void read_static_labels(const CsvTable& csv, const std::string& id_column,
                        const std::vector<std::string>& label_columns, const LabelScale& scale,
                        const std::function<std::string(const std::string& song)>& audio_of,
                        std::set<std::string>& seen, SongTable& table, std::vector<std::vector<double>>& labels) {
    const int id = csv.require_column(id_column);
    std::vector<int> columns;
    for (const auto& name : label_columns) columns.push_back(csv.require_column(name));
    for (std::size_t r = 0; r < csv.rows.size(); ++r) {
        const std::string song = song_id_text(csv.rows[r][id], csv.at(r));
        if (!seen.insert(song).second) continue;
        std::vector<double> values;
        Location where = csv.at(r);
        where.song = song;
        for (int c : columns) {
            const double raw = parse_csv_number(csv.rows[r][c], where, csv.header[c]);
            if (raw < scale.low() || raw > scale.high())
                throw Error(fmt::format("column '{}': {} lies outside label_range [{}, {}]; set label_range "
                                        "to the scale of the annotation files",
                                        csv.header[c], csv.rows[r][c], scale.low(), scale.high()),
                            where);
            values.push_back(scale.from_native(raw));
        }
        const std::string audio = audio_of(song);
        if (audio.empty()) continue;
        table.song_ids.push_back(song);
        table.groups.push_back(song);
        table.audio_paths.push_back(audio);
        labels.push_back(values);
    }
}

void read_wide_dynamic(const fs::path& file, std::size_t target, std::size_t targets,
                       const std::map<std::string, std::size_t>& row_of, const std::function<double(double)>& map,
                       std::vector<DynamicLabels>& dynamic) {
    static const std::regex sample_column(R"(sample_(\d+)ms)");
    const CsvTable csv = read_csv(file, CsvRows::ragged);
    const int id = csv.require_column("song_id");
    std::vector<std::pair<int, double>> times;  // column, seconds
    for (int c = 0; c < static_cast<int>(csv.header.size()); ++c) {
        std::smatch m;
        if (std::regex_match(csv.header[c], m, sample_column)) times.emplace_back(c, std::stod(m[1]) / 1000.0);
    }
    if (times.size() < 2) throw Error("no sample_<N>ms columns in the header", Location(file.string(), 1));
    const double start = times.front().second, step = times[1].second - times[0].second;
    for (std::size_t r = 0; r < csv.rows.size(); ++r) {
        const std::string song = song_id_text(csv.rows[r][id], csv.at(r));
        auto it = row_of.find(song);
        if (it == row_of.end()) continue;
        DynamicLabels& d = dynamic[it->second];
        d.start_seconds = start;
        d.step_seconds = step;
        if (d.values.rows() < static_cast<Eigen::Index>(times.size())) {
            Eigen::MatrixXd grown =
                Eigen::MatrixXd::Constant(static_cast<Eigen::Index>(times.size()), static_cast<Eigen::Index>(targets),
                                          std::numeric_limits<double>::quiet_NaN());
            grown.topRows(d.values.rows()) = d.values;
            d.values = grown;
        }
        for (std::size_t k = 0; k < times.size(); ++k) {
            const double v = parse_csv_number(csv.rows[r][times[k].first], csv.at(r), csv.header[times[k].first]);
            d.values(static_cast<Eigen::Index>(k), static_cast<Eigen::Index>(target)) = std::isfinite(v) ? map(v) : v;
        }
    }
}

void drop_unannotated_tail(std::vector<DynamicLabels>& dynamic) {
    for (auto& d : dynamic) {
        Eigen::Index last = d.values.rows();
        while (last > 0 && d.values.row(last - 1).array().isNaN().all()) --last;
        d.values.conservativeResize(last, Eigen::NoChange);
    }
}

std::size_t label_with_dynamic_means(SongTable& table) {
    std::size_t missing = 0;
    for (std::size_t r = 0; r < table.size(); ++r) {
        const Eigen::MatrixXd& values = table.dynamic[r].values;
        bool lacks = false;
        for (Eigen::Index t = 0; t < table.targets.cols(); ++t) {
            double sum = 0;
            int count = 0;
            for (Eigen::Index k = 0; k < values.rows(); ++k)
                if (std::isfinite(values(k, t))) sum += values(k, t), ++count;
            table.targets(static_cast<Eigen::Index>(r), t) =
                count > 0 ? sum / count : std::numeric_limits<double>::quiet_NaN();
            lacks = lacks || count == 0;
        }
        if (lacks) ++missing;
    }
    return missing;
}

std::map<std::string, std::size_t> rows_by_song(const SongTable& table) {
    std::map<std::string, std::size_t> row_of;
    for (std::size_t r = 0; r < table.size(); ++r) row_of[table.song_ids[r]] = r;
    return row_of;
}

}  // namespace mer::corpus
