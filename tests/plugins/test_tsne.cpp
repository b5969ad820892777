// transform.tsne, loaded from its library: well-separated clusters stay
// apart in the map (exact and Barnes–Hut, whose KL divergence stays close
// to exact's), a seed gives one map, a perplexity too large for the songs is
// refused as documented, and inside a real run the map is written and
// recorded while the model after it learns exactly what it would without it.
// Never fixed coordinates: a t-SNE map is only defined up to rotation.
#include <catch2/catch.hpp>
#include <cmath>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "core/base/files.hpp"
#include "core/error.hpp"
#include "core/exec/run_writer.hpp"
#include "core/plugin/registry.hpp"
#include "core/plugin/transform.hpp"
#include "tests/support/test_support.hpp"

using namespace mer::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr int kClusters = 4, kPerCluster = 40, kDims = 50;

// kClusters Gaussian clusters (unit spread) around centres far apart in
// kDims dimensions; song k belongs to cluster k % kClusters, whose index is
// also its valence (arousal is noise).
mer::SongTable clusters(std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal;
    Eigen::MatrixXd centres(kClusters, kDims);
    for (Eigen::Index i = 0; i < centres.size(); ++i) centres.data()[i] = 2 * normal(rng);
    mer::SongTable t;
    const int n = kClusters * kPerCluster;
    t.features.resize(n, kDims);
    t.targets.resize(n, 2);
    for (int i = 0; i < n; ++i) {
        for (int j = 0; j < kDims; ++j) t.features(i, j) = centres(i % kClusters, j) + normal(rng);
        t.targets(i, 0) = i % kClusters;
        t.targets(i, 1) = normal(rng);
        t.song_ids.push_back("song" + std::to_string(i));
    }
    for (int j = 0; j < kDims; ++j) t.feature_names.push_back("f" + std::to_string(j));
    t.groups = t.song_ids;
    t.target_names = {"valence", "arousal"};
    return t;
}

// What one fit left behind: the artifact and the log.
struct Fitted {
    mer::Artifact artifact;
    std::string csv;
    std::string log;
    int artifacts = 0;
    Eigen::MatrixXd xy;  // parsed from the CSV, in song order
    double kl = NAN;     // from the log line
    mer::SongTable output;
};

Fitted fit(const mer::SongTable& songs, const json& params, std::uint64_t seed = 3, int fold = -1) {
    auto tsne = registry().create<mer::TransformPlugin>("transform.tsne", with_defaults("transform.tsne", params));
    Fitted f;
    mer::PluginContext ctx;
    ctx.node = "map";
    ctx.fold = fold;
    ctx.seed = seed;
    ctx.log = [&f](const std::string& line) { f.log += line + "\n"; };
    ctx.artifact = [&f](const mer::Artifact& a, const std::string& content) {
        f.artifact = a;
        f.csv = content;
        ++f.artifacts;
    };
    tsne->fit({&songs}, ctx);
    f.output = tsne->apply({&songs});
    if (f.artifacts == 0) return f;
    std::istringstream lines(f.csv);
    std::string line;
    std::getline(lines, line);  // header
    f.xy.resize(static_cast<Eigen::Index>(songs.size()), 2);
    for (Eigen::Index r = 0; std::getline(lines, line); ++r) {
        REQUIRE(r < f.xy.rows());
        std::istringstream cells(line);
        std::string id, x, y;
        std::getline(cells, id, ',');
        std::getline(cells, x, ',');
        std::getline(cells, y, ',');
        CHECK(id == songs.song_ids[static_cast<std::size_t>(r)]);
        f.xy(r, 0) = std::stod(x);
        f.xy(r, 1) = std::stod(y);
    }
    const auto at = f.log.find("KL divergence ", f.log.find("): KL divergence"));
    if (at != std::string::npos) f.kl = std::stod(f.log.substr(at + 14));
    return f;
}

Eigen::MatrixXd random_map(Eigen::Index songs) {
    std::mt19937_64 rng(5);
    std::normal_distribution<double> normal;
    Eigen::MatrixXd xy(songs, 2);
    for (Eigen::Index i = 0; i < xy.size(); ++i) xy.data()[i] = normal(rng);
    return xy;
}

int cluster_of(Eigen::Index song) {
    return static_cast<int>(song % kClusters);
}

