// The first plugins on real data: dataset.table reads a real CSV, ridge
// recovers known linear weights, the mean baseline predicts the mean.
#include <catch2/catch.hpp>

#include "core/plugin/dataset.hpp"
#include "core/plugin/registry.hpp"
#include "core/plugin/regressor.hpp"
#include "tests/support/test_support.hpp"

using namespace mer::test;
using nlohmann::json;

namespace {

json table_params(const std::filesystem::path& csv) {
    return {{"path", csv.string()},
            {"id_column", "song_id"},
            {"targets", {"valence", "arousal"}},
            {"group_column", ""},
            {"feature_columns", json::array()}};
}
}  // namespace

TEST_CASE("dataset.table reads songs, features and labels", "[plugins][dataset.table]") {
    TempDir dir;
    write_file(dir / "t.csv", "song_id, tempo, loud, valence, arousal\n1, 120, -5, 6.5, 7\n2, 80, -12, 3, \n");
    auto dataset = registry().create<mer::DatasetPlugin>("dataset.table", table_params(dir / "t.csv"));
    const mer::SongTable t = dataset->load({});
    CHECK(t.song_ids == std::vector<std::string>{"1", "2"});
    CHECK(t.feature_names == std::vector<std::string>{"tempo", "loud"});
    CHECK(t.features(1, 1) == -12);
    CHECK(t.targets(0, 0) == 6.5);
    CHECK(std::isnan(t.targets(1, 1)));  // missing label
    const std::string before = dataset->content_fingerprint();
    write_file(dir / "t.csv", "song_id, tempo, loud, valence, arousal\n1, 121, -5, 6.5, 7\n");
    CHECK(dataset->content_fingerprint() != before);
}

TEST_CASE("dataset.table errors name the file, line and song", "[plugins][dataset.table]") {
    TempDir dir;
    write_file(dir / "t.csv", "song_id,tempo,valence,arousal\n1,120,5,5\n2,fast,5,5\n");
    auto dataset = registry().create<mer::DatasetPlugin>("dataset.table", table_params(dir / "t.csv"));
    CHECK_THROWS_WITH(dataset->load({}), Catch::Contains("t.csv:3: song '2': column 'tempo': 'fast' is not a number"));
    write_file(dir / "t.csv", "song_id,tempo,valence\n1,120,5\n");
    CHECK_THROWS_WITH(dataset->load({}), Catch::Contains("no column 'arousal'"));
    auto missing = registry().create<mer::DatasetPlugin>("dataset.table", table_params(dir / "nope.csv"));
    CHECK_THROWS_WITH(missing->load({}), Catch::Contains("nope.csv: the table file does not exist"));
}

TEST_CASE("ridge recovers linear weights and shrinks them with alpha", "[plugins][regressor.ridge]") {
    mer::SongTable t;
    const int n = 50;
    t.features = Eigen::MatrixXd(n, 2);
    t.targets = Eigen::MatrixXd(n, 2);
    for (int i = 0; i < n; ++i) {
        const double a = std::sin(i * 0.7) * 3, b = std::cos(i * 1.3) * 10 + 100;
        t.features.row(i) << a, b;
        t.targets.row(i) << 2 * a - 0.5 * b + 1, -a;
        t.song_ids.push_back(std::to_string(i));
    }
    t.groups = t.song_ids;
    t.feature_names = {"a", "b"};
    t.target_names = {"v", "w"};
    auto exact = registry().create<mer::RegressorPlugin>("regressor.ridge", {{"alpha", 0.0}});
    exact->fit(t, nullptr, {}, {});
    const Eigen::MatrixXd p = exact->predict(t);
    CHECK((p - t.targets).cwiseAbs().maxCoeff() < 1e-6);

    auto shrunk = registry().create<mer::RegressorPlugin>("regressor.ridge", {{"alpha", 1e6}});
    shrunk->fit(t, nullptr, {}, {});
    const Eigen::MatrixXd q = shrunk->predict(t);
    // Huge alpha: predictions collapse towards the target means.
    CHECK((q.rowwise() - t.targets.colwise().mean()).cwiseAbs().maxCoeff() < 0.05);
}

TEST_CASE("the mean baseline predicts training means", "[plugins][regressor.mean]") {
    mer::SongTable t;
    t.song_ids = {"a", "b", "c", "d"};
    t.groups = t.song_ids;
    t.feature_names = {"x"};
    t.features = Eigen::MatrixXd::Random(4, 1);
    t.target_names = {"v", "w"};
    t.targets = Eigen::MatrixXd(4, 2);
    t.targets << 1, 9, 2, 8, 3, 7, 6, 4;
    auto mean = registry().create<mer::RegressorPlugin>("regressor.mean", json::object());
    mean->fit(t, nullptr, {}, {});
    const Eigen::MatrixXd p = mean->predict(t.rows({0, 1}));
    CHECK(p.rows() == 2);
    CHECK(p(1, 0) == 3.0);
    CHECK(p(0, 1) == 7.0);
}
