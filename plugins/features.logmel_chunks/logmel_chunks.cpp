// features.logmel_chunks: the paper's Phase 2 input — each song cut into
// 3-s chunks, each chunk's mel power spectrogram in dB (as librosa, chunk by
// chunk, zero padding at its own edges), fixed to 128 × 128. A song's chunks
// are stored as one float32 .npy (chunks × 1 × mels × frames) in the plugin's
// cache; the table carries its path for the LibTorch regressors.
#include <fmt/format.h>

#include <atomic>
#include <thread>

#include "core/audio/audio.hpp"
#include "core/base/files.hpp"
#include "core/data/tensor_cache.hpp"
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
}

class LogmelChunks : public FeaturesPlugin {
public:
    static constexpr const char* kCapabilities = R"({"output_shape": true, "crop": true, "windows": true})";

    explicit LogmelChunks(const nlohmann::json& p)
        : params_(p),
          sr_(p.at("sample_rate_hz").get<int>()),
          n_mels_(p.at("n_mels").get<int>()),
          n_fft_(p.at("n_fft").get<int>()),
          hop_(p.at("hop").get<int>()),
          frames_(p.at("frames").get<int>()),
          ref_max_(p.at("db_ref").get<std::string>() == "max") {
        chunk_samples_ = static_cast<std::size_t>(std::llround(p.at("chunk_seconds").get<double>() * sr_));
        chunk_hop_samples_ = static_cast<std::size_t>(std::llround(p.at("hop_seconds").get<double>() * sr_));
        mel_ = mer::dsp::BandedFilterbank(mer::dsp::mel_filterbank(sr_, n_fft_, n_mels_, 0.0, sr_ / 2.0));
    }

    SongTable extract(const SongTable& songs, const PluginContext& ctx) override {
        if (songs.audio_paths.empty())
            throw Error("features.logmel_chunks needs songs with audio; use a dataset such as dataset.deam",
                        Location::of_node(ctx.node));
        if (ctx.cache_dir.empty())
            throw Error("features.logmel_chunks keeps its tensors in the cache folder, and none is set");
        std::vector<std::string> paths(songs.size());
        std::atomic<std::size_t> cached{0};
        const std::vector<std::size_t> kept = for_each_song(songs, ctx, [&](std::size_t i) {
            bool hit = false;
            paths[i] = song_tensor(songs.audio_paths[i], ctx, hit);
            if (hit) ++cached;
        });
        SongTable out = songs.rows(kept);
        out.feature_names.clear();
        out.features.resize(static_cast<Eigen::Index>(kept.size()), 0);
        for (std::size_t i : kept) out.tensor_paths.push_back(paths[i]);
        out.chunk_timing = timing();
        ctx.info(fmt::format("{} songs as {}-frame log-mel chunks ({} from the feature cache)", kept.size(), frames_,
                             cached.load()));
        return out;
    }

    nlohmann::json query(const std::string& capability) const override {
        if (capability == capability::kWindows)
            return {{"seconds", timing().chunk_seconds}, {"hop_seconds", timing().chunk_hop_seconds}};
        if (capability != capability::kOutputShape) return nullptr;
        return {{"shape", {1, n_mels_, frames_}},
                {"axes", {"channels", "mels", "frames"}},
                {"params", {nullptr, "n_mels", "frames"}}};
    }

private:
    ChunkTiming timing() const {
        return {static_cast<double>(chunk_samples_) / sr_, static_cast<double>(chunk_hop_samples_) / sr_,
                static_cast<double>(hop_) / sr_};
    }

    // The song's tensor file, computed unless the cache holds it intact: the
    // sidecar JSON written after the tensor keeps its SHA-256 and shape, and
    // a tensor that does not match them (cut short, bytes flipped, values
    // altered) is recomputed, with a note in the log.
    std::string song_tensor(const std::string& path, const PluginContext& ctx, bool& hit) const {
        const fs::path file = song_tensor_file(ctx.cache_dir, path, kVersion, without_whole_crop(params_));
        const std::vector<std::size_t> tail{1, static_cast<std::size_t>(n_mels_), static_cast<std::size_t>(frames_)};
        if (const auto problem = cached_tensor_problem(file, tail)) {
            if (problem->empty()) {
                hit = true;
                return file.string();
            }
            ctx.info("cached tensor " + file.string() + " is damaged (" + *problem + "); recomputing it");
        }
        const DecodedAudio audio = load_audio(path, sr_, static_cast<double>(chunk_samples_) / sr_, AudioCrop::of(params_));
        const std::vector<float> chunks = chunk_tensor(audio.samples);
        const std::size_t count = chunks.size() / static_cast<std::size_t>(n_mels_ * frames_);
        // Beside the tensor, its time axis (for Python users; mer's own
        // readers get it as SongTable::chunk_timing): chunk i starts at i ·
        // chunk_hop_seconds, frame f of a chunk is centred f ·
        // frame_hop_seconds after its start.
        const ChunkTiming t = timing();
        write_cached_tensor(file, chunks.data(), {count, tail[0], tail[1], tail[2]},
                            {{"audio", path},
                             {"sample_rate_hz", sr_},
                             {"chunk_seconds", t.chunk_seconds},
                             {"chunk_hop_seconds", t.chunk_hop_seconds},
                             {"frame_hop_seconds", t.frame_hop_seconds}});
        return file.string();
    }

public:
    // chunks × 1 × mels × frames, C order (frames fastest).
    std::vector<float> chunk_tensor(const std::vector<float>& y) const {
        std::vector<float> out;
        for (std::size_t start = 0; start + chunk_samples_ <= y.size(); start += chunk_hop_samples_) {
            const auto S = mer::dsp::spectrogram(y.data() + start, chunk_samples_, n_fft_, hop_);
            const Eigen::MatrixXf mel = mel_.apply(S.power);
            const Eigen::MatrixXf db = mer::dsp::power_to_db(mel, ref_max_ ? static_cast<double>(mel.maxCoeff()) : 1.0);
            if (!db.allFinite())
                throw Error("the log-mel values are NaN or infinite (is the audio far louder than full scale?)");
            const float floor = db.minCoeff();
            for (int m = 0; m < n_mels_; ++m)
                for (int f = 0; f < frames_; ++f) out.push_back(f < db.cols() ? db(m, f) : floor);
        }
        return out;
    }

private:
    nlohmann::json params_;
    int sr_, n_mels_, n_fft_, hop_, frames_;
    bool ref_max_;
    std::size_t chunk_samples_ = 0, chunk_hop_samples_ = 0;
    mer::dsp::BandedFilterbank mel_;
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::LogmelChunks, "features.logmel_chunks", mer::plugins::kVersion,
           "3-s log-mel chunks (128 mels × 128 frames) per song for the LibTorch models, cached as .npy")
