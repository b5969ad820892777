// What the loaders of published emotion corpora (dataset.deam, dataset.pmemo,
// dataset.emomusic) share: finding a release's files however its archives
// were unpacked, song ids as exports write them, a fingerprint of its folders,
// the scale its labels are on and the one its table gives them (LabelScale),
// the song-level ratings of one annotation file, and the 2 Hz ratings of the
// "wide" files (one row per song, one sample_<N>ms column per frame).
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/data/csv.hpp"
#include "core/data/song_table.hpp"

namespace mer::corpus {

// The first existing folder among the candidates; empty when none exists.
std::filesystem::path first_folder(const std::vector<std::filesystem::path>& candidates);

// A file of that name anywhere below `dir` (unpacking adds or drops levels),
// whose parent path contains `parent_contains` when given; the first in
// sorted order, empty when none.
std::filesystem::path find_file(const std::filesystem::path& dir, const std::string& name,
                                const std::string& parent_contains = "");

// A song id cell as text: ids are whole numbers, and some exports write 2 as
// 2.0. Throws at `where` for anything else.
std::string song_id_text(const std::string& cell, const Location& where);

// SHA-256 of the path, size and mtime of every file below the folders (or of
// the file itself where a path is a file; empty paths left out): cheap, and
// any edit or added file changes it.
std::string folders_fingerprint(const std::vector<std::filesystem::path>& folders);

// The scale a corpus's labels are on and the one its table gives them. Each
// loader declares its native scale — the ends of its questionnaire, not the
// range its songs happen to cover — as the default of its `label_range`
// parameter (DEAM and EmoMusic 1–9, PMEmo 0–1); `label_scale` maps it: raw
// keeps it, unit maps it onto [0, 1], signed onto [−1, 1]. range() is what
// the loader answers for the label_range capability, so a model bundle, and
// anything stacking corpora, knows the scale of every label in the table.
class LabelScale {
public:
    // From the parameters `label_range` ([low, high]) and `label_scale`
    // (raw, unit, signed); `example` ends the error on a bad range, e.g.
    // "[1, 9] in DEAM".
    LabelScale(const nlohmann::json& params, const std::string& example);

    double low() const { return low_; }
    double high() const { return high_; }
    const std::string& mapping() const { return mapping_; }

    // A rating on the native scale, as the table holds it.
    double from_native(double x) const;
    // A rating on [−1, 1] (DEAM's and EmoMusic's 2 Hz ratings), as the table
    // holds it: raw puts it onto the native scale (midpoint + half-width·x).
    double from_signed(double x) const;
    // The scale of the table's labels: [from_native(low), from_native(high)].
    std::vector<double> range() const;

private:
    double low_, high_;
    std::string mapping_;
};

// The label_range capability's answer: every target on `scale`.
nlohmann::json label_ranges(const std::vector<std::string>& targets, const LabelScale& scale);

// One song-level annotation file read into `table`: the id in `id_column`
// (whole numbers), then one rating per target from `label_columns` — on the
// native scale (else an error naming the file, line and song), stored mapped.
// A song already in `seen` is passed over (DEAM repeats song 2000 in its two
// files); `audio_of(song)` gives its audio path, or "" to leave it out (a
// missing file, which the caller reports). Appends to song_ids, groups (the
// song), audio_paths and `labels` (one row per song kept).
void read_static_labels(const CsvTable& csv, const std::string& id_column,
                        const std::vector<std::string>& label_columns, const LabelScale& scale,
                        const std::function<std::string(const std::string& song)>& audio_of,
                        std::set<std::string>& seen, SongTable& table, std::vector<std::vector<double>>& labels);

// The 2 Hz ratings of one target from a wide file (DEAM's per-second files,
// EmoMusic's *_cont_average.csv): song_id, then sample_<N>ms columns; rows
// may end early (read ragged) and cells may be empty (NaN). Song `s` of
// `row_of` gets column `target` of dynamic[row_of[s]], mapped by `map`;
// start and step come from the header. Songs not in row_of are passed over.
void read_wide_dynamic(const std::filesystem::path& file, std::size_t target, std::size_t targets,
                       const std::map<std::string, std::size_t>& row_of, const std::function<double(double)>& map,
                       std::vector<DynamicLabels>& dynamic);

// Drops each song's trailing frames where no target has a value (short rows).
void drop_unannotated_tail(std::vector<DynamicLabels>& dynamic);

// Each song's targets become the mean of its dynamic values (NaN left out;
// NaN when it has none). Returns how many songs lack one for some target.
std::size_t label_with_dynamic_means(SongTable& table);

// Row of each song id in the table.
std::map<std::string, std::size_t> rows_by_song(const SongTable& table);

}  // namespace mer::corpus
