// features.panns_cnn14: the paper's Phase 3 input — each song cut into 3-s
// chunks at 32 kHz, each chunk through PANNs CNN14 on the official weights
// (core/torch/cnn14.hpp), and the song's vector pooled from its chunks'.
// The chunk vectors are kept too, one float32 .npy (chunks × width) per song
// in the plugin's cache, for the models that read chunks; with output: logmel
// the chunks' CNN14 front end instead (chunks × 1 × frames × 64), the input
// of regressor.panns_finetune. Decoding runs on
// its own thread, one song ahead of the network, which sees batches of
// chunks across songs.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <optional>

#include "core/audio/audio.hpp"
#include "core/base/files.hpp"
#include "core/base/heap.hpp"
#include "core/data/npy.hpp"
#include "core/data/tensor_cache.hpp"
#include "core/error.hpp"
#include "core/plugin/capabilities.hpp"
#include "core/plugin/features.hpp"
#include "core/torch/chunk_embedding.hpp"
#include "core/torch/chunk_regressor.hpp"
#include "core/torch/cnn14.hpp"

namespace mer::plugins {

namespace fs = std::filesystem;
using torchx::kCnn14SampleRateHz;

namespace {
const char* kVersion = "1.0.0";
}  // namespace

class PannsCnn14 : public FeaturesPlugin {
public:
    static constexpr const char* kCapabilities = R"({"fingerprint": ["checkpoint"], "output_shape": true, "device": true, "crop": true, "windows": true})";

    explicit PannsCnn14(const nlohmann::json& p)
        : params_(p),
          checkpoint_(p.at("checkpoint").get<std::string>()),
          output_(p.at("output").get<std::string>()),
          pooling_(p.at("pooling").get<std::string>()),
          whole_clip_(p.at("whole_clip").get<bool>()),
          batch_size_(p.at("batch_size").get<int64_t>()),
          device_(p.at("device").get<std::string>()) {
        chunk_samples_ = std::llround(p.at("chunk_seconds").get<double>() * kCnn14SampleRateHz);
        hop_samples_ = std::llround(p.at("hop_seconds").get<double>() * kCnn14SampleRateHz);
        if (logmel() && whole_clip_)
            throw Error("output: logmel gives chunks of one length for regressor.panns_finetune, and whole_clip: true "
                        "gives one chunk per song of its own length; use one or the other");
    }

    SongTable extract(const SongTable& songs, const PluginContext& ctx) override {
        if (songs.audio_paths.empty())
            throw Error("features.panns_cnn14 needs songs with audio; use a dataset such as dataset.deam",
                        Location::of_node(ctx.node));
        if (ctx.cache_dir.empty())
            throw Error("features.panns_cnn14 keeps its chunk vectors in the cache folder, and none is set");
        keep_large_blocks_in_heap();
        cache_dir_ = ctx.cache_dir;
        weights_sha256_ = sha256_file(checkpoint_);
        const std::size_t n = songs.size();
        std::vector<Eigen::MatrixXf> vectors(n);  // chunks × width per song (not kept for logmel)
        std::vector<std::string> files(n), failures(n);
        std::vector<std::size_t> todo;
        std::size_t cached = 0;
        for (std::size_t i = 0; i < n; ++i) {
            try {
                files[i] = cache_file(songs.audio_paths[i]).string();
                if (auto hit = read_cached(files[i], ctx)) {
                    if (!logmel()) vectors[i] = std::move(*hit);
                    ++cached;
                } else {
                    todo.push_back(i);
                }
            } catch (const Error& e) {
                if (e.kind() != ErrorKind::input) throw;
                failures[i] = e.message();
            }
        }
        if (!todo.empty()) compute(songs, todo, files, vectors, failures, ctx);

        std::vector<std::size_t> kept;
        for (std::size_t i = 0; i < n; ++i) {
            if (failures[i].empty())
                kept.push_back(i);
            else
                ctx.skip_song(songs.song_ids[i], songs.audio_paths[i], failures[i]);
        }
        SongTable out = songs.rows(kept);
        out.feature_names =
            logmel() ? std::vector<std::string>{} : torchx::pooled_columns("cnn14_" + output_, width(), pooling_);
        out.features.resize(static_cast<Eigen::Index>(kept.size()), static_cast<Eigen::Index>(out.feature_names.size()));
        out.tensor_paths.clear();
        for (std::size_t r = 0; r < kept.size(); ++r) {
            if (!logmel()) out.features.row(static_cast<Eigen::Index>(r)) = torchx::pool_chunks(vectors[kept[r]], pooling_);
            out.tensor_paths.push_back(files[kept[r]]);
        }
        out.chunk_timing = {chunk_seconds(), whole_clip_ ? 0.0 : static_cast<double>(hop_samples_) / kCnn14SampleRateHz,
                            logmel() ? static_cast<double>(torchx::kCnn14Hop) / kCnn14SampleRateHz : 0.0};
        ctx.info(fmt::format("{} songs as CNN14 {} {} ({} from the feature cache)", kept.size(), output_,
                             logmel() ? "chunks" : "vectors", cached));
        return out;
    }

