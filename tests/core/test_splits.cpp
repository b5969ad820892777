// Grouped, seeded splits: every row validated once in k-fold, groups never
// cross sides, the same seed gives the same folds; stratified splits hold
// each stratum's share, and stratify: none changes nothing.
#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <set>

#include "core/data/splits.hpp"
#include "core/error.hpp"

namespace {
// 30 songs, 4 chunks each: rows of one song share a group.
std::vector<std::string> chunked_groups() {
    std::vector<std::string> groups;
    for (int song = 0; song < 30; ++song)
        for (int chunk = 0; chunk < 4; ++chunk) groups.push_back("song" + std::to_string(song));
    return groups;
}

// Songs of known strata, 3 rows each: `stratum_of[song]` is the stratum the
// test built it in, `labels` its rows' labels (valence, arousal).
struct StratifiedData {
    std::vector<std::string> groups;
    Eigen::MatrixXd labels;
    std::map<std::string, int> stratum_of;
};

void add_song(StratifiedData& d, int stratum, double valence, double arousal) {
    const std::string song = "song" + std::to_string(d.stratum_of.size());
    d.stratum_of[song] = stratum;
    for (int chunk = 0; chunk < 3; ++chunk) {
        d.groups.push_back(song);
        d.labels.conservativeResize(d.labels.rows() + 1, 2);
        d.labels.row(d.labels.rows() - 1) << valence, arousal;
    }
}

// Quadrants of unequal sizes (14, 6, 6, 14) but as many songs above as below
// each median, so the medians fall between the clusters at 0; 4 songs lack a
// label. Songs are interleaved so that no stratum is a block of rows.
StratifiedData quadrant_data() {
    StratifiedData d;
    const int sizes[4] = {14, 6, 6, 14};  // low-low, low-high, high-low, high-high
    int added[4] = {0, 0, 0, 0};
    for (int round = 0; round < 14; ++round)
        for (int q = 0; q < 4; ++q)
            if (added[q] < sizes[q]) {
                const double jitter = 0.01 * ++added[q];
                add_song(d, q, (q / 2 ? 1 : -1) + jitter, (q % 2 ? 1 : -1) - jitter);
            }
    const double nan = std::nan("");
    add_song(d, 4, nan, 0.5);
    add_song(d, 4, 0.5, nan);
    add_song(d, 4, nan, nan);
    add_song(d, 4, -0.5, nan);
    return d;
}

// How many groups of each stratum a list of rows holds.
std::map<int, std::size_t> groups_per_stratum(const StratifiedData& d, const std::vector<std::size_t>& rows) {
    std::set<std::string> songs;
    for (auto r : rows) songs.insert(d.groups[r]);
    std::map<int, std::size_t> count;
    for (const auto& s : songs) ++count[d.stratum_of.at(s)];
    return count;
}

std::map<int, std::size_t> stratum_sizes(const StratifiedData& d) {
    std::map<int, std::size_t> size;
    for (const auto& [song, stratum] : d.stratum_of) ++size[stratum];
    return size;
}

void check_groups_together(const std::vector<std::string>& groups, const mer::Fold& fold) {
    std::set<std::string> train;
    for (auto r : fold.train) train.insert(groups[r]);
    for (auto r : fold.validation) CHECK(train.count(groups[r]) == 0);
    CHECK(fold.train.size() + fold.validation.size() == groups.size());
}

mer::SplitSpec stratified(const std::string& kind, double fraction, int k, const std::string& stratify, int bins = 4) {
    mer::SplitSpec spec{kind, fraction, k};
    spec.stratify = stratify;
    spec.bins = bins;
    return spec;
}
}  // namespace

