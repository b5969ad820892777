// features.handcrafted: the paper's Phase 1 song vector — MFCC, chroma
// (STFT), mel power, spectral contrast and tonnetz (CQT chroma), each row
// summarised over frames — computed as librosa 0.10 computes them. Songs are
// extracted in parallel; each song's vector and frame matrices are cached as
// .npy files keyed by the file's content, the plugin version and parameters.
// With window_seconds, the same columns are also summarised over short
// windows (1 s every 0.5 s: DEAM's 2 Hz annotation frames), one row per
// window, for the sequence models of the dynamic task (docs/dynamic.md).
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>

#include "core/audio/audio.hpp"
#include "core/base/built_once.hpp"
#include "core/base/files.hpp"
#include "core/data/npy.hpp"
#include "core/data/tensor_cache.hpp"
#include "core/dsp/chroma.hpp"
#include "core/dsp/contrast.hpp"
#include "core/dsp/cqt.hpp"
#include "core/dsp/mel.hpp"
#include "core/dsp/stft.hpp"
#include "core/error.hpp"
#include "core/plugin/capabilities.hpp"
#include "core/plugin/features.hpp"
#include "core/plugin/parallel.hpp"

namespace mer::plugins {

namespace fs = std::filesystem;

namespace {

const char* kVersion = "1.0.0";
const std::vector<std::string> kGroupOrder{"mfcc", "chroma", "mel", "contrast", "tonnetz"};

double statistic(const std::string& name, const Eigen::Ref<const Eigen::RowVectorXd>& x) {
    const double n = static_cast<double>(x.size());
    const double mean = x.mean();
    if (name == "mean") return mean;
    if (name == "min") return x.minCoeff();
    if (name == "max") return x.maxCoeff();
    const Eigen::ArrayXd d = x.array() - mean;
    const double m2 = (d * d).sum() / n;
    if (name == "std") return std::sqrt(m2);
    if (name == "skew") return m2 > 0 ? (d * d * d).sum() / n / std::pow(m2, 1.5) : 0.0;
    // median
    std::vector<double> v(x.data(), x.data() + x.size());
    const std::size_t mid = v.size() / 2;
    std::nth_element(v.begin(), v.begin() + static_cast<long>(mid), v.end());
    if (v.size() % 2) return v[mid];
    const double upper = v[mid];
    return (upper + *std::max_element(v.begin(), v.begin() + static_cast<long>(mid))) / 2;
}

}  // namespace

class HandcraftedFeatures : public FeaturesPlugin {
public:
    static constexpr const char* kCapabilities = R"({"crop": true, "windows": true})";

    explicit HandcraftedFeatures(const nlohmann::json& p)
        : params_(p),
          stats_(p.at("stats").get<std::vector<std::string>>()),
          n_mfcc_(p.at("n_mfcc").get<int>()),
          n_mels_(p.at("n_mels").get<int>()),
          sr_(p.at("sample_rate_hz").get<int>()),
          n_fft_(p.at("n_fft").get<int>()),
          hop_(p.at("hop").get<int>()),
          min_seconds_(p.at("min_seconds").get<double>()),
          cache_(p.at("cache").get<bool>()),
          cache_frames_(p.at("cache_frames").get<bool>()),
          crop_(AudioCrop::of(p)),
          window_seconds_(p.at("window_seconds").get<double>()),
          window_hop_seconds_(p.at("window_hop_seconds").get<double>()) {
        const auto wanted = p.at("groups").get<std::vector<std::string>>();
        for (const auto& g : kGroupOrder)
            if (std::find(wanted.begin(), wanted.end(), g) != wanted.end()) groups_.push_back(g);
        if (n_mfcc_ > n_mels_)
            throw Error("n_mfcc (" + std::to_string(n_mfcc_) + ") cannot exceed n_mels (" + std::to_string(n_mels_) +
                        ")");
        // librosa refuses these rates too: contrast's top band starts at
        // 6400 Hz; the highest CQT wavelet (a third below C8, tuned up by up to
        // half a bin) reaches 4.2 kHz.
        const auto needs = [&](const char* group, int min_hz, const char* why) {
            if (wants(group) && sr_ < min_hz)
                throw Error(
                    fmt::format("sample_rate_hz {} is too low for the {} group ({}); use at least {} Hz or leave "
                                "{} out of groups",
                                sr_, group, why, min_hz, group));
        };
        needs("contrast", 12801, "its top band starts at 6400 Hz, which must lie below Nyquist");
        needs("tonnetz", 8410, "its constant-Q filters reach 4.2 kHz");
        if (windows() && crop_.offset_seconds > 0)
            throw Error(fmt::format("window_seconds with offset_seconds {}: the windows' times would no longer be "
                                    "the song's, and DEAM's annotations could not be aligned to them; leave "
                                    "offset_seconds at 0",
                                    crop_.offset_seconds));
        mel_ = mer::dsp::BandedFilterbank(mer::dsp::mel_filterbank(sr_, n_fft_, n_mels_, 0.0, sr_ / 2.0));
        dct_ = mer::dsp::dct_ortho(n_mfcc_, n_mels_).cast<float>();
        for (const auto& g : groups_)
            for (const auto& s : stats_)
                for (int r = 1; r <= rows_of(g); ++r) columns_.push_back(fmt::format("{}_{}_{}", g, r, s));
    }

