// features.torchscript: embeddings from any audio model exported from
// PyTorch (TorchScript: MERT, HuBERT, wav2vec2, CLAP's audio encoder, PANNs,
// …). Each song is resampled to the model's rate, cut into chunks (or taken
// whole), and the chunks go through the model in batches across songs while
// the next songs decode; the model's output — a tensor, an element of a
// tuple or dict, or one tensor per layer (hidden states) — is pooled over
// the model's own frames, then over the song's chunks. The file's defaults
// may ride inside it (an extra file mer.json); docs/backbones.md.
//
// The cache keeps every layer of a hidden-states model (chunks × layers ×
// width per song), so a sweep over `layer` runs the network once.
#include <fmt/format.h>

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
#include "core/torch/script_module.hpp"

namespace mer::plugins {

namespace fs = std::filesystem;

namespace {
const char* kVersion = "1.0.0";

// A parameter, else the file's mer.json entry, else null.
nlohmann::json setting(const nlohmann::json& params, const nlohmann::json& defaults, const char* key) {
    if (params.contains(key) && !params[key].is_null()) return params[key];
    if (defaults.is_object() && defaults.contains(key)) return defaults[key];
    return nullptr;
}
}  // namespace

class TorchscriptFeatures : public FeaturesPlugin {
public:
    static constexpr const char* kCapabilities = R"({"fingerprint": ["model"], "output_shape": true, "device": true, "crop": true, "windows": true})";

    explicit TorchscriptFeatures(const nlohmann::json& p)
        : params_(p),
          model_(p.at("model").get<std::string>()),
          time_pooling_(p.at("time_pooling").get<std::string>()),
          pooling_(p.at("pooling").get<std::string>()),
          whole_clip_(p.at("whole_clip").get<bool>()),
          batch_size_(p.at("batch_size").get<int64_t>()),
          device_(p.at("device").get<std::string>()) {
        // A missing file is reported by the host's check of fingerprinted
        // files, before anything runs; the node reads it when it runs.
        std::error_code ec;
        if (fs::is_regular_file(model_, ec)) set_up();
    }

    SongTable extract(const SongTable& songs, const PluginContext& ctx) override {
        if (songs.audio_paths.empty())
            throw Error("features.torchscript needs songs with audio; use a dataset such as dataset.deam",
                        Location::of_node(ctx.node));
        if (ctx.cache_dir.empty())
            throw Error("features.torchscript keeps its chunk vectors in the cache folder, and none is set");
        if (sample_rate_ == 0) set_up();
        keep_large_blocks_in_heap();
        node_ = ctx.node;
        cache_dir_ = ctx.cache_dir;
        model_sha256_ = sha256_file(model_);
        const std::size_t n = songs.size();
        std::vector<Eigen::MatrixXf> vectors(n);  // the chosen layer's chunks × width per song
        std::vector<std::string> files(n), failures(n), inputs(n);
        std::vector<std::size_t> todo;
        std::size_t cached = 0;
        for (std::size_t i = 0; i < n; ++i) {
            std::optional<std::vector<float>> hit;
            std::vector<std::size_t> shape;
            try {
                files[i] = cache_file(songs.audio_paths[i]).string();
                hit = read_cached(files[i], shape, ctx);
            } catch (const Error& e) {
                if (e.kind() != ErrorKind::input) throw;
                failures[i] = e.message();
                continue;
            }
            if (!hit) {
                todo.push_back(i);
                continue;
            }
            vectors[i] = chosen(*hit, shape);  // a layer out of range stops the node
            ++cached;
        }
        if (!todo.empty()) compute(songs, todo, files, vectors, failures, ctx);

        std::vector<std::size_t> kept;
        for (std::size_t i = 0; i < n; ++i) {
            if (failures[i].empty()) {
                kept.push_back(i);
                inputs[i] = chunk_file(files[i], vectors[i]);
            } else {
                ctx.skip_song(songs.song_ids[i], songs.audio_paths[i], failures[i]);
            }
        }
        SongTable out = songs.rows(kept);
        const Eigen::Index width = kept.empty() ? 0 : vectors[kept.front()].cols();
        out.feature_names = column_names(width);
        out.features.resize(static_cast<Eigen::Index>(kept.size()), static_cast<Eigen::Index>(out.feature_names.size()));
        out.tensor_paths.clear();
        for (std::size_t r = 0; r < kept.size(); ++r) {
            out.features.row(static_cast<Eigen::Index>(r)) = torchx::pool_chunks(vectors[kept[r]], pooling_);
            out.tensor_paths.push_back(inputs[kept[r]]);
        }
        out.chunk_timing = {chunk_seconds(), whole_clip_ ? 0.0 : static_cast<double>(hop_samples_) / sample_rate_, 0.0};
        ctx.info(fmt::format("{} songs as {}-d vectors of {}{} ({} from the feature cache)", kept.size(), width,
                             fs::path(model_).filename().string(), layered_ ? ", " + layer_text() : "", cached));
        return out;
    }

