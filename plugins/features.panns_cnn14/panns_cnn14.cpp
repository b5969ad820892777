// features.panns_cnn14: the report's Phase 3 input — each song cut into 3-s
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

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "core/audio/audio.hpp"
#include "core/data/npy.hpp"
#include "core/error.hpp"
#include "core/plugin/capabilities.hpp"
#include "core/plugin/features.hpp"
#include "core/run/files.hpp"
#include "core/run/heap.hpp"
#include "core/torch/chunk_regressor.hpp"
#include "core/torch/cnn14.hpp"

namespace mer::plugins {

namespace fs = std::filesystem;
using torchx::kCnn14SampleRateHz;

namespace {
const char* kVersion = "1.0.0";

// A decoded song waiting for the network: its chunks (chunks × samples) and
// how many of them have gone through.
struct SongWork {
    std::size_t row = 0;
    torch::Tensor chunks;
    torch::Tensor out;  // chunks × width, filled batch by batch
    int64_t sent = 0, done = 0;
};

// What the decoding thread hands over: a song's chunks or why it cannot be used.
struct Decoded {
    std::size_t row = 0;
    torch::Tensor chunks;
    std::string failure;
    std::optional<Error> fatal;  // the machine's trouble: stops the node
};
}  // namespace

class PannsCnn14 : public FeaturesPlugin {
public:
    static constexpr const char* kCapabilities = R"({"fingerprint": ["checkpoint"], "output_shape": true})";

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
        out.feature_names = logmel() ? std::vector<std::string>{} : column_names();
        out.features.resize(static_cast<Eigen::Index>(kept.size()), static_cast<Eigen::Index>(out.feature_names.size()));
        out.tensor_paths.clear();
        for (std::size_t r = 0; r < kept.size(); ++r) {
            if (!logmel()) out.features.row(static_cast<Eigen::Index>(r)) = pooled(vectors[kept[r]]);
            out.tensor_paths.push_back(files[kept[r]]);
        }
        out.chunk_timing = {chunk_seconds(), whole_clip_ ? 0.0 : static_cast<double>(hop_samples_) / kCnn14SampleRateHz,
                            logmel() ? static_cast<double>(torchx::kCnn14Hop) / kCnn14SampleRateHz : 0.0};
        ctx.info(fmt::format("{} songs as CNN14 {} {} ({} from the feature cache)", kept.size(), output_,
                             logmel() ? "chunks" : "vectors", cached));
        return out;
    }

    nlohmann::json query(const std::string& capability) const override {
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

    std::vector<std::string> column_names() const {
        std::vector<std::string> names;
        const std::vector<std::string> suffixes =
            pooling_ == "mean_max" ? std::vector<std::string>{"_mean", "_max"} : std::vector<std::string>{""};
        for (const auto& suffix : suffixes)
            for (int64_t c = 1; c <= width(); ++c) names.push_back(fmt::format("cnn14_{}_{}{}", output_, c, suffix));
        return names;
    }

    // A C-order (row-major) chunks × width buffer as a matrix.
    static Eigen::MatrixXf rows(const float* values, std::size_t chunks, std::size_t width) {
        return Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
            values, static_cast<Eigen::Index>(chunks), static_cast<Eigen::Index>(width));
    }

    Eigen::RowVectorXd pooled(const Eigen::MatrixXf& chunks) const {
        const Eigen::RowVectorXd mean = chunks.cast<double>().colwise().mean();
        const Eigen::RowVectorXd max = chunks.cast<double>().colwise().maxCoeff();
        if (pooling_ == "mean") return mean;
        if (pooling_ == "max") return max;
        Eigen::RowVectorXd both(mean.size() * 2);
        both << mean, max;
        return both;
    }

    // The chunk vectors' file: keyed by the audio file, the parameters that
    // change the vectors, and the weights' content (not their file's name).
    fs::path cache_file(const std::string& audio) const {
        const auto f = file_fingerprint(audio);
        if (!f) throw Error("audio file missing");
        nlohmann::json params = without_whole_crop(params_);
        params.erase("checkpoint");
        params.erase("pooling");  // pooled from the cached chunk vectors
        params.erase("batch_size");
        params.erase("device");
        const std::string key =
            sha256_hex(fmt::format("{}|{}|{}.{}|{}|{}|{}", kVersion, f->size, f->mtime_seconds, f->mtime_nanoseconds,
                                   params.dump(), f->head_sha256, weights_sha256_));
        return fs::path(cache_dir_) / key.substr(0, 2) / (key + ".npy");
    }

