// Rating new music with a run's model bundle (model/<node>/): the bundle's
// manifest is checked against the installed plugins before any audio is
// decoded, then every file goes through the same features, fitted transforms
// and regressor as in training; fold models are averaged.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/data/song_table.hpp"
#include "core/plugin/registry.hpp"

namespace mer {

struct PredictOptions {
    // Which regressor nodes' bundles, when a run has several; more than one
    // (separate valence and arousal models) combine into one row per file.
    std::vector<std::string> nodes;
    std::string cache_dir = "cache";
    int threads = 0;         // 0: every core
    bool per_chunk = false;  // also rate every chunk (chunk models)
    bool dynamic = false;    // rate every window over time (sequence models; docs/dynamic.md)
    bool clip = false;       // clamp ratings into their target's range (Ratings::minima/maxima)
    // An excerpt of every file (the features plugins' offset_seconds and
    // duration_seconds; 0: from the start, to the end).
    double offset_seconds = 0, duration_seconds = 0;
    // > 0: rate this many evenly spaced excerpts of duration_seconds (45 when
    // 0: DEAM's clips) of every file, and report their mean and spread.
    int excerpts = 0;
};

struct ChunkRating {
    int chunk = 0;
    double offset_seconds = 0;  // chunk start from the song's start
    double centre_seconds = 0;  // the time it stands for (a sequence model's frame time)
    std::vector<double> values;
    std::vector<std::string> outside;  // with dynamic: targets rated outside their range in this window
};

struct Rating {
    std::string path;
    std::vector<double> values;       // in the bundle's target order
    std::string quadrant;             // needs valence and arousal
    std::string error;                // why the file could not be rated
    std::vector<ChunkRating> chunks;  // with per_chunk (chunk models) or dynamic (sequence models)
    std::vector<std::string> outside;  // targets rated outside the training labels' range (clamped with clip)
    std::vector<double> spread;        // with excerpts: each target's std over the excerpts (values: their mean)
    // "silent" or "constant" (core/audio/signal_check.hpp) when the audio
    // rated is no music, so the rating means nothing: then no quadrant.
    std::string audio_flag;
    std::string audio_detail;  // the measurement behind audio_flag, for stderr
};

struct Ratings {
    int excerpts = 0;  // > 0: each row is the mean of this many excerpts, spread their std
    std::vector<std::string> targets;
    // Per target: the range ratings are judged against — the dataset's label
    // scale (model.json's label_range) where the bundle records one, else the
    // training labels' range (bundles from before label_range, datasets that
    // declare none) — its middle splitting the quadrants, and which it is.
    std::vector<double> midpoints;
    std::vector<double> minima, maxima;
    std::vector<bool> declared_scale;
    // A model trained on a dataset.union rates on its common scale: which
    // scale, of which node and sources, for a note beside the ratings
    // (model.json's `sources`); empty otherwise. One line per bundle.
    std::vector<std::string> scale_notes;
    std::vector<Rating> rows;
};

// A model loaded once: its bundles' manifests checked, every plugin found at
// the version it was trained with, every fold's fitted pipeline read — then
// files rated call after call without reading the bundle again (the Python
// package keeps one per mer.Model; --excerpts rates every excerpt with it).
// `model` is a run folder or a bundle folder (model/<node>); `nodes` pick
// the regressor nodes of a run with several (separate valence and arousal
// models combine into one row per file). Throws mer::Error when the bundle
// cannot be used (missing plugin, other version, damaged files). `registry`
// must outlive it. One call at a time.
class Predictor {
public:
    Predictor(const std::filesystem::path& model, const std::vector<std::string>& nodes,
              const PluginRegistry& registry);
    ~Predictor();
    Predictor(Predictor&&) noexcept;

    // `inputs` are audio files or folders (searched recursively); a file
    // that cannot be rated is a row with its error. options.nodes is not
    // read (the nodes are the Predictor's).
    Ratings rate(const std::vector<std::string>& inputs, const PredictOptions& options) const;
    // The targets every row rates, in order.
    std::vector<std::string> targets() const;

private:
    Ratings rate_excerpts(const std::vector<std::string>& inputs, const PredictOptions& options) const;
    struct Loaded;
    std::unique_ptr<Loaded> loaded_;
};

// Predictor(model, options.nodes, registry).rate(inputs, options): `mer-run predict`.
Ratings predict_files(const std::filesystem::path& model, const std::vector<std::string>& inputs,
                      const PluginRegistry& registry, const PredictOptions& options);

// The bundle folder a model argument names (resolving a run folder and --node).
// The songs of a list of audio files, as a features plugin takes them: each
// file its own song (id and group: its path), no features, no targets.
SongTable audio_songs(const std::vector<std::string>& files);

std::filesystem::path bundle_folder(const std::filesystem::path& model, const std::string& node);

}  // namespace mer
