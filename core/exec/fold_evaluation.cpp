// The fold loop of a regressor node and its bundle; the books it keeps become
// the node's summary in node_summary.cpp.
#include "core/exec/fold_evaluation.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "core/base/files.hpp"
#include "core/data/csv.hpp"
#include "core/data/dynamic.hpp"
#include "core/data/sources.hpp"
#include "core/data/splits.hpp"
#include "core/error.hpp"
#include "core/eval/metrics.hpp"
#include "core/eval/run_reader.hpp"
#include "core/exec/node_summary.hpp"
#include "core/exec/target_pipelines.hpp"
#include "core/exec/tuning.hpp"
#include "core/graph/experiment.hpp"
#include "core/plugin/abi.hpp"
#include "core/plugin/capabilities.hpp"
#include "core/plugin/dataset.hpp"
#include "core/plugin/registry.hpp"
#include "core/run/progress.hpp"

namespace mer {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

namespace {

class RegressorEvaluation {
public:
    RegressorEvaluation(const EvaluationSetup& setup, const NodeSpec& node, const SongTable& data, RunResults& results)
        : setup_(setup),
          exp_(setup.experiment),
          node_(node),
          data_(data),
          results_(results),
          spec_(PipelineSpec::of(setup.experiment, node)),
          pipelines_(spec_, setup.registry, data.target_names, !node.grid.empty() && node.grid_by == "target"),
          sequence_(node.plugin->capability(capability::kSequence, false) == true),
          scores_(data.target_names.size()),
          seeds_(setup.experiment.seeds.empty() ? std::vector<std::uint64_t>{setup.experiment.seed}
                                                : setup.experiment.seeds) {}

    void run() {
        if (!pipelines_.how().empty())
            setup_.writer.folder().log(fmt::format("node '{}': {}", node_.id, pipelines_.how()));
        const auto node_start = Clock::now();
        fold_count_ = static_cast<int>(repetition_folds(0).size());
        const int total = fold_count_ * static_cast<int>(seeds_.size());
        for (run_ = 0; run_ < static_cast<int>(seeds_.size()); ++run_)
            for (const Fold& fold : repetition_folds(run_)) {
                const auto fold_start = Clock::now();
                scores_.fold_sources.push_back(scored_source(fold));
                if (setup_.resuming && restore_fold(fold)) continue;
                const std::string line = evaluate_fold(fold);
                const double elapsed = seconds_since(node_start);
                const int done = slot(fold.index) + 1;
                // Folds by the number the files use (predictions.csv, model/<node>/fold<k>, the models'
                // own lines), counted from 0, with how far along the node is.
                const std::string which =
                    repeated() ? fmt::format("seed {} ({} of {}), fold {} ({} of {})", seed(), run_ + 1, seeds_.size(),
                                             slot(fold.index), done, total)
                               : fmt::format("fold {} ({} of {})", fold.index, done, total);
                setup_.writer.folder().log(fmt::format(
                    "node '{}' ({}): {} ({} train, {} validation songs, {} features, {:.2f} s):{}{}", node_.id,
                    node_.uses, which, last_train_songs_, last_validation_songs_, last_features_,
                    seconds_since(fold_start), line,
                    done < total ? ", about " + format_duration(elapsed / done * (total - done)) + " left" : ""));
            }
        run_ = 0;
        summarise_node(exp_, node_, data_, scores_, seeds_, static_cast<std::size_t>(fold_count_),
                       seconds_since(node_start), setup_.writer, results_);
        write_bundle_manifest(static_cast<std::size_t>(total));
    }

private:
    // The outer folds of repetition `repetition`. K-fold is repeated k-fold:
    // each repetition draws its own folds, the first exactly those of a run
    // without `seeds`, so the paired test sees k · r resamples. A holdout or a
    // predefined split is the same in every repetition: its repetitions
    // measure initialisation alone.
    std::vector<Fold> repetition_folds(int repetition) const {
        if (exp_.evaluation.split.kind == "predefined") return {predefined_fold(data_.assigned_split)};
        if (splits_by_source(exp_.evaluation.split))  // the same folds in every repetition, as predefined
            return source_folds(song_sources(data_, spec_.has_sources()), exp_.evaluation.split);
        const std::vector<std::string>& groups = exp_.evaluation.group_by == "group" ? data_.groups : data_.song_ids;
        const bool resampled = exp_.evaluation.split.kind == "kfold" && repetition > 0;
        return make_folds(groups, exp_.evaluation.split,
                          resampled ? derive_seed(exp_.seed, "split/repetition/" + std::to_string(repetition))
                                    : derive_seed(exp_.seed, "split"),
                          data_.targets);
    }