    nlohmann::json query(const std::string& capability) const override {
        if (capability == capability::kWindows)  // a whole clip is one window, not windows over time
            return whole_clip_ ? nlohmann::json()
                               : nlohmann::json{{"seconds", chunk_seconds()},
                                                {"hop_seconds", static_cast<double>(hop_samples_) / kCnn14SampleRateHz}};
        if (capability != capability::kOutputShape) return nullptr;
        if (logmel())
            return {{"shape", {1, frames(), torchx::kCnn14MelBins}},
                    {"axes", {"channels", "frames", "mels"}},
                    {"params", {nullptr, "chunk_seconds", nullptr}}};
        return {{"shape", {width()}}, {"axes", {"features"}}, {"params", {"output"}}};
    }

private:
    bool logmel() const { return output_ == "logmel"; }
    int64_t frames() const { return 1 + chunk_samples_ / torchx::kCnn14Hop; }
    // What one chunk's cached tensor holds.
    std::vector<std::size_t> chunk_shape() const {
        if (logmel())
            return {1, static_cast<std::size_t>(frames()), static_cast<std::size_t>(torchx::kCnn14MelBins)};
        return {static_cast<std::size_t>(width())};
    }
    int64_t width() const { return output_ == "clipwise" ? torchx::kCnn14Classes : torchx::kCnn14Width; }
    double chunk_seconds() const { return static_cast<double>(chunk_samples_) / kCnn14SampleRateHz; }

    // A C-order (row-major) chunks × width buffer as a matrix.
    static Eigen::MatrixXf rows(const float* values, std::size_t chunks, std::size_t width) {
        return Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
            values, static_cast<Eigen::Index>(chunks), static_cast<Eigen::Index>(width));
    }

    // The chunk vectors' file: keyed by the audio file, the parameters that
    // change the vectors, and the weights' content (not their file's name).
    fs::path cache_file(const std::string& audio) const {
        nlohmann::json params = without_whole_crop(params_);
        params.erase("checkpoint");
        params.erase("pooling");  // pooled from the cached chunk vectors
        params.erase("batch_size");
        params.erase("device");
        return song_tensor_file(cache_dir_, audio, kVersion, params, weights_sha256_);
    }

    // The cached chunk vectors, if intact (checksum and shape in the sidecar).
    std::optional<Eigen::MatrixXf> read_cached(const std::string& file, const PluginContext& ctx) const {
        const auto problem = cached_tensor_problem(file, chunk_shape());
        if (!problem) return std::nullopt;
        try {
            if (!problem->empty()) throw Error(*problem);
            if (logmel()) return Eigen::MatrixXf();
            std::vector<std::size_t> shape;
            const std::vector<float> values = read_npy_float32(file, shape);
            if (shape.size() != 2 || shape[1] != static_cast<std::size_t>(width()))
                throw Error("its shape differs from its sidecar's");
            return rows(values.data(), shape[0], shape[1]);
        } catch (const std::exception& e) {
            ctx.info("cached CNN14 vectors " + file + " are damaged (" + as_error(e).message() + "); recomputing them");
            return std::nullopt;
        }
    }

    void write_cached(const std::string& file, const std::string& audio, const torch::Tensor& vectors) const {
        const torch::Tensor v = vectors.to(torch::kCPU).contiguous();
        std::vector<std::size_t> shape;
        for (int64_t d : v.sizes()) shape.push_back(static_cast<std::size_t>(d));
        write_cached_tensor(file, v.data_ptr<float>(), shape,
                            {{"audio", audio},
                             {"output", output_},
                             {"weights_sha256", weights_sha256_},
                             {"frame_hop_seconds", logmel() ? static_cast<double>(torchx::kCnn14Hop) / kCnn14SampleRateHz : 0.0},
                             {"chunk_seconds", whole_clip_ ? 0.0 : chunk_seconds()},
                             {"chunk_hop_seconds", whole_clip_ ? 0.0 : static_cast<double>(hop_samples_) / kCnn14SampleRateHz}});
    }

