// Grid expansion, the one there is: every combination of a grid's values
// (key → list of values) written over a base object. A regressor node's
// tuning grid (core/exec/tuning.cpp) and a sweep's `grid:` block
// (core/sweep/sweeper.cpp) both expand through it, so both order their
// candidates the same way: keys in the grid's order, the last key changing
// fastest.
#pragma once

#include <utility>
#include <vector>

namespace mer {

// `Json` is nlohmann::json or nlohmann::ordered_json; `grid` an object of
// arrays. An empty grid gives `base` alone; a key with no values gives none.
template <class Json>
std::vector<Json> grid_combinations(const Json& base, const Json& grid) {
    std::vector<Json> combinations{base};
    for (const auto& [key, values] : grid.items()) {
        std::vector<Json> next;
        next.reserve(combinations.size() * values.size());
        for (const auto& combination : combinations)
            for (const auto& value : values) {
                Json with = combination;
                with[key] = value;
                next.push_back(std::move(with));
            }
        combinations = std::move(next);
    }
    return combinations;
}

}  // namespace mer