    nlohmann::json query(const std::string& capability) const override {
        if (capability == capability::kWindows)  // a whole clip is one window, not windows over time
            return params_.at("whole_clip").get<bool>() ? nlohmann::json()
                                                        : nlohmann::json{{"seconds", params_.at("chunk_seconds")},
                                                                         {"hop_seconds", params_.at("hop_seconds")}};
        if (capability != capability::kOutputShape || width_ <= 0) return nullptr;
        // mean_max doubles the width of an output with a frames axis only.
        if (time_pooling_ == "mean_max" && !frames_.is_boolean()) return nullptr;
        const int64_t factor = time_pooling_ == "mean_max" && frames_.get<bool>() ? 2 : 1;
        return {{"shape", {width_ * factor}}, {"axes", {"features"}}, {"params", {nullptr}}};
    }

private:
    void set_up() {
        defaults_ = torchx::script_defaults(model_);
        read_defaults();
        chunk_samples_ = std::max<int64_t>(1, std::llround(params_.at("chunk_seconds").get<double>() * sample_rate_));
        hop_samples_ = std::max<int64_t>(1, std::llround(params_.at("hop_seconds").get<double>() * sample_rate_));
    }

    // The settings a parameter or the file's mer.json gives, checked.
    void read_defaults() {
        const std::string file = fs::path(model_).filename().string();
        auto bad = [&](const std::string& what) {
            return Error(fmt::format("{}'s mer.json: {}", file, what), Location(model_));
        };
        const nlohmann::json rate = setting(params_, defaults_, "sample_rate");
        if (rate.is_null()) {
            throw Error(fmt::format("sample_rate: {} carries no mer.json naming the rate the model takes; give it "
                                    "(16000 for HuBERT and wav2vec2, 24000 for MERT, 48000 for CLAP, 32000 for PANNs)",
                                    file));
        } else if (!rate.is_number_integer() || rate.get<int64_t>() < 1000 || rate.get<int64_t>() > 384000) {
            throw bad("sample_rate must be an integer from 1000 to 384000, not " + rate.dump());
        } else {
            sample_rate_ = rate.get<int>();
        }
        output_ = setting(params_, defaults_, "output");
        if (!output_.is_null() && !output_.is_string() && !(output_.is_number_integer() && output_.get<int64_t>() >= 0))
            throw bad("output must be an index (0, 1, …) or a key, not " + output_.dump());
        layer_ = setting(params_, defaults_, "layer");
        if (!layer_.is_null() && !layer_.is_number_integer() && layer_ != "mean")
            throw bad("layer must be an integer or \"mean\", not " + layer_.dump());
        const nlohmann::json normalize = setting(params_, defaults_, "normalize");
        if (!normalize.is_null() && !normalize.is_boolean()) throw bad("normalize must be true or false, not " + normalize.dump());
        normalize_ = normalize.is_boolean() && normalize.get<bool>();
        // The width and layer count the file declares are those of its own output.
        if (defaults_.is_object() && params_.value("output", nlohmann::json()).is_null()) {
            for (const char* key : {"layers", "width"}) {
                if (!defaults_.contains(key)) continue;
                const nlohmann::json& v = defaults_[key];
                if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > (1 << 20))
                    throw bad(fmt::format("{} must be a positive integer, not {}", key, v.dump()));
            }
            width_ = defaults_.value("width", int64_t{0});
            frames_ = defaults_.value("frames", nlohmann::json());
            if (!frames_.is_null() && !frames_.is_boolean()) throw bad("frames must be true or false, not " + frames_.dump());
            if (defaults_.contains("layers")) {
                layers_ = defaults_["layers"].get<int64_t>();
                resolve_layer(layers_, {});  // an index out of range is refused now
            }
        }
    }

