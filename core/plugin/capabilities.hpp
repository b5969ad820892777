// The capabilities a plugin can declare, by name. A plugin lists the ones it
// has in its metadata (CLASS::kCapabilities, a JSON object); the host asks
// the registry (PluginRecord::has, PluginRegistry::with_capability) instead
// of building a plugin or reading its schema to learn what it is. A value of
// `true` means "ask an instance": PluginBase::query(name) returns the value
// for the instance's parameters.
//
// Adding a capability is adding a name here and a line to docs/plugins.md:
// plugins built before it simply do not declare it, and the host reads a
// missing capability as the behaviour every plugin had before.
#pragma once

namespace mer::capability {

// regressor, features: trains or runs a network on a device, "cpu",
// "cuda:N" or "auto" (its `device` parameter, else the experiment's); a build
// with a CPU-only LibTorch refuses cuda before anything runs. Value: true.
inline constexpr const char* kDevice = "device";

// regressor: predicts per chunk (predict_chunks), a song being the mean of
// its chunks; `mer-run predict --per-chunk` rates every chunk. Value: true.
inline constexpr const char* kChunks = "chunks";

// regressor: whether several instances may fit at once in one process
// (grid search runs candidates in parallel). false for models whose fit uses
// process-wide state (LibTorch's global generator and thread count): their
// candidates run one after another, each with every thread, so a seed gives
// one result. Missing: true.
inline constexpr const char* kConcurrentFit = "concurrent_fit";

// any: external files whose content must enter the node's cache key (a
// weights file). Value: the names of the parameters that hold the paths.
inline constexpr const char* kFingerprint = "fingerprint";

// features: the tensor each song's chunk holds, for the cross-node check.
// query() returns {"shape": [1, 128, 128], "axes": ["channels", "mels",
// "frames"], "params": [null, "n_mels", "chunk_seconds"]}: for each axis the
// parameter that sets it (null: fixed); or null where the instance cannot
// know it before it runs (a model file that does not declare its width).
inline constexpr const char* kOutputShape = "output_shape";

// regressor: the chunk tensor it reads, same form as output_shape ("params"
// omitted); null axes accept any size.
inline constexpr const char* kInputShape = "input_shape";

// transform: describes its input rather than changing it (a t-SNE map): the
// host fits it once, on every song of its input, outside the evaluation
// folds (PluginContext::fold is -1), as soon as its input is computed, whether
// or not a model reads it; inside the folds it must pass its input through.
// Value: true.
inline constexpr const char* kWholeTable = "whole_table";

// regressor: learns each target on its own, sharing nothing between them
// (one booster or one linear model per target), so fitted on one target at a
// time it gives each target the model it would get beside the others. Lets
// the host fit the model's pipeline once per target (see per_target), and a
// grid search pick each target's candidate on its own (grid_search.by:
// target, the default for such models). Value: true.
inline constexpr const char* kIndependentTargets = "independent_targets";

// transform: what it learns depends on the target (a selection per target).
// When the regressor reading it declares independent_targets and learns more
// than one target, the host fits that regressor's whole pipeline once per
// target, on training songs carrying only that target, so each target's model
// reads what was fitted for it; otherwise the transform sees all of the
// regressor's targets at once. Value: true; query() says, as a boolean, for
// the instance's parameters (a selection asked for the union says false).
inline constexpr const char* kPerTarget = "per_target";

// regressor: picks its epoch on the validation songs fit() is given (early
// stopping, best-epoch weights). The host decides which songs those are
// (evaluation.early_stopping.on): a share of the training songs held out of
// the fit (inner, the default), or the scored fold itself (scored, as the
// report did; results.csv then marks the scores). Missing: the model selects
// nothing on them, and gets the scored fold only to report per-epoch scores.
// Value: true.
inline constexpr const char* kEarlyStopping = "early_stopping";

// regressor: fitted with parameter P = n, it predicts after its first m ≤ n
// stages exactly what it would fitted with P = m (boosting rounds without
// early stopping), through predict_stages(). query() returns P's name, or
// null where that does not hold for the instance's parameters. A grid search
// over P then fits the largest value once per inner fold and scores the
// others from it. Value: true.
inline constexpr const char* kStaged = "staged";

// regressor: rates a song over time (the dynamic task, docs/dynamic.md): it
// learns from the songs' annotations over time (SongTable::dynamic) aligned
// to the windows of its input tensor (SongTable::chunk_timing), and
// predict_chunks() returns one row per window, whose mean is the song's
// predict() row (the host scores songs from them). The host scores those rows
// against the annotations (frame level, curves.csv) and `mer-run predict
// --dynamic` writes them. Declared with "chunks". Value: true.
inline constexpr const char* kSequence = "sequence";

// dataset: the scale its labels are on — not the range the songs happen to
// cover (DEAM: 1–9 whatever the ratings given). query() returns an object
// target name → [low, high] for the instance's parameters (only the targets
// whose scale it knows; null: none). The host records it in the model
// bundle; `mer-run predict` splits quadrants at its middle and flags ratings
// outside it. Missing: predict uses the training labels' range. Value: true.
inline constexpr const char* kLabelRange = "label_range";

// dataset: reads its rows before anything runs (`mer-run validate`, and
// `mer-run run` before the run folder exists) and reports every problem
// rather than stopping at the first, as load() does. query() returns an array
// of {"file", "line", "column", "message", "warning"} (line 0 / column ""
// where not known; empty: the data is fine). "warning": true marks what the
// run copes with (an audio file that is missing: the song is skipped): it is
// printed, not counted as an error. Value: true.
inline constexpr const char* kCheckData = "check_data";

}  // namespace mer::capability