    // The one source every song a fold scores comes from; empty when they
    // come from several, or the data has no sources.
    std::string scored_source(const Fold& fold) const {
        const std::vector<std::string> sources = song_sources(data_, spec_.has_sources());
        std::string only;
        for (std::size_t row : fold.validation) {
            if (sources.empty() || (!only.empty() && sources[row] != only)) return "";
            only = sources[row];
        }
        return only;
    }

    // With `seeds`, every regressor is repeated over them: repetition run_ of
    // fold k is the bundle's fold<slot> and the plugins' PluginContext::fold,
    // so checkpoints and done markers stay apart.
    bool repeated() const { return !exp_.seeds.empty(); }
    std::uint64_t seed() const { return seeds_.at(static_cast<std::size_t>(run_)); }
    int slot(int fold) const { return run_ * fold_count_ + fold; }

    // The context for a plugin of the pipeline in fold `fold` of the current
    // repetition: seeded by the repetition's seed when the experiment has `seeds`.
    PluginContext context(const std::string& id, int fold, const std::string& purpose) const {
        PluginContext ctx = setup_.context(id, purpose);
        if (repeated()) ctx.seed = derive_seed(seed(), id + "/" + purpose);
        ctx.split_seed = derive_seed(seed(), "holdout/" + std::to_string(slot(fold)));
        ctx.fold = slot(fold);
        return ctx;
    }

    fs::path fold_dir(int fold) const {
        return setup_.writer.folder().path() / "model" / node_.id / ("fold" + std::to_string(slot(fold)));
    }

    // What a fold's done marker says it scored: its validation songs, hashed.
    static std::string songs_hash(const std::vector<std::string>& song_ids) {
        return sha256_hex(fmt::format("{}", fmt::join(song_ids, "\n")));
    }

    // A fold finished before an interruption: its predictions and scores from
    // its done marker, if it scored the songs this repetition's fold holds (a
    // run folder written before repetitions drew folds of their own did not).
    bool restore_fold(const Fold& outer) {
        const int fold = outer.index;
        const fs::path marker = fold_dir(fold) / "done.json";
        if (!fs::exists(marker)) return false;
        const nlohmann::json done = read_json_file(marker);
        std::vector<std::string> scored;
        for (std::size_t row : outer.validation) scored.push_back(data_.song_ids[row]);
        if (done.value("validation_sha256", std::string()) != songs_hash(scored) &&
            (done.contains("validation_sha256") || run_ > 0)) {
            setup_.writer.folder().log(fmt::format(
                "node '{}': fold {} of seed {} was scored on other songs before the interruption; evaluated again",
                node_.id, fold, seed()));
            // Nothing of the stale fold may stay: its marker, its checkpoint, its metric rows.
            fs::remove(marker);
            fs::remove_all(setup_.writer.folder().path() / "checkpoints" / node_.id / ("fold" + std::to_string(slot(fold))));
            const std::uint64_t repetition_seed = seed();
            setup_.metrics.drop_rows([&](const std::string& id, int row_fold, std::uint64_t row_seed, int) {
                return id == node_.id && row_fold == fold && row_seed == repetition_seed;
            });
            return false;
        }
        results_.predictions += done.at("predictions").get<std::string>();
        auto metrics_of = [](const nlohmann::json& m) {
            auto value = [&](const char* name) { return m.at(name).is_null() ? NAN : m.at(name).get<double>(); };
            return RegressionMetrics{value("r2"),      value("rmse"), value("mae"), value("mse"),
                                     value("pearson"), value("ccc")};
        };
        const nlohmann::json chunk_scores = done.value("chunk_scores", nlohmann::json::array());
        for (std::size_t t = 0; t < data_.target_names.size(); ++t) {
            scores_.song[t].push_back(metrics_of(done.at("scores").at(t)));
            if (t < chunk_scores.size()) scores_.chunk[t].push_back(metrics_of(chunk_scores.at(t)));
        }
        scores_.selected_on = done.value("selected_on", "");
        if (done.contains("curves") && !done["curves"].is_null()) {
            results_.frame_predictions += done.value("frame_predictions", "");
            for (std::size_t t = 0; t < data_.target_names.size(); ++t)
                for (const char* side : {"truth", "predicted"})
                    for (const auto& song : done["curves"].at(side).at(t)) {
                        const auto values = song.get<std::vector<double>>();
                        (side[0] == 't' ? scores_.curve_truth : scores_.curve_predicted)[t].push_back(
                            Eigen::Map<const Eigen::VectorXd>(values.data(), static_cast<Eigen::Index>(values.size())));
                    }
        }
        if (done.contains("best_epoch") && !done["best_epoch"].is_null())
            scores_.best_epochs.push_back(json::parse(done["best_epoch"].dump()));
        // The pooled scores need the fold's predictions back: node,song_id,fold,target,true,predicted,seed.
        std::istringstream lines(done.at("predictions").get<std::string>());
        for (std::string line; std::getline(lines, line);) {
            const std::size_t seed_comma = line.rfind(','), predicted_comma = line.rfind(',', seed_comma - 1),
                              true_comma = line.rfind(',', predicted_comma - 1),
                              target_comma = line.rfind(',', true_comma - 1);
            const std::string target = line.substr(target_comma + 1, true_comma - target_comma - 1);
            const auto t = std::find(data_.target_names.begin(), data_.target_names.end(), target);
            if (t == data_.target_names.end()) continue;
            const auto ti = static_cast<std::size_t>(t - data_.target_names.begin());
            scores_.pooled_truth[ti].push_back(
                std::stod(line.substr(true_comma + 1, predicted_comma - true_comma - 1)));
            scores_.pooled_predicted[ti].push_back(
                std::stod(line.substr(predicted_comma + 1, seed_comma - predicted_comma - 1)));
        }
        if (!done.at("selected").is_null()) scores_.selected.push_back(json::parse(done.at("selected").dump()));
        setup_.writer.folder().log(
            fmt::format("node '{}': fold {} finished before the interruption; kept", node_.id, fold));
        return true;
    }