    double chunk_seconds() const { return static_cast<double>(chunk_samples_) / sample_rate_; }
    std::string layer_text() const {
        return layer_.is_null() ? "last layer" : "layer " + (layer_.is_string() ? layer_.get<std::string>() : layer_.dump());
    }

    // The layer asked for among `count` (an index from 0), or -1 for their mean.
    int64_t resolve_layer(int64_t count, const Location& where) const {
        if (layer_ == "mean") return -1;
        const int64_t asked = layer_.is_null() ? -1 : layer_.get<int64_t>();
        const int64_t index = asked < 0 ? count + asked : asked;
        if (index < 0 || index >= count)
            throw Error(fmt::format("layer: {} is out of range: {} has {} layers (0 … {}, or -{} … -1, or mean)", asked,
                                    fs::path(model_).filename().string(), count, count - 1, count),
                        where);
        return index;
    }

    std::vector<std::string> column_names(Eigen::Index width) const {
        const std::string stem = !layered_ ? "ts" : layer_ == "mean" ? "ts_layermean" : fmt::format("ts_layer{}", chosen_layer_);
        return torchx::pooled_columns(stem, width, pooling_);
    }

    // The cache entry: every layer the model gives, so the key leaves out
    // `layer` (and what only pools, batches or places the work).
    fs::path cache_file(const std::string& audio) const {
        nlohmann::json key = without_whole_crop(params_);
        for (const char* k : {"model", "layer", "pooling", "batch_size", "device"}) key.erase(k);
        key["sample_rate"] = sample_rate_;
        key["output"] = output_;
        key["normalize"] = normalize_;
        return song_tensor_file(cache_dir_, audio, kVersion, key, model_sha256_);
    }

    // The cached outputs (chunks × width, or chunks × layers × width), if intact.
    std::optional<std::vector<float>> read_cached(const std::string& file, std::vector<std::size_t>& shape,
                                                  const PluginContext& ctx) const {
        const auto about = [&]() -> std::optional<nlohmann::json> {
            std::error_code ec;
            const fs::path sidecar = fs::path(file).replace_extension(".json");
            if (!fs::is_regular_file(sidecar, ec)) return std::nullopt;
            try {
                return read_json_file(sidecar);
            } catch (const std::exception&) {
                return nlohmann::json::object();
            }
        }();
        if (!about) return std::nullopt;
        const std::size_t rank = about->value("shape", nlohmann::json::array()).size();
        const auto problem = cached_tensor_problem(file, std::vector<std::size_t>(rank == 3 ? 2 : 1, 0));
        if (!problem) return std::nullopt;
        try {
            if (!problem->empty()) throw Error(*problem);
            std::vector<float> values = read_npy_float32(file, shape);
            if (shape != about->at("shape").get<std::vector<std::size_t>>()) throw Error("its shape differs from its sidecar's");
            return values;
        } catch (const std::exception& e) {
            ctx.info("cached vectors " + file + " are damaged (" + as_error(e).message() + "); recomputing them");
            return std::nullopt;
        }
    }

    // The asked layer's chunks × width from what the model gave.
    Eigen::MatrixXf chosen(const std::vector<float>& values, const std::vector<std::size_t>& shape) {
        using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
        const auto chunks = static_cast<Eigen::Index>(shape[0]);
        if (shape.size() == 2) {
            no_layers_here();
            return Eigen::Map<const RowMajor>(values.data(), chunks, static_cast<Eigen::Index>(shape[1]));
        }
        const auto count = static_cast<int64_t>(shape[1]);
        const auto width = static_cast<Eigen::Index>(shape[2]);
        layered_ = true;
        chosen_layer_ = resolve_layer(count, Location::of_node(node_));
        Eigen::MatrixXf out = Eigen::MatrixXf::Zero(chunks, width);
        for (Eigen::Index c = 0; c < chunks; ++c)
            for (int64_t l = 0; l < count; ++l) {
                if (chosen_layer_ >= 0 && l != chosen_layer_) continue;
                out.row(c) += Eigen::Map<const Eigen::RowVectorXf>(
                    values.data() + (static_cast<std::size_t>(c) * static_cast<std::size_t>(count) + static_cast<std::size_t>(l)) *
                                        static_cast<std::size_t>(width),
                    width);
            }
        if (chosen_layer_ < 0) out /= static_cast<float>(count);
        return out;
    }

