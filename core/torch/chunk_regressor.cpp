// The shared LibTorch training loop (see chunk_regressor.hpp).
#include "core/torch/chunk_regressor.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <numeric>
#include <set>

#include "core/base/files.hpp"
#include "core/data/npy.hpp"
#include "core/error.hpp"
#include "core/plugin/capabilities.hpp"

namespace mer::torchx {

namespace fs = std::filesystem;

Chunks load_chunks(const SongTable& songs) {
    if (songs.tensor_paths.size() != songs.size())
        throw Error("this model reads log-mel chunks: put features.logmel_chunks between the dataset and the model");
    return load_chunk_files(songs, 4, "a chunks × 1 × mels × frames tensor");
}

Chunks load_chunk_files(const SongTable& songs, std::size_t rank, const std::string& layout) {
    const bool first_decides = rank == 0;
    std::vector<torch::Tensor> parts;
    Chunks out;
    out.songs = songs.size();
    for (std::size_t s = 0; s < songs.size(); ++s) {
        std::vector<std::size_t> shape;
        std::vector<float> values = read_npy_float32(songs.tensor_paths[s], shape);
        if (first_decides && s == 0) rank = shape.size();
        if (shape.size() != rank || shape[0] == 0)
            throw Error("expected " + layout + (first_decides ? fmt::format(" ({} axes)", rank) : ""),
                        Location(songs.tensor_paths[s]));
        std::vector<int64_t> dims(shape.begin(), shape.end());
        parts.push_back(torch::from_blob(values.data(), dims, torch::kFloat32).clone());
        for (std::size_t c = 0; c < shape[0]; ++c) out.song_of_chunk.push_back(static_cast<int64_t>(s));
    }
    out.x = torch::cat(parts, 0);
    return out;
}

Chunks table_rows(const SongTable& songs) {
    Chunks out;
    out.songs = songs.size();
    out.x = torch::empty({songs.features.rows(), songs.features.cols()}, torch::kFloat32);
    auto a = out.x.accessor<float, 2>();
    for (Eigen::Index r = 0; r < songs.features.rows(); ++r) {
        for (Eigen::Index c = 0; c < songs.features.cols(); ++c) a[r][c] = static_cast<float>(songs.features(r, c));
        out.song_of_chunk.push_back(r);
    }
    return out;
}

namespace {

// Each chunk gets its song's targets.
Eigen::MatrixXd chunk_targets(const SongTable& songs, const Chunks& chunks) {
    Eigen::MatrixXd y(static_cast<Eigen::Index>(chunks.song_of_chunk.size()), songs.targets.cols());
    for (std::size_t c = 0; c < chunks.song_of_chunk.size(); ++c)
        y.row(static_cast<Eigen::Index>(c)) = songs.targets.row(chunks.song_of_chunk[c]);
    return y;
}

// Song predictions: the mean of each song's chunk predictions.
Eigen::MatrixXd song_means(const Eigen::MatrixXd& per_chunk, const Chunks& chunks) {
    Eigen::MatrixXd sums = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(chunks.songs), per_chunk.cols());
    Eigen::VectorXd counts = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(chunks.songs));
    for (std::size_t c = 0; c < chunks.song_of_chunk.size(); ++c) {
        sums.row(chunks.song_of_chunk[c]) += per_chunk.row(static_cast<Eigen::Index>(c));
        counts(chunks.song_of_chunk[c]) += 1;
    }
    for (Eigen::Index s = 0; s < sums.rows(); ++s) sums.row(s) /= std::max(1.0, counts(s));
    return sums;
}

}  // namespace

// What Adam trains: every parameter at `learning_rate` (one group, as
// always), or, for a network with parameters at rates of their own (a
// pretrained backbone), those groups and one for the remaining trainable
// parameters; frozen ones (no gradient) are left out.
static std::vector<torch::optim::OptimizerParamGroup> parameter_groups(const ChunkNet& net, double learning_rate,
                                                                      double weight_decay) {
    const auto own = net.own_learning_rates();
    if (own.empty()) return {torch::optim::OptimizerParamGroup(net.parameters())};
    std::vector<torch::optim::OptimizerParamGroup> groups;
    std::set<const void*> placed;
    for (const auto& [params, rate] : own) {
        for (const auto& p : params) placed.insert(p.unsafeGetTensorImpl());
        groups.emplace_back(params, std::make_unique<torch::optim::AdamOptions>(
                                        torch::optim::AdamOptions(rate).weight_decay(weight_decay)));
    }
    std::vector<torch::Tensor> rest;
    for (const auto& p : net.parameters())
        if (p.requires_grad() && !placed.count(p.unsafeGetTensorImpl())) rest.push_back(p);
    groups.emplace_back(rest, std::make_unique<torch::optim::AdamOptions>(
                                  torch::optim::AdamOptions(learning_rate).weight_decay(weight_decay)));
    return groups;
}

