// The classical regressors and transforms on problems whose answers are
// known: closed-form and KKT checks for ridge and lasso, SVR, forest and
// boosting against the mean baseline, SHAP additivity, and selection that
// does not leak validation songs into training.
#include <Eigen/QR>
#include <catch2/catch.hpp>
#include <cmath>
#include <nlohmann/json.hpp>
#include <random>

#include "core/data/splits.hpp"
#include "core/eval/metrics.hpp"
#include "core/graph/schema.hpp"
#include "core/ml/xgboost.hpp"
#include "core/plugin/dataset.hpp"
#include "core/plugin/registry.hpp"
#include "core/plugin/regressor.hpp"
#include "core/plugin/transform.hpp"
#include "tests/support/test_support.hpp"

using namespace mer::test;
using nlohmann::json;

namespace {

// y0 = 3·x0 − 2·x1 + sin-shaped x2 term, y1 = 2·(x0² − 1) ± 1.5 by the sign
// of x3 (mostly invisible to a linear model), plus
// a little noise; the other columns are noise.
mer::SongTable structured(int n, int features, std::uint64_t seed, double noise = 0.1) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal;
    mer::SongTable t;
    t.features.resize(n, features);
    t.targets.resize(n, 2);
    for (int i = 0; i < n; ++i) {
        for (int j = 0; j < features; ++j) t.features(i, j) = normal(rng);
        const auto x = t.features.row(i);
        t.targets(i, 0) = 3 * x(0) - 2 * x(1) + 1.5 * std::sin(2 * x(2)) + noise * normal(rng);
        t.targets(i, 1) = 2 * (x(0) * x(0) - 1) + (x(3) > 0 ? 1.5 : -1.5) + noise * normal(rng);
        t.song_ids.push_back("s" + std::to_string(i));
    }
    t.groups = t.song_ids;
    for (int j = 0; j < features; ++j) t.feature_names.push_back("f" + std::to_string(j));
    t.target_names = {"a", "b"};
    return t;
}

Eigen::MatrixXd fit_predict(const std::string& plugin, const json& params, const mer::SongTable& train,
                            const mer::SongTable& test) {
    auto model = registry().create<mer::RegressorPlugin>(plugin, with_defaults(plugin, params));
    mer::PluginContext ctx;
    ctx.threads = 2;
    ctx.seed = 7;
    model->fit(train, nullptr, {}, ctx);
    return model->predict(test);
}

double r2(const mer::SongTable& test, const Eigen::MatrixXd& p, int target) {
    return mer::r2_score(test.targets.col(target), p.col(target));
}

}  // namespace

TEST_CASE("lasso satisfies the KKT conditions of its objective", "[regressor.lasso]") {
    const mer::SongTable t = structured(120, 10, 1);
    const double alpha = 0.05;
    auto lasso = registry().create<mer::RegressorPlugin>(
        "regressor.lasso", with_defaults("regressor.lasso", {{"alpha", alpha}, {"tol", 1e-10}, {"max_iter", 100000}}));
    lasso->fit(t, nullptr, {}, {});
    // Recover the weights on standardised inputs from predictions on unit vectors.
    const Eigen::RowVectorXd mean = t.features.colwise().mean();
    const Eigen::RowVectorXd sd = ((t.features.rowwise() - mean).array().square().colwise().mean()).sqrt();
    const Eigen::MatrixXd z = (t.features.rowwise() - mean).array().rowwise() / sd.array();
    const Eigen::MatrixXd p = lasso->predict(t);
    const double n = static_cast<double>(t.size());
    // Weights: least squares of predictions on z (exact, since predictions are linear in z).
    const Eigen::MatrixXd w = z.colPivHouseholderQr().solve(p.rowwise() - p.colwise().mean());
    int zeros = 0;
    for (int target = 0; target < 2; ++target) {
        const Eigen::VectorXd residual = t.targets.col(target) - p.col(target);
        for (Eigen::Index j = 0; j < z.cols(); ++j) {
            const double gradient = z.col(j).dot(residual) / n;  // must equal alpha·sign(w) or lie in [−alpha, alpha]
            if (std::abs(w(j, target)) > 1e-8)
                CHECK(gradient == Approx(alpha * (w(j, target) > 0 ? 1 : -1)).margin(1e-6));
            else {
                CHECK(std::abs(gradient) <= alpha + 1e-6);
                ++zeros;
            }
        }
    }
    CHECK(zeros > 0);  // the L1 penalty zeroed some noise columns
}

TEST_CASE("SVR, random forest and boosting beat the mean baseline by a wide margin", "[regressors]") {
    const mer::SongTable train = structured(300, 8, 2), test = structured(200, 8, 3);
    const Eigen::MatrixXd baseline = fit_predict("regressor.mean", json::object(), train, test);
    CHECK(r2(test, baseline, 0) < 0.05);
    for (const char* plugin :
         {"regressor.svr", "regressor.random_forest", "regressor.gradient_boosting", "regressor.xgboost"}) {
        INFO(plugin);
        const Eigen::MatrixXd p = fit_predict(plugin, json::object(), train, test);
        CHECK(r2(test, p, 0) > 0.7);
        CHECK(r2(test, p, 1) > 0.5);  // the non-linear target
    }
    const Eigen::MatrixXd linear = fit_predict("regressor.ridge", {{"alpha", 1.0}}, train, test);
    CHECK(r2(test, linear, 0) > 0.8);
    CHECK(r2(test, linear, 1) < 0.4);
}

