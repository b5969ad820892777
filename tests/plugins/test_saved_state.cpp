// Every fitted transform and regressor survives save() and load() into a
// fresh instance with identical outputs, and a run writes a model bundle per
// regressor node (manifest + every fold's fitted pipeline).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <random>

#include "core/data/npy.hpp"
#include "core/graph/schema.hpp"
#include "core/plugin/registry.hpp"
#include "core/plugin/regressor.hpp"
#include "core/plugin/transform.hpp"
#include "tests/support/test_support.hpp"

using namespace mer::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

mer::SongTable table(int n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal;
    mer::SongTable t;
    t.features.resize(n, 6);
    t.targets.resize(n, 2);
    for (int i = 0; i < n; ++i) {
        for (int j = 0; j < 6; ++j) t.features(i, j) = normal(rng);
        t.targets(i, 0) = 5 + t.features(i, 0) - t.features(i, 1) + 0.1 * normal(rng);
        t.targets(i, 1) = 5 + t.features(i, 2) * t.features(i, 2) + 0.1 * normal(rng);
        t.song_ids.push_back("s" + std::to_string(i));
    }
    t.groups = t.song_ids;
    t.feature_names = {"a", "b", "c", "d", "e", "f"};
    t.target_names = {"valence", "arousal"};
    return t;
}

}  // namespace

TEST_CASE("fitted regressors and transforms reload into identical outputs", "[bundle]") {
    TempDir dir;
    const mer::SongTable train = table(80, 1), test = table(20, 2);
    mer::PluginContext ctx;
    ctx.threads = 1;
    ctx.seed = 5;
    for (const auto& p : registry().plugins()) {
        if (p.kind != "regressor" || p.has("chunks")) continue;  // chunk models read tensors: test_deep
        INFO(p.name);
        auto fitted = registry().create<mer::RegressorPlugin>(p.name, with_defaults(p.name));
        fitted->fit(train, nullptr, {}, ctx);
        const std::string folder = (dir / p.name).string();
        fitted->save(folder);
        auto fresh = registry().create<mer::RegressorPlugin>(p.name, with_defaults(p.name));
        fresh->load(folder);
        CHECK(fresh->predict(test) == fitted->predict(test));
    }
    for (const char* name : {"transform.standardize", "transform.select_pearson", "transform.select_shap",
                             "transform.pca", "transform.tsne"}) {
        INFO(name);
        json overrides = json::object();
        if (std::string(name) == "transform.select_pearson") overrides = {{"k", 2}};
        if (std::string(name) == "transform.select_shap") overrides = {{"k", 2}, {"write_values", false}};
        const json params = with_defaults(name, overrides);
        auto fitted = registry().create<mer::TransformPlugin>(name, params);
        fitted->fit({&train}, ctx);
        fitted->save((dir / name).string());
        auto fresh = registry().create<mer::TransformPlugin>(name, params);
        fresh->load((dir / name).string());
        const mer::SongTable a = fitted->apply({&test}), b = fresh->apply({&test});
        CHECK(a.feature_names == b.feature_names);
        CHECK(a.features == b.features);
    }
}

TEST_CASE("a run writes a model bundle for every regressor node", "[bundle][cli]") {
    TempDir dir;
    write_synthetic_table(dir.path(), 60);
    write_file(dir / "exp.yaml", R"(name: bundle
nodes:
  data: {uses: dataset.table, params: {path: songs.csv}}
  scaled: {uses: transform.standardize, inputs: [data]}
  top: {uses: transform.select_pearson, inputs: [scaled], params: {k: 3, across_targets: union}}
  ridge: {uses: regressor.ridge, inputs: [top], targets: [arousal, valence]}
  own: {uses: transform.select_pearson, inputs: [scaled], params: {k: 3}}
  per_target: {uses: regressor.ridge, inputs: [own], targets: [arousal, valence]}
evaluation: {split: {kind: kfold, k: 3}}
)");
    const auto r = run_mer({"run", "exp.yaml", "--quiet"}, dir.path());
    REQUIRE(r.exit_code == 0);
    const fs::path bundle = dir.path() / r.out.substr(0, r.out.find('\n')) / "model" / "ridge";
    const json manifest = json::parse(read_file(bundle / "model.json"));
    CHECK(manifest["folds"] == 3);
    CHECK(manifest["targets"][0]["name"] == "arousal");  // output order
    CHECK(manifest["regressor"]["uses"] == "regressor.ridge");
    REQUIRE(manifest["transforms"].size() == 2);
    CHECK(manifest["transforms"][0]["id"] == "scaled");  // in dependency order
    CHECK(manifest["data"][0]["uses"] == "dataset.table");
    for (int fold = 0; fold < 3; ++fold) {
        const fs::path f = bundle / ("fold" + std::to_string(fold));
        CHECK(fs::exists(f / "regressor" / "weights.npy"));
        CHECK(fs::exists(f / "transforms" / "scaled" / "mean.npy"));
        CHECK(json::parse(read_file(f / "transforms" / "top" / "kept_columns.json")).size() >= 3);
    }
    CHECK(mer::read_npy(bundle / "fold0" / "regressor" / "weights.npy").cols() == 2);
    CHECK(manifest["per_target"] == false);

    // A selection per target: each target's pipeline in target<t>/, t its
    // position in the manifest's targets.
    const fs::path per_target = bundle.parent_path() / "per_target";
    CHECK(json::parse(read_file(per_target / "model.json"))["per_target"] == true);
    for (const char* target : {"target0", "target1"}) {
        const fs::path f = per_target / "fold0" / target;
        CHECK(mer::read_npy(f / "regressor" / "weights.npy").cols() == 1);
        CHECK(fs::exists(f / "transforms" / "scaled" / "mean.npy"));
        CHECK(json::parse(read_file(f / "transforms" / "own" / "kept_columns.json")).size() == 3);
        CHECK(fs::exists(f / "params.json"));
    }
}