struct ChunkRegressor::State {
    int64_t outputs = 0;
    std::shared_ptr<ChunkNet> net;
    torch::Device device = torch::kCPU;
    float mean = 0, scale = 1;                   // dataset normalisation
    torch::Tensor feature_mean, feature_scale;   // feature normalisation: per input value
    int64_t input_width = 0;
    int best_epoch = 0;

    // x normalised, on the training device, in one tensor: a GPU keeps a
    // fold's chunks resident (every batch is gathered there, none copied from
    // the host); on the CPU x itself is overwritten, block by block.
    torch::Tensor prepare(torch::Tensor x, const std::string& mode) const {
        torch::Tensor out = device.is_cpu() ? x : torch::empty(x.sizes(), x.options().device(device));
        const int64_t n = x.size(0), block = 1024;
        for (int64_t start = 0; start < n; start += block) {
            const int64_t end = std::min(n, start + block);
            out.slice(0, start, end).copy_(normalise(x.slice(0, start, end), mode));
        }
        return out;
    }

    // The network's outputs (rows × targets, float32, on the device) for
    // rows already prepared, or raw rows normalised batch by batch.
    torch::Tensor forward_all(const torch::Tensor& x, bool prepared, int64_t batch, const std::string& mode,
                              const std::string& precision) const {
        torch::NoGradGuard no_grad;
        net->eval();
        std::vector<torch::Tensor> outputs;
        const int64_t n = x.size(0);
        const Autocast autocast(device, precision);  // the weights cast once per pass
        for (int64_t start = 0; start < n; start += batch) {
            const torch::Tensor rows = x.slice(0, start, std::min(n, start + batch));
            const torch::Tensor in = prepared ? rows : normalise(rows, mode).to(device);
            outputs.push_back(net->forward(in).to(torch::kFloat32));
        }
        return torch::cat(outputs, 0);
    }

    torch::Tensor normalise(const torch::Tensor& x, const std::string& mode) const {
        if (mode == "dataset") return (x - mean) / scale;
        if (mode == "feature") return (x - feature_mean) / feature_scale;
        if (mode == "chunk") {
            std::vector<int64_t> dims(static_cast<std::size_t>(x.dim() - 1));
            std::iota(dims.begin(), dims.end(), 1);
            const auto m = x.mean(dims, true);
            const auto s = x.std(dims, false, true).clamp_min(1e-6);
            return (x - m) / s;
        }
        return x;
    }
};

ChunkRegressor::ChunkRegressor(const nlohmann::json& params)
    : settings_(TrainingSettings::from(params)), state_(std::make_unique<State>()) {}

ChunkRegressor::~ChunkRegressor() = default;

std::shared_ptr<ChunkNet> ChunkRegressor::network() const {
    return state_->net;
}
int ChunkRegressor::best_epoch() const {
    return state_->best_epoch;
}
int64_t ChunkRegressor::input_width() const {
    return state_->input_width;
}
void ChunkRegressor::set_input_width(int64_t width) {
    state_->input_width = width;
}

Eigen::MatrixXd ChunkRegressor::predict_chunks(const Chunks& chunks) const {
    try {
        if (!state_->net) throw Error("the model is not fitted");
        return to_matrix(state_->forward_all(chunks.x, false, std::max(1, settings_.batch_size) * 4,
                                             settings_.normalize, settings_.precision));
    } catch (const c10::Error& e) {
        throw torch_error(e, "rating chunks");
    }
}

