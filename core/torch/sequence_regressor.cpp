// The sequence models' training loop (see sequence_regressor.hpp).
#include "core/torch/sequence_regressor.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <functional>
#include <numeric>

#include "core/base/files.hpp"
#include "core/data/dynamic.hpp"
#include "core/data/npy.hpp"
#include "core/error.hpp"
#include "core/eval/metrics.hpp"

namespace mer::torchx {

namespace fs = std::filesystem;

namespace {

// Songs `which` of `songs` as one zero-padded batch (B, T, window…) on their
// device, and their lengths (on the CPU, as packing wants them).
template <typename Index>
std::pair<torch::Tensor, torch::Tensor> pad(const std::vector<torch::Tensor>& songs, const std::vector<Index>& which) {
    int64_t longest = 0;
    for (const Index s : which) longest = std::max(longest, songs[static_cast<std::size_t>(s)].size(0));
    std::vector<int64_t> shape{static_cast<int64_t>(which.size()), longest};
    const torch::Tensor& first = songs[static_cast<std::size_t>(which.front())];
    for (int64_t d = 1; d < first.dim(); ++d) shape.push_back(first.size(d));
    torch::Tensor x = torch::zeros(shape, first.options());
    torch::Tensor lengths = torch::empty({static_cast<int64_t>(which.size())}, torch::kInt64);
    for (std::size_t b = 0; b < which.size(); ++b) {
        const torch::Tensor& song = songs[static_cast<std::size_t>(which[b])];
        x[static_cast<int64_t>(b)].narrow(0, 0, song.size(0)).copy_(song);
        lengths[static_cast<int64_t>(b)] = song.size(0);
    }
    return {x, lengths};
}

double mean_r2(const AnnotatedRows& frames) {
    if (frames.labels.rows() < 2) return -std::numeric_limits<double>::infinity();
    double sum = 0;
    for (Eigen::Index t = 0; t < frames.labels.cols(); ++t) sum += r2_score(frames.labels.col(t), frames.values.col(t));
    return sum / static_cast<double>(frames.labels.cols());
}

// Each song's labels at its windows (songs_window_labels, for songs `x`).
std::vector<Eigen::MatrixXd> labels_at_windows(const SongTable& songs, const std::vector<torch::Tensor>& x,
                                               const Location& where) {
    std::vector<Eigen::Index> windows;
    for (const auto& song : x) windows.push_back(song.size(0));
    return songs_window_labels(songs, windows, "a sequence model", where);
}

// What the loss compares with, per training song: its standardised labels
// (0 where not annotated) and the mask of annotated windows; and the songs
// with at least one annotated window, the only ones worth a batch.
struct SongTargets {
    std::vector<torch::Tensor> y, mask;
    std::vector<std::size_t> trainable;
};

SongTargets standardised_targets(const std::vector<Eigen::MatrixXd>& labels, const Eigen::RowVectorXd& mean,
                                 const Eigen::RowVectorXd& scale) {
    SongTargets targets;
    for (std::size_t s = 0; s < labels.size(); ++s) {
        const Eigen::ArrayXXd standard = (labels[s].rowwise() - mean).array().rowwise() / scale.array();
        const Eigen::MatrixXd known = standard.isFinite().cast<double>().matrix();
        targets.y.push_back(to_tensor(standard.isFinite().select(standard, 0.0).matrix()));
        targets.mask.push_back(to_tensor(known));
        if (known.sum() > 0) targets.trainable.push_back(s);
    }
    return targets;
}

// Each target's mean squared error over the batch's annotated windows, summed over targets.
torch::Tensor masked_mse(const torch::Tensor& out, const std::vector<int64_t>& batch, const SongTargets& targets) {
    std::vector<torch::Tensor> y_batch, m_batch;
    for (const int64_t s : batch) {
        y_batch.push_back(targets.y[static_cast<std::size_t>(s)]);
        m_batch.push_back(targets.mask[static_cast<std::size_t>(s)]);
    }
    const auto yb = torch::nn::utils::rnn::pad_sequence(y_batch, true);
    const auto mb = torch::nn::utils::rnn::pad_sequence(m_batch, true);
    const std::vector<int64_t> songs_and_steps{0, 1};
    return ((out - yb).pow(2) * mb).sum(songs_and_steps).div(mb.sum(songs_and_steps).clamp_min(1)).sum();
}

}  // namespace

torch::Tensor packed_gru(torch::nn::GRU& gru, const torch::Tensor& x, const torch::Tensor& lengths) {
    const auto packed = torch::nn::utils::rnn::pack_padded_sequence(x, lengths, true, false);
    return std::get<0>(torch::nn::utils::rnn::pad_packed_sequence(std::get<0>(gru->forward_with_packed_input(packed)),
                                                                  true, 0.0, x.size(1)));
}

struct SequenceRegressor::State {
    std::vector<int64_t> window_shape;  // the axes of one window
    int64_t outputs = 0;
    std::shared_ptr<SequenceNet> net;
    torch::Device device = torch::kCPU;
    torch::Tensor input_mean, input_scale;  // undefined: inputs as they are
    Eigen::RowVectorXd target_mean, target_scale;
    int best_epoch = 0;

