// mer-run predict: bundle checks, feature extraction, fold averaging.
#include "core/graph/predict.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>
#include <thread>

#include "core/plugin/features.hpp"
#include "core/plugin/regressor.hpp"
#include "core/plugin/transform.hpp"
#include "core/run/files.hpp"
#include "core/run/progress.hpp"

namespace mer {

namespace fs = std::filesystem;
using json = nlohmann::json;

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
            throw Error("the run has no model for node '" + node + "'; it has: " + fmt::format("{}", fmt::join(nodes, ", ")),
                        Location(model.string()));
        return models / node;
    }
    if (nodes.size() != 1)
        throw Error(nodes.empty() ? std::string("the run trained no model")
                                  : "the run has models for several nodes (" + fmt::format("{}", fmt::join(nodes, ", ")) +
                                        "); choose one with --node",
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

const PluginRecord& checked_plugin(const PluginRegistry& registry, const json& spec) {
    const std::string name = spec.at("uses").get<std::string>(), version = spec.at("version").get<std::string>();
    const PluginRecord* plugin = registry.find(name);
    if (!plugin)
        throw Error("the model needs plugin " + name + " " + version +
                    ", which this mer-run does not have (`mer-run plugins` lists what it found)");
    if (plugin->version != version)
        throw Error("the model was made with " + name + " " + version + ", this mer-run has " + plugin->version + " (" +
                    plugin->file + "); use the plugin version the model was trained with");
    return *plugin;
}

}  // namespace