    // A song's chunks, (chunks × samples), at 32 kHz mono.
    torch::Tensor song_chunks(const std::string& path) const {
        std::vector<float> y = load_audio(path, kCnn14SampleRateHz, 0.0, AudioCrop::of(params_)).samples;
        if (static_cast<int64_t>(y.size()) < torchx::kCnn14MinSamples)
            throw Error(fmt::format("the audio is {:.2f} s long; CNN14 needs at least {:.2f} s",
                                    static_cast<double>(y.size()) / kCnn14SampleRateHz,
                                    static_cast<double>(torchx::kCnn14MinSamples) / kCnn14SampleRateHz));
        return torchx::cut_chunks(std::move(y), chunk_samples_, hop_samples_, whole_clip_);
    }

    torch::Tensor forward(const torchx::Cnn14Inference& model, const torch::Tensor& batch) const {
        if (logmel()) return model.logmel(batch);
        const torchx::Cnn14Outputs o = model.run(batch);
        if (output_ == "embedding") return o.embedding;
        if (output_ == "conv_max") return o.conv_max;
        if (output_ == "conv_mean_max") return o.conv_mean_max;
        return o.clipwise;
    }

    std::unique_ptr<torchx::Cnn14Inference> load_model(const torch::Device& device, const PluginContext& ctx) const {
        std::vector<std::string> extras;
        const auto state = torchx::read_torch_checkpoint(checkpoint_, &extras);
        torchx::Cnn14 model;
        torchx::load_state_dict(*model, state, checkpoint_);
        // The frozen front end must be CNN14's at 32 kHz; the checkpoint's is used, as PANNs does.
        const auto [real, imag] = torchx::cnn14_stft_kernels();
        const double stft_diff =
            std::max((model->spectrogram_extractor->stft->conv_real->weight - real).abs().max().item<double>(),
                     (model->spectrogram_extractor->stft->conv_imag->weight - imag).abs().max().item<double>());
        const double mel_diff = (model->logmel_extractor->melW - torchx::cnn14_mel_filterbank()).abs().max().item<double>();
        if (stft_diff > 1e-4 || mel_diff > 1e-4)
            ctx.info(fmt::format("note: the checkpoint's front end differs from CNN14's formulas (STFT kernels by {:.2g}, "
                                 "mel filterbank by {:.2g}); its own tensors are used",
                                 stft_diff, mel_diff));
        ctx.info(fmt::format("CNN14 weights loaded from {} (sha256 {}…{})", checkpoint_, weights_sha256_.substr(0, 12),
                             extras.empty() ? "" : fmt::format("; its other entries ignored: {}", fmt::join(extras, ", "))));
        model->eval();
        auto inference = std::make_unique<torchx::Cnn14Inference>(*model);
        inference->to(device);
        return inference;
    }

    void compute(const SongTable& songs, const std::vector<std::size_t>& todo, const std::vector<std::string>& files,
                 std::vector<Eigen::MatrixXf>& vectors, std::vector<std::string>& failures, const PluginContext& ctx) {
        const torch::Device device = torchx::start_inference(device_, ctx);
        const auto model = load_model(device, ctx);

        torchx::ChunkEmbedding job;
        job.batch_size = batch_size_;
        job.song_per_batch = whole_clip_;
        job.decode = [&](std::size_t row) { return song_chunks(songs.audio_paths[row]); };
        job.forward = [&](const torch::Tensor& batch) {
            try {
                return forward(*model, batch.to(device)).to(torch::kCPU);
            } catch (const c10::Error& e) {
                throw Error(std::string("CNN14 failed: ") + e.what_without_backtrace(), Location::of_node(ctx.node));
            }
        };
        job.finish = [&](std::size_t row, const torch::Tensor& out) {
            write_cached(files[row], songs.audio_paths[row], out);
            if (logmel()) return;
            const torch::Tensor v = out.contiguous();
            vectors[row] = rows(v.data_ptr<float>(), static_cast<std::size_t>(v.size(0)), static_cast<std::size_t>(v.size(1)));
        };
        torchx::embed_songs(todo, job, failures, ctx);
    }

    nlohmann::json params_;
    std::string checkpoint_, output_, pooling_;
    bool whole_clip_;
    int64_t batch_size_;
    std::string device_;
    int64_t chunk_samples_ = 0, hop_samples_ = 0;
    std::string weights_sha256_, cache_dir_;
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::PannsCnn14, "features.panns_cnn14", mer::plugins::kVersion,
           "PANNs CNN14 vectors (2048-d embeddings) of 3-s chunks on the official weights, pooled per song")