TEST_CASE("k-fold validates every row exactly once and keeps groups together", "[splits]") {
    const auto groups = chunked_groups();
    const auto folds = mer::make_folds(groups, {"kfold", 0.2, 5}, 42);
    REQUIRE(folds.size() == 5);
    std::multiset<std::size_t> validated;
    for (const auto& fold : folds) {
        CHECK(fold.train.size() + fold.validation.size() == groups.size());
        CHECK(fold.validation.size() == 24);  // 6 songs × 4 chunks
        std::set<std::string> train_groups, validation_groups;
        for (auto r : fold.train) train_groups.insert(groups[r]);
        for (auto r : fold.validation) {
            validation_groups.insert(groups[r]);
            validated.insert(r);
        }
        for (const auto& g : validation_groups) CHECK(train_groups.count(g) == 0);
    }
    CHECK(validated.size() == groups.size());
    CHECK(std::set<std::size_t>(validated.begin(), validated.end()).size() == groups.size());
}

TEST_CASE("splits depend on the seed and only on the seed", "[splits]") {
    const auto groups = chunked_groups();
    const auto a = mer::make_folds(groups, {"holdout", 0.2, 5}, 1);
    const auto b = mer::make_folds(groups, {"holdout", 0.2, 5}, 1);
    const auto c = mer::make_folds(groups, {"holdout", 0.2, 5}, 2);
    REQUIRE(a.size() == 1);
    CHECK(a[0].validation == b[0].validation);
    CHECK(a[0].validation != c[0].validation);
    CHECK(a[0].validation.size() == 24);  // 20% of 30 songs = 6 songs
}

TEST_CASE("too few groups for the split is an error that says so", "[splits]") {
    const std::vector<std::string> groups{"a", "a", "b"};
    CHECK_THROWS_WITH(mer::make_folds(groups, {"kfold", 0.2, 5}, 1), Catch::Contains("needs at least 5 songs"));
    CHECK_THROWS_WITH(mer::make_folds({"a", "a"}, {"holdout", 0.2, 5}, 1), Catch::Contains("at least 2 songs"));
}

TEST_CASE("stratify: none gives exactly the folds of a split without it", "[splits]") {
    const auto groups = chunked_groups();
    Eigen::MatrixXd labels = Eigen::MatrixXd::Random(static_cast<Eigen::Index>(groups.size()), 2);
    for (const char* kind : {"holdout", "kfold"}) {
        const auto before = mer::make_folds(groups, {kind, 0.2, 5}, 42);
        const auto none = mer::make_folds(groups, stratified(kind, 0.2, 5, "none"), 42, labels);
        REQUIRE(none.size() == before.size());
        for (std::size_t f = 0; f < before.size(); ++f) {
            CHECK(none[f].train == before[f].train);
            CHECK(none[f].validation == before[f].validation);
        }
    }
    // The songs the split held out before stratification existed (seed 42).
    auto songs = [](const mer::Fold& fold) {
        std::vector<std::size_t> out;
        for (auto r : fold.validation)
            if (r % 4 == 0) out.push_back(r / 4);
        return out;
    };
    CHECK(songs(mer::make_folds(groups, stratified("holdout", 0.2, 5, "none"), 42, labels)[0]) ==
          std::vector<std::size_t>{4, 5, 7, 17, 22, 27});
    CHECK(songs(mer::make_folds(groups, stratified("kfold", 0.2, 5, "none"), 42, labels)[2]) ==
          std::vector<std::size_t>{0, 9, 11, 18, 22, 28});
}

TEST_CASE("a stratified holdout holds out each quadrant's share, seeded, groups whole", "[splits]") {
    const StratifiedData d = quadrant_data();
    const auto sizes = stratum_sizes(d);
    REQUIRE(sizes.size() == 5);
    for (double fraction : {0.2, 0.25, 0.5}) {
        for (std::uint64_t seed = 1; seed <= 20; ++seed) {
            const auto folds =
                mer::make_folds(d.groups, stratified("holdout", fraction, 5, "quadrant"), seed, d.labels);
            REQUIRE(folds.size() == 1);
            check_groups_together(d.groups, folds[0]);
            const auto held = groups_per_stratum(d, folds[0].validation);
            for (const auto& [stratum, n] : sizes) {
                INFO("fraction " << fraction << ", seed " << seed << ", stratum " << stratum);
                const double share = held.count(stratum) ? static_cast<double>(held.at(stratum)) : 0.0;
                CHECK(std::abs(share - fraction * static_cast<double>(n)) <= 1.0);
            }
        }
    }
    const auto a = mer::make_folds(d.groups, stratified("holdout", 0.2, 5, "quadrant"), 7, d.labels);
    const auto b = mer::make_folds(d.groups, stratified("holdout", 0.2, 5, "quadrant"), 7, d.labels);
    const auto c = mer::make_folds(d.groups, stratified("holdout", 0.2, 5, "quadrant"), 8, d.labels);
    CHECK(a[0].validation == b[0].validation);
    CHECK(a[0].train == b[0].train);
    CHECK(a[0].validation != c[0].validation);
    // round(0.2 · n) per stratum: 3 + 1 + 1 + 3 + 1 songs of 3 rows.
    CHECK(a[0].validation.size() == 9 * 3);
}