    // The windows of the dynamic task (window_seconds); without them, the
    // parameters that would cut one window per 2 Hz annotation frame.
    nlohmann::json query(const std::string& capability) const override {
        if (capability != capability::kWindows) return nullptr;
        if (window_seconds_ <= 0)
            return {{"set", nlohmann::json::array({nlohmann::json::array({"window_seconds", 1.0}),
                                                   nlohmann::json::array({"window_hop_seconds", 0.5})})},
                    {"why", "one window per 2 Hz annotation frame"}};
        return {{"seconds", window_seconds_}, {"hop_seconds", window_hop_seconds_}};
    }

    SongTable extract(const SongTable& songs, const PluginContext& ctx) override {
        if (songs.audio_paths.empty())
            throw Error(
                "features.handcrafted needs songs with audio; use a dataset such as dataset.deam or dataset.manifest",
                Location::of_node(ctx.node));
        if (windows() && (!cache_ || ctx.cache_dir.empty()))
            throw Error("window_seconds keeps each song's windows as a tensor file in the feature cache: "
                        "set cache: true and run with a cache folder (the default; not --no-cache)",
                        Location::of_node(ctx.node));
        std::vector<Eigen::VectorXd> vectors(songs.size());
        std::vector<std::string> window_files(songs.size());
        std::atomic<std::size_t> cached{0};
        const std::vector<std::size_t> kept = for_each_song(songs, ctx, [&](std::size_t i) {
            bool from_cache = false;
            vectors[i] = song_vector(songs.audio_paths[i], ctx, from_cache, window_files[i]);
            if (from_cache) ++cached;
        });
        SongTable out = songs.rows(kept);
        if (windows()) {
            out.tensor_paths.clear();
            for (std::size_t i : kept) out.tensor_paths.push_back(window_files[i]);
            out.chunk_timing = {window_seconds_, window_hop_seconds_, static_cast<double>(hop_) / sr_};
        }
        out.feature_names = columns_;
        out.features.resize(static_cast<Eigen::Index>(kept.size()), static_cast<Eigen::Index>(columns_.size()));
        for (std::size_t r = 0; r < kept.size(); ++r) out.features.row(static_cast<Eigen::Index>(r)) = vectors[kept[r]];
        ctx.info(fmt::format("{} songs × {} features ({} from the feature cache, {} extracted)", kept.size(),
                             columns_.size(), cached.load(), kept.size() - std::min(kept.size(), cached.load())));
        return out;
    }

private:
    int rows_of(const std::string& group) const {
        if (group == "mfcc") return n_mfcc_;
        if (group == "chroma") return 12;
        if (group == "mel") return n_mels_;
        if (group == "contrast") return 7;
        return 6;  // tonnetz
    }

    // Content key: size, mtime and the first MiB of the file, plus the plugin
    // version and every parameter.
    std::string cache_key(const fs::path& audio) const {
        const auto f = file_fingerprint(audio);
        if (!f) return "";
        // What is kept does not change the values: entries made with or without frames serve both.
        nlohmann::json values = without_whole_crop(params_);
        for (const char* kept_apart : {"cache_frames", "window_seconds", "window_hop_seconds"}) values.erase(kept_apart);
        return sha256_hex(fmt::format("{}|{}|{}.{}|{}|{}|", kVersion, f->size, f->mtime_seconds, f->mtime_nanoseconds,
                                      values.dump(), f->head_sha256));
    }

    bool windows() const { return window_seconds_ > 0; }

    // The windows' file in a cache entry, named by the windows' layout (an
    // entry serves every layout; each gets a file of its own).
    std::string windows_file_name() const {
        return fmt::format("windows-{}s-every-{}s.npy", window_seconds_, window_hop_seconds_);
    }