    Pipeline::ContextFor transform_context(int fold) const {
        return [this, fold](const PipelineStep& step) { return context(step.id, fold, "fold" + std::to_string(fold)); };
    }

    // Tunes, fits, scores and saves one fold; returns the log line's scores.
    std::string evaluate_fold(const Fold& fold) {
        const SongTable train_rows = data_.rows(fold.train);
        const SongTable validation_rows = data_.rows(fold.validation);
        // Each target's parameters: the node's, or the grid's pick for it.
        std::vector<nlohmann::json> params(data_.target_names.size(), node_.params);
        if (!node_.grid.empty()) {
            // Inner folds from the repetition's seed and the fold, never the
            // node: every node of the experiment searches on the same splits.
            const GridSearch search{
                node_,
                spec_,
                setup_.registry,
                derive_seed(seed(), "grid/" + std::to_string(slot(fold.index))),
                exp_.evaluation.group_by,
                setup_.threads,
                [this, fold = fold.index](const std::string& id, const std::string& purpose) {
                    return context(id, fold, purpose);
                },
                exp_.evaluation.early_stopping};
            TuningResult tuned = tune(search, train_rows, fold.index);
            results_.grid += tuned.grid_rows;
            setup_.writer.folder().log(tuned.log_line);
            params = tuned.best;
            json picked = json::object();
            for (std::size_t t = 0; t < params.size(); ++t)
                picked[data_.target_names[t]] = json::parse(grid_values(node_, params[t]).dump());
            scores_.selected.push_back(picked);
        }
        Eigen::MatrixXd predicted(static_cast<Eigen::Index>(validation_rows.size()), validation_rows.targets.cols());
        Fitted whole;  // chunk and window levels, for models fitted as one pipeline
        std::vector<std::string> widths;
        for (auto& part : pipelines_.parts()) {
            const Sides sides = part.pipeline.fit_transforms(
                {train_rows.target_columns(part.targets), validation_rows.target_columns(part.targets)},
                transform_context(fold.index));
            const Fitted fitted =
                fit_part(fold.index, part.pipeline, params.at(static_cast<std::size_t>(part.targets.front())), sides);
            for (std::size_t j = 0; j < part.targets.size(); ++j)
                predicted.col(part.targets[j]) = fitted.songs.col(static_cast<Eigen::Index>(j));
            if (!pipelines_.per_target()) whole = fitted;
            const std::size_t width = sides.first.feature_names.size();
            widths.push_back(pipelines_.per_target() ? fmt::format("{} {}", sides.first.target_names.front(), width)
                                                     : std::to_string(width));
        }
        pipelines_.save(fold_dir(fold.index));
        scores_.test_train_ratio = static_cast<double>(validation_rows.size()) / static_cast<double>(train_rows.size());
        last_train_songs_ = train_rows.size();
        last_validation_songs_ = validation_rows.size();
        last_features_ = fmt::format("{}", fmt::join(widths, ", "));
        return score_fold(fold.index, validation_rows, predicted, whole);
    }

    // Chunk-level truth and predictions: every chunk of every song, stacked.
    struct Level {
        Eigen::MatrixXd truth, predicted;
    };
    struct Fitted {
        Eigen::MatrixXd songs;  // songs × the part's targets
        Level chunks;           // empty unless the model rates chunks; for sequence models, the annotated windows
        // Sequence models: each validation song's windows × targets, predicted
        // and annotated (NaN where no annotation meets the window), and where
        // the windows lie in time.
        std::vector<Eigen::MatrixXd> windows, window_truth;
        ChunkTiming timing;
    };