    void no_layers_here() const {
        if (!layer_.is_null() && params_.value("layer", nlohmann::json()).is_null()) return;  // the file's default
        if (!layer_.is_null())
            throw Error(fmt::format("layer: {} picks one of the model's hidden states, and {} gives one tensor{}, not "
                                    "one per layer; leave layer out",
                                    layer_.dump(), fs::path(model_).filename().string(),
                                    output_.is_null() ? "" : " at output " + output_.dump()),
                        Location::of_node(node_));
    }

    // The file models read chunk by chunk: the cache entry itself, or for a
    // hidden-states model the chosen layer's chunks beside it, made from the
    // entry as it is now (its sidecar names the entry's SHA-256).
    std::string chunk_file(const std::string& file, const Eigen::MatrixXf& chunks) const {
        if (!layered_) return file;
        const fs::path derived = fs::path(file).replace_extension("").string() + "-" +
                                 (chosen_layer_ < 0 ? std::string("mean") : std::to_string(chosen_layer_)) + ".npy";
        const std::string from = read_json_file(fs::path(file).replace_extension(".json")).at("sha256").get<std::string>();
        const auto problem = cached_tensor_problem(derived, {static_cast<std::size_t>(chunks.cols())});
        if (problem && problem->empty() &&
            read_json_file(fs::path(derived).replace_extension(".json")).value("from_sha256", "") == from)
            return derived.string();
        const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> rows = chunks;
        write_cached_tensor(derived, rows.data(), {static_cast<std::size_t>(rows.rows()), static_cast<std::size_t>(rows.cols())},
                            {{"from", file},
                             {"from_sha256", from},
                             {"layer", layer_.is_null() ? nlohmann::json(chosen_layer_) : layer_}});
        return derived.string();
    }

    // A song's chunks (chunks × samples) at the model's rate, normalised if asked.
    torch::Tensor song_chunks(const std::string& path) const {
        std::vector<float> y = load_audio(path, sample_rate_, 0.0, AudioCrop::of(params_)).samples;
        if (y.empty()) throw Error("the audio holds no samples");
        torch::Tensor chunks = torchx::cut_chunks(std::move(y), chunk_samples_, hop_samples_, whole_clip_);
        if (normalize_) {  // as Wav2Vec2FeatureExtractor's do_normalize, per chunk
            const torch::Tensor mean = chunks.mean(1, true);
            const torch::Tensor var = chunks.var(1, /*unbiased=*/false, /*keepdim=*/true);
            chunks = (chunks - mean) / torch::sqrt(var + 1e-7);
        }
        return chunks;
    }

    // One output tensor (batch × width or batch × frames × width) as batch × width'.
    torch::Tensor vectors_of(const torch::Tensor& t, int64_t batch, const std::string& what) const {
        auto refuse = [&](const std::string& why) {
            return Error(fmt::format("{} gives {} for a batch of {} chunks: {}", fs::path(model_).filename().string(),
                                     torchx::describe_value(t) + (what.empty() ? "" : " (" + what + ")"), batch, why),
                         Location::of_node(node_));
        };
        if (!at::isFloatingType(t.scalar_type()))
            throw refuse("expected floating-point values (an embedding), not " + std::string(c10::toString(t.scalar_type())));
        if (t.dim() < 2 || t.dim() > 3 || t.size(0) != batch)
            throw refuse("expected (batch, width) or (batch, frames, width)");
        const torch::Tensor x = t.to(torch::kCPU).to(torch::kFloat32);
        framed_ = x.dim() == 3;
        if (x.dim() == 2) {
            if (x.size(1) == 0) throw refuse("vectors of width 0");
            return x;
        }
        if (x.size(1) == 0) throw refuse("no frames to pool (is the chunk shorter than the model's first frame? raise chunk_seconds)");
        if (x.size(2) == 0) throw refuse("vectors of width 0");
        if (time_pooling_ == "mean") return x.mean(1);
        if (time_pooling_ == "max") return std::get<0>(x.max(1));
        return torch::cat({x.mean(1), std::get<0>(x.max(1))}, 1);
    }

