// XGBoost's C API, wrapped once: every call is checked and a failure becomes
// a mer::Error carrying XGBGetLastError(). On top of the handles sits
// BoostedTrees, the one training loop the tree-ensemble plugins share
// (regressor.xgboost, regressor.random_forest, regressor.gradient_boosting,
// transform.select_shap): one booster per target, per-round metrics through
// the epoch callback, optional early stopping on held-out training songs.
#pragma once

#include <Eigen/Core>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/plugin/regressor.hpp"

namespace mer::xgb {

class DMatrix {
public:
    // Rows are songs. `labels` may be null (prediction only).
    DMatrix(const Eigen::MatrixXd& features, const Eigen::VectorXd* labels);
    ~DMatrix();
    DMatrix(const DMatrix&) = delete;
    DMatrix& operator=(const DMatrix&) = delete;
    void* handle() const { return handle_; }
    // Predictions then start from 0 instead of the booster's base score, so
    // that a range of rounds gives exactly the sum of its trees' leaves.
    void set_zero_base_margin();

private:
    void* handle_ = nullptr;
};

class Booster {
public:
    Booster(const std::vector<const DMatrix*>& cache, const std::map<std::string, std::string>& params);
    explicit Booster(const std::string& json_model);  // a saved model
    ~Booster();
    Booster(const Booster&) = delete;
    Booster& operator=(const Booster&) = delete;

    void update(int iteration, const DMatrix& train);
    // Predictions using boosting rounds [0, rounds) (0: all).
    Eigen::VectorXd predict(const DMatrix& data, int rounds = 0) const;
    // Rounds [begin, end) only, in XGBoost's float.
    Eigen::VectorXf predict_range(const DMatrix& data, int begin, int end) const;
    // The score every prediction starts from (learner_model_param.base_score).
    float base_score() const;
    // TreeSHAP contributions: songs × (features + 1); the last column is the bias.
    Eigen::MatrixXd contributions(const DMatrix& data) const;
    std::string to_json() const;

private:
    void* handle_ = nullptr;
};

struct BoostedTreesSettings {
    std::map<std::string, std::string> params;  // XGBoost parameter names and values
    int rounds = 100;
    int early_stopping_rounds = 0;          // 0: off
    double early_stopping_fraction = 0.15;  // share of training songs held out to watch
};

// The threads XGBoost trains a booster with when its `nthread` is 0 (the
// experiment's share, `asked`): at most one per CPU that other running tasks
// leave idle, and at least one. XGBoost's OpenMP threads meet at barriers
// many times per boosting round, and libgomp waits there by spinning: when a
// busy machine preempts one of them, the others burn their time slices
// until it runs again (a 2-thread refit beside two busy processes on 2 cores
// took 1.5-3.6x the 1-thread one). One thread never waits at a barrier, and
// the trees do not depend on the thread count.
// docs/experiments.md#threads-on-a-busy-machine
int booster_threads(int asked, int cpus, int busy_cpus);

// Whether libgomp was told to wait at barriers by sleeping (OMP_WAIT_POLICY=passive
// or GOMP_SPINCOUNT=0 in the environment the process started with): then
// busy CPUs cost a team little and the share of threads is kept.
bool openmp_waits_passively();

// CPUs this process may run on, and how many tasks of others are running on
// them now (0 when that cannot be told: inside a CPU set smaller than the
// machine, such as a Slurm job's cores, the CPUs are taken to be ours).
struct CpuLoad {
    int cpus = 1;
    int busy = 0;
};
CpuLoad cpu_load();

// Trees for every target of a SongTable.
class BoostedTrees {
public:
    explicit BoostedTrees(BoostedTreesSettings settings) : settings_(std::move(settings)) {}

    // Per-round train/validation predictions go to `on_epoch` (when set).
    void fit(const SongTable& train, const SongTable* validation, const EpochCallback& on_epoch,
             const PluginContext& ctx);
    Eigen::MatrixXd predict(const SongTable& songs) const;
    // The same from the first `rounds` boosting rounds only (fewer where early stopping kept fewer).
    Eigen::MatrixXd predict_rounds(const SongTable& songs, int rounds) const;
    // Whether a fit with fewer rounds equals this one's first rounds (no early stopping).
    bool staged() const { return settings_.early_stopping_rounds == 0; }
    // Contributions of each feature for one target (songs × (features + 1)).
    Eigen::MatrixXd contributions(const SongTable& songs, std::size_t target) const;
    std::vector<std::string> models_json() const;
    // XGBoost's JSON model of each target (target<k>.json) and the rounds used.
    void save(const std::string& dir) const;
    void load(const std::string& dir);

private:
    BoostedTreesSettings settings_;
    std::vector<std::unique_ptr<Booster>> boosters_;  // one per target
    std::vector<int> rounds_used_;                    // per target (early stopping may cut)
};

// A regressor plugin made of BoostedTrees: the tree-ensemble plugins only
// translate their parameters into XGBoost settings.
class TreeEnsembleRegressor : public RegressorPlugin, public StagedPredictions {
public:
    // Each round is a stage: n_estimators (the parameter both boosting
    // plugins count rounds with) is staged unless early stopping is on.
    static constexpr const char* kCapabilities =
        R"({"independent_targets": true, "staged": true, "budget": "n_estimators"})";

    explicit TreeEnsembleRegressor(BoostedTreesSettings settings) : trees_(std::move(settings)) {}
    nlohmann::json query(const std::string& capability) const override {
        if (capability == "staged") return trees_.staged() ? nlohmann::json("n_estimators") : nlohmann::json();
        return RegressorPlugin::query(capability);
    }
    Eigen::MatrixXd predict_stages(const SongTable& songs, int stages) const override {
        return trees_.predict_rounds(songs, stages);
    }
    void fit(const SongTable& train, const SongTable* validation, const EpochCallback& on_epoch,
             const PluginContext& ctx) override {
        trees_.fit(train, validation, on_epoch, ctx);
    }
    Eigen::MatrixXd predict(const SongTable& songs) const override { return trees_.predict(songs); }
    void save(const std::string& dir) const override { trees_.save(dir); }
    void load(const std::string& dir) override { trees_.load(dir); }

private:
    BoostedTrees trees_;
};

}  // namespace mer::xgb