    // The annotation at each window of each song (core/data/dynamic.hpp).
    std::vector<Eigen::MatrixXd> aligned_labels(const SongTable& songs, const std::vector<Eigen::MatrixXd>& windows,
                                                std::size_t* unreached = nullptr) const {
        std::vector<Eigen::Index> counts;
        for (const auto& song : windows) counts.push_back(song.rows());
        return songs_window_labels(songs, counts, node_.uses, Location::of_node(node_.id), unreached);
    }

    // The windows where every target is annotated, stacked over songs.
    static Level frame_level(const std::vector<Eigen::MatrixXd>& truth, const std::vector<Eigen::MatrixXd>& predicted) {
        AnnotatedRows rows = annotated_rows(truth, predicted);
        return {std::move(rows.labels), std::move(rows.values)};
    }

    // Fits the regressor of one pipeline on its transformed sides, logging its
    // epochs; returns its validation predictions, per song and per chunk.
    Fitted fit_part(int fold, Pipeline& pipeline, const nlohmann::json& params, const Sides& sides) {
        const SongTable& train = sides.first;
        const SongTable& validation = sides.second;
        if (train.feature_names.empty() && train.tensor_paths.empty())
            throw Error(
                "its input has no feature columns or tensors; put a features node between the dataset and the model",
                Location::of_node(node_.id));
        const bool picks_epoch = node_.plugin->capability(capability::kEarlyStopping, false) == true;
        // The watched songs come from the repetition's seed and the fold, not the node: every node of
        // the experiment holds out the same songs, so their scores stay paired.
        const WatchedFit watched =
            watched_fit(train, exp_.evaluation.early_stopping, exp_.evaluation.group_by, picks_epoch,
                        derive_seed(seed(), "early-stopping/" + std::to_string(slot(fold))));
        const SongTable& fit = watched.fit;
        const SongTable& watch = watched.watch(validation);
        const std::string watched_split = watched.inner ? "inner_validation" : "validation";
        scores_.selected_on = !picks_epoch ? "" : watched.inner ? "inner" : "validation";
        EpochBooks books;
        // A fold continued from its checkpoint: the books of the epochs before the interruption (the
        // loop reports only the epochs it still runs, none when it was killed after the last one).
        const bool continued = setup_.resuming && picks_epoch &&
                               restore_books(fold, watched_split + (sequence_ ? part_level() : std::string()), books);
        const EpochCallback on_epoch = [&](const EpochReport& report) {
            books.epochs = report.epoch;  // after --resume, the loop's count, not the reports since
            if (picks_epoch) note_epoch_score(report, watch, books);
            log_epoch(fold, report, fit, watch, watched_split);
        };
        PluginContext ctx = context(node_.id, fold, "fold" + std::to_string(fold));
        ctx.resume = setup_.resuming;
        // The per-target models of a fold would share its checkpoint folder;
        // the models that may be split (trees, linear) keep none anyway.
        if (pipelines_.per_target()) ctx.work_dir.clear();
        pipeline.fit_regressor(params, fit, &watch, on_epoch, ctx);
        if (books.best_epoch > 0) keep_best_epoch(fold, books, watched.inner.has_value());
        Fitted out = predict_validation(fold, pipeline, validation);
        if (books.epochs == 0) {
            log_untrained(fold, pipeline, fit, validation, out);
        } else if (watched.inner && !(continued && logged_score(fold, books.epochs, "validation").has_value())) {
            // The scored songs, seen once: by the weights kept, after the last epoch (a fold continued
            // after they were logged has them already, from the same weights).
            log_epoch_rows(fold, books.epochs, "validation", std::nullopt, fit.target_names, validation.targets,
                           out.songs);
            log_epoch_rows(fold, books.epochs, "validation" + part_level(), std::nullopt, fit.target_names,
                           out.chunks.truth, out.chunks.predicted);
        }
        if (out.songs.rows() != validation.targets.rows() || out.songs.cols() != validation.targets.cols())
            throw Error(
                fmt::format("{} returned {}×{} predictions for {} songs × {} targets", node_.uses, out.songs.rows(),
                            out.songs.cols(), validation.targets.rows(), validation.targets.cols()),
                Location::of_node(node_.id));
        return out;
    }

    // What a fit's epochs decided, as fit_part keeps the books: the epochs
    // trained, the epoch the model keeps and its score, and the watched
    // songs' score at the last epoch.
    struct EpochBooks {
        int epochs = 0;
        int best_epoch = 0;
        double best_score = -INFINITY, last_score = NAN;
    };

    // The split suffix of the rows below a song: a chunk model's chunks, a sequence model's windows.
    std::string part_level() const { return sequence_ ? "_frames" : "_chunks"; }

    // The song-level R² (mean over `targets` targets) of `predicted` against `truth`.
    static double mean_r2(const Eigen::MatrixXd& truth, const Eigen::MatrixXd& predicted, Eigen::Index targets) {
        double sum = 0;
        for (Eigen::Index t = 0; t < targets; ++t) sum += regression_metrics(truth.col(t), predicted.col(t)).r2;
        return sum / static_cast<double>(targets);
    }

