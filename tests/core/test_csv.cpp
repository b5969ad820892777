// CSV reading as label files come in the wild.
#include <catch2/catch.hpp>
#include <cmath>

#include "core/data/csv.hpp"
#include "tests/support/test_support.hpp"

using namespace mer::test;

TEST_CASE("CSV tolerates spaces, CRLF, BOM, trailing commas and quotes", "[csv]") {
    TempDir dir;
    write_file(dir / "labels.csv",
               "\xEF\xBB\xBFsong_id, valence_mean, arousal_mean,\r\n"
               "2, 3.1, 4.5,\r\n"
               "\r\n"
               "\"3\", \"5,5\", \r\n");
    const mer::CsvTable t = mer::read_csv(dir / "labels.csv");
    REQUIRE(t.header == std::vector<std::string>{"song_id", "valence_mean", "arousal_mean"});
    REQUIRE(t.rows.size() == 2);
    CHECK(t.rows[0] == std::vector<std::string>{"2", "3.1", "4.5"});
    CHECK(t.rows[1] == std::vector<std::string>{"3", "5,5", ""});
    CHECK(t.lines[1] == 4);
    CHECK(std::isnan(mer::parse_csv_number(t.rows[1][2], t.at(1), "arousal_mean")));
}

TEST_CASE("CSV errors name the file and line", "[csv]") {
    TempDir dir;
    write_file(dir / "bad.csv", "a,b\n1,2\n1,2,3\n");
    CHECK_THROWS_WITH(mer::read_csv(dir / "bad.csv"), Catch::Contains("bad.csv:3") && Catch::Contains("3 fields"));
    write_file(dir / "text.csv", "a,b\n1,x\n");
    const mer::CsvTable t = mer::read_csv(dir / "text.csv");
    mer::Location row = t.at(0);
    row.song = "1";
    CHECK_THROWS_WITH(mer::parse_csv_number(t.rows[0][1], row, "b"),
                      Catch::Contains("text.csv:2") && Catch::Contains("song '1'") &&
                          Catch::Contains("column 'b': 'x' is not a number"));
    CHECK_THROWS_WITH(mer::parse_csv_number("1e999", row, "b"),
                      Catch::Contains("column 'b': '1e999' is beyond the range of a number"));
    CHECK(mer::parse_csv_number("1e-400", row, "b") == Approx(0.0));
    CHECK_THROWS_WITH(t.require_column("valence"), Catch::Contains("no column 'valence'") && Catch::Contains("a, b"));
    CHECK_THROWS_WITH(mer::read_csv(dir / "missing.csv"), Catch::Contains("missing.csv"));
}
