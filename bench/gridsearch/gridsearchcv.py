#!/usr/bin/python3
"""scikit-learn's GridSearchCV on the very work a mer grid-search run did (issue 13).

    /usr/bin/python3 bench/gridsearch/gridsearchcv.py --table songs.csv --run RUN_DIR \
        [--node xgb] [--jobs 2] [--seed 42] [--mer-wall SECONDS]

RUN_DIR is the run folder of bench/gridsearch/gridsearch.yaml (run.sh runs
both). Everything that defines the work is read back from it, so both sides
tune the same thing:

* the training songs: every song of the table except those predictions.csv
  lists for the node (the holdout's validation songs), in table order;
* the fixed XGBoost parameters: the node's resolved parameters in the model
  bundle's manifest (mer's schema defaults written out: subsample,
  colsample_bytree, min_child_weight, reg_lambda, reg_alpha, tree_method);
* the candidates and the inner fold count: grid.csv and summary.json.

Then per target: GridSearchCV(XGBRegressor(n_jobs=1, ...), the same grid,
cv=KFold(folds, shuffle=True), scoring="r2", n_jobs=JOBS, refit=True), both
targets timed together with time.perf_counter (data loading and imports
excluded, refits included). mer's inner folds are its own seeded shuffle and
XGBoost's row/column sampling is seeded differently on each side, so where two
candidates score within noise the two searches may pick differently: the
output lists every candidate's inner-CV r2 on both sides, marks each side's
pick, and counts the targets whose picks match. The validation r2 of both
refitted models (outside the timing) shows whether they learnt alike.
Prints figures; asserts nothing about time.
"""
import argparse
import csv
import json
import re
import sys
import time
from pathlib import Path

import numpy as np
import sklearn
import xgboost
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, KFold
from xgboost import XGBRegressor

# regressor.xgboost's parameter names → XGBRegressor's, for those that differ.
SKLEARN_NAME = {"eta": "learning_rate"}
# mer parameters with no XGBRegressor counterpart here: threads and seed are
# set below, and early stopping must be off (GridSearchCV cannot hold songs out).
NOT_PASSED = {"nthread", "seed", "early_stopping_rounds", "early_stopping_fraction"}