    // The cached chunk vectors, if intact (checksum and shape in the sidecar).
    std::optional<Eigen::MatrixXf> read_cached(const std::string& file, const PluginContext& ctx) const {
        const fs::path sidecar = fs::path(file).replace_extension(".json");
        std::error_code ec;
        if (!fs::is_regular_file(sidecar, ec) || !fs::is_regular_file(file, ec)) return std::nullopt;
        try {
            const nlohmann::json about = read_json_file(sidecar);
            if (sha256_file(file) != about.at("sha256").get<std::string>())
                throw Error("its checksum does not match");
            std::vector<std::size_t> shape;
            const std::vector<float> values = read_npy_float32(file, shape);
            if (shape.empty() || shape[0] == 0 || std::vector<std::size_t>(shape.begin() + 1, shape.end()) != chunk_shape())
                throw Error("its shape is not (chunks, " + nlohmann::json(chunk_shape()).dump() + ")");
            if (logmel()) return Eigen::MatrixXf();
            return rows(values.data(), shape[0], shape[1]);
        } catch (const std::exception& e) {
            ctx.info("cached CNN14 vectors " + file + " are damaged (" + as_error(e).message() + "); recomputing them");
            return std::nullopt;
        }
    }

    void write_cached(const std::string& file, const std::string& audio, const torch::Tensor& vectors) const {
        const fs::path path(file);
        create_folder(path.parent_path(), "cache folder");
        const torch::Tensor v = vectors.to(torch::kCPU).contiguous();
        std::vector<std::size_t> shape;
        for (int64_t d : v.sizes()) shape.push_back(static_cast<std::size_t>(d));
        write_npy(path, v.data_ptr<float>(), shape);
        write_file_atomic(fs::path(path).replace_extension(".json"),
                          nlohmann::json{{"audio", audio},
                                         {"sha256", sha256_file(path)},
                                         {"shape", shape},
                                         {"output", output_},
                                         {"weights_sha256", weights_sha256_},
                                         {"frame_hop_seconds",
                                          logmel() ? static_cast<double>(torchx::kCnn14Hop) / kCnn14SampleRateHz : 0.0},
                                         {"chunk_seconds", whole_clip_ ? 0.0 : chunk_seconds()},
                                         {"chunk_hop_seconds",
                                          whole_clip_ ? 0.0 : static_cast<double>(hop_samples_) / kCnn14SampleRateHz}}
                                  .dump(2) +
                              "\n");
    }

