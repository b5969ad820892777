// CSV reading as label files come in the wild.
#include <catch2/catch.hpp>
#include <cmath>

#include "core/base/files.hpp"
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

TEST_CASE("CSV cells that would run as spreadsheet formulas are guarded, and read back exactly", "[csv][hardening]") {
    TempDir dir;
    const std::vector<std::string> ids{"=1+1", "+33 6 12", "-x", "@SUM(A1)", "\t=1+1", "\r=2", "'quoted", "''", "'=3",
                                       "-0.5", "-inf", "+2", " lead", "trail\t", "plain", "a,b", "say \"hi\"", "-"};
    std::string text = "song_id,value\n";
    for (const auto& id : ids) text += mer::csv_row({id, "1"}) + "\n";
    write_file(dir / "ids.csv", text);
    // What a spreadsheet sees: no cell starts with a formula character, numbers stay numbers.
    CHECK_THAT(text, Catch::Contains("\n'=1+1,1\n") && Catch::Contains("\n'+33 6 12,1\n") &&
                         Catch::Contains("\n'@SUM(A1),1\n") && Catch::Contains("\n'\t=1+1,1\n") &&
                         Catch::Contains("\n-0.5,1\n") && Catch::Contains("\n-inf,1\n") && Catch::Contains("\n+2,1\n") &&
                         Catch::Contains("\n''quoted,1\n"));
    const mer::CsvTable t = mer::read_csv(dir / "ids.csv");
    REQUIRE(t.rows.size() == ids.size());
    for (std::size_t r = 0; r < ids.size(); ++r) {
        INFO(ids[r]);
        CHECK(t.rows[r][0] == ids[r]);
    }
}

TEST_CASE("CSV rows must match the header: ragged rows, duplicated columns and CRLF quotes", "[csv][hardening]") {
    TempDir dir;
    write_file(dir / "crlf.csv", "song_id,\"valence\"\r\n\"7\",\"5\"\r\n");
    const mer::CsvTable crlf = mer::read_csv(dir / "crlf.csv");
    CHECK(crlf.header == std::vector<std::string>{"song_id", "valence"});
    CHECK(crlf.rows.at(0) == std::vector<std::string>{"7", "5"});
    write_file(dir / "short.csv", "a,b,c\n1,2,3\n4,5\n");
    CHECK_THROWS_WITH(mer::read_csv(dir / "short.csv"),
                      Catch::Contains("short.csv:3") && Catch::Contains("row has 2 fields but the header has 3"));
    write_file(dir / "twice.csv", "song_id,valence,valence\n1,2,3\n");
    CHECK_THROWS_WITH(mer::read_csv(dir / "twice.csv"),
                      Catch::Contains("twice.csv:1") && Catch::Contains("columns 2 and 3 of the header are both named 'valence'"));
}