    // The epoch the model keeps: the training loop's own word
    // (EpochReport::kept_epoch), or for a model that says nothing, the first
    // with the highest watched_score.
    void note_epoch_score(const EpochReport& report, const SongTable& watch, EpochBooks& books) const {
        if (report.kept_epoch > 0) {
            books.best_epoch = report.kept_epoch;
            books.best_score = report.kept_score;
        }
        const std::optional<double> score = watched_score(report, watch);
        if (!score) return;
        books.last_score = *score;
        if (report.kept_epoch == 0 && books.last_score > books.best_score)
            books.best_score = books.last_score, books.best_epoch = report.epoch;
    }

    // An epoch's song-level R² (mean over targets) on the watched songs; a
    // sequence model's on the watched songs' annotated windows. None when the
    // epoch rated no watched songs.
    std::optional<double> watched_score(const EpochReport& report, const SongTable& watch) const {
        const Eigen::Index targets = watch.targets.cols();
        if (sequence_ && report.validation_chunk_predictions.rows() > 1)
            return mean_r2(report.validation_chunk_targets, report.validation_chunk_predictions, targets);
        if (!sequence_ && report.validation_predictions.size() > 0 &&
            report.validation_predictions.rows() == watch.targets.rows())
            return mean_r2(watch.targets, report.validation_predictions, targets);
        return std::nullopt;
    }

    // An epoch's rows of metrics.csv: the training and watched songs, and
    // their chunks or windows. The loss is the model's own: on chunks when it
    // learns from chunks.
    void log_epoch(int fold, const EpochReport& report, const SongTable& fit, const SongTable& watch,
                   const std::string& watched_split) {
        const bool chunk_loss = report.train_chunk_predictions.size() > 0;
        auto song_loss = [&](const std::optional<double>& loss) { return chunk_loss ? std::nullopt : loss; };
        log_epoch_rows(fold, report.epoch, "train", song_loss(report.train_loss), fit.target_names, fit.targets,
                       report.train_predictions);
        log_epoch_rows(fold, report.epoch, watched_split, song_loss(report.validation_loss), fit.target_names,
                       watch.targets, report.validation_predictions);
        log_epoch_rows(fold, report.epoch, "train" + part_level(), report.train_loss, fit.target_names,
                       report.train_chunk_targets, report.train_chunk_predictions);
        log_epoch_rows(fold, report.epoch, watched_split + part_level(), report.validation_loss, fit.target_names,
                       report.validation_chunk_targets, report.validation_chunk_predictions);
    }

    // The kept epoch into summary.json's books and metrics.csv's best marks.
    void keep_best_epoch(int fold, const EpochBooks& books, bool watched_inner) {
        scores_.best_epochs.push_back(
            {{"epoch", books.best_epoch},
             {"epochs", books.epochs},
             {"score_at_best", books.best_score},
             {"score_at_last", std::isfinite(books.last_score) ? json(books.last_score) : json(nullptr)}});
        // The scored songs' rows, logged once after training when the model watched held-out
        // training songs, are not the kept epoch's (they exist here already when a fold is continued).
        const std::set<std::string> scored_rows =
            watched_inner ? std::set<std::string>{"validation", "validation" + part_level()} : std::set<std::string>{};
        setup_.metrics.mark_best(node_.id, fold, seed(), books.best_epoch, scored_rows);
    }

    // The fitted pipeline's validation predictions, per song and per chunk
    // (a sequence model: per window, with the annotation at each).
    Fitted predict_validation(int fold, Pipeline& pipeline, const SongTable& validation) {
        Fitted out{{}, {}, {}, {}, validation.chunk_timing};
        if (!sequence_) {
            out.songs = pipeline.predict(validation);
            out.chunks = chunk_level(validation, pipeline.predict_chunks(validation));
            return out;
        }
        // A sequence model's song is the mean of its windows: one pass over the validation songs gives both.
        out.windows = pipeline.predict_chunks(validation);
        out.songs = window_means(out.windows);
        std::size_t unreached = 0;
        out.window_truth = aligned_labels(validation, out.windows, &unreached);
        out.chunks = frame_level(out.window_truth, out.windows);
        if (unreached > 0)
            setup_.writer.folder().log(
                fmt::format("node '{}': fold {}: {} annotated frames of the validation songs lie beyond their audio's "
                            "last window and are not scored (docs/dynamic.md, alignment)",
                            node_.id, fold, unreached));
        return out;
    }

