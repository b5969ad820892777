// What the report pages make of a run folder (read by core/eval/run_reader):
// summary.json as a results table and a per-fold table, and the small
// helpers for reading JSON and CSV cells. Shared by the run, sweep and
// comparison pages.
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/eval/run_reader.hpp"
#include "core/report/page.hpp"

namespace mer::report {

// j[key] when j has it, else an empty object: safe to loop over (a
// temporary from json::value() would die before the loop body runs).
const nlohmann::ordered_json& member(const nlohmann::ordered_json& j, const std::string& key);
const nlohmann::json& member(const nlohmann::json& j, const std::string& key);

// A JSON file of the folder(s) `where` names (summary.json, run.json,
// asha.json, sweep.json…) holding a value of the wrong kind where a page
// reads it: an error naming them, not the JSON library's message alone.
Error damaged_json(const std::string& where, const std::exception& e);

// A number for a plot: 6 significant digits; null for NaN and infinities.
nlohmann::json plot_number(double value);

// Node × target × level rows of summary.json with mean ± std of each metric
// and the best epochs; `label` (a run's name) becomes a first column when set.
Table results_table(const nlohmann::ordered_json& summary, const BestEpochs& best, const std::string& label = "");

// Every fold's song-level score of every model node, per target and seed
// (one row each; the columns are the folds), with the mean: what the mean ±
// std of results_table is made of.
Table fold_scores_table(const nlohmann::ordered_json& summary, const std::string& metric = "r2");

// Source × model: one row per source (a dataset.union's input) and target,
// one column per model node holding mean ± std of `metric` over the folds
// that scored that source alone (summary.json's sources); no rows when no
// node has any.
Table source_table(const nlohmann::ordered_json& summary, const std::string& metric = "r2");

}  // namespace mer::report
