// Reports: one self-contained offline HTML page per run folder, per sweep
// folder, and per comparison of runs (`mer-run report`). A run page is built
// from the folder's run.json manifest — the kinds of file it lists decide
// the figures — and never from guessed file names. docs/reports.md lists
// every figure and the file its data comes from.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace mer {

// RUN_DIR/report.html and RUN_DIR/report_data/; returns the page's path.
std::filesystem::path write_run_report(const std::filesystem::path& run_dir);

// SWEEP_DIR/report.html: leaderboard, score against each swept key, the top
// trials' learning curves, ASHA's rungs.
std::filesystem::path write_sweep_report(const std::filesystem::path& sweep_dir);

// Runs side by side in `page` (its figures' CSVs in report::data_folder(page)):
// each run's config difference from the first, one results table, overlaid
// validation curves, paired differences where two runs share songs, folds and
// seeds. `labels` (empty, or one per run; an empty one keeps the default
// experiment/folder) name the runs everywhere on the page.
std::filesystem::path write_comparison_report(const std::vector<std::filesystem::path>& run_dirs,
                                              const std::filesystem::path& page,
                                              const std::vector<std::string>& labels = {});

}  // namespace mer
