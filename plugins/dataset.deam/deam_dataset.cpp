// dataset.deam: the MediaEval Database for Emotional Analysis in Music
// (Soleymani, Aljanaki et al.) as researchers download it — static
// song-level ratings (1–9), optional 2 Hz dynamic ratings ([−1, 1]) and
// MEMD_audio/<song_id>.mp3 — however the two zips were unpacked. A song's
// label is its static rating, or the mean over time of its dynamic ones.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <regex>
#include <set>

#include "core/audio/audio.hpp"
#include "core/data/csv.hpp"
#include "core/plugin/capabilities.hpp"
#include "core/plugin/dataset.hpp"
#include "core/run/files.hpp"

namespace mer::plugins {

namespace fs = std::filesystem;

namespace {

const char* kLayout =
    "expected the DEAM layout: ROOT/annotations/annotations averaged per song/song_level/"
    "static_annotations_averaged_songs_1_2000.csv and ROOT/MEMD_audio/<song_id>.mp3 (or the zips' own "
    "DEAM_Annotations/annotations/... and DEAM_audio/MEMD_audio/); set root, or annotations_dir / audio_dir";

// The first existing folder among the candidates.
fs::path first_folder(const std::vector<fs::path>& candidates) {
    for (const auto& c : candidates)
        if (fs::is_directory(c)) return c;
    return {};
}

// A file of that name anywhere below `dir` (unpacking adds or drops levels).
fs::path find_file(const fs::path& dir, const std::string& name, const std::string& parent_contains = "") {
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
    // Ids are integers; some exports write them as 2.0.
    const double v = parse_csv_number(cell, where, "song_id");
    if (!std::isfinite(v) || v < 0 || v != std::floor(v))
        throw Error("song id '" + cell + "' is not a whole number", where);
    return std::to_string(static_cast<long long>(v));
}

}  // namespace

class DeamDataset : public DatasetPlugin {
public:
    static constexpr const char* kCapabilities = R"({"label_range": true})";

    explicit DeamDataset(const nlohmann::json& p)
        : root_(p.at("root").get<std::string>()),
          annotations_dir_(p.at("annotations_dir").get<std::string>()),
          audio_dir_(p.at("audio_dir").get<std::string>()),
          songs_(p.at("songs").get<std::string>()),
          targets_(p.at("targets").get<std::vector<std::string>>()),
          scale_(p.at("label_scale").get<std::string>()),
          labels_(p.at("labels").get<std::string>()),
          dynamic_(p.at("dynamic").get<bool>()),
          check_audio_(p.at("check_audio").get<bool>()),
          label_range_(p.at("label_range").get<std::vector<double>>()) {
        if (label_range_.size() != 2 || !(label_range_[0] < label_range_[1]))
            throw Error("label_range must be [low, high] with low < high (the scale of the static annotation files, "
                        "[1, 9] in DEAM); got " +
                        p.at("label_range").dump());
    }

    // The scale of the labels this instance gives: label_range mapped by label_scale.
    nlohmann::json query(const std::string& capability) const override {
        if (capability != capability::kLabelRange) return nullptr;
        const std::vector<double> range{scale_static(label_range_[0]), scale_static(label_range_[1])};
        nlohmann::json ranges = nlohmann::json::object();
        for (const auto& t : targets_) ranges[t] = range;
        return ranges;
    }

    std::string content_fingerprint() const override {
        // Sizes and mtimes of every annotation and audio file: cheap, and any
        // edit or added file changes it.
        std::string listing;
        for (const fs::path& dir : {annotations_folder(), audio_folder()}) {
            if (dir.empty()) continue;
            std::vector<std::string> entries;
            std::error_code ec;
            for (auto it = fs::recursive_directory_iterator(dir, ec); it != fs::recursive_directory_iterator();
                 it.increment(ec)) {
                if (ec || !it->is_regular_file()) continue;
                const auto stamp = fs::last_write_time(it->path(), ec).time_since_epoch().count();
                entries.push_back(it->path().string() + "|" + std::to_string(it->file_size()) + "|" +
                                  std::to_string(stamp));
            }
            std::sort(entries.begin(), entries.end());
            for (const auto& e : entries) listing += e + "\n";
        }
        return sha256_hex(listing);
    }