    // Inputs standardised over the training songs' windows, per value
    // ("feature"), over all of them ("dataset"), or not at all.
    void fit_input_scaling(const std::vector<torch::Tensor>& train_x, const std::string& normalize) {
        const torch::Tensor all = torch::cat(train_x, 0);
        input_mean = input_scale = torch::Tensor();
        if (normalize == "feature") {
            input_mean = all.mean(0);
            const torch::Tensor spread = all.std(0, false);
            input_scale = torch::where(spread > 1e-6, spread, torch::ones_like(spread));
        } else if (normalize == "dataset") {
            input_mean = all.mean();
            input_scale = all.std().clamp_min(1e-6);
        }
    }

    // Targets standardised over the training songs' annotated windows.
    void fit_target_scaling(const std::vector<Eigen::MatrixXd>& train_labels, std::size_t train_songs,
                            const Location& where) {
        const AnnotatedRows train_frames = annotated_rows(train_labels, train_labels);
        if (train_frames.labels.rows() < 2)
            throw Error(fmt::format("the {} training songs have {} annotated windows; a sequence model needs songs "
                                    "whose annotations meet their windows (docs/dynamic.md, alignment)",
                                    train_songs, train_frames.labels.rows()),
                        where);
        target_mean = train_frames.labels.colwise().mean();
        target_scale =
            ((train_frames.labels.rowwise() - target_mean).array().square().colwise().mean().sqrt().max(1e-6)).matrix();
    }