def read_csv_dicts(path):
    with open(path, newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def bundle_steps(run, node):
    """The model bundle's manifest (model/NODE/model.json): the dataset's and the regressor's resolved parameters."""
    manifest = run / "model" / node / "model.json"
    if not manifest.is_file():
        sys.exit(f"{manifest}: missing (did the run finish?)")
    doc = json.loads(manifest.read_text())
    if doc.get("transforms"):
        sys.exit(f"{manifest}: the node has transforms; this benchmark compares a bare regressor")
    return doc["data"][0]["params"], doc["regressor"]["params"]


def mer_side(run, node):
    """What mer did: candidates and inner scores (grid.csv), timings (log.txt, summary.json), picks."""
    grid = [r for r in read_csv_dicts(run / "grid.csv") if r["node"] == node]
    if not grid:
        sys.exit(f"{run}/grid.csv: no rows for node '{node}'")
    folds_outer = sorted({r["fold"] for r in grid})
    if folds_outer != ["0"]:
        sys.exit(f"{run}/grid.csv: evaluation folds {folds_outer}; expected one holdout split (fold 0)")
    summary = json.loads((run / "summary.json").read_text())
    entry = summary.get("nodes", {}).get(node, {})
    log = (run / "log.txt").read_text(encoding="utf-8", errors="replace")
    pattern = re.compile(rf"node '{re.escape(node)}': grid search in fold \d+: (\d+) candidates × (\d+) folds in "
                         r"([0-9.]+) s")
    found = pattern.findall(log)
    return {
        "grid": grid,
        "inner_folds": int(entry.get("grid", {}).get("inner_folds") or found[0][1]),
        "grid_seconds": sum(float(s) for _, _, s in found) if found else float("nan"),
        "node_seconds": float(entry.get("seconds", float("nan"))),
        "validation_r2": {r["target"]: float(r["r2"]) for r in read_csv_dicts(run / "results.csv")
                          if r["node"] == node and r.get("level", "song") == "song"},
    }


def key(params):
    """A candidate, whichever side's parameter names, as a hashable, printable key."""
    back = {v: k for k, v in SKLEARN_NAME.items()}
    return tuple(sorted((back.get(k, k), float(v)) for k, v in params.items()))


def show(k):
    return " ".join(f"{name}={value:g}" for name, value in k)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--table", required=True, help="the CSV the run read (make_table.py's)")
    ap.add_argument("--run", required=True, type=Path, help="the run folder of gridsearch.yaml")
    ap.add_argument("--node", default="xgb", help="the tuned regressor node")
    ap.add_argument("--jobs", type=int, default=2, help="GridSearchCV n_jobs (1 XGBoost thread each)")
    ap.add_argument("--seed", type=int, default=42, help="KFold shuffle and XGBoost seed")
    ap.add_argument("--mer-wall", type=float, help="mer-run's wall time in s (run.sh), for the summary")
    args = ap.parse_args()

    data_params, node_params = bundle_steps(args.run, args.node)
    mer = mer_side(args.run, args.node)
    id_column = data_params.get("id_column", "song_id")
    targets = data_params.get("targets", ["valence", "arousal"])
    if node_params.get("early_stopping_rounds", 0):
        sys.exit("early_stopping_rounds > 0: GridSearchCV has no counterpart; use a grid without it")

    # The table, every other column a feature (dataset.table's default) unless the run named them.
    with open(args.table, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    header, rows = rows[0], rows[1:]
    features = data_params.get("feature_columns") or [c for c in header if c != id_column and c not in targets]
    col = {c: i for i, c in enumerate(header)}
    ids = [r[col[id_column]] for r in rows]
    x = np.array([[float(r[col[c]]) for c in features] for r in rows])
    y = np.array([[float(r[col[t]]) for t in targets] for r in rows])

    # mer's holdout: its validation songs are those it predicted; the rest trained.
    validation = {r["song_id"] for r in read_csv_dicts(args.run / "predictions.csv") if r["node"] == args.node}
    train = np.array([i not in validation for i in ids])
    if not validation or validation - set(ids):
        sys.exit(f"{args.run}/predictions.csv: validation songs do not match {args.table}")
    x_train, y_train, x_val, y_val = x[train], y[train], x[~train], y[~train]

    # The same candidates, from grid.csv; the same fixed parameters, from the bundle.
    mer_scores = {}  # target → candidate key → (r2 mean, r2 std)
    mer_pick = {}  # target → candidate key
    grid_values = {}
    for r in mer["grid"]:
        params = json.loads(r["params"])
        k = key(params)
        mer_scores.setdefault(r["target"], {})[k] = (float(r["r2_mean"]), float(r["r2_std"]))
        if r["selected"] == "1":
            mer_pick[r["target"]] = k
        for name, value in params.items():
            grid_values.setdefault(SKLEARN_NAME.get(name, name), [])
            if value not in grid_values[SKLEARN_NAME.get(name, name)]:
                grid_values[SKLEARN_NAME.get(name, name)].append(value)
    candidates = len(next(iter(mer_scores.values())))
    fixed = {SKLEARN_NAME.get(k, k): v for k, v in node_params.items()
             if k not in NOT_PASSED and SKLEARN_NAME.get(k, k) not in grid_values}
    estimator = XGBRegressor(objective="reg:squarederror", n_jobs=1, random_state=args.seed, **fixed)
    folds = mer["inner_folds"]

    print(f"GridSearchCV: scikit-learn {sklearn.__version__}, XGBoost {xgboost.__version__}; "
          f"{x_train.shape[0]} training songs × {x_train.shape[1]} features (validation {x_val.shape[0]}); "
          f"{candidates} candidates × {folds} folds × {len(targets)} targets; "
          f"{args.jobs} jobs × 1 XGBoost thread")
    print(f"  grid {json.dumps(grid_values)}; fixed {json.dumps(fixed)}")

    # The measurement: both targets' searches with their refits, nothing else.
    searches = {}
    start = time.perf_counter()
    for t, target in enumerate(targets):
        search = GridSearchCV(estimator, grid_values, scoring="r2", n_jobs=args.jobs, refit=True, error_score="raise",
                              cv=KFold(folds, shuffle=True, random_state=args.seed))
        search.fit(x_train, y_train[:, t])
        searches[target] = search
    total = time.perf_counter() - start
    refit = sum(s.refit_time_ for s in searches.values())
    print(f"  GridSearchCV: {total:.1f} s (search {total - refit:.1f} s + refits {refit:.1f} s)")

    # Side by side, per target: every candidate's inner-CV r2 on both sides.
    matches = 0
    picks = []
    for t, target in enumerate(targets):
        search = searches[target]
        sk_scores = {key(p): (m, s) for p, m, s in zip(search.cv_results_["params"],
                                                        search.cv_results_["mean_test_score"],
                                                        search.cv_results_["std_test_score"])}
        sk_pick = key(search.best_params_)
        mine = mer_pick.get(target)
        matches += sk_pick == mine
        print(f"\n{target}: inner-CV r2, mean ± std over {folds} folds  (M: mer's pick, S: GridSearchCV's)")
        print(f"  {'candidate':<44} {'mer':>16} {'GridSearchCV':>16}")
        for k in sorted(mer_scores[target]):
            m, s = mer_scores[target][k], sk_scores.get(k, (float("nan"), float("nan")))
            mark = ("M" if k == mine else " ") + ("S" if k == sk_pick else " ")
            print(f"  {show(k):<44} {m[0]:>8.4f} ± {m[1]:.4f} {s[0]:>8.4f} ± {s[1]:.4f}  {mark}")
        sk_val = r2_score(y_val[:, t], search.predict(x_val))
        mer_val = mer["validation_r2"].get(target, float("nan"))
        picks.append((target, mine, sk_pick, mer_val, sk_val))
        if sk_pick != mine:
            mer_gap = mer_scores[target][mine][0] - mer_scores[target][sk_pick][0]
            sk_gap = sk_scores[sk_pick][0] - sk_scores[mine][0]
            print(f"  picks differ: mer's own scores put its pick {mer_gap:+.4f} above GridSearchCV's; "
                  f"GridSearchCV's put its own {sk_gap:+.4f} above mer's")

    def ratio(theirs, ours):  # mer logs its search to 0.1 s: a tiny run may show 0.0
        return f"{theirs / ours:.2f}×" if ours > 0 else "n/a"

    search_s = total - refit
    print("\nsummary")
    if args.mer_wall is not None:
        print(f"  mer-run wall     {args.mer_wall:8.1f} s   (grid search {mer['grid_seconds']:.1f} s as logged; "
              f"node {mer['node_seconds']:.1f} s with search, refits and validation)")
    else:
        print(f"  mer grid search  {mer['grid_seconds']:8.1f} s   as logged "
              f"(node {mer['node_seconds']:.1f} s with search, refits and validation)")
    print(f"  GridSearchCV     {total:8.1f} s   (search {search_s:.1f} s + refits {refit:.1f} s)")
    if args.mer_wall is not None:
        print(f"  ratio GridSearchCV / mer (>1: mer faster): {ratio(total, args.mer_wall)} whole "
              f"(GridSearchCV with refits / mer-run wall), {ratio(search_s, mer['grid_seconds'])} search only")
    else:
        print(f"  ratio GridSearchCV / mer, search only (>1: mer faster): "
              f"{ratio(search_s, mer['grid_seconds'])}")
    for target, mine, theirs, mer_val, sk_val in picks:
        same = "same" if mine == theirs else "DIFFERENT"
        print(f"  {target:<8} mer {show(mine):<36} GridSearchCV {show(theirs):<36} "
              f"{same}; validation r2 mer {mer_val:.4f}, GridSearchCV {sk_val:.4f}")
    print(f"  same selected candidates: {matches} of {len(targets)} targets")


if __name__ == "__main__":
    main()