    SongTable load(const PluginContext& ctx) override {
        const fs::path annotations = annotations_folder();
        const fs::path audio = audio_folder();
        if (annotations.empty()) throw Error(std::string("no annotations folder found; ") + kLayout, Location(root_));
        if (audio.empty()) throw Error(std::string("no MEMD_audio folder found; ") + kLayout, Location(root_));

        std::vector<std::string> files;
        if (songs_ != "2000-2058") files.push_back("static_annotations_averaged_songs_1_2000.csv");
        if (songs_ != "1-2000") files.push_back("static_annotations_averaged_songs_2000_2058.csv");

        SongTable table;
        table.target_names = targets_;
        std::vector<std::vector<double>> labels;
        std::set<std::string> seen;
        for (const auto& name : files) {
            const fs::path file = find_file(annotations, name);
            if (file.empty())
                throw Error("no " + name + " below the annotations folder; " + kLayout, Location(annotations.string()));
            const CsvTable csv = read_csv(file);
            const int id = csv.require_column("song_id");
            std::vector<int> columns;
            for (const auto& t : targets_) columns.push_back(csv.require_column(t + "_mean"));
            for (std::size_t r = 0; r < csv.rows.size(); ++r) {
                const std::string song = song_id_text(csv.rows[r][id], csv.at(r));
                if (!seen.insert(song).second) continue;  // song 2000 is in both files
                std::vector<double> values;
                Location where = csv.at(r);
                where.song = song;
                for (int c : columns) {
                    const double raw = parse_csv_number(csv.rows[r][c], where, csv.header[c]);
                    if (raw < label_range_[0] || raw > label_range_[1])
                        throw Error(fmt::format("column '{}': {} lies outside label_range [{}, {}]; set label_range "
                                                "to the scale of the annotation files",
                                                csv.header[c], csv.rows[r][c], label_range_[0], label_range_[1]),
                                    where);
                    values.push_back(scale_static(raw));
                }
                const fs::path path = audio / (song + ".mp3");
                if (const std::string why = audio_problem(path, check_audio_); !why.empty()) {
                    ctx.skip_song(song, path.string(), why);
                    continue;
                }
                table.song_ids.push_back(song);
                table.groups.push_back(song);
                table.audio_paths.push_back(path.string());
                labels.push_back(values);
            }
        }
        table.targets = rows_to_matrix(labels, targets_.size());
        table.features.resize(table.targets.rows(), 0);
        if (dynamic_ || labels_ == "dynamic_mean") load_dynamic(annotations, table);
        if (labels_ == "dynamic_mean") {
            const std::size_t missing = label_with_dynamic_means(table);
            if (!dynamic_) table.dynamic.clear();
            ctx.info(
                fmt::format("labels: the mean of each song's dynamic annotations; {} of {} songs have none for "
                            "some target, which is then missing",
                            missing, table.size()));
        }
        ctx.info(fmt::format("{} songs with labels and audio ({} of DEAM, {} scale) from {}", table.size(), songs_,
                             scale_, annotations.string()));
        return table;
    }

private:
    fs::path annotations_folder() const {
        if (!annotations_dir_.empty())
            return fs::is_directory(annotations_dir_) ? fs::path(annotations_dir_) : fs::path();
        const fs::path root(root_);
        return first_folder(
            {root / "annotations", root / "DEAM_Annotations" / "annotations", root / "DEAM_Annotations"});
    }

    fs::path audio_folder() const {
        if (!audio_dir_.empty()) return fs::is_directory(audio_dir_) ? fs::path(audio_dir_) : fs::path();
        const fs::path root(root_);
        return first_folder({root / "MEMD_audio", root / "DEAM_audio" / "MEMD_audio", root / "DEAM_audio"});
    }

    // Static ratings are on label_range (DEAM: 1–9); unit maps it to [0, 1], signed to [−1, 1].
    double scale_static(double x) const {
        const double low = label_range_[0], high = label_range_[1];
        const double middle = (low + high) / 2.0, half = (high - low) / 2.0;
        if (scale_ == "unit") return (x - low) / (high - low);
        if (scale_ == "signed") return (x - middle) / half;
        return x;
    }

    double scale_dynamic(double x) const {  // DEAM dynamic ratings are on [−1, 1]
        const double middle = (label_range_[0] + label_range_[1]) / 2.0, half = (label_range_[1] - label_range_[0]) / 2.0;
        if (scale_ == "unit") return (x + 1.0) / 2.0;
        if (scale_ == "raw") return middle + half * x;
        return x;
    }

    // Each song's target: the mean of its dynamic values (already scaled),
    // NaN when it has none. Returns how many songs lack one for some target.
    std::size_t label_with_dynamic_means(SongTable& table) const {
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

    void load_dynamic(const fs::path& annotations, SongTable& table) const {
        std::map<std::string, std::size_t> row_of;
        for (std::size_t r = 0; r < table.size(); ++r) row_of[table.song_ids[r]] = r;
        table.dynamic.assign(table.size(), DynamicLabels{15.0, 0.5, Eigen::MatrixXd()});
        static const std::regex sample_column(R"(sample_(\d+)ms)");
        for (std::size_t t = 0; t < targets_.size(); ++t) {
            const fs::path file = find_file(annotations, targets_[t] + ".csv", "dynamic");
            if (file.empty())
                throw Error(std::string(dynamic_ ? "dynamic: true" : "labels: dynamic_mean") +
                                ", but no dynamic (per second annotations)/" + targets_[t] +
                                ".csv below the annotations folder",
                            Location(annotations.string()));
            // DEAM's per-second files are ragged: a song's row ends with its last annotation.
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
                DynamicLabels& d = table.dynamic[it->second];
                d.start_seconds = start;
                d.step_seconds = step;
                if (d.values.rows() < static_cast<Eigen::Index>(times.size())) {
                    Eigen::MatrixXd grown = Eigen::MatrixXd::Constant(static_cast<Eigen::Index>(times.size()),
                                                                      static_cast<Eigen::Index>(targets_.size()),
                                                                      std::numeric_limits<double>::quiet_NaN());
                    grown.topRows(d.values.rows()) = d.values;
                    d.values = grown;
                }
                for (std::size_t k = 0; k < times.size(); ++k) {
                    const double v =
                        parse_csv_number(csv.rows[r][times[k].first], csv.at(r), csv.header[times[k].first]);
                    d.values(static_cast<Eigen::Index>(k), static_cast<Eigen::Index>(t)) =
                        std::isfinite(v) ? scale_dynamic(v) : v;
                }
            }
        }
        // Drop the trailing frames where no target has a value (short rows).
        for (auto& d : table.dynamic) {
            Eigen::Index last = d.values.rows();
            while (last > 0 && d.values.row(last - 1).array().isNaN().all()) --last;
            d.values.conservativeResize(last, Eigen::NoChange);
        }
    }

    std::string root_, annotations_dir_, audio_dir_, songs_;
    std::vector<std::string> targets_;
    std::string scale_, labels_;
    bool dynamic_, check_audio_;
    std::vector<double> label_range_;  // [low, high] of the static annotation files
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::DeamDataset, "dataset.deam", "1.0.0",
           "DEAM (MediaEval emotion in music): song-level and 2 Hz valence/arousal with MEMD_audio MP3s")