    // A model without epochs (it reported none): its training and validation
    // scores as the one epoch of metrics.csv.
    void log_untrained(int fold, Pipeline& pipeline, const SongTable& fit, const SongTable& validation,
                       const Fitted& out) {
        const std::vector<Eigen::MatrixXd> train_windows =
            sequence_ ? pipeline.predict_chunks(fit) : std::vector<Eigen::MatrixXd>{};
        log_epoch_rows(fold, 1, "train", std::nullopt, fit.target_names, fit.targets,
                       sequence_ ? window_means(train_windows) : pipeline.predict(fit));
        log_epoch_rows(fold, 1, "validation", std::nullopt, fit.target_names, validation.targets, out.songs);
        if (!sequence_) return;
        const Level train_frames = frame_level(aligned_labels(fit, train_windows), train_windows);
        log_epoch_rows(fold, 1, "train_frames", std::nullopt, fit.target_names, train_frames.truth,
                       train_frames.predicted);
        log_epoch_rows(fold, 1, "validation_frames", std::nullopt, fit.target_names, out.chunks.truth,
                       out.chunks.predicted);
    }

    // Each chunk with its song's labels; empty for models that rate whole songs.
    static Level chunk_level(const SongTable& songs, const std::vector<Eigen::MatrixXd>& chunks) {
        Level level;
        if (chunks.empty()) return level;
        Eigen::Index rows = 0;
        for (const auto& song : chunks) rows += song.rows();
        level.truth.resize(rows, songs.targets.cols());
        level.predicted.resize(rows, songs.targets.cols());
        Eigen::Index row = 0;
        for (std::size_t s = 0; s < chunks.size(); ++s) {
            for (Eigen::Index c = 0; c < chunks[s].rows(); ++c, ++row) {
                level.truth.row(row) = songs.targets.row(static_cast<Eigen::Index>(s));
                level.predicted.row(row) = chunks[s].row(c);
            }
        }
        return level;
    }

    static json scores_json(const RegressionMetrics& m) {
        json row = json::object();
        for (const auto& name : metric_names())
            row[name] = std::isfinite(m.get(name)) ? json(m.get(name)) : json(nullptr);
        return row;
    }

    // Scores, predictions.csv rows and the fold's done marker.
    std::string score_fold(int fold, const SongTable& validation, const Eigen::MatrixXd& predicted,
                           const Fitted& fitted) {
        const Level& chunks = fitted.chunks;
        check_finite(fold, validation, predicted);
        std::string line, fold_predictions;
        json fold_scores = json::array(), fold_chunk_scores = json::array();
        for (std::size_t t = 0; t < data_.target_names.size(); ++t) {
            const auto ti = static_cast<Eigen::Index>(t);
            const RegressionMetrics m = regression_metrics(validation.targets.col(ti), predicted.col(ti));
            scores_.song[t].push_back(m);
            fold_scores.push_back(scores_json(m));
            if (chunks.predicted.size() > 0) {
                const RegressionMetrics c = regression_metrics(chunks.truth.col(ti), chunks.predicted.col(ti));
                scores_.chunk[t].push_back(c);
                fold_chunk_scores.push_back(scores_json(c));
            }
            for (Eigen::Index r = 0; r < predicted.rows(); ++r) {
                scores_.pooled_truth[t].push_back(validation.targets(r, ti));
                scores_.pooled_predicted[t].push_back(predicted(r, ti));
            }
            line += fmt::format(" {} r2={:.3f} rmse={:.3f}", data_.target_names[t], m.r2, m.rmse);
            for (std::size_t r = 0; r < validation.size(); ++r) {
                const auto ri = static_cast<Eigen::Index>(r);
                fold_predictions += csv_field(node_.id) + "," + csv_field(validation.song_ids[r]) + "," +
                                    std::to_string(fold) + "," + csv_field(data_.target_names[t]) + "," +
                                    format_number(validation.targets(ri, ti)) + "," + format_number(predicted(ri, ti)) +
                                    "," + std::to_string(seed()) + "\n";
            }
        }
        results_.predictions += fold_predictions;
        json done{{"predictions", fold_predictions}};
        if (sequence_) line += score_curves(fold, validation, fitted, done);
        write_file_atomic(fold_dir(fold) / "done.json",
                          json{{"validation_sha256", songs_hash(validation.song_ids)},
                               {"predictions", fold_predictions},
                               {"scores", fold_scores},
                               {"chunk_scores", fold_chunk_scores},
                               {"selected_on", scores_.selected_on},
                               {"best_epoch", scores_.best_epochs.empty() ? json(nullptr) : scores_.best_epochs.back()},
                               {"selected", node_.grid.empty() ? json(nullptr) : scores_.selected.back()},
                               {"frame_predictions", done.value("frame_predictions", "")},
                               {"curves", done.value("curves", json(nullptr))}}
                                  .dump() +
                              "\n");
        return line;
    }

