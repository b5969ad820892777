// Fuzz target: CSV label, feature and manifest files. read_csv, then every
// cell through parse_csv_number and a column lookup, as the dataset plugins
// use them; refusals are mer::Error.
#include <cstddef>
#include <cstdint>

#include "bench/fuzz/fuzz_support.hpp"
#include "core/data/csv.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto file = mer::fuzz::write_scratch("table.csv", data, size);
    try {
        const mer::CsvTable table = mer::read_csv(file);
        for (std::size_t r = 0; r < table.rows.size(); ++r)
            for (std::size_t c = 0; c < table.rows[r].size(); ++c) {
                try {
                    mer::parse_csv_number(table.rows[r][c], table.at(r), table.header[c]);
                } catch (const mer::Error&) {
                }
            }
        table.require_column("song_id");
    } catch (const mer::Error&) {
    }
    return 0;
}