// Share of every song's 5 nearest map neighbours that are in its cluster.
double neighbours_in_own_cluster(const Eigen::MatrixXd& xy) {
    int same = 0, total = 0;
    for (Eigen::Index i = 0; i < xy.rows(); ++i) {
        std::vector<std::pair<double, Eigen::Index>> d;
        for (Eigen::Index j = 0; j < xy.rows(); ++j)
            if (j != i) d.emplace_back((xy.row(i) - xy.row(j)).squaredNorm(), j);
        std::partial_sort(d.begin(), d.begin() + 5, d.end());
        for (int k = 0; k < 5; ++k, ++total) same += cluster_of(d[static_cast<std::size_t>(k)].second) == cluster_of(i);
    }
    return static_cast<double>(same) / total;
}

// The closest two cluster centroids' distance over the largest RMS radius of a cluster.
double separation(const Eigen::MatrixXd& xy) {
    Eigen::MatrixXd centroid = Eigen::MatrixXd::Zero(kClusters, 2);
    for (Eigen::Index i = 0; i < xy.rows(); ++i) centroid.row(cluster_of(i)) += xy.row(i) / kPerCluster;
    Eigen::VectorXd spread = Eigen::VectorXd::Zero(kClusters);
    for (Eigen::Index i = 0; i < xy.rows(); ++i)
        spread(cluster_of(i)) += (xy.row(i) - centroid.row(cluster_of(i))).squaredNorm() / kPerCluster;
    double closest = INFINITY;
    for (int a = 0; a < kClusters; ++a)
        for (int b = a + 1; b < kClusters; ++b) closest = std::min(closest, (centroid.row(a) - centroid.row(b)).norm());
    return closest / spread.cwiseSqrt().maxCoeff();
}

}  // namespace

TEST_CASE("t-SNE keeps well-separated clusters apart and writes its map", "[transform.tsne]") {
    const mer::SongTable songs = clusters(1);
    // Positive control: a map that ignores the clusters fails both measures.
    const Eigen::MatrixXd scattered = random_map(kClusters * kPerCluster);
    CHECK(neighbours_in_own_cluster(scattered) < 0.5);
    CHECK(separation(scattered) < 5);

    const Fitted exact = fit(songs, json::object());
    REQUIRE(exact.artifacts == 1);
    INFO(exact.log);
    CHECK(neighbours_in_own_cluster(exact.xy) >= 0.95);
    CHECK(separation(exact.xy) > 5);
    CHECK(exact.kl > 0);
    CHECK_THAT(exact.log, Catch::Contains("exact gradient"));

    // The map file: kind, part, header, each song's targets.
    CHECK(exact.artifact.kind == "tsne");
    CHECK(exact.artifact.part == "");
    CHECK(exact.artifact.columns == std::vector<std::string>{"song_id", "x", "y", "valence", "arousal"});
    CHECK(!exact.artifact.meaning.empty());
    CHECK(exact.csv.rfind("song_id,x,y,valence,arousal\nsong0,", 0) == 0);
    CHECK(count_lines(exact.csv) == 1 + kClusters * kPerCluster);
    CHECK_THAT(exact.csv,
               Catch::Contains("\nsong7,") && Catch::Contains("," + mer::format_number(songs.targets(7, 1))));

    // The output is the input: the map is never a feature.
    CHECK(exact.output.feature_names == songs.feature_names);
    CHECK(exact.output.features == songs.features);
    CHECK(exact.output.song_ids == songs.song_ids);

    SECTION("Barnes–Hut keeps them apart too, with a KL divergence close to exact's") {
        const Fitted bh = fit(songs, {{"exact_max_points", 50}});
        REQUIRE(bh.artifacts == 1);
        INFO(bh.log);
        CHECK_THAT(bh.log, Catch::Contains("Barnes–Hut gradient"));
        CHECK(neighbours_in_own_cluster(bh.xy) >= 0.95);
        CHECK(separation(bh.xy) > 5);
        CHECK(std::abs(bh.kl - exact.kl) < 0.1 * exact.kl);
    }
    SECTION("random initialisation and learning_rate auto find the clusters as well") {
        const Fitted random = fit(songs, {{"init", "random"}, {"learning_rate", "auto"}});
        CHECK(neighbours_in_own_cluster(random.xy) >= 0.95);
        CHECK(separation(random.xy) > 5);
    }
}