    // The song's vector; with windows, `window_file` gets the path of its windows × columns tensor.
    // Each file of a cache entry has the shared cache's sidecar (core/data/tensor_cache.hpp):
    // its SHA-256, its shape and the entry's key, so a flipped bit or a file
    // copied over from another song's entry is recomputed, and the log says so.
    Eigen::VectorXd song_vector(const std::string& path, const PluginContext& ctx, bool& from_cache,
                                std::string& window_file) const {
        fs::path entry;
        std::string key;
        if (cache_ && !ctx.cache_dir.empty()) {
            key = cache_key(path);
            if (!key.empty()) entry = fs::path(ctx.cache_dir) / key.substr(0, 2) / key;
            if (windows() && entry.empty())
                throw Error("cannot read the file to key its cache entry", Location(path));
            if (windows()) window_file = (entry / windows_file_name()).string();
            if (!entry.empty()) {
                std::vector<std::pair<fs::path, std::vector<std::size_t>>> files{{entry / "summary.npy", {}}};
                if (cache_frames_)
                    for (const auto& g : groups_) files.push_back({entry / (g + ".npy"), {0}});
                if (windows()) files.push_back({window_file, {columns_.size()}});
                std::string damage;
                bool complete = true;
                for (const auto& [file, tail] : files) {
                    const auto problem = cached_tensor_problem(file, tail);
                    if (!problem) complete = false;  // not there (or from before the sidecars): computed
                    else if (problem->empty() && !of_entry(file, key)) damage = "it belongs to another song's entry";
                    else if (!problem->empty()) damage = *problem;
                    if (!complete || !damage.empty()) {
                        if (!damage.empty())
                            ctx.info("cached " + file.string() + " is damaged (" + damage + "); recomputing the song");
                        break;
                    }
                }
                if (complete && damage.empty()) {
                    try {
                        const Eigen::MatrixXd v = read_npy(entry / "summary.npy");
                        if (v.rows() == static_cast<Eigen::Index>(columns_.size()) && v.cols() == 1) {
                            from_cache = true;
                            return v.col(0);
                        }
                    } catch (const Error&) {
                        // A damaged entry is recomputed and overwritten.
                    }
                }
            }
        }
        const DecodedAudio audio = load_audio(path, sr_, min_seconds_, crop_);
        std::map<std::string, Eigen::MatrixXd> frames;
        const Eigen::VectorXd v = compute(audio.samples, entry.empty() ? nullptr : &frames);
        if (!entry.empty()) {
            fs::create_directories(entry);
            const nlohmann::json about{{"audio", path}, {"key", key}};
            // Frame matrices only on request (cache_frames): at 128 mel bands they are ~2 MB per
            // 45-s song, and nothing in mer reads them back; float32 is plenty for looking at them.
            if (cache_frames_)
                for (const auto& [group, m] : frames) {
                    const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> rows = m.cast<float>();
                    write_cached_tensor(entry / (group + ".npy"), rows.data(),
                                        {static_cast<std::size_t>(rows.rows()), static_cast<std::size_t>(rows.cols())},
                                        about);
                }
            if (windows()) {
                const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> rows =
                    window_matrix(frames, audio.samples.size());
                write_cached_tensor(window_file, rows.data(),
                                    {static_cast<std::size_t>(rows.rows()), static_cast<std::size_t>(rows.cols())}, about);
            }
            nlohmann::json meta{{"audio", path},       {"plugin", "features.handcrafted"},
                                {"version", kVersion}, {"params", params_},
                                {"columns", columns_}, {"frames_hop_seconds", double(hop_) / sr_}};
            write_file_atomic(entry / "meta.json", meta.dump(2) + "\n");
            write_npy(entry / "summary.npy", v);
            seal_cached_file(entry / "summary.npy", {static_cast<std::size_t>(v.size())}, about);  // last: marks a complete entry
        }
        return v;
    }

    // Whether a cached file's sidecar names this entry's key.
    static bool of_entry(const fs::path& file, const std::string& key) {
        try {
            return read_json_file(fs::path(file).replace_extension(".json")).value("key", "") == key;
        } catch (const std::exception&) {
            return false;
        }
    }