    // A sequence model's fold: every window's row of frame_predictions.csv,
    // each validation song's annotated curve kept for curves.csv (and in
    // `done`, for --resume), and the log line's per-song figures.
    std::string score_curves(int fold, const SongTable& validation, const Fitted& fitted, json& done) {
        std::string rows;
        json truth_json = json::array(), predicted_json = json::array();
        std::string line = "; frames:";
        for (std::size_t t = 0; t < data_.target_names.size(); ++t) {
            const auto ti = static_cast<Eigen::Index>(t);
            std::vector<Eigen::VectorXd> truth, predicted;
            json truth_songs = json::array(), predicted_songs = json::array();
            for (std::size_t s = 0; s < validation.size(); ++s) {
                const Eigen::MatrixXd& windows = fitted.windows[s];
                const Eigen::MatrixXd& labels = fitted.window_truth[s];
                std::vector<double> known_truth, known_predicted;
                for (Eigen::Index w = 0; w < windows.rows(); ++w) {
                    const double label = labels(w, ti);
                    rows += csv_field(node_.id) + "," + csv_field(validation.song_ids[s]) + "," +
                            std::to_string(fold) + "," + std::to_string(seed()) + "," +
                            format_number(window_centre_seconds(fitted.timing, static_cast<std::size_t>(w))) + "," +
                            csv_field(data_.target_names[t]) + "," +
                            (std::isfinite(label) ? format_number(label) : std::string()) + "," +
                            format_number(windows(w, ti)) + "\n";
                    if (std::isfinite(label)) known_truth.push_back(label), known_predicted.push_back(windows(w, ti));
                }
                if (known_truth.empty()) continue;
                truth_songs.push_back(known_truth);
                predicted_songs.push_back(known_predicted);
                truth.push_back(Eigen::Map<const Eigen::VectorXd>(known_truth.data(), static_cast<Eigen::Index>(known_truth.size())));
                predicted.push_back(Eigen::Map<const Eigen::VectorXd>(known_predicted.data(), static_cast<Eigen::Index>(known_predicted.size())));
            }
            const CurveMetrics m = curve_metrics(truth, predicted);
            line += fmt::format(" {} rmse={:.3f} r={:.3f}", data_.target_names[t], m.rmse_mean, m.pearson_mean);
            scores_.curve_truth[t].insert(scores_.curve_truth[t].end(), truth.begin(), truth.end());
            scores_.curve_predicted[t].insert(scores_.curve_predicted[t].end(), predicted.begin(), predicted.end());
            truth_json.push_back(truth_songs);
            predicted_json.push_back(predicted_songs);
        }
        results_.frame_predictions += rows;
        done["frame_predictions"] = rows;
        done["curves"] = {{"truth", truth_json}, {"predicted", predicted_json}};
        return line + " (per song)";
    }

    // NaN or infinite predictions make every score NaN: the node fails
    // instead of reporting them as a finished result.
    void check_finite(int fold, const SongTable& validation, const Eigen::MatrixXd& predicted) const {
        std::size_t bad = 0;
        std::string first;
        for (Eigen::Index r = 0; r < predicted.rows(); ++r)
            if (!predicted.row(r).allFinite() && bad++ == 0)
                first = validation.song_ids[static_cast<std::size_t>(r)];
        if (bad > 0)
            throw Error(fmt::format("fold {}: the model predicted NaN or infinity for {} of {} validation songs "
                                    "(first: '{}'); a deep model that diverged needs a lower lr",
                                    fold, bad, predicted.rows(), first),
                        Location::of_node(node_.id));
    }

    // After --resume, what a fold's epochs before the interruption decided:
    // the training loop's checkpoint says its last epoch and the kept one
    // with its score; metrics.csv the watched songs' score at the last epoch
    // (`watched_split` rows, mean R² over targets, as on_epoch computed it).
    // False when the fold has no checkpoint (it starts afresh).
    bool restore_books(int fold, const std::string& watched_split, EpochBooks& books) const {
        const fs::path state = setup_.writer.folder().path() / "checkpoints" / node_.id /
                               ("fold" + std::to_string(slot(fold))) / "state.json";
        if (!fs::exists(state)) return false;
        const json saved = read_json_file(state);
        books.epochs = saved.at("epoch").get<int>();
        books.best_epoch = saved.at("best_epoch").get<int>();
        books.best_score = saved.at("best_score").get<double>();
        books.last_score = logged_score(fold, books.epochs, watched_split).value_or(NAN);
        return true;
    }

    // The mean over targets of the R² metrics.csv holds for this node's
    // `split` rows of `fold` and `epoch` (this repetition's); none when absent.
    std::optional<double> logged_score(int fold, int epoch, const std::string& split) const {
        std::map<std::string, double> by_target;
        for (const auto& row : read_epochs(setup_.writer.folder().path()))
            if (row.node == node_.id && row.fold == fold && row.epoch == epoch && row.split == split &&
                row.seed == std::to_string(seed()))
                by_target[row.target] = row.r2;
        if (by_target.empty()) return std::nullopt;
        double sum = 0;
        for (const auto& t : data_.target_names)
            if (by_target.count(t)) sum += by_target.at(t);
        return sum / static_cast<double>(by_target.size());
    }

