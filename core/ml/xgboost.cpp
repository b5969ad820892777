// The XGBoost C API wrapper and the shared training loop.
#include "core/ml/xgboost.hpp"

#include <fmt/format.h>
#include <xgboost/c_api.h>

#include <sched.h>
#include <strings.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/base/files.hpp"
#include "core/data/splits.hpp"
#include "core/data/state.hpp"
#include "core/error.hpp"

namespace mer::xgb {

namespace {

void check(int rc, const char* call) {
    if (rc != 0) throw Error(std::string("XGBoost ") + call + " failed: " + XGBGetLastError());
}

Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> as_rows(const Eigen::MatrixXd& m) {
    return m.cast<float>();
}

}  // namespace

DMatrix::DMatrix(const Eigen::MatrixXd& features, const Eigen::VectorXd* labels) {
    const auto rows = as_rows(features);
    check(XGDMatrixCreateFromMat(rows.data(), static_cast<bst_ulong>(rows.rows()), static_cast<bst_ulong>(rows.cols()),
                                 std::numeric_limits<float>::quiet_NaN(), &handle_),
          "XGDMatrixCreateFromMat");
    if (labels) {
        const Eigen::VectorXf y = labels->cast<float>();
        check(XGDMatrixSetFloatInfo(handle_, "label", y.data(), static_cast<bst_ulong>(y.size())),
              "XGDMatrixSetFloatInfo");
    }
}

void DMatrix::set_zero_base_margin() {
    bst_ulong rows = 0;
    check(XGDMatrixNumRow(handle_, &rows), "XGDMatrixNumRow");
    const std::vector<float> zeros(static_cast<std::size_t>(rows), 0.0f);
    check(XGDMatrixSetFloatInfo(handle_, "base_margin", zeros.data(), rows), "XGDMatrixSetFloatInfo");
}

DMatrix::~DMatrix() {
    if (handle_) XGDMatrixFree(handle_);
}

Booster::Booster(const std::vector<const DMatrix*>& cache, const std::map<std::string, std::string>& params) {
    std::vector<DMatrixHandle> handles;
    for (const auto* d : cache) handles.push_back(d->handle());
    check(XGBoosterCreate(handles.data(), static_cast<bst_ulong>(handles.size()), &handle_), "XGBoosterCreate");
    try {
        for (const auto& [key, value] : params)
            check(XGBoosterSetParam(handle_, key.c_str(), value.c_str()), ("XGBoosterSetParam(" + key + ")").c_str());
    } catch (...) {  // the destructor of an object never constructed does not run
        XGBoosterFree(handle_);
        throw;
    }
}

// XGBoost loads a tree whose node is its own descendant and then predicts
// forever: every child must come after its parent (as XGBoost writes them).
// It sizes a tree by tree_param.num_nodes and then copies each per-node list
// into it unchecked (heap corruption from a shorter or longer list), and
// places trees by their id: each list must hold num_nodes entries, the ids
// must be 0, 1, 2, … in order.
static void check_trees(const std::string& json_model) try {
    const auto model = nlohmann::json::parse(json_model, nullptr, false);
    if (model.is_discarded()) throw Error("not an XGBoost JSON model");
    const auto* trees = &model;
    for (const char* key : {"learner", "gradient_booster", "model", "trees"}) {
        if (!trees->is_object() || !trees->contains(key)) throw Error("not an XGBoost JSON model (no trees)");
        trees = &(*trees)[key];
    }
    if (!trees->is_array()) throw Error("not an XGBoost JSON model (trees is no list)");
    std::int64_t expected_id = 0;
    for (const auto& tree : *trees) {
        if (tree.at("id").get<std::int64_t>() != expected_id)
            throw Error("damaged XGBoost model: tree " + std::to_string(expected_id) + " has id " + tree.at("id").dump());
        ++expected_id;
        const auto& left = tree.at("left_children");
        const auto& right = tree.at("right_children");
        const auto n = static_cast<std::int64_t>(left.size());
        if (right.size() != left.size()) throw Error("damaged XGBoost tree: child lists of different lengths");
        const std::string num_nodes = tree.at("tree_param").at("num_nodes").get<std::string>();
        if (num_nodes != std::to_string(n))
            throw Error("damaged XGBoost tree: num_nodes " + num_nodes + " for " + std::to_string(n) + " nodes");
        for (const char* list : {"parents", "split_indices", "split_conditions", "split_type", "default_left",
                                 "base_weights", "loss_changes", "sum_hessian"})
            if (!tree.at(list).is_array() || static_cast<std::int64_t>(tree.at(list).size()) != n)
                throw Error(std::string("damaged XGBoost tree: ") + list + " does not hold one entry per node");
        for (std::int64_t i = 0; i < n; ++i)
            for (const auto* children : {&left, &right}) {
                const std::int64_t c = (*children)[static_cast<std::size_t>(i)].get<std::int64_t>();
                if (c != -1 && (c <= i || c >= n))
                    throw Error("damaged XGBoost tree: node " + std::to_string(i) + " has child " + std::to_string(c));
            }
    }
} catch (const nlohmann::json::exception& e) {
    throw Error(std::string("damaged XGBoost model: ") + e.what());
}

Booster::Booster(const std::string& json_model) {
    check_trees(json_model);
    check(XGBoosterCreate(nullptr, 0, &handle_), "XGBoosterCreate");
    try {
        check(XGBoosterLoadModelFromBuffer(handle_, json_model.data(), json_model.size()),
              "XGBoosterLoadModelFromBuffer");
    } catch (...) {  // the destructor of an object never constructed does not run
        XGBoosterFree(handle_);
        throw;
    }
}

Booster::~Booster() {
    if (handle_) XGBoosterFree(handle_);
}

void Booster::update(int iteration, const DMatrix& train) {
    check(XGBoosterUpdateOneIter(handle_, iteration, train.handle()), "XGBoosterUpdateOneIter");
}

static Eigen::MatrixXd predict_with(void* booster, const DMatrix& data, const std::string& config,
                                    Eigen::Index columns) {
    const bst_ulong* shape = nullptr;
    bst_ulong dims = 0;
    const float* result = nullptr;
    check(XGBoosterPredictFromDMatrix(booster, data.handle(), config.c_str(), &shape, &dims, &result),
          "XGBoosterPredictFromDMatrix");
    const auto rows = static_cast<Eigen::Index>(shape[0]);
    Eigen::MatrixXd out(rows, columns);
    for (Eigen::Index r = 0; r < rows; ++r)
        for (Eigen::Index c = 0; c < columns; ++c) out(r, c) = result[r * columns + c];
    return out;
}

Eigen::VectorXd Booster::predict(const DMatrix& data, int rounds) const {
    const std::string config = fmt::format(
        R"({{"type": 0, "training": false, "iteration_begin": 0, "iteration_end": {}, "strict_shape": false}})",
        rounds);
    return predict_with(handle_, data, config, 1).col(0);
}

Eigen::VectorXf Booster::predict_range(const DMatrix& data, int begin, int end) const {
    const std::string config = fmt::format(
        R"({{"type": 0, "training": false, "iteration_begin": {}, "iteration_end": {}, "strict_shape": false}})", begin,
        end);
    return predict_with(handle_, data, config, 1).col(0).cast<float>();
}

float Booster::base_score() const {
    bst_ulong length = 0;
    const char* text = nullptr;
    check(XGBoosterSaveJsonConfig(handle_, &length, &text), "XGBoosterSaveJsonConfig");
    try {
        const auto config = nlohmann::json::parse(std::string(text, length));
        return std::stof(config.at("learner").at("learner_model_param").at("base_score").get<std::string>());
    } catch (const std::exception& e) {
        throw Error(std::string("XGBoost's configuration has no readable base_score: ") + e.what());
    }
}

Eigen::MatrixXd Booster::contributions(const DMatrix& data) const {
    bst_ulong columns = 0;
    check(XGDMatrixNumCol(data.handle(), &columns), "XGDMatrixNumCol");
    const std::string config =
        R"({"type": 2, "training": false, "iteration_begin": 0, "iteration_end": 0, "strict_shape": false})";
    return predict_with(handle_, data, config, static_cast<Eigen::Index>(columns) + 1);
}

std::string Booster::to_json() const {
    bst_ulong length = 0;
    const char* bytes = nullptr;
    check(XGBoosterSaveModelToBuffer(handle_, R"({"format": "json"})", &length, &bytes), "XGBoosterSaveModelToBuffer");
    return std::string(bytes, length);
}

int booster_threads(int asked, int cpus, int busy_cpus) {
    if (asked <= 1) return 1;
    return std::clamp(cpus - busy_cpus, 1, asked);
}

namespace {

// Tasks running or runnable now, machine-wide: /proc/loadavg's fourth field (-1: unreadable).
int running_tasks() {
    std::ifstream in("/proc/loadavg");
    double average = 0;
    int running = 0;
    char slash = 0;
    if (!(in >> average >> average >> average >> running >> slash) || slash != '/') return -1;
    return running;
}

// This process's threads running now (the calling one included; libgomp's
// idle workers spin a while after each parallel region before they sleep).
int running_threads_of_ours() {
    int running = 0;
    std::error_code error;
    // Incremented with an error code: a thread that ends while we read must not throw out of a fit.
    for (std::filesystem::directory_iterator task("/proc/self/task", error), end; !error && task != end;
         task.increment(error)) {
        std::ifstream in(task->path() / "stat");
        std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        const auto name_end = stat.rfind(')');  // "pid (name) S ...": the name may hold spaces
        if (name_end != std::string::npos && name_end + 2 < stat.size() && stat[name_end + 2] == 'R') ++running;
    }
    return std::max(1, running);
}

}  // namespace

bool openmp_waits_passively() {
    const char* policy = std::getenv("OMP_WAIT_POLICY");
    const char* spins = std::getenv("GOMP_SPINCOUNT");
    return (policy && strcasecmp(policy, "passive") == 0) || (spins && std::string(spins) == "0");
}

CpuLoad cpu_load() {
    CpuLoad load;
    cpu_set_t set;
    CPU_ZERO(&set);
    const long online = sysconf(_SC_NPROCESSORS_ONLN);
    load.cpus = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : static_cast<int>(online);
    load.cpus = std::max(1, load.cpus);
    if (online > load.cpus) return load;  // others' tasks may run on CPUs outside ours
    // The fewest of a few looks, so that a task that only woke for a moment does not count.
    int busy = std::numeric_limits<int>::max();
    for (int look = 0; look < 3; ++look) {
        if (look > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        const int machine = running_tasks();
        if (machine < 0) return load;
        busy = std::min(busy, machine - running_threads_of_ours());
    }
    load.busy = std::max(0, busy);
    return load;
}

namespace {

// The rows of the training side a booster fits on, and those early stopping
// watches: songs held out of the training side, never the validation fold
// the host scores.
struct WatchSplit {
    std::vector<std::size_t> fit_rows, watch_rows;
};

WatchSplit watch_split(const SongTable& train, const BoostedTreesSettings& settings, const PluginContext& ctx) {
    WatchSplit split;
    if (settings.early_stopping_rounds > 0) {
        SplitSpec holdout{"holdout", settings.early_stopping_fraction, 2};
        const Fold f = make_folds(train.groups, holdout, derive_seed(ctx.split_seed, "early-stopping"))[0];
        split.fit_rows = f.train;
        split.watch_rows = f.validation;
    } else {
        for (std::size_t r = 0; r < train.size(); ++r) split.fit_rows.push_back(r);
    }
    return split;
}

// The threads target t's booster trains on, by the machine's load now (it
// changes from one booster to the next).
int threads_for_booster(std::size_t t, const PluginContext& ctx) {
    CpuLoad load = ctx.threads > 1 ? cpu_load() : CpuLoad{};
    if (openmp_waits_passively()) load.busy = 0;  // a preempted thread costs its team nothing
    const int threads = booster_threads(ctx.threads, load.cpus, load.busy);
    if (threads < ctx.threads)
        ctx.info(fmt::format("fold {}: target {} trains on {} of {} threads: {} other tasks running on {} CPUs",
                             ctx.fold, t, threads, ctx.threads, load.busy, load.cpus));
    return threads;
}

// One booster after its boosting: the rounds it keeps, and the round early
// stopping ended it at (settings.rounds: it ran them all).
struct Boosted {
    int rounds_used, stopped_at;
};

// Boosts round by round up to settings.rounds; with watched songs (`watch`,
// their labels column `target` of `watch_targets`), stops
// early_stopping_rounds after the round with their lowest squared error and
// keeps the rounds up to that one.
Boosted boost(Booster& booster, const DMatrix& train_set, const DMatrix* watch, const Eigen::MatrixXd& watch_targets,
              Eigen::Index target, const BoostedTreesSettings& settings) {
    int stopped_at = settings.rounds;
    double best_loss = std::numeric_limits<double>::infinity();
    int best_round = 0;
    for (int round = 0; round < settings.rounds && stopped_at == settings.rounds; ++round) {
        booster.update(round, train_set);
        if (!watch) continue;
        const Eigen::VectorXd p = booster.predict(*watch, round + 1);
        const double loss = (p - watch_targets.col(target)).squaredNorm() / p.size();
        if (loss < best_loss) best_loss = loss, best_round = round;
        if (round - best_round >= settings.early_stopping_rounds) stopped_at = round;
    }
    return {watch ? best_round + 1 : settings.rounds, stopped_at};
}

// Adds round `round` of one target's booster to its running sums: the
// round's trees while the booster ran (up to the round it kept last); at the
// round it stopped, the sums start again from the base score with the kept
// rounds' trees, and stay so from then on.
void add_round(const Booster& booster, int round, int stopped_at, int rounds_used, const DMatrix& train_data,
               const DMatrix* valid_data, Eigen::VectorXf& train_sum, Eigen::VectorXf& valid_sum) {
    if (round < stopped_at || (round == stopped_at && rounds_used == round + 1)) {
        train_sum += booster.predict_range(train_data, round, round + 1);
        if (valid_data) valid_sum += booster.predict_range(*valid_data, round, round + 1);
    } else if (round == stopped_at) {  // from here on, the best round's predictions
        train_sum = Eigen::VectorXf::Constant(train_sum.size(), booster.base_score());
        if (valid_data) valid_sum = Eigen::VectorXf::Constant(valid_sum.size(), booster.base_score());
        for (int r = 0; r < rounds_used; ++r) {
            train_sum += booster.predict_range(train_data, r, r + 1);
            if (valid_data) valid_sum += booster.predict_range(*valid_data, r, r + 1);
        }
    }
}

// Every round's predictions to on_epoch until the last target stopped; a
// stopped target's from its best round on. Each round adds its trees to the
// previous round's sums, as XGBoost itself sums them (in float, from the
// base score, tree by tree), instead of predicting from every tree again:
// the same numbers in time linear in the rounds.
void report_rounds(const std::vector<std::unique_ptr<Booster>>& boosters, const std::vector<int>& rounds_used,
                   const std::vector<int>& stopped_at, int rounds_run, const SongTable& train,
                   const SongTable* validation, DMatrix& train_data, DMatrix* valid_data,
                   const EpochCallback& on_epoch) {
    const std::size_t targets = boosters.size();
    train_data.set_zero_base_margin();
    if (valid_data) valid_data->set_zero_base_margin();
    std::vector<Eigen::VectorXf> train_sum(targets), valid_sum(targets);
    for (std::size_t t = 0; t < targets; ++t) {
        const float base = boosters[t]->base_score();
        train_sum[t] = Eigen::VectorXf::Constant(train.features.rows(), base);
        if (valid_data) valid_sum[t] = Eigen::VectorXf::Constant(validation->features.rows(), base);
    }
    for (int round = 0; round < rounds_run; ++round) {
        EpochReport report;
        report.epoch = round + 1;
        report.train_predictions.resize(train.features.rows(), static_cast<Eigen::Index>(targets));
        if (valid_data)
            report.validation_predictions.resize(validation->features.rows(), static_cast<Eigen::Index>(targets));
        for (std::size_t t = 0; t < targets; ++t) {
            add_round(*boosters[t], round, stopped_at[t], rounds_used[t], train_data, valid_data, train_sum[t],
                      valid_sum[t]);
            report.train_predictions.col(static_cast<Eigen::Index>(t)) = train_sum[t].cast<double>();
            if (valid_data)
                report.validation_predictions.col(static_cast<Eigen::Index>(t)) = valid_sum[t].cast<double>();
        }
        report.train_loss =
            (report.train_predictions - train.targets).squaredNorm() / static_cast<double>(train.targets.size());
        on_epoch(report);
    }
}

}  // namespace

void BoostedTrees::fit(const SongTable& train, const SongTable* validation, const EpochCallback& on_epoch,
                       const PluginContext& ctx) {
    auto params = settings_.params;
    const bool threads_ours = !params.count("nthread") || params["nthread"] == "0";  // else the user's
    if (!params.count("seed")) params["seed"] = std::to_string(ctx.seed % 2147483647);
    params["verbosity"] = "0";
    const WatchSplit split = watch_split(train, settings_, ctx);
    const SongTable fit_part = train.rows(split.fit_rows);
    const SongTable watch_part = train.rows(split.watch_rows);

    boosters_.clear();
    rounds_used_.clear();
    const auto targets = static_cast<std::size_t>(train.targets.cols());
    std::unique_ptr<DMatrix> full_train = std::make_unique<DMatrix>(train.features, nullptr);
    std::unique_ptr<DMatrix> valid = validation ? std::make_unique<DMatrix>(validation->features, nullptr) : nullptr;
    std::unique_ptr<DMatrix> watch =
        split.watch_rows.empty() ? nullptr : std::make_unique<DMatrix>(watch_part.features, nullptr);
    // Each target's booster is trained to the end before the next starts:
    // XGBoost draws its row and column samples from one random engine per
    // thread, so boosters trained round by round in turn would each depend on
    // the others' draws. One after another, each is exactly the booster of
    // that target alone (capability per_target: what tuning per target relies on).
    std::vector<std::unique_ptr<DMatrix>> train_sets;
    std::vector<int> stopped_at(targets, settings_.rounds);  // the round early stopping ended; rounds: never
    for (std::size_t t = 0; t < targets; ++t) {
        const Eigen::VectorXd y = fit_part.targets.col(static_cast<Eigen::Index>(t));
        train_sets.push_back(std::make_unique<DMatrix>(fit_part.features, &y));
        if (threads_ours) params["nthread"] = std::to_string(threads_for_booster(t, ctx));
        boosters_.push_back(std::make_unique<Booster>(std::vector<const DMatrix*>{train_sets.back().get()}, params));
        const Boosted boosted = boost(*boosters_[t], *train_sets[t], watch.get(), watch_part.targets,
                                      static_cast<Eigen::Index>(t), settings_);
        rounds_used_.push_back(boosted.rounds_used);
        stopped_at[t] = boosted.stopped_at;
    }
    const int rounds_run = std::min(settings_.rounds, *std::max_element(stopped_at.begin(), stopped_at.end()) + 1);
    if (on_epoch)
        report_rounds(boosters_, rounds_used_, stopped_at, rounds_run, train, validation, *full_train, valid.get(),
                      on_epoch);
    if (settings_.early_stopping_rounds > 0)
        ctx.info(fmt::format("fold {}: early stopping kept {} rounds (of {})", ctx.fold, fmt::join(rounds_used_, "/"),
                             settings_.rounds));
}

Eigen::MatrixXd BoostedTrees::predict(const SongTable& songs) const {
    const DMatrix data(songs.features, nullptr);
    Eigen::MatrixXd out(songs.features.rows(), static_cast<Eigen::Index>(boosters_.size()));
    for (std::size_t t = 0; t < boosters_.size(); ++t)
        out.col(static_cast<Eigen::Index>(t)) = boosters_[t]->predict(data, rounds_used_[t]);
    return out;
}

Eigen::MatrixXd BoostedTrees::predict_rounds(const SongTable& songs, int rounds) const {
    if (rounds < 1) throw Error("predict_rounds: " + std::to_string(rounds) + " rounds (expected at least 1)");
    const DMatrix data(songs.features, nullptr);
    Eigen::MatrixXd out(songs.features.rows(), static_cast<Eigen::Index>(boosters_.size()));
    for (std::size_t t = 0; t < boosters_.size(); ++t)
        out.col(static_cast<Eigen::Index>(t)) = boosters_[t]->predict(data, std::min(rounds, rounds_used_[t]));
    return out;
}

Eigen::MatrixXd BoostedTrees::contributions(const SongTable& songs, std::size_t target) const {
    const DMatrix data(songs.features, nullptr);
    return boosters_.at(target)->contributions(data);
}

std::vector<std::string> BoostedTrees::models_json() const {
    std::vector<std::string> out;
    for (const auto& b : boosters_) out.push_back(b->to_json());
    return out;
}

void BoostedTrees::save(const std::string& dir) const {
    std::filesystem::create_directories(dir);
    const std::vector<std::string> models = models_json();
    for (std::size_t t = 0; t < models.size(); ++t)
        write_file_atomic(std::filesystem::path(dir) / ("target" + std::to_string(t) + ".json"), models[t]);
    save_json(dir, "rounds", rounds_used_);
}

void BoostedTrees::load(const std::string& dir) {
    rounds_used_ = load_json(dir, "rounds").get<std::vector<int>>();
    if (rounds_used_.empty() || rounds_used_.size() > 1000)  // one entry per target
        throw Error("damaged model bundle: " + std::to_string(rounds_used_.size()) + " targets",
                    Location(dir + "/rounds.json"));
    boosters_.clear();
    for (std::size_t t = 0; t < rounds_used_.size(); ++t) {
        const std::filesystem::path file = std::filesystem::path(dir) / ("target" + std::to_string(t) + ".json");
        if (!std::filesystem::is_regular_file(file))
            throw Error("damaged model bundle: target" + std::to_string(t) + ".json is missing", Location(dir));
        boosters_.push_back(std::make_unique<Booster>(read_text_file(file)));
    }
}

}  // namespace mer::xgb