TEST_CASE("stratified k-fold gives every fold its share of each quantile bin", "[splits]") {
    // The first target takes the values 0 … 29 in a scrambled order, so 3
    // quantile bins are 0–9, 10–19 and 20–29; 5 more songs have no label.
    StratifiedData d;
    for (int i = 0; i < 30; ++i) {
        const int value = (i * 7) % 30;
        add_song(d, value / 10, value, std::nan(""));  // the second target plays no part
    }
    for (int i = 0; i < 5; ++i) add_song(d, 3, std::nan(""), 1.0);
    const auto sizes = stratum_sizes(d);
    REQUIRE(sizes.size() == 4);

    const auto folds = mer::make_folds(d.groups, stratified("kfold", 0.2, 4, "bins", 3), 5, d.labels);
    REQUIRE(folds.size() == 4);
    std::multiset<std::size_t> validated;
    for (const auto& fold : folds) {
        check_groups_together(d.groups, fold);
        validated.insert(fold.validation.begin(), fold.validation.end());
        const auto held = groups_per_stratum(d, fold.validation);
        for (const auto& [stratum, n] : sizes) {
            INFO("fold " << fold.index << ", stratum " << stratum);
            const double share = held.count(stratum) ? static_cast<double>(held.at(stratum)) : 0.0;
            CHECK(std::abs(share - static_cast<double>(n) / 4) < 1.0);
        }
    }
    CHECK(std::set<std::size_t>(validated.begin(), validated.end()).size() == d.groups.size());
    CHECK(validated.size() == d.groups.size());

    const auto holdout = mer::make_folds(d.groups, stratified("holdout", 0.2, 5, "bins", 3), 5, d.labels);
    const auto held = groups_per_stratum(d, holdout[0].validation);
    CHECK(held == std::map<int, std::size_t>{{0, 2}, {1, 2}, {2, 2}, {3, 1}});
    const auto again = mer::make_folds(d.groups, stratified("kfold", 0.2, 4, "bins", 3), 5, d.labels);
    for (std::size_t f = 0; f < folds.size(); ++f) CHECK(again[f].validation == folds[f].validation);
}

TEST_CASE("a stratified holdout keeps a song on each side of a tiny data set", "[splits]") {
    // Two songs in different quadrants: round(0.2 · 1) is 0 in both, so the
    // larger (the first) stratum gives one song to validation.
    StratifiedData d;
    add_song(d, 0, -1, -1);
    add_song(d, 3, 1, 1);
    const auto folds = mer::make_folds(d.groups, stratified("holdout", 0.2, 5, "quadrant"), 3, d.labels);
    CHECK(groups_per_stratum(d, folds[0].validation).size() == 1);
    CHECK(groups_per_stratum(d, folds[0].train).size() == 1);
}

TEST_CASE("stratifying without the labels it needs is an error that names the key", "[splits]") {
    const std::vector<std::string> groups{"a", "b", "c", "d"};
    const Eigen::MatrixXd one_target = Eigen::MatrixXd::Zero(4, 1);
    CHECK_THROWS_WITH(mer::make_folds(groups, stratified("holdout", 0.5, 5, "quadrant"), 1, one_target),
                      Catch::Contains("evaluation.split.stratify: quadrant needs two targets"));
    CHECK_THROWS_WITH(mer::make_folds(groups, stratified("holdout", 0.5, 5, "bins", 1), 1, one_target),
                      Catch::Contains("evaluation.split.bins must be at least 2"));
}