    // The forward's result, reduced to batch × width' (one tensor) or
    // batch × layers × width' (hidden states).
    torch::Tensor outputs_of(const c10::IValue& result, int64_t batch) const {
        c10::IValue v = result;
        std::string what;
        const std::string file = fs::path(model_).filename().string();
        if (v.isTuple() || v.isGenericDict()) {
            const bool dict = v.isGenericDict();
            {
                std::vector<c10::IValue> elements;
                std::vector<std::string> keys;
                if (dict) {
                    for (const auto& entry : v.toGenericDict()) {
                        elements.push_back(entry.value());
                        keys.push_back(entry.key().isString() ? entry.key().toStringRef() : "?");
                    }
                } else {
                    for (const auto& e : v.toTupleRef().elements()) elements.push_back(e);
                }
                std::size_t index = 0;
                if (output_.is_string()) {
                    const auto at = std::find(keys.begin(), keys.end(), output_.get<std::string>());
                    if (at == keys.end())
                        throw Error(fmt::format("output: {} gives {}, with no key {}", file, torchx::describe_value(v),
                                                output_.dump()),
                                    Location::of_node(node_));
                    index = static_cast<std::size_t>(at - keys.begin());
                } else if (output_.is_number_integer()) {
                    index = output_.get<std::size_t>();
                    if (index >= elements.size())
                        throw Error(fmt::format("output: {} is out of range: {} gives {}", index, file, torchx::describe_value(v)),
                                    Location::of_node(node_));
                }
                if (elements.empty()) throw Error(file + " gives an empty " + (dict ? "dict" : "tuple"), Location::of_node(node_));
                what = "output " + (dict ? keys[index] : std::to_string(index));
                v = elements[index];
            }
        } else if (!output_.is_null()) {
            throw Error(fmt::format("output: {} picks an element of a tuple or dict, and {} gives {}", output_.dump(), file,
                                    torchx::describe_value(v)),
                        Location::of_node(node_));
        }
        if (v.isTensor()) return vectors_of(v.toTensor(), batch, what);
        if (!all_tensors(v))
            throw Error(fmt::format("{} gives {}{}; expected a tensor, one tensor per layer (a list or tuple), or a tuple or "
                                    "dict holding one (choose it with output)",
                                    file, torchx::describe_value(v), what.empty() ? "" : " at " + what),
                        Location::of_node(node_));
        std::vector<torch::Tensor> layers;
        for (const auto& t : tensors(v)) layers.push_back(vectors_of(t, batch, what));
        for (const auto& l : layers)
            if (l.sizes() != layers.front().sizes())
                throw Error(fmt::format("{} gives layers of different widths ({} and {})", file, layers.front().size(1), l.size(1)),
                            Location::of_node(node_));
        return torch::stack(layers, 1);
    }

    static bool all_tensors(const c10::IValue& v) {
        if (v.isTensorList()) return v.toTensorList().size() > 0;
        if (!v.isTuple() && !v.isList()) return false;
        const auto elements = tensors_or_none(v);
        return !elements.empty();
    }
    static std::vector<torch::Tensor> tensors_or_none(const c10::IValue& v) {
        std::vector<torch::Tensor> out;
        auto add = [&](const c10::IValue& e) {
            if (!e.isTensor()) return false;
            out.push_back(e.toTensor());
            return true;
        };
        if (v.isTuple()) {
            for (const auto& e : v.toTupleRef().elements())
                if (!add(e)) return {};
        } else if (v.isList()) {
            for (const auto& e : v.toListRef())
                if (!add(e)) return {};
        }
        return out;
    }
    static std::vector<torch::Tensor> tensors(const c10::IValue& v) {
        if (v.isTensorList()) return v.toTensorVector();
        return tensors_or_none(v);
    }

    void write_cached(const std::string& file, const std::string& audio, const torch::Tensor& out) const {
        const torch::Tensor v = out.contiguous();
        std::vector<std::size_t> shape;
        for (int64_t d : v.sizes()) shape.push_back(static_cast<std::size_t>(d));
        write_cached_tensor(file, v.data_ptr<float>(), shape,
                            {{"audio", audio},
                             {"model_sha256", model_sha256_},
                             {"sample_rate_hz", sample_rate_},
                             {"axes", v.dim() == 3 ? nlohmann::json{"chunks", "layers", "features"}
                                                   : nlohmann::json{"chunks", "features"}},
                             {"chunk_seconds", whole_clip_ ? 0.0 : chunk_seconds()},
                             {"chunk_hop_seconds", whole_clip_ ? 0.0 : static_cast<double>(hop_samples_) / sample_rate_}});
    }