TEST_CASE("t-SNE gives one map for a seed", "[transform.tsne]") {
    const mer::SongTable songs = clusters(2);
    for (const char* init : {"pca", "random"}) {
        INFO(init);
        for (const json& gradient : {json{{"exact_max_points", 3000}}, json{{"exact_max_points", 0}}}) {
            json params = gradient;
            params["init"] = init;
            params["iterations"] = 300;
            const Fitted a = fit(songs, params, 11), b = fit(songs, params, 11);
            REQUIRE(a.artifacts == 1);
            CHECK(a.csv == b.csv);
            if (std::string(init) == "random") CHECK(fit(songs, params, 12).csv != a.csv);
        }
    }
}

TEST_CASE(
    "t-SNE refuses a perplexity too large for the songs, naming the key and the count, and a table without features",
    "[transform.tsne]") {
    const mer::SongTable songs = clusters(3);  // 160 songs: perplexity must stay below 53.3
    try {
        fit(songs, {{"perplexity", 60}});
        FAIL("no error");
    } catch (const mer::Error& e) {
        CHECK_THAT(e.message(), Catch::Contains("perplexity 60") && Catch::Contains("all 160 songs") &&
                                    Catch::Contains("below 53.33") && Catch::Contains("lower `perplexity`"));
        CHECK(e.where().node == "map");
    }
    CHECK(fit(songs, {{"perplexity", 53}, {"iterations", 250}}).artifacts == 1);
    // Chunk tensors alone are no table to map.
    mer::SongTable tensors_only = songs.feature_columns({});
    CHECK_THROWS_WITH(fit(tensors_only, json::object()), Catch::Contains("no feature columns"));
}

TEST_CASE("t-SNE maps once: not inside folds, grid-search fits or predict", "[transform.tsne]") {
    const mer::SongTable songs = clusters(4);
    CHECK(fit(songs, {{"perplexity", 500}}, 3, 0).artifacts == 0);  // fold 0: not even the perplexity is looked at
    CHECK(fit(songs, {{"perplexity", 500}}, 3, 1).artifacts == 0);
    auto tsne = registry().create<mer::TransformPlugin>("transform.tsne", with_defaults("transform.tsne"));
    mer::PluginContext keeps_nothing;  // as grid search and predict hand it
    tsne->fit({&songs}, keeps_nothing);
    CHECK(tsne->apply({&songs}).features == songs.features);
}

TEST_CASE("a run writes the t-SNE map and records it, and the model after it is unchanged", "[transform.tsne][cli]") {
    TempDir dir;
    write_synthetic_table(dir.path(), 120);
    const std::string with_map = R"(name: tsne
seed: 4
nodes:
  data: {uses: dataset.table, params: {path: songs.csv}}
  map: {uses: transform.tsne, inputs: [data], params: {perplexity: 10, iterations: 300}}
  ridge: {uses: regressor.ridge, inputs: [map]}
evaluation: {split: {kind: kfold, k: 3}}
)";
    std::string without_map = with_map;
    without_map.replace(without_map.find("inputs: [map]"), 13, "inputs: [data]");
    write_file(dir / "with.yaml", with_map);
    write_file(dir / "without.yaml", without_map);
    const auto r = run_mer({"run", "with.yaml", "--quiet"}, dir.path());
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const fs::path folder = dir.path() / run_folder_of(r);

    const std::string map = read_file(folder / "tsne_map.csv");
    CHECK(map.rfind("song_id,x,y,valence,arousal\n", 0) == 0);
    CHECK(count_lines(map) == 1 + 120);  // every song, once
    bool recorded = false;
    for (const auto& a : mer::read_manifest(folder).entries)
        if (a.file == "tsne_map.csv") {
            recorded = true;
            CHECK(a.kind == "tsne");
            CHECK(a.node == "map");
            CHECK(!a.meaning.empty());
        }
    CHECK(recorded);
    CHECK_THAT(read_file(folder / "log.txt"),
               Catch::Contains("map: t-SNE of all 120 songs") && Catch::Contains("KL divergence") &&
                   Catch::Contains("node 'map' (transform.tsne): fitted on all 120 songs of its input"));

    const auto plain = run_mer({"run", "without.yaml", "--quiet"}, dir.path());
    REQUIRE(plain.exit_code == 0);
    CHECK(read_file(folder / "predictions.csv") == read_file(dir.path() / run_folder_of(plain) / "predictions.csv"));
}