    // The validation loss in the standardised units the training loss has.
    double standardised_mse(const AnnotatedRows& rows) const {
        return ((rows.values - rows.labels).array().rowwise() / target_scale.array()).square().colwise().mean().sum();
    }
};

SequenceRegressor::SequenceRegressor(const nlohmann::json& params, std::size_t window_rank)
    : settings_(TrainingSettings::from(params)), window_rank_(window_rank), state_(std::make_unique<State>()) {}

SequenceRegressor::~SequenceRegressor() = default;

std::shared_ptr<SequenceNet> SequenceRegressor::network() const {
    return state_->net;
}

std::vector<torch::Tensor> SequenceRegressor::load_songs(const SongTable& songs) const {
    if (songs.tensor_paths.size() != songs.size())
        throw Error("a sequence model reads each song's windows, and its input has none: put a features node that "
                    "writes them before it (features.handcrafted with window_seconds, features.logmel_chunks, "
                    "features.panns_cnn14; docs/dynamic.md)");
    std::vector<torch::Tensor> out;
    for (const auto& path : songs.tensor_paths) {
        std::vector<std::size_t> shape;
        std::vector<float> values = read_npy_float32(path, shape);
        std::vector<int64_t> dims(shape.begin(), shape.end());
        if ((window_rank_ == 0 ? shape.size() < 2 : shape.size() != window_rank_ + 1) || shape[0] == 0)
            throw Error(fmt::format("expected a windows × {} tensor, found shape ({})",
                                    window_rank_ == 0   ? "…"
                                    : window_rank_ == 1 ? "values"
                                                        : "1 × mels × frames",
                                    fmt::join(shape, ", ")),
                        Location(path));
        if (!state_->window_shape.empty() && !std::equal(dims.begin() + 1, dims.end(), state_->window_shape.begin()))
            throw Error(fmt::format("its windows are ({}), the model was fitted on ({})",
                                    fmt::join(dims.begin() + 1, dims.end(), ", "), fmt::join(state_->window_shape, ", ")),
                        Location(path));
        out.push_back(torch::from_blob(values.data(), dims, torch::kFloat32).clone());
    }
    return out;
}

std::vector<torch::Tensor> SequenceRegressor::prepare(std::vector<torch::Tensor> songs) const {
    for (auto& song : songs) {
        if (state_->input_mean.defined()) song = (song - state_->input_mean) / state_->input_scale;
        song = song.to(state_->device);
    }
    return songs;
}

std::vector<Eigen::MatrixXd> SequenceRegressor::predict_songs(const std::vector<torch::Tensor>& songs) const {
    if (!state_->net) throw Error("the model is not fitted");
    torch::NoGradGuard no_grad;
    state_->net->eval();
    std::vector<Eigen::MatrixXd> out(songs.size());
    const auto batch = static_cast<std::size_t>(std::max(1, settings_.batch_size));
    const Autocast autocast(state_->device, settings_.precision);  // the weights cast once per pass
    for (std::size_t start = 0; start < songs.size(); start += batch) {
        std::vector<std::size_t> which(std::min(batch, songs.size() - start));
        std::iota(which.begin(), which.end(), start);
        const auto [x, lengths] = pad(songs, which);
        const torch::Tensor y = state_->net->forward(x, lengths).to(torch::kCPU, torch::kFloat32);
        for (std::size_t b = 0; b < which.size(); ++b) {
            const Eigen::MatrixXd m = to_matrix(y[static_cast<int64_t>(b)].narrow(0, 0, songs[which[b]].size(0)));
            out[which[b]] =
                ((m.array().rowwise() * state_->target_scale.array()).rowwise() + state_->target_mean.array()).matrix();
        }
    }
    return out;
}

std::vector<Eigen::MatrixXd> SequenceRegressor::predict_chunks(const SongTable& songs) const {
    try {
        return predict_songs(prepare(load_songs(songs)));
    } catch (const c10::Error& e) {
        throw torch_error(e, "rating windows");
    }
}

Eigen::MatrixXd SequenceRegressor::predict(const SongTable& songs) const {
    return window_means(predict_chunks(songs));
}

void SequenceRegressor::fit(const SongTable& train, const SongTable* validation, const EpochCallback& on_epoch,
                            const PluginContext& ctx) {
    try {
        state_->device = start_training(settings_.device, ctx);
        const Location where = Location::of_node(ctx.node);
        state_->window_shape.clear();
        const std::vector<torch::Tensor> train_x = load_songs(train);
        const std::vector<Eigen::MatrixXd> train_labels = labels_at_windows(train, train_x, where);
        const std::vector<torch::Tensor> watch_x = validation ? load_songs(*validation) : std::vector<torch::Tensor>{};
        const std::vector<Eigen::MatrixXd> watch_labels =
            validation ? labels_at_windows(*validation, watch_x, where) : std::vector<Eigen::MatrixXd>{};
        state_->window_shape.assign(train_x.front().sizes().begin() + 1, train_x.front().sizes().end());
        state_->outputs = train.targets.cols();
        state_->fit_input_scaling(train_x, settings_.normalize);
        state_->fit_target_scaling(train_labels, train.size(), where);

        SongTargets targets = standardised_targets(train_labels, state_->target_mean, state_->target_scale);
        if (targets.trainable.size() < train.size())
            ctx.info(fmt::format("fold {}: {} of {} training songs have no annotated window and teach nothing",
                                 ctx.fold, train.size() - targets.trainable.size(), train.size()));
        for (auto& song : targets.y) song = song.to(state_->device);
        for (auto& song : targets.mask) song = song.to(state_->device);
        // Normalised once and kept on the training device for the whole fit.
        const std::vector<torch::Tensor> train_in = prepare(train_x);
        const std::vector<torch::Tensor> watch_in = prepare(watch_x);

        state_->net = make_network(state_->window_shape, state_->outputs, settings_.dropout);
        state_->net->to(state_->device);
        TrainingTask task;
        task.net = state_->net.get();
        task.items.assign(targets.trainable.begin(), targets.trainable.end());
        task.unit = "songs";
        task.score_name = "frame-level R²";
        task.watching = validation != nullptr;
        task.forward = [&](const std::vector<int64_t>& batch, const torch::Tensor&) {
            const auto [x, lengths] = pad(train_in, batch);
            return state_->net->forward(x, lengths);
        };
        task.loss = [&](const torch::Tensor& out, const std::vector<int64_t>& batch, const torch::Tensor&) {
            return masked_mse(out, batch, targets);
        };
        task.evaluate = [&](EpochReport& report) {
            const std::vector<Eigen::MatrixXd> train_predicted = predict_songs(train_in);
            const AnnotatedRows train_seen = annotated_rows(train_labels, train_predicted);
            report.train_predictions = window_means(train_predicted);
            report.train_chunk_predictions = train_seen.values;
            report.train_chunk_targets = train_seen.labels;
            if (!validation) return 0.0;
            const std::vector<Eigen::MatrixXd> watch_predicted = predict_songs(watch_in);
            const AnnotatedRows watched = annotated_rows(watch_labels, watch_predicted);
            report.validation_predictions = window_means(watch_predicted);
            report.validation_chunk_predictions = watched.values;
            report.validation_chunk_targets = watched.labels;
            if (watched.labels.rows() > 0) report.validation_loss = state_->standardised_mse(watched);
            return mean_r2(watched);
        };
        state_->best_epoch = run_training(task, settings_, state_->device, on_epoch, ctx);
    } catch (const c10::Error& e) {
        throw torch_error(e, "training");
    }
}

void SequenceRegressor::save(const std::string& dir) const {
    try {
        if (!state_->net) throw Error("the model is not fitted");
        fs::create_directories(dir);
        torch::serialize::OutputArchive archive;
        state_->net->save(archive);
        save_archive(archive, fs::path(dir) / "model.pt");
        auto values = [](const torch::Tensor& t) {
            if (!t.defined()) return nlohmann::json(nullptr);
            const torch::Tensor c = t.contiguous().to(torch::kCPU);
            return nlohmann::json(std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel()));
        };
        nlohmann::json meta{{"window_shape", state_->window_shape},
                            {"outputs", state_->outputs},
                            {"best_epoch", state_->best_epoch},
                            {"normalize", settings_.normalize},
                            {"input_mean", values(state_->input_mean)},
                            {"input_scale", values(state_->input_scale)},
                            {"target_mean", std::vector<double>(state_->target_mean.data(), state_->target_mean.data() + state_->target_mean.size())},
                            {"target_scale", std::vector<double>(state_->target_scale.data(), state_->target_scale.data() + state_->target_scale.size())}};
        write_file_atomic(fs::path(dir) / "model.json", meta.dump(2) + "\n");
    } catch (const c10::Error& e) {
        throw torch_error(e, "saving the model");
    }
}