    // A song's chunks, (chunks × samples), at 32 kHz mono.
    torch::Tensor song_chunks(const std::string& path) const {
        std::vector<float> y = load_audio(path, kCnn14SampleRateHz, 0.0, AudioCrop::of(params_)).samples;
        if (static_cast<int64_t>(y.size()) < torchx::kCnn14MinSamples)
            throw Error(fmt::format("the audio is {:.2f} s long; CNN14 needs at least {:.2f} s",
                                    static_cast<double>(y.size()) / kCnn14SampleRateHz,
                                    static_cast<double>(torchx::kCnn14MinSamples) / kCnn14SampleRateHz));
        const auto length = static_cast<int64_t>(y.size());
        if (whole_clip_) return torch::from_blob(y.data(), {1, length}, torch::kFloat32).clone();
        if (length < chunk_samples_) y.resize(static_cast<std::size_t>(chunk_samples_), 0.0f);  // one padded chunk
        const int64_t count = 1 + (static_cast<int64_t>(y.size()) - chunk_samples_) / hop_samples_;
        torch::Tensor chunks = torch::empty({count, chunk_samples_}, torch::kFloat32);
        for (int64_t c = 0; c < count; ++c)
            std::copy_n(y.data() + c * hop_samples_, chunk_samples_, chunks.data_ptr<float>() + c * chunk_samples_);
        return chunks;
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
        const std::string asked = device_.empty() ? ctx.device : device_;
        const torch::Device device = torchx::resolve_device(asked);
        ctx.record("device", {{"asked", asked}, {"used", device.str()}});
        at::set_num_threads(std::max(1, ctx.threads));
        const auto model = load_model(device, ctx);

        // The decoding thread: songs in order, at most a few ahead.
        std::mutex mutex;
        std::condition_variable changed;
        std::deque<Decoded> ready;
        bool stop = false;
        constexpr std::size_t kAhead = 4;
        std::thread decoder([&] {
            for (std::size_t row : todo) {
                Decoded d;
                d.row = row;
                try {
                    d.chunks = song_chunks(songs.audio_paths[row]);
                } catch (const std::bad_alloc&) {
                    d.failure = "not enough memory to decode this song";
                } catch (const std::exception& e) {
                    Error error = as_error(e);
                    if (error.kind() == ErrorKind::input) d.failure = error.message();
                    else d.fatal = std::move(error);
                }
                std::unique_lock<std::mutex> lock(mutex);
                changed.wait(lock, [&] { return stop || ready.size() < kAhead; });
                if (stop) return;
                ready.push_back(std::move(d));
                changed.notify_all();
            }
        });
        struct Join {  // the decoder stops and is joined however this function ends
            std::mutex& mutex;
            std::condition_variable& changed;
            bool& stop;
            std::thread& thread;
            ~Join() {
                {
                    std::lock_guard<std::mutex> lock(mutex);
                    stop = true;
                }
                changed.notify_all();
                thread.join();
            }
        } join{mutex, changed, stop, decoder};

        std::deque<SongWork> working;
        std::size_t received = 0, finished = 0;
        ctx.report_progress(0, todo.size());
        auto finish = [&](SongWork& w) {
            write_cached(files[w.row], songs.audio_paths[w.row], w.out);
            if (logmel()) {
                ctx.report_progress(++finished, todo.size());
                return;
            }
            const torch::Tensor v = w.out.to(torch::kCPU).contiguous();
            vectors[w.row] = rows(v.data_ptr<float>(), static_cast<std::size_t>(v.size(0)), static_cast<std::size_t>(v.size(1)));
            ctx.report_progress(++finished, todo.size());
        };
        while (finished < todo.size()) {
            // Take decoded songs until a batch is full (or none are left to come).
            int64_t waiting = 0;
            for (const auto& w : working) waiting += w.chunks.size(0) - w.sent;
            while (received < todo.size() && (whole_clip_ ? working.empty() : waiting < batch_size_)) {
                Decoded d;
                {
                    std::unique_lock<std::mutex> lock(mutex);
                    changed.wait(lock, [&] { return !ready.empty(); });
                    d = std::move(ready.front());
                    ready.pop_front();
                    changed.notify_all();
                }
                ++received;
                if (d.fatal) throw *d.fatal;
                if (!d.failure.empty()) {
                    failures[d.row] = d.failure;
                    ctx.report_progress(++finished, todo.size());
                    continue;
                }
                SongWork w;
                w.row = d.row;
                w.chunks = std::move(d.chunks);
                waiting += w.chunks.size(0);
                working.push_back(std::move(w));
            }
            if (working.empty()) continue;
            // One batch: the next chunks in song order, up to batch_size.
            std::vector<torch::Tensor> parts;
            std::vector<std::pair<SongWork*, int64_t>> from;  // song, chunks taken
            int64_t taken = 0;
            for (auto& w : working) {
                const int64_t k = std::min(w.chunks.size(0) - w.sent, batch_size_ - taken);
                if (k <= 0) continue;
                parts.push_back(w.chunks.slice(0, w.sent, w.sent + k));
                from.emplace_back(&w, k);
                w.sent += k;
                taken += k;
                if (taken >= batch_size_ || whole_clip_) break;
            }
            torch::Tensor result;
            try {
                result = forward(*model, torch::cat(parts, 0).to(device)).to(torch::kCPU);
            } catch (const c10::Error& e) {
                throw Error(std::string("CNN14 failed: ") + e.what_without_backtrace(), Location::of_node(ctx.node));
            }
            int64_t at = 0;
            for (auto& [w, k] : from) {
                if (!w->out.defined()) {
                    std::vector<int64_t> shape(result.sizes().begin(), result.sizes().end());
                    shape[0] = w->chunks.size(0);
                    w->out = torch::empty(shape, torch::kFloat32);
                }
                w->out.slice(0, w->done, w->done + k).copy_(result.slice(0, at, at + k));
                w->done += k;
                at += k;
            }
            while (!working.empty() && working.front().done == working.front().chunks.size(0)) {
                finish(working.front());
                working.pop_front();
            }
        }
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
