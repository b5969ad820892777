// The tables a features node leaves in the run folder for a spreadsheet or
// pandas: every song's features, each feature's Pearson r with each target
// (ranked by |r|, the top 15 marked: the paper's Figures 4-5) and the label
// histograms (Figure 3).
#pragma once

#include <string>
#include <vector>

#include "core/data/song_table.hpp"

namespace mer {

struct FeatureTables {
    std::string features;  // song_id, then one column per feature
    std::string pearson;   // target,feature,r,abs_rank,top15 (empty without targets)
    std::string labels;    // target,bin_low,bin_high,songs (empty without targets)
};

FeatureTables feature_tables(const SongTable& table);

// The columns of the three tables.
std::vector<std::string> feature_table_columns(const SongTable& table);
const std::vector<std::string>& pearson_columns();
const std::vector<std::string>& label_columns();

}  // namespace mer
