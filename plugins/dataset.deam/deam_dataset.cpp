// dataset.deam: the MediaEval Database for Emotional Analysis in Music
// (Soleymani, Aljanaki et al.) as researchers download it — static
// song-level ratings (1–9), optional 2 Hz dynamic ratings ([−1, 1]) and
// MEMD_audio/<song_id>.mp3 — however the two zips were unpacked. A song's
// label is its static rating, or the mean over time of its dynamic ones.
#include <fmt/format.h>

#include <set>

#include "core/audio/audio.hpp"
#include "core/data/corpus_files.hpp"
#include "core/plugin/capabilities.hpp"
#include "core/plugin/dataset.hpp"

namespace mer::plugins {

namespace fs = std::filesystem;
using namespace mer::corpus;

namespace {

const char* kLayout =
    "expected the DEAM layout: ROOT/annotations/annotations averaged per song/song_level/"
    "static_annotations_averaged_songs_1_2000.csv and ROOT/MEMD_audio/<song_id>.mp3 (or the zips' own "
    "DEAM_Annotations/annotations/... and DEAM_audio/MEMD_audio/); set root, or annotations_dir / audio_dir";

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
          labels_(p.at("labels").get<std::string>()),
          dynamic_(p.at("dynamic").get<bool>()),
          check_audio_(p.at("check_audio").get<bool>()),
          scale_(p, "[1, 9] in DEAM") {}

    // The scale of the labels this instance gives: label_range mapped by label_scale.
    nlohmann::json query(const std::string& capability) const override {
        if (capability != capability::kLabelRange) return nullptr;
        return label_ranges(targets_, scale_);
    }

    std::string content_fingerprint() const override {
        return folders_fingerprint({annotations_folder(), audio_folder()});
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
        std::set<std::string> seen;  // song 2000 is in both files
        std::vector<std::string> columns;
        for (const auto& t : targets_) columns.push_back(t + "_mean");
        auto audio_of = [&](const std::string& song) {
            const fs::path path = audio / (song + ".mp3");
            if (const std::string why = audio_problem(path, check_audio_); !why.empty()) {
                ctx.skip_song(song, path.string(), why);
                return std::string();
            }
            return path.string();
        };
        for (const auto& name : files) {
            const fs::path file = find_file(annotations, name);
            if (file.empty())
                throw Error("no " + name + " below the annotations folder; " + kLayout, Location(annotations.string()));
            read_static_labels(read_csv(file), "song_id", columns, scale_, audio_of, seen, table, labels);
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
                             scale_.mapping(), annotations.string()));
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

    // DEAM's dynamic ratings are on [−1, 1]: mapped onto the table's scale.
    void load_dynamic(const fs::path& annotations, SongTable& table) const {
        table.dynamic.assign(table.size(), DynamicLabels{15.0, 0.5, Eigen::MatrixXd()});
        const auto row_of = rows_by_song(table);
        for (std::size_t t = 0; t < targets_.size(); ++t) {
            const fs::path file = find_file(annotations, targets_[t] + ".csv", "dynamic");
            if (file.empty())
                throw Error(std::string(dynamic_ ? "dynamic: true" : "labels: dynamic_mean") +
                                ", but no dynamic (per second annotations)/" + targets_[t] +
                                ".csv below the annotations folder",
                            Location(annotations.string()));
            // DEAM's per-second files are ragged: a song's row ends with its last annotation.
            read_wide_dynamic(
                file, t, targets_.size(), row_of, [this](double x) { return scale_.from_signed(x); }, table.dynamic);
        }
        drop_unannotated_tail(table.dynamic);
    }

    std::string root_, annotations_dir_, audio_dir_, songs_;
    std::vector<std::string> targets_;
    std::string labels_;
    bool dynamic_, check_audio_;
    LabelScale scale_;  // label_range ([1, 9] in DEAM) and label_scale
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::DeamDataset, "dataset.deam", "1.0.0",
           "DEAM (MediaEval emotion in music): song-level and 2 Hz valence/arousal with MEMD_audio MP3s")