std::vector<Eigen::MatrixXd> ChunkRegressor::predict_chunks(const SongTable& songs) const {
    try {
        const Chunks chunks = load_inputs(songs);
        const Eigen::MatrixXd all = predict_chunks(chunks);
        std::vector<Eigen::MatrixXd> out(songs.size());
        std::vector<std::vector<Eigen::Index>> rows(songs.size());
        for (std::size_t c = 0; c < chunks.song_of_chunk.size(); ++c)
            rows[static_cast<std::size_t>(chunks.song_of_chunk[c])].push_back(static_cast<Eigen::Index>(c));
        for (std::size_t s = 0; s < songs.size(); ++s) {
            out[s].resize(static_cast<Eigen::Index>(rows[s].size()), all.cols());
            for (std::size_t i = 0; i < rows[s].size(); ++i)
                out[s].row(static_cast<Eigen::Index>(i)) = all.row(rows[s][i]);
        }
        return out;
    } catch (const c10::Error& e) {
        throw torch_error(e, "rating chunks");
    }
}

Eigen::MatrixXd ChunkRegressor::predict(const SongTable& songs) const {
    try {
        const Chunks chunks = load_inputs(songs);
        return song_means(predict_chunks(chunks), chunks);
    } catch (const c10::Error& e) {
        throw torch_error(e, "rating songs");
    }
}

nlohmann::json ChunkRegressor::query(const std::string& capability) const {
    if (capability != capability::kInputShape) return nullptr;
    nlohmann::json shape = nlohmann::json::array();
    for (int64_t d : input_shape()) shape.push_back(d > 0 ? nlohmann::json(d) : nlohmann::json(nullptr));
    return {{"shape", shape}, {"axes", {"channels", "mels", "frames"}}};
}

void ChunkRegressor::save(const std::string& dir) const {
    try {
        if (!state_->net) throw Error("the model is not fitted");
        fs::create_directories(dir);
        torch::serialize::OutputArchive archive;
        state_->net->save(archive);
        save_archive(archive, fs::path(dir) / "model.pt");
        nlohmann::json meta{{"outputs", state_->outputs},
                            {"mean", state_->mean},
                            {"scale", state_->scale},
                            {"best_epoch", state_->best_epoch},
                            {"normalize", settings_.normalize}};
        if (settings_.normalize == "feature") {
            meta["feature_mean"] = std::vector<float>(state_->feature_mean.data_ptr<float>(),
                                                      state_->feature_mean.data_ptr<float>() + state_->feature_mean.numel());
            meta["feature_scale"] = std::vector<float>(
                state_->feature_scale.data_ptr<float>(), state_->feature_scale.data_ptr<float>() + state_->feature_scale.numel());
        }
        write_file_atomic(fs::path(dir) / "model.json", meta.dump(2) + "\n");
    } catch (const c10::Error& e) {
        throw torch_error(e, "saving the model");
    }
}

void ChunkRegressor::load(const std::string& dir) {
    try {
        const auto meta = nlohmann::json::parse(read_text_file(fs::path(dir) / "model.json"));
        state_->outputs = meta.at("outputs").get<int64_t>();
        state_->mean = meta.at("mean").get<float>();
        state_->scale = meta.at("scale").get<float>();
        state_->best_epoch = meta.at("best_epoch").get<int>();
        if (settings_.normalize == "feature") {
            auto values = [&](const char* key) {
                auto v = meta.at(key).get<std::vector<float>>();
                return torch::from_blob(v.data(), {static_cast<int64_t>(v.size())}, torch::kFloat32).clone();
            };
            state_->feature_mean = values("feature_mean");
            state_->feature_scale = values("feature_scale");
            if (state_->feature_mean.numel() != state_->feature_scale.numel())
                throw Error("feature_mean and feature_scale differ in length", Location((fs::path(dir) / "model.json").string()));
        }
        state_->net = make_network(state_->outputs, settings_.dropout);
        // Onto the CPU first: a model trained on a GPU loads on a machine without one.
        load_archive(fs::path(dir) / "model.pt", torch::Device(torch::kCPU),
                     [&](torch::serialize::InputArchive& archive) { state_->net->load(archive); });
        // Rating music works anywhere: on the device the model was set up for
        // where there is one, on the CPU otherwise.
        try {
            state_->device = resolve_device(settings_.device);
        } catch (const Error&) {
            state_->device = torch::kCPU;
        }
        state_->net->to(state_->device);
    } catch (const c10::Error& e) {
        throw torch_error(e, "loading the model");
    }
}