TEST_CASE("XGBoost's SHAP contributions add up to every prediction", "[xgboost][shap]") {
    const mer::SongTable t = structured(150, 6, 4);
    mer::xgb::BoostedTreesSettings settings;
    settings.params = {{"objective", "reg:squarederror"}, {"max_depth", "3"}, {"eta", "0.1"}};
    settings.rounds = 50;
    mer::xgb::BoostedTrees trees(settings);
    trees.fit(t, nullptr, {}, {});
    const Eigen::MatrixXd predicted = trees.predict(t);
    for (std::size_t target = 0; target < 2; ++target) {
        const Eigen::MatrixXd shap = trees.contributions(t, target);
        REQUIRE(shap.cols() == 7);  // 6 features + bias
        const Eigen::VectorXd total = shap.rowwise().sum();
        CHECK((total - predicted.col(static_cast<Eigen::Index>(target))).cwiseAbs().maxCoeff() < 1e-4);
    }
}

TEST_CASE("XGBoost reports every round and stops early on held-out training songs", "[regressor.xgboost]") {
    const mer::SongTable train = structured(200, 6, 5, 1.0), validation = structured(80, 6, 6, 1.0);
    auto model = registry().create<mer::RegressorPlugin>(
        "regressor.xgboost",
        with_defaults("regressor.xgboost", {{"n_estimators", 400}, {"eta", 0.3}, {"early_stopping_rounds", 10}}));
    int rounds = 0;
    std::string log;
    mer::PluginContext ctx;
    ctx.log = [&log](const std::string& line) { log += line; };
    model->fit(
        train, &validation,
        [&](const mer::EpochReport& r) {
            CHECK(r.epoch == ++rounds);
            CHECK(r.validation_predictions.rows() == 80);
        },
        ctx);
    CHECK(rounds < 400);  // noisy targets: it stops long before 400 rounds
    CHECK_THAT(log, Catch::Contains("early stopping kept"));
}

TEST_CASE("selection inside the folds does not leak: pure noise stays unpredictive", "[transforms][leakage]") {
    TempDir dir;
    // 80 songs, 400 noise features, labels unrelated to them.
    std::mt19937_64 rng(11);
    std::normal_distribution<double> normal;
    std::string csv = "song_id";
    for (int j = 0; j < 400; ++j) csv += ",n" + std::to_string(j);
    csv += ",valence,arousal\n";
    for (int i = 0; i < 80; ++i) {
        csv += "s" + std::to_string(i);
        for (int j = 0; j < 401 + 1; ++j) csv += "," + std::to_string(normal(rng));
        csv += "\n";
    }
    write_file(dir / "noise.csv", csv);
    write_file(dir / "leak.yaml", R"(name: leak
nodes:
  data: {uses: dataset.table, params: {path: noise.csv}}
  top: {uses: transform.select_pearson, inputs: [data], params: {k: 10}}
  ridge: {uses: regressor.ridge, inputs: [top], params: {alpha: 1.0}}
evaluation: {split: {kind: kfold, k: 5}}
)");
    const auto r = run_mer({"run", "leak.yaml", "--quiet"}, dir.path());
    REQUIRE(r.exit_code == 0);
    const json summary = json::parse(read_file(dir.path() / r.out.substr(0, r.out.find('\n')) / "summary.json"));
    const double honest = summary["nodes"]["ridge"]["validation"]["valence"]["r2"]["mean"];
    CHECK(honest < 0.05);

    // The same pipeline with the selection fitted on every song (the leak the
    // host prevents) looks predictive, so the check above can fail.
    mer::PluginRegistry reg;
    reg.scan({plugin_dir()});
    auto table = reg.create<mer::DatasetPlugin>(
                        "dataset.table", with_defaults("dataset.table", {{"path", (dir / "noise.csv").string()}}))
                     ->load({});
    auto leaky = reg.create<mer::TransformPlugin>("transform.select_pearson",
                                                  with_defaults("transform.select_pearson", {{"k", 10}}));
    leaky->fit({&table}, {});
    const mer::SongTable selected = leaky->apply({&table});
    double leaked = 0;
    for (const auto& fold : mer::make_folds(selected.song_ids, {"kfold", 0.2, 5}, 1)) {
        const mer::SongTable train = selected.rows(fold.train), test = selected.rows(fold.validation);
        leaked += r2(test, fit_predict("regressor.ridge", {{"alpha", 1.0}}, train, test), 0) / 5;
    }
    CHECK(leaked > honest + 0.15);
}

