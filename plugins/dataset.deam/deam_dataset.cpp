// dataset.deam: the MediaEval Database for Emotional Analysis in Music
// (Soleymani, Aljanaki et al.) as researchers download it — static
// song-level ratings (1–9), optional 2 Hz dynamic ratings ([−1, 1]) and
// MEMD_audio/<song_id>.mp3 — however the two zips were unpacked. A song's
// label is its static rating, or the mean over time of its dynamic ones.
#include <fmt/format.h>

#include <set>

#include "core/audio/audio.hpp"
#include "core/data/corpus_files.hpp"
#include "core/plugin/corpus_dataset.hpp"

namespace mer::plugins {

namespace fs = std::filesystem;
using namespace mer::corpus;

namespace {

const char* kLayout =
    "expected the DEAM layout: ROOT/annotations/annotations averaged per song/song_level/"
    "static_annotations_averaged_songs_1_2000.csv and ROOT/MEMD_audio/<song_id>.mp3 (or the zips' own "
    "DEAM_Annotations/annotations/... and DEAM_audio/MEMD_audio/); set root, or annotations_dir / audio_dir";

}  // namespace

class DeamDataset : public CorpusDataset {
public:
    explicit DeamDataset(const nlohmann::json& p)
        : CorpusDataset(p, "[1, 9] in DEAM"), songs_(p.at("songs").get<std::string>()) {}

    std::string content_fingerprint() const override {
        return folders_fingerprint({annotations_folder(), audio_folder()});
    }

    SongTable load(const PluginContext& ctx) override {
        const auto found = folders(kLayout, "MEMD_audio");  // (not a structured binding: the lambdas below capture them)
        const fs::path &annotations = found.first, &audio = found.second;

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
            return usable_audio(audio / (song + ".mp3"), song, check_audio_, ctx);
        };
        for (const auto& name : files) {
            const fs::path file = annotation_file(annotations, name, kLayout);
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
    std::vector<fs::path> annotation_places() const override {
        const fs::path root(root_);
        return {root / "annotations", root / "DEAM_Annotations" / "annotations", root / "DEAM_Annotations"};
    }
    std::vector<fs::path> audio_places() const override {
        const fs::path root(root_);
        return {root / "MEMD_audio", root / "DEAM_audio" / "MEMD_audio", root / "DEAM_audio"};
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

    std::string songs_;
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::DeamDataset, "dataset.deam", "1.0.0",
           "DEAM (MediaEval emotion in music): song-level and 2 Hz valence/arousal with MEMD_audio MP3s")