Ratings predict_files(const fs::path& model, const std::vector<std::string>& inputs, const PluginRegistry& registry,
                      const PredictOptions& options) {
    const fs::path bundle = bundle_folder(model, options.node);
    const json manifest = json::parse(read_text_file(bundle / "model.json"));
    if (manifest.value("format", 0) != 1) throw Error("unknown bundle format", Location((bundle / "model.json").string()));
    // Every plugin, with its version, before any audio is decoded.
    for (const auto& spec : manifest.at("data")) checked_plugin(registry, spec);
    for (const auto& spec : manifest.at("transforms")) checked_plugin(registry, spec);
    checked_plugin(registry, manifest.at("regressor"));

    Ratings out;
    for (const auto& t : manifest.at("targets")) {
        out.targets.push_back(t.at("name").get<std::string>());
        out.midpoints.push_back((t.at("min").get<double>() + t.at("max").get<double>()) / 2);
    }
    SongTable songs;
    for (const auto& file : audio_files(inputs)) {
        songs.song_ids.push_back(file);
        songs.groups.push_back(file);
        songs.audio_paths.push_back(file);
        out.rows.push_back(Rating{file, {}, "", "", {}});
    }
    songs.features.resize(static_cast<Eigen::Index>(songs.size()), 0);
    songs.targets.resize(static_cast<Eigen::Index>(songs.size()), 0);

    PluginContext ctx;
    ctx.threads = options.threads > 0 ? options.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    std::map<std::string, std::string> failures;
    ctx.skip = [&failures](const std::string& song, const std::string&, const std::string& reason) { failures[song] = reason; };

    // The features path from audio to the regressor's data (datasets are skipped: the files are the songs).
    SongTable table = songs;
    for (const auto& spec : manifest.at("data")) {
        if (spec.at("kind") != "features") continue;
        ctx.node = spec.at("id").get<std::string>();
        auto progress = std::make_shared<ProgressReporter>("predict: " + spec.at("uses").get<std::string>(), nullptr,
                                                           ::isatty(STDERR_FILENO));
        ctx.progress = [progress](std::size_t done, std::size_t total, const char* unit) { (*progress)(done, total, unit); };
        ctx.cache_dir = (fs::path(options.cache_dir) / spec.at("uses").get<std::string>()).string();
        table = registry.create<FeaturesPlugin>(spec.at("uses"), spec.at("params"))->extract(table, ctx);
    }

    const int folds = manifest.at("folds").get<int>();
    Eigen::MatrixXd sum = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(table.size()), static_cast<Eigen::Index>(out.targets.size()));
    std::vector<Eigen::MatrixXd> chunk_sums;
    for (int fold = 0; fold < folds && table.size() > 0; ++fold) {
        const fs::path dir = bundle / ("fold" + std::to_string(fold));
        std::map<std::string, SongTable> outputs;
        const std::string source = manifest.at("data").back().at("id").get<std::string>();
        outputs[source] = table;
        for (const auto& spec : manifest.at("transforms")) {
            auto transform = registry.create<TransformPlugin>(spec.at("uses"), spec.at("params"));
            transform->load((dir / "transforms" / spec.at("id").get<std::string>()).string());
            std::vector<const SongTable*> in;
            for (const auto& id : spec.at("inputs")) in.push_back(&outputs.at(id.get<std::string>()));
            outputs[spec.at("id").get<std::string>()] = transform->apply(in);
        }
        const json& reg = manifest.at("regressor");
        const json params = json::parse(read_text_file(dir / "params.json")).at("regressor");
        auto regressor = registry.create<RegressorPlugin>(reg.at("uses"), params);
        regressor->load((dir / "regressor").string());
        const SongTable& input = outputs.at(reg.at("inputs").at(0).get<std::string>());
        sum += regressor->predict(input);
        if (options.per_chunk) {
            const std::vector<Eigen::MatrixXd> chunks = regressor->predict_chunks(input);
            if (chunks.empty()) throw Error("--per-chunk: " + reg.at("uses").get<std::string>() + " rates whole songs, not chunks");
            if (chunk_sums.empty()) chunk_sums = chunks;
            else
                for (std::size_t s = 0; s < chunks.size(); ++s) chunk_sums[s] += chunks[s];
        }
    }
    const Eigen::MatrixXd mean = sum / std::max(1, folds);
    double chunk_hop_seconds = 0;
    for (const auto& spec : manifest.at("data"))
        if (spec.at("params").contains("hop_seconds")) chunk_hop_seconds = spec.at("params").at("hop_seconds").get<double>();

    std::map<std::string, Eigen::Index> row_of;
    for (std::size_t r = 0; r < table.size(); ++r) row_of[table.song_ids[r]] = static_cast<Eigen::Index>(r);
    const auto v = std::find(out.targets.begin(), out.targets.end(), "valence") - out.targets.begin();
    const auto a = std::find(out.targets.begin(), out.targets.end(), "arousal") - out.targets.begin();
    for (auto& rating : out.rows) {
        auto it = row_of.find(rating.path);
        if (it == row_of.end()) {
            rating.error = failures.count(rating.path) ? failures[rating.path] : "not rated";
            continue;
        }
        for (Eigen::Index t = 0; t < mean.cols(); ++t) rating.values.push_back(mean(it->second, t));
        if (!chunk_sums.empty()) {
            const Eigen::MatrixXd chunks = chunk_sums[static_cast<std::size_t>(it->second)] / std::max(1, folds);
            for (Eigen::Index c = 0; c < chunks.rows(); ++c) {
                ChunkRating chunk{static_cast<int>(c), static_cast<double>(c) * chunk_hop_seconds, {}};
                for (Eigen::Index t = 0; t < chunks.cols(); ++t) chunk.values.push_back(chunks(c, t));
                rating.chunks.push_back(std::move(chunk));
            }
        }
        if (v < static_cast<long>(out.targets.size()) && a < static_cast<long>(out.targets.size())) {
            const bool pleasant = rating.values[static_cast<std::size_t>(v)] >= out.midpoints[static_cast<std::size_t>(v)];
            const bool energetic = rating.values[static_cast<std::size_t>(a)] >= out.midpoints[static_cast<std::size_t>(a)];
            rating.quadrant = pleasant ? (energetic ? "happy/excited" : "calm/relaxed")
                                       : (energetic ? "angry/tense" : "sad/depressed");
        }
    }
    return out;
}

}  // namespace mer