TEST_CASE("grid search picks the known best value and writes grid.csv", "[grid][cli]") {
    TempDir dir;
    // A clean linear relation: the least penalty wins, the largest collapses to the mean.
    write_synthetic_table(dir.path(), 80);
    write_file(dir / "grid.yaml", R"(name: grid
nodes:
  data: {uses: dataset.table, params: {path: songs.csv}}
  ridge:
    uses: regressor.ridge
    inputs: [data]
    grid: {alpha: [100000, 0.01, 1000]}
    grid_search: {folds: 3, metric: rmse}
evaluation: {split: {kind: kfold, k: 3}}
)");
    const auto r = run_mer({"run", "grid.yaml", "--quiet"}, dir.path());
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const std::string folder = r.out.substr(0, r.out.find('\n'));
    const json summary = json::parse(read_file(dir.path() / folder / "summary.json"));
    const json& grid = summary["nodes"]["ridge"]["grid"];
    CHECK(grid["candidates"] == 3);
    CHECK(grid["by"] == "target");  // ridge learns each target on its own
    for (const char* target : {"valence", "arousal"}) {
        REQUIRE(grid["best_per_target"][target].size() == 3);
        for (const auto& best : grid["best_per_target"][target]) CHECK(best["alpha"] == 0.01);
    }
    const std::string table = read_file(dir.path() / folder / "grid.csv");
    CHECK(count_lines(table) == 1 + 3 * 3 * 2);  // header + folds × candidates × targets
    CHECK_THAT(table, Catch::Contains(R"(ridge,0,1,"{""alpha"":0.01}",valence)"));
    CHECK_THAT(table, Catch::Contains(",1,target\n"));
    const std::string results = read_file(dir.path() / folder / "results.csv");
    CHECK_THAT(results, Catch::StartsWith("feature_set,model,node,target,level,r2,r2_std,mae,mae_std,rmse,rmse_std,"
                                          "selected_on,selected_params\ndata,regressor.ridge,ridge,valence,song,"));
    CHECK_THAT(results, Catch::Contains(R"(,"[{""alpha"":0.01},{""alpha"":0.01},{""alpha"":0.01}]")"));
}

TEST_CASE("transforms: standardize, PCA and combine behave as documented", "[transforms]") {
    const mer::SongTable t = structured(100, 12, 8);
    auto pca =
        registry().create<mer::TransformPlugin>("transform.pca", with_defaults("transform.pca", {{"components", 3}}));
    pca->fit({&t}, {});
    const mer::SongTable projected = pca->apply({&t});
    REQUIRE(projected.feature_names == std::vector<std::string>{"pc_1", "pc_2", "pc_3"});
    // Components are uncorrelated with decreasing variance.
    const Eigen::MatrixXd c = projected.features.rowwise() - projected.features.colwise().mean();
    const Eigen::MatrixXd cov = c.transpose() * c / 99.0;
    CHECK(std::abs(cov(0, 1)) < 1e-8);
    CHECK(cov(0, 0) >= cov(1, 1));
    CHECK(cov(1, 1) >= cov(2, 2));

    auto scale =
        registry().create<mer::TransformPlugin>("transform.standardize", with_defaults("transform.standardize"));
    const mer::SongTable train = t.rows({0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
    scale->fit({&train}, {});
    const mer::SongTable scaled = scale->apply({&train});
    CHECK(scaled.features.colwise().mean().cwiseAbs().maxCoeff() < 1e-12);

    mer::SongTable a = t, b = t;
    a.feature_names = {"f0", "f1"};
    a.features = t.features.leftCols(2);
    b.feature_names = {"f1", "f5"};
    b.features.resize(100, 2);
    b.features << t.features.col(1), t.features.col(5);
    for (const auto& [mode, expected] :
         {std::pair<std::string, std::vector<std::string>>{"union", {"f0", "f1", "f5"}}, {"intersection", {"f1"}}}) {
        auto combine = registry().create<mer::TransformPlugin>("transform.combine", {{"mode", mode}});
        combine->fit({&a, &b}, {});
        const mer::SongTable out = combine->apply({&a, &b});
        CHECK(out.feature_names == expected);
        CHECK(out.features.col(out.feature_index("f1")) == t.features.col(1));
    }
}

TEST_CASE("XGBoost's second target does not depend on the first one's sampling", "[regressor.xgboost]") {
    // Both targets' boosters draw rows and columns from XGBoost's per-thread
    // random engine: trained round by round in turn, the second target's
    // model depended on the first's draws. Fitted together or alone, each
    // target's model must be the same.
    const mer::SongTable train = structured(200, 6, 11), test = structured(50, 6, 12);
    const json params{{"n_estimators", 40}, {"subsample", 0.8}, {"colsample_bytree", 0.5}, {"nthread", 1}};
    const Eigen::MatrixXd both = fit_predict("regressor.xgboost", params, train, test);
    mer::SongTable second_only = train;
    second_only.targets = train.targets.col(1);
    second_only.target_names = {"b"};
    const Eigen::MatrixXd alone = fit_predict("regressor.xgboost", params, second_only, test);
    CHECK(alone.col(0).isApprox(both.col(1), 1e-12));
}