void SequenceRegressor::load(const std::string& dir) {
    const fs::path file = fs::path(dir) / "model.json";
    try {
        const nlohmann::json meta = read_json_file(file);
        auto fail = [&](const std::string& what) { return Error(what, Location(file.string())); };
        const auto shape = meta.at("window_shape").get<std::vector<int64_t>>();
        if ((window_rank_ == 0 ? shape.empty() : shape.size() != window_rank_) || std::any_of(shape.begin(), shape.end(), [](int64_t d) { return d < 1 || d > (1 << 20); }))
            throw fail(window_rank_ == 0 ? std::string("window_shape must be positive sizes")
                                         : fmt::format("window_shape must be {} positive sizes", window_rank_));
        const auto outputs = meta.at("outputs").get<int64_t>();
        const auto target_mean = meta.at("target_mean").get<std::vector<double>>();
        const auto target_scale = meta.at("target_scale").get<std::vector<double>>();
        if (outputs < 1 || target_mean.size() != static_cast<std::size_t>(outputs) || target_scale.size() != target_mean.size())
            throw fail("outputs, target_mean and target_scale disagree");
        const int64_t window_values = std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<>());
        auto tensor = [&](const char* key, bool per_value) {
            if (meta.at(key).is_null()) return torch::Tensor();
            auto v = meta.at(key).get<std::vector<float>>();
            if (static_cast<int64_t>(v.size()) != (per_value ? window_values : 1))
                throw fail(fmt::format("{} has {} values, expected {}", key, v.size(), per_value ? window_values : 1));
            const torch::Tensor t = torch::from_blob(v.data(), {static_cast<int64_t>(v.size())}, torch::kFloat32).clone();
            return per_value ? t.reshape(shape) : t.reshape({});
        };
        const bool per_value = settings_.normalize == "feature";
        state_->input_mean = tensor("input_mean", per_value);
        state_->input_scale = tensor("input_scale", per_value);
        if (settings_.normalize != "none" && (!state_->input_mean.defined() || !state_->input_scale.defined()))
            throw fail("normalize is '" + settings_.normalize + "' but input_mean or input_scale is missing");
        state_->window_shape = shape;
        state_->outputs = outputs;
        state_->best_epoch = meta.at("best_epoch").get<int>();
        state_->target_mean = Eigen::Map<const Eigen::RowVectorXd>(target_mean.data(), outputs);
        state_->target_scale = Eigen::Map<const Eigen::RowVectorXd>(target_scale.data(), outputs);
        state_->net = make_network(shape, outputs, settings_.dropout);
        load_archive(fs::path(dir) / "model.pt", torch::Device(torch::kCPU),
                     [&](torch::serialize::InputArchive& archive) { state_->net->load(archive); });
        try {
            state_->device = resolve_device(settings_.device);
        } catch (const Error&) {
            state_->device = torch::kCPU;
        }
        state_->net->to(state_->device);
    } catch (const nlohmann::json::exception& e) {
        throw Error(std::string("not a sequence model's description: ") + e.what(), Location(file.string()));
    } catch (const c10::Error& e) {
        throw torch_error(e, "loading the model");
    }
}

}  // namespace mer::torchx