void ChunkRegressor::fit(const SongTable& train, const SongTable* validation, const EpochCallback& on_epoch,
                         const PluginContext& ctx) {
    try {
        state_->device = start_training(settings_.device, ctx);
        Chunks train_chunks = load_inputs(train);
        Chunks valid_chunks = validation ? load_inputs(*validation) : Chunks{};
        state_->input_width = train_chunks.x.size(0) ? train_chunks.x.numel() / train_chunks.x.size(0) : 0;
        const Eigen::MatrixXd train_y = chunk_targets(train, train_chunks);
        const Eigen::MatrixXd valid_y = validation ? chunk_targets(*validation, valid_chunks) : Eigen::MatrixXd();

        if (settings_.normalize == "dataset") {
            state_->mean = train_chunks.x.mean().item<float>();
            state_->scale = std::max(1e-6f, train_chunks.x.std().item<float>());
        } else if (settings_.normalize == "feature") {  // each input value over the training rows
            state_->feature_mean = train_chunks.x.mean(0);
            // A value constant over the training rows (a ReLU unit that never
            // fires there) is only centred: dividing by its ~0 spread would
            // blow up any validation row where it does fire.
            const torch::Tensor spread = train_chunks.x.std(0, false);
            state_->feature_scale = torch::where(spread > 1e-6, spread, torch::ones_like(spread));
        }
        // Normalised once and kept on the training device for the whole fit;
        // the labels too.
        const torch::Tensor train_x = state_->prepare(train_chunks.x, settings_.normalize);
        const torch::Tensor valid_x = validation ? state_->prepare(valid_chunks.x, settings_.normalize) : torch::Tensor();
        train_chunks.x = valid_chunks.x = torch::Tensor();  // on a GPU: the host copies go
        const torch::Tensor y = to_tensor(train_y).to(state_->device);
        const int64_t n = train_x.size(0), eval_batch = std::max(1, settings_.batch_size) * 4;
        auto rate = [&](const torch::Tensor& x) {
            return to_matrix(state_->forward_all(x, true, eval_batch, settings_.normalize, settings_.precision));
        };

        state_->outputs = train.targets.cols();
        state_->net = make_network(state_->outputs, settings_.dropout);
        state_->net->to(state_->device);

        TrainingTask task;
        task.net = state_->net.get();
        task.groups = parameter_groups(*state_->net, settings_.learning_rate, settings_.weight_decay);
        task.items.resize(static_cast<std::size_t>(n));
        std::iota(task.items.begin(), task.items.end(), 0);
        task.unit = "chunks";
        task.score_name = "song-level R²";
        task.watching = validation != nullptr;
        task.forward = [&](const std::vector<int64_t>&, const torch::Tensor& index) {
            return state_->net->forward(train_x.index_select(0, index));
        };
        // Summed MSE over targets (fp32): one model learns one target or both jointly.
        task.loss = [&](const torch::Tensor& out, const std::vector<int64_t>&, const torch::Tensor& index) {
            return (out - y.index_select(0, index)).pow(2).mean(0).sum();
        };
        task.evaluate = [&](EpochReport& report) {
            report.train_chunk_predictions = rate(train_x);
            report.train_chunk_targets = train_y;
            report.train_predictions = song_means(report.train_chunk_predictions, train_chunks);
            if (!validation) return 0.0;
            report.validation_chunk_predictions = rate(valid_x);
            report.validation_chunk_targets = valid_y;
            report.validation_predictions = song_means(report.validation_chunk_predictions, valid_chunks);
            report.validation_loss = (report.validation_chunk_predictions - valid_y).colwise().squaredNorm().sum() /
                                     static_cast<double>(valid_y.rows());
            double score = 0;
            const Eigen::MatrixXd& truth = validation->targets;
            for (Eigen::Index t = 0; t < truth.cols(); ++t) {
                const Eigen::VectorXd p = report.validation_predictions.col(t), v = truth.col(t);
                const double ss_res = (v - p).squaredNorm(), ss_tot = (v.array() - v.mean()).matrix().squaredNorm();
                score += ss_tot > 0 ? 1 - ss_res / ss_tot : 0;
            }
            return score / static_cast<double>(truth.cols());
        };
        state_->best_epoch = run_training(task, settings_, state_->device, on_epoch, ctx);
    } catch (const c10::Error& e) {
        throw torch_error(e, "training");
    }
}

}  // namespace mer::torchx