    void log_epoch_rows(int fold, int epoch, const std::string& split, const std::optional<double>& loss,
                        const std::vector<std::string>& targets, const Eigen::MatrixXd& truth,
                        const Eigen::MatrixXd& predicted) {
        if (predicted.size() == 0) return;
        if (predicted.rows() != truth.rows() || predicted.cols() != truth.cols())
            throw Error(fmt::format("{} returned {}×{} {} predictions for {} songs × {} targets", node_.uses,
                                    predicted.rows(), predicted.cols(), split, truth.rows(), truth.cols()),
                        Location::of_node(node_.id));
        for (Eigen::Index t = 0; t < truth.cols(); ++t)
            setup_.metrics.append(MetricsRow{node_.id, node_.uses, fold, epoch, split,
                                             targets[static_cast<std::size_t>(t)], loss,
                                             regression_metrics(truth.col(t), predicted.col(t)), seed()});
    }

    // model/<node>/model.json: what a bundle needs to rate new music — the
    // plugins (with versions) and parameters from the audio to the model, the
    // targets in output order with their training range, and the folds.
    void write_bundle_manifest(std::size_t folds) {
        json manifest{{"format", 1},
                      {"mer_version", MER_VERSION},
                      {"abi_tag", host_abi_tag()},
                      {"experiment", exp_.name},
                      {"node", node_.id}};
        spec_.to_json(manifest);
        // The scale each target's labels are on, as the dataset declares it
        // (capability label_range): predict's quadrants split at its middle
        // and outside_range uses its bounds. Recorded only where every
        // dataset feeding the model that rates the target agrees on it.
        std::map<std::string, std::set<std::vector<double>>> scales;
        std::set<std::string> undeclared;
        for (const auto& step : spec_.data) {
            if (step.kind != "dataset") continue;
            const nlohmann::json declared = setup_.registry.get(step.uses).has(capability::kLabelRange)
                                                ? setup_.registry.create<DatasetPlugin>(step.uses, step.params)
                                                      ->query(capability::kLabelRange)
                                                : nlohmann::json();
            for (const auto& name : data_.target_names) {
                if (declared.is_object() && declared.contains(name))
                    scales[name].insert(declared[name].get<std::vector<double>>());
                else
                    undeclared.insert(name);
            }
        }
        json targets = json::array();
        for (std::size_t t = 0; t < data_.target_names.size(); ++t) {
            const auto column = data_.targets.col(static_cast<Eigen::Index>(t));
            const std::string& name = data_.target_names[t];
            targets.push_back({{"name", name},
                               {"min", column.minCoeff()},
                               {"max", column.maxCoeff()},
                               {"mean", column.mean()}});
            if (scales[name].size() == 1 && !undeclared.count(name))
                targets.back()["label_range"] = *scales[name].begin();
        }
        manifest["targets"] = targets;
        if (spec_.has_sources())  // predict says its ratings are on the union's common scale
            manifest["sources"] = {{"node", spec_.data.front().id},
                                   {"uses", spec_.data.front().uses},
                                   {"inputs", spec_.data.front().inputs}};
        manifest["per_target"] = pipelines_.per_target();
        manifest["folds"] = folds;
        if (repeated()) manifest["seeds"] = seeds_;
        manifest["aggregation"] = "the mean of the fold models' predictions (every fold of every seed); chunk models average a song's chunks";
        setup_.writer.write({"model/" + node_.id + "/model.json",
                             "bundle",
                             node_.id,
                             {},
                             "the model bundle mer-run predict loads: plugins and parameters from audio to model, "
                             "targets and their training range; fold<k>/ holds each fold's fitted pipeline"},
                            manifest.dump(2) + "\n");
    }

    const EvaluationSetup& setup_;
    const Experiment& exp_;
    const NodeSpec& node_;
    const SongTable& data_;
    RunResults& results_;
    PipelineSpec spec_;
    TargetPipelines pipelines_;
    const bool sequence_;  // the model rates every window (capability "sequence")
    NodeScores scores_;    // the books of every fold (every repetition's), for the node's summary
    std::vector<std::uint64_t> seeds_;  // the repetitions' seeds: `seeds`, or the experiment's one seed
    int run_ = 0;                       // the repetition being evaluated
    int fold_count_ = 1;
    std::size_t last_train_songs_ = 0, last_validation_songs_ = 0;
    std::string last_features_;  // the model's input width, per target when fitted per target
};

}  // namespace

void evaluate_regressor(const EvaluationSetup& setup, const NodeSpec& node, const SongTable& data,
                        RunResults& results) {
    RegressorEvaluation(setup, node, data, results).run();
}

}  // namespace mer
