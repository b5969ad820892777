// What `mer-run predict` writes, as text: one writer for the CLI and the
// Python package (mer.Model.predict reads the same CSV into a DataFrame), so
// the two cannot disagree on a column.
#pragma once

#include <string>

#include "core/exec/predict.hpp"

namespace mer {

// One row per file: path, the targets, (with excerpts) each target's _std
// and excerpts, quadrant, outside_range, audio_flag, error; with
// `per_chunk`, chunk rows (chunk, offset_seconds filled) after each file's.
std::string ratings_csv(const Ratings& ratings, bool per_chunk);
std::string ratings_json(const Ratings& ratings, bool per_chunk);
// With dynamic: one row per window of every file (time_s its centre), or one
// row with the reason for a file that could not be rated.
std::string dynamic_csv(const Ratings& ratings);
std::string dynamic_json(const Ratings& ratings);

}  // namespace mer