    // One row per window: every group's rows summarised, as for the song,
    // over the frames whose centres (f · hop / sr, the STFT being centred)
    // lie in [i · window_hop_seconds, i · window_hop_seconds + window_seconds).
    // A song shorter than one window gets one window over all its frames.
    Eigen::MatrixXf window_matrix(const std::map<std::string, Eigen::MatrixXd>& frames, std::size_t samples) const {
        const double seconds = static_cast<double>(samples) / sr_;
        const auto count = static_cast<Eigen::Index>(
            seconds < window_seconds_ ? 1 : std::floor((seconds - window_seconds_) / window_hop_seconds_ + 1e-9) + 1);
        const double frame_seconds = static_cast<double>(hop_) / sr_;
        Eigen::MatrixXf out(count, static_cast<Eigen::Index>(columns_.size()));
        for (Eigen::Index w = 0; w < count; ++w) {
            const double start = static_cast<double>(w) * window_hop_seconds_, end = start + window_seconds_;
            Eigen::Index c = 0;
            for (const auto& g : groups_) {
                const Eigen::MatrixXd& m = frames.at(g);
                const auto first = std::min<Eigen::Index>(m.cols() - 1, static_cast<Eigen::Index>(std::ceil(start / frame_seconds - 1e-9)));
                const auto last = std::clamp<Eigen::Index>(static_cast<Eigen::Index>(std::ceil(end / frame_seconds - 1e-9)),
                                                           first + 1, m.cols());
                for (const auto& s : stats_)
                    for (Eigen::Index r = 0; r < m.rows(); ++r)
                        out(w, c++) = static_cast<float>(statistic(s, m.row(r).segment(first, last - first)));
            }
        }
        return out;
    }

    bool wants(const std::string& group) const {
        return std::find(groups_.begin(), groups_.end(), group) != groups_.end();
    }

    // One song: a single STFT feeds mel, MFCC, chroma and contrast; the CQT
    // feeds tonnetz. `frames` (optional) receives each group's frame matrix.
    Eigen::VectorXd compute(const std::vector<float>& y, std::map<std::string, Eigen::MatrixXd>* frames) const {
        const auto S = mer::dsp::spectrogram(y.data(), y.size(), n_fft_, hop_);
        std::map<std::string, Eigen::MatrixXd> rows;
        if (wants("mfcc") || wants("mel")) {
            const Eigen::MatrixXf mel = mel_.apply(S.power);
            if (wants("mel")) rows["mel"] = mel.cast<double>();
            if (wants("mfcc")) rows["mfcc"] = (dct_ * mer::dsp::power_to_db(mel)).cast<double>();
        }
        if (wants("chroma")) {
            const double tuning = mer::dsp::estimate_tuning(S.power, sr_, n_fft_, 12);
            const auto filters =
                chroma_filters_.get(tuning, [&] { return mer::dsp::chroma_filterbank(sr_, n_fft_, tuning); });
            Eigen::MatrixXf chroma = *filters * S.power;
            mer::dsp::normalize_columns_max(chroma);
            rows["chroma"] = chroma.cast<double>();
        }
        if (wants("contrast")) rows["contrast"] = mer::dsp::spectral_contrast(S.magnitude, sr_, n_fft_);
        if (wants("tonnetz")) {
            const double tuning = mer::dsp::estimate_tuning(S.magnitude, sr_, n_fft_, 36);
            mer::dsp::CqtSettings cqt;
            cqt.hop = hop_;
            const Eigen::MatrixXf cq = mer::dsp::cqt_magnitude(y, sr_, tuning, cqt, &cqt_filters_);
            rows["tonnetz"] = mer::dsp::tonnetz_from_chroma(mer::dsp::chroma_from_cqt(cq));
        }
        Eigen::VectorXd v(static_cast<Eigen::Index>(columns_.size()));
        Eigen::Index c = 0;
        for (const auto& g : groups_) {
            const Eigen::MatrixXd& m = rows.at(g);
            for (const auto& s : stats_)
                for (Eigen::Index r = 0; r < m.rows(); ++r) v(c++) = statistic(s, m.row(r));
        }
        if (frames) *frames = std::move(rows);
        return v;
    }

    nlohmann::json params_;
    std::vector<std::string> groups_, stats_, columns_;
    int n_mfcc_, n_mels_, sr_, n_fft_, hop_;
    double min_seconds_;
    bool cache_, cache_frames_;
    AudioCrop crop_;
    double window_seconds_, window_hop_seconds_;
    mer::dsp::BandedFilterbank mel_;
    Eigen::MatrixXf dct_;
    // Filters per tuning (one of 100 values), kept between songs and shared by the song threads.
    mutable mer::dsp::CqtFilterCache cqt_filters_;
    mutable mer::BuiltOnce<double, Eigen::MatrixXf> chroma_filters_;
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::HandcraftedFeatures, "features.handcrafted", mer::plugins::kVersion,
           "librosa-identical MFCC, chroma, mel, spectral contrast and tonnetz summarised per song (386 columns)")
