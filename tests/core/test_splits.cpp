// Grouped, seeded splits: every row validated once in k-fold, groups never
// cross sides, the same seed gives the same folds.
#include <catch2/catch.hpp>
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