    void compute(const SongTable& songs, const std::vector<std::size_t>& todo, const std::vector<std::string>& files,
                 std::vector<Eigen::MatrixXf>& vectors, std::vector<std::string>& failures, const PluginContext& ctx) {
        const torch::Device device = torchx::start_inference(device_, ctx);
        torch::jit::Module model = torchx::load_script(model_, device);
        ctx.info(fmt::format("TorchScript model loaded from {} (sha256 {}…), {} Hz{}", model_, model_sha256_.substr(0, 12),
                             sample_rate_, normalize_ ? ", waveforms normalised per chunk" : ""));
        auto failed = [&](const torch::Tensor& batch, const std::string& why) {
            return Error(fmt::format("{} failed on a batch of {} chunks of {} samples: {}",
                                     fs::path(model_).filename().string(), batch.size(0), batch.size(1), why),
                         Location::of_node(ctx.node));
        };
        std::vector<int64_t> first;  // the first batch's output shape past the batch axis
        torchx::ChunkEmbedding job;
        job.batch_size = batch_size_;
        job.song_per_batch = whole_clip_;
        job.decode = [&](std::size_t row) { return song_chunks(songs.audio_paths[row]); };
        job.forward = [&](const torch::Tensor& batch) {
            c10::IValue result;
            try {
                torch::NoGradGuard no_grad;
                result = model.forward({batch.to(device)});
            } catch (const c10::Error& e) {
                throw failed(batch, e.what_without_backtrace());
            } catch (const std::exception& e) {  // a `raise` in the model's code
                throw failed(batch, e.what());
            }
            torch::Tensor out = outputs_of(result, batch.size(0));
            const std::vector<int64_t> shape(out.sizes().begin() + 1, out.sizes().end());
            if (first.empty()) {
                first = shape;
                check_first(shape);
            } else if (shape != first) {
                throw Error(fmt::format("{} gave vectors of shape {} for one batch and {} for another",
                                        fs::path(model_).filename().string(), nlohmann::json(first).dump(),
                                        nlohmann::json(shape).dump()),
                            Location::of_node(ctx.node));
            }
            return out;
        };
        job.finish = [&](std::size_t row, const torch::Tensor& out) {
            if (!torch::isfinite(out).all().item<bool>())
                throw Error("the model's output holds NaN or infinite values for this song");
            write_cached(files[row], songs.audio_paths[row], out);
            std::vector<float> values(out.data_ptr<float>(), out.data_ptr<float>() + out.numel());
            std::vector<std::size_t> shape;
            for (int64_t d : out.sizes()) shape.push_back(static_cast<std::size_t>(d));
            vectors[row] = chosen(values, shape);
        };
        torchx::embed_songs(todo, job, failures, ctx);
    }

    // What the first batch showed against what the file's mer.json declared,
    // and the layer asked for against the layers there are.
    void check_first(const std::vector<int64_t>& shape) {
        const std::string file = fs::path(model_).filename().string();
        const int64_t width = shape.back() / (framed_ && time_pooling_ == "mean_max" ? 2 : 1);
        if (width_ > 0 && width != width_)
            throw Error(fmt::format("{} gives {}-d vectors, and its mer.json says width {}", file, width, width_),
                        Location(model_));
        if (shape.size() == 2) {
            if (layers_ > 0 && shape[0] != layers_)
                throw Error(fmt::format("{} gives {} layers, and its mer.json says layers {}", file, shape[0], layers_),
                            Location(model_));
            resolve_layer(shape[0], Location::of_node(node_));
        } else {
            no_layers_here();
        }
    }

    nlohmann::json params_, defaults_, output_, layer_;
    std::string model_, time_pooling_, pooling_;
    bool whole_clip_;
    int64_t batch_size_;
    std::string device_;
    int sample_rate_ = 0;
    bool normalize_ = false;
    int64_t width_ = 0, layers_ = 0;  // from mer.json; 0: not declared
    nlohmann::json frames_;           // from mer.json: whether the output has a frames axis (null: not declared)
    mutable bool framed_ = false;     // the last output had one
    int64_t chunk_samples_ = 0, hop_samples_ = 0;
    bool layered_ = false;
    int64_t chosen_layer_ = -1;
    std::string model_sha256_, cache_dir_, node_;
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::TorchscriptFeatures, "features.torchscript", mer::plugins::kVersion,
           "Embeddings from any audio model exported from PyTorch (TorchScript): one layer or all, pooled per song")
