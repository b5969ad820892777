// mer-run predict: bundle checks, feature extraction, the fold pipelines, averaging.
#include "core/exec/predict.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include "core/audio/audio.hpp"
#include "core/audio/signal_check.hpp"
#include "core/base/files.hpp"
#include "core/data/dynamic.hpp"
#include "core/eval/metrics.hpp"
#include "core/exec/pipeline.hpp"
#include "core/exec/target_pipelines.hpp"
#include "core/plugin/capabilities.hpp"
#include "core/plugin/features.hpp"
#include "core/run/progress.hpp"

namespace mer {

namespace fs = std::filesystem;
using json = nlohmann::json;

SongTable audio_songs(const std::vector<std::string>& files) {
    SongTable table;
    for (const auto& file : files) {
        table.song_ids.push_back(file);
        table.groups.push_back(file);
        table.audio_paths.push_back(file);
    }
    table.features.resize(static_cast<Eigen::Index>(table.size()), 0);
    table.targets.resize(static_cast<Eigen::Index>(table.size()), 0);
    return table;
}

fs::path bundle_folder(const fs::path& model, const std::string& node) {
    if (fs::exists(model / "model.json")) return model;
    const fs::path models = model / "model";
    if (!fs::is_directory(models))
        throw Error("not a run folder or model bundle (no model.json, no model/ folder)", Location(model.string()));
    std::vector<std::string> nodes;
    for (const auto& e : fs::directory_iterator(models))
        if (fs::exists(e.path() / "model.json")) nodes.push_back(e.path().filename().string());
    std::sort(nodes.begin(), nodes.end());
    if (!node.empty()) {
        if (std::find(nodes.begin(), nodes.end(), node) == nodes.end())
            throw Error(
                "the run has no model for node '" + node + "'; it has: " + fmt::format("{}", fmt::join(nodes, ", ")),
                Location(model.string()));
        return models / node;
    }
    if (nodes.size() != 1)
        throw Error(nodes.empty() ? std::string("the run trained no model")
                                  : "the run has models for several nodes (" +
                                        fmt::format("{}", fmt::join(nodes, ", ")) + "); choose one with --node",
                    Location(model.string()));
    return models / nodes[0];
}

namespace {

const std::set<std::string> kAudioExtensions{".wav", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff", ".opus"};

std::vector<std::string> audio_files(const std::vector<std::string>& inputs) {
    std::vector<std::string> files;
    for (const auto& input : inputs) {
        if (fs::is_directory(input)) {
            std::vector<std::string> found;
            for (const auto& e : fs::recursive_directory_iterator(input)) {
                std::string ext = e.path().extension().string();
                std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
                if (e.is_regular_file() && kAudioExtensions.count(ext)) found.push_back(e.path().string());
            }
            std::sort(found.begin(), found.end());
            files.insert(files.end(), found.begin(), found.end());
        } else {
            files.push_back(input);  // a missing or bad file becomes an error row
        }
    }
    return files;
}

const PluginRecord& checked_plugin(const PluginRegistry& registry, const PipelineStep& step) {
    const std::string& name = step.uses;
    const std::string& version = step.version;
    const PluginRecord* plugin = registry.find(name);
    if (!plugin)
        throw Error("the model needs plugin " + name + " " + version +
                    ", which this mer-run does not have (`mer-run plugins` lists what it found)");
    if (plugin->version != version)
        throw Error("the model was made with " + name + " " + version + ", this mer-run has " + plugin->version + " (" +
                    plugin->file + "); use the plugin version the model was trained with");
    return *plugin;
}

// The step's parameters with each file it read in training (a weights file)
// found — as given, else at the absolute path recorded then — and checked to
// hold the same content: other weights would give ratings that are not this
// model's.
json trained_files(const PipelineStep& step) {
    json params = step.params;
    for (const auto& [key, file] : step.files.items()) {
        if (!file.is_object() || !file.contains("sha256") || !file["sha256"].is_string() || !params.contains(key) ||
            !params[key].is_string())
            throw Error("the model's record of the files node '" + step.id + "' read is damaged (key '" + key + "')");
        std::string path = params[key].get<std::string>();
        std::error_code ec;
        if (!fs::is_regular_file(path, ec) && file.contains("path") && file["path"].is_string() &&
            fs::is_regular_file(file["path"].get<std::string>(), ec))
            path = file["path"].get<std::string>();
        if (!fs::is_regular_file(path, ec))
            throw Error(fmt::format("node '{}' of the model needs the file it was trained with ({} = '{}'), and it is "
                                    "not there (nor at {})",
                                    step.id, key, params[key].get<std::string>(), file.value("path", "?")));
        if (const std::string now = sha256_file(path); now != file["sha256"].get<std::string>())
            throw Error(fmt::format("node '{}': {} holds other content than the model was trained with (sha256 {}…, "
                                    "trained with {}…): its ratings would not be this model's; put the original file back",
                                    step.id, path, now.substr(0, 12), file["sha256"].get<std::string>().substr(0, 12)),
                        Location(path));
        params[key] = path;
    }
    return params;
}

// The features path from audio to the pipeline's source table (datasets are
// skipped: the files are the songs). Files that cannot be used land in `failures`.
SongTable extract_features(const PipelineSpec& spec, const std::vector<std::string>& files,
                           const PluginRegistry& registry, const PredictOptions& options,
                           std::map<std::string, std::string>& failures) {
    SongTable table = audio_songs(files);
    PluginContext ctx;
    ctx.threads =
        options.threads > 0 ? options.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    ctx.skip = [&failures](const std::string& song, const std::string&, const std::string& reason) {
        failures[song] = reason;
    };
    for (const auto& step : spec.data) {
        if (step.kind != "features") continue;
        ctx.node = step.id;
        auto progress = std::make_shared<ProgressReporter>("predict: " + step.uses, nullptr, ::isatty(STDERR_FILENO));
        ctx.progress = [progress](std::size_t done, std::size_t total, const char* unit) {
            (*progress)(done, total, unit);
        };
        ctx.cache_dir = (fs::path(options.cache_dir) / step.uses).string();
        table = registry.create<FeaturesPlugin>(step.uses, trained_files(step))->extract(table, ctx);
    }
    const std::vector<std::size_t> usable = table.usable_rows(
        [&](std::size_t r, const std::string& problem) { failures[table.song_ids[r]] = problem; });
    return usable.size() == table.size() ? table : table.rows(usable);
}

// Each file's row: the fold mean, its chunks, its quadrant, or why it has none.
void fill_ratings(Ratings& out, const SongTable& table, const Eigen::MatrixXd& mean,
                  const std::vector<Eigen::MatrixXd>& chunk_sums, int folds,
                  std::map<std::string, std::string>& failures, bool clip, bool dynamic) {
    std::map<std::string, Eigen::Index> row_of;
    for (std::size_t r = 0; r < table.size(); ++r) row_of[table.song_ids[r]] = static_cast<Eigen::Index>(r);
    // A rating beyond the target's range is an extrapolation: say so (and clamp it with clip).
    auto checked = [&](double value, std::size_t k, std::vector<std::string>& outside) {
        if (value < out.minima[k] || value > out.maxima[k]) {
            outside.push_back(out.targets[k]);
            if (clip) value = std::clamp(value, out.minima[k], out.maxima[k]);
        }
        return value;
    };
    for (auto& rating : out.rows) {
        auto it = row_of.find(rating.path);
        if (it == row_of.end()) {
            rating.error = failures.count(rating.path) ? failures[rating.path] : "not rated";
            continue;
        }
        if (!mean.row(it->second).allFinite()) {
            rating.error = "rated NaN or infinity (are its samples far beyond full scale?)";
            continue;
        }
        for (Eigen::Index t = 0; t < mean.cols(); ++t)
            rating.values.push_back(checked(mean(it->second, t), static_cast<std::size_t>(t), rating.outside));
        if (!chunk_sums.empty()) {
            const Eigen::MatrixXd chunks = chunk_sums[static_cast<std::size_t>(it->second)] / std::max(1, folds);
            for (Eigen::Index c = 0; c < chunks.rows(); ++c) {
                ChunkRating chunk;
                chunk.chunk = static_cast<int>(c);
                chunk.offset_seconds = static_cast<double>(c) * table.chunk_timing.chunk_hop_seconds;
                chunk.centre_seconds = window_centre_seconds(table.chunk_timing, static_cast<std::size_t>(c));
                // A window over time is a rating too (--dynamic); --per-chunk shows chunks as they are.
                for (Eigen::Index t = 0; t < chunks.cols(); ++t)
                    chunk.values.push_back(dynamic ? checked(chunks(c, t), static_cast<std::size_t>(t), chunk.outside)
                                                   : chunks(c, t));
                rating.chunks.push_back(std::move(chunk));
            }
        }
    }
}

// Russell's quadrant of each rated file, from valence and arousal against the
// middle of their ranges (the label scale, else the training labels'); none
// for audio that is no music (silent, constant).
void assign_quadrants(Ratings& out) {
    const auto v = static_cast<std::size_t>(std::find(out.targets.begin(), out.targets.end(), "valence") - out.targets.begin());
    const auto a = static_cast<std::size_t>(std::find(out.targets.begin(), out.targets.end(), "arousal") - out.targets.begin());
    if (v >= out.targets.size() || a >= out.targets.size()) return;
    for (auto& rating : out.rows) {
        if (!rating.error.empty() || !rating.audio_flag.empty() || rating.values.size() != out.targets.size())
            continue;
        const bool pleasant = rating.values[v] >= out.midpoints[v];
        const bool energetic = rating.values[a] >= out.midpoints[a];
        rating.quadrant = pleasant ? (energetic ? "happy/excited" : "calm/relaxed")
                                   : (energetic ? "angry/tense" : "sad/depressed");
    }
}

}  // namespace

namespace {

// One bundle, loaded: its manifest checked, every plugin found at the version
// it was trained with, every fold's fitted pipeline read.
struct LoadedBundle {
    fs::path dir;
    fs::path manifest_file;
    PipelineSpec spec;  // parameters checked and completed with their defaults
    Ratings scale;      // targets, their ranges and midpoints; no rows
    bool per_target = false;  // fitted as one pipeline per target
    bool sequence = false, chunks = false;  // the regressor rates windows over time / chunks
    std::vector<std::unique_ptr<TargetPipelines>> folds;  // the ratings are their mean
};

std::unique_ptr<LoadedBundle> load_bundle(const fs::path& model, const std::string& node, const PluginRegistry& registry) {
    auto b = std::make_unique<LoadedBundle>();
    b->dir = bundle_folder(model, node);
    b->manifest_file = b->dir / "model.json";
    const fs::path& manifest_file = b->manifest_file;
    const json manifest = read_json_file(manifest_file);
    Ratings& out = b->scale;
    int folds = 0;
    try {
        if (!manifest.is_object() || manifest.value("format", 0) != 1)
            throw Error("unknown bundle format", Location(manifest_file.string()));
        b->spec = PipelineSpec::from_json(manifest);
        for (const auto& t : manifest.at("targets")) {
            out.targets.push_back(t.at("name").get<std::string>());
            // The dataset's label scale where training recorded it; bundles
            // from before label_range (and datasets declaring none) have the
            // training labels' range only.
            const std::vector<double> trained{t.at("min").get<double>(), t.at("max").get<double>()};
            const bool declared = t.contains("label_range");
            const auto range = declared ? t.at("label_range").get<std::vector<double>>() : trained;
            if (declared && (range.size() != 2 || !(range[0] < range[1])))
                throw Error("damaged bundle manifest: target '" + out.targets.back() +
                                "' has label_range " + t.at("label_range").dump() + "; expected [low, high], low < high",
                            Location(manifest_file.string()));
            out.midpoints.push_back((range[0] + range[1]) / 2);
            out.minima.push_back(range[0]);
            out.maxima.push_back(range[1]);
            out.declared_scale.push_back(declared);
        }
        folds = manifest.at("folds").get<int>();
        b->per_target = manifest.value("per_target", false);
        if (manifest.contains("sources")) {
            const json& sources = manifest.at("sources");
            std::string scales;
            for (std::size_t t = 0; t < out.targets.size(); ++t)
                scales += (t ? ", " : "") + out.targets[t] + " [" + format_number(out.minima[t]) + ", " +
                          format_number(out.maxima[t]) + "]";
            out.scale_notes.push_back(fmt::format(
                "ratings are on the common scale of {} node '{}' ({}), onto which it mapped its sources {}, not on "
                "any one corpus's own scale",
                sources.at("uses").get<std::string>(), sources.at("node").get<std::string>(), scales,
                fmt::join(sources.at("inputs").get<std::vector<std::string>>(), ", ")));
        }
    } catch (const json::exception& e) {
        throw Error(std::string("damaged bundle manifest: ") + e.what(), Location(manifest_file.string()));
    }
    // Every plugin, with its version and parameters, before any audio is decoded.
    auto check = [&](PipelineStep& step) -> const PluginRecord& {
        static const std::regex id_pattern("[A-Za-z_][A-Za-z0-9_-]*");  // step ids name folders of the bundle
        if (!std::regex_match(step.id, id_pattern))
            throw Error("damaged bundle manifest: step id '" + step.id + "' is not a node id",
                        Location(manifest_file.string()));
        const PluginRecord& plugin = checked_plugin(registry, step);
        step.params = checked_bundle_params(registry, step.uses, step.params, manifest_file);
        return plugin;
    };
    for (auto& step : b->spec.data) check(step);
    for (auto& step : b->spec.transforms) check(step);
    const PluginRecord& regressor = check(b->spec.regressor);
    b->sequence = regressor.has(capability::kSequence);
    b->chunks = regressor.has(capability::kChunks);

    // Every fold's fitted pipeline, as training saved it.
    if (folds < 1 || folds > 1000 || out.targets.empty())
        throw Error("damaged bundle manifest: folds is " + std::to_string(folds) + " and there are " +
                        std::to_string(out.targets.size()) + " targets; expected 1–1000 folds and at least 1 target",
                    Location(manifest_file.string()));
    for (int fold = 0; fold < folds; ++fold) {
        const fs::path fold_dir = b->dir / ("fold" + std::to_string(fold));
        if (!fs::is_directory(fold_dir))
            throw Error("damaged model bundle: model.json promises " + std::to_string(folds) + " folds, fold" +
                            std::to_string(fold) + "/ is missing",
                        Location(b->dir.string()));
        auto pipelines = std::make_unique<TargetPipelines>(b->spec, registry, out.targets, b->per_target);
        try {
            pipelines->load(fold_dir);
        } catch (const json::exception& e) {  // a bundle file of the right name and the wrong content
            throw Error(std::string("damaged model bundle: ") + e.what(), Location(fold_dir.string()));
        }
        b->folds.push_back(std::move(pipelines));
    }
    return b;
}

// One bundle's ratings of `files` (no quadrants yet: the targets may come from several bundles).
Ratings rate_bundle(const LoadedBundle& b, const std::vector<std::string>& files, const PluginRegistry& registry,
                    const PredictOptions& options) {
    PipelineSpec spec = b.spec;  // the excerpt goes into the features steps of this call only
    const AudioCrop crop{options.offset_seconds, options.duration_seconds};
    if (!crop.whole()) {
        // The excerpt, for every step that reads audio.
        bool taken = false;
        for (auto& step : spec.data) {
            if (!registry.get(step.uses).has(capability::kCrop)) continue;
            step.params["offset_seconds"] = crop.offset_seconds;
            step.params["duration_seconds"] = crop.duration_seconds;
            taken = true;
        }
        if (!taken)
            throw Error("--offset/--duration/--excerpts: this model's features plugins read no audio (a table "
                        "dataset?), so there is no excerpt to take");
    }
    if (options.dynamic && !b.sequence)
        throw Error("--dynamic: " + spec.regressor.uses +
                    " rates whole songs, not music over time; train a sequence model such as regressor.seq_gru "
                    "(docs/dynamic.md)");
    if (options.per_chunk && !b.chunks)
        throw Error("--per-chunk: " + spec.regressor.uses + " rates whole songs, not chunks");

    Ratings out = b.scale;
    std::map<std::string, std::string> failures;
    for (const auto& file : files) out.rows.emplace_back().path = file;
    const SongTable table = extract_features(spec, files, registry, options, failures);

    Eigen::MatrixXd sum =
        Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(table.size()), static_cast<Eigen::Index>(out.targets.size()));
    std::vector<Eigen::MatrixXd> chunk_sums;
    const int folds = static_cast<int>(b.folds.size());
    for (const auto& pipelines : b.folds) {
        if (table.size() == 0) break;
        std::vector<Eigen::MatrixXd> chunks;
        const bool windows = options.per_chunk || options.dynamic;
        sum += pipelines->predict(table, windows ? &chunks : nullptr);
        if (!windows) continue;
        if (chunk_sums.empty())
            chunk_sums = chunks;
        else
            for (std::size_t s = 0; s < chunks.size(); ++s) chunk_sums[s] += chunks[s];
    }
    fill_ratings(out, table, sum / std::max(1, folds), chunk_sums, folds, failures, options.clip, options.dynamic);
    return out;
}

// Flags the files whose audio (the excerpt rated) is silent or constant: a
// model returns numbers for them all the same. Decoded here rather than in a
// features plugin, so the flag is the same whatever features the model reads;
// a file that cannot be decoded already has its error row.
void flag_audio(Ratings& out, const PredictOptions& options) {
    const AudioCrop crop{options.offset_seconds, options.duration_seconds};
    for (auto& rating : out.rows) {
        if (!rating.error.empty()) continue;  // not rated: nothing to flag, and no second try at decoding it
        try {
            const DecodedAudio audio = load_audio(rating.path, 0, 0.0, crop);
            const SignalCheck check = check_signal(audio.samples, audio.sample_rate_hz);
            rating.audio_flag = check.flag;
            rating.audio_detail = check.detail;
        } catch (const Error&) {
        }
    }
}

}  // namespace

struct Predictor::Loaded {
    const PluginRegistry* registry = nullptr;
    std::vector<std::unique_ptr<LoadedBundle>> bundles;  // one per node, in the order given
    std::vector<std::string> nodes;
};

Predictor::Predictor(const fs::path& model, const std::vector<std::string>& nodes, const PluginRegistry& registry)
    : loaded_(std::make_unique<Loaded>()) {
    loaded_->registry = &registry;
    loaded_->nodes = nodes.empty() ? std::vector<std::string>{""} : nodes;
    // Separate models per target (the paper trains valence and arousal apart) combine into one row
    // per file; two models for one target is a mistake, refused before any audio is decoded.
    std::map<std::string, std::string> owner;  // target → the node rating it
    for (const auto& node : loaded_->nodes) {
        loaded_->bundles.push_back(load_bundle(model, node, registry));
        for (const auto& target : loaded_->bundles.back()->scale.targets)
            if (!owner.emplace(target, node).second)
                throw Error("--node " + owner[target] + " and --node " + node + " both rate \"" + target +
                            "\"; give one model per target");
    }
}

Predictor::~Predictor() = default;
Predictor::Predictor(Predictor&&) noexcept = default;

std::vector<std::string> Predictor::targets() const {
    std::vector<std::string> out;
    for (const auto& b : loaded_->bundles) out.insert(out.end(), b->scale.targets.begin(), b->scale.targets.end());
    return out;
}

Ratings Predictor::rate(const std::vector<std::string>& inputs, const PredictOptions& options) const {
    const PluginRegistry& registry = *loaded_->registry;
    const bool several = loaded_->bundles.size() > 1;
    if (options.dynamic) {
        const char* clash = options.excerpts > 0        ? "--excerpts"
                            : options.per_chunk          ? "--per-chunk"
                            : several                    ? "more than one --node"
                            : options.offset_seconds > 0 ? "--offset"
                                                         : nullptr;
        if (clash)
            throw Error(std::string("--dynamic rates every window of each whole file with one sequence model; ") +
                        clash + " cannot go with it");
    }
    if (options.excerpts > 0) return rate_excerpts(inputs, options);
    if (several && options.per_chunk) throw Error("--per-chunk rates the chunks of one model; give one --node with it");
    const std::vector<std::string> files = audio_files(inputs);
    Ratings out;
    for (std::size_t k = 0; k < loaded_->bundles.size(); ++k) {
        Ratings part = rate_bundle(*loaded_->bundles[k], files, registry, options);
        if (k == 0) {
            out = std::move(part);
            continue;
        }
        out.targets.insert(out.targets.end(), part.targets.begin(), part.targets.end());
        out.midpoints.insert(out.midpoints.end(), part.midpoints.begin(), part.midpoints.end());
        out.minima.insert(out.minima.end(), part.minima.begin(), part.minima.end());
        out.maxima.insert(out.maxima.end(), part.maxima.begin(), part.maxima.end());
        out.declared_scale.insert(out.declared_scale.end(), part.declared_scale.begin(), part.declared_scale.end());
        out.scale_notes.insert(out.scale_notes.end(), part.scale_notes.begin(), part.scale_notes.end());
        for (std::size_t r = 0; r < out.rows.size(); ++r) {
            Rating& row = out.rows[r];
            const Rating& more = part.rows[r];  // the same files in the same order
            if (row.error.empty() && !more.error.empty()) row.error = loaded_->nodes[k] + ": " + more.error;
            row.values.insert(row.values.end(), more.values.begin(), more.values.end());
            row.outside.insert(row.outside.end(), more.outside.begin(), more.outside.end());
        }
    }
    if (several)
        for (auto& row : out.rows)
            if (!row.error.empty()) row.values.clear(), row.outside.clear();
    flag_audio(out, options);
    assign_quadrants(out);
    return out;
}

// Real songs last minutes, the models learned from clips: N evenly spaced
// excerpts of the clip length per file, each rated, reported as their mean
// (the rating) and standard deviation (how much the song changes).
Ratings Predictor::rate_excerpts(const std::vector<std::string>& inputs, const PredictOptions& options) const {
    if (options.per_chunk) throw Error("--excerpts rates whole excerpts; --per-chunk cannot go with it");
    PredictOptions one = options;
    one.excerpts = 0;
    one.duration_seconds = options.duration_seconds > 0 ? options.duration_seconds : 45.0;
    Ratings out;
    out.excerpts = options.excerpts;
    for (const auto& file : audio_files(inputs)) {
        std::vector<Ratings> parts;
        double length = 0;
        try {
            length = probe_audio(file).duration_seconds;
        } catch (const Error& e) {
            Rating& failed = out.rows.emplace_back();
            failed.path = file;
            failed.error = e.message();
            continue;
        }
        const double room = std::max(0.0, length - one.duration_seconds);
        for (int k = 0; k < options.excerpts; ++k) {
            one.offset_seconds = options.excerpts == 1 ? room / 2 : room * k / (options.excerpts - 1);
            parts.push_back(rate({file}, one));
        }
        if (out.targets.empty()) {
            out.targets = parts.front().targets;
            out.midpoints = parts.front().midpoints;
            out.minima = parts.front().minima;
            out.maxima = parts.front().maxima;
            out.declared_scale = parts.front().declared_scale;
        }
        Rating row;
        row.path = file;
        for (std::size_t k = 0; k < parts.size(); ++k) {
            const Rating& part = parts[k].rows.front();
            if (row.error.empty() && !part.error.empty()) row.error = part.error;
            if (row.audio_flag.empty() && !part.audio_flag.empty()) {  // one excerpt of no music spoils the mean
                row.audio_flag = part.audio_flag;
                row.audio_detail = fmt::format("excerpt {} of {}: {}", k + 1, parts.size(), part.audio_detail);
            }
        }
        if (row.error.empty()) {
            for (std::size_t t = 0; t < out.targets.size(); ++t) {
                std::vector<double> values;
                for (const auto& part : parts) values.push_back(part.rows.front().values[t]);
                const auto [mean, sd] = mean_and_std(values);
                row.values.push_back(mean);
                row.spread.push_back(sd);
                if (mean < out.minima[t] || mean > out.maxima[t]) row.outside.push_back(out.targets[t]);
            }
        }
        out.rows.push_back(std::move(row));
    }
    assign_quadrants(out);
    return out;
}

Ratings predict_files(const fs::path& model, const std::vector<std::string>& inputs, const PluginRegistry& registry,
                      const PredictOptions& options) {
    return Predictor(model, options.nodes, registry).rate(inputs, options);
}

}  // namespace mer
