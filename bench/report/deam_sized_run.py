#!/usr/bin/python3
"""Writes a run folder shaped like a DEAM-sized Phase 2 run, for the report benchmark.

1 744 songs, 4 LibTorch model nodes trained jointly on valence and arousal
for 50 epochs in 5 folds (metrics.csv rows for every split a chunk model
logs), every out-of-fold prediction, and the label and Pearson files of a
features node: the files `mer-run report` reads, with the columns mer
writes. The numbers are random (seeded); only sizes and shapes matter.
Usage: deam_sized_run.py FOLDER [SONGS [EPOCHS]]   (default 1744 songs, 50 epochs;
ctest's bench-report-smoke writes 50 songs of 3 epochs)
"""
import json
import os
import random
import sys

if not 2 <= len(sys.argv) <= 4:
    sys.exit(__doc__)
out = sys.argv[1]
SONGS = int(sys.argv[2]) if len(sys.argv) > 2 else 1744
EPOCHS = int(sys.argv[3]) if len(sys.argv) > 3 else 50
FOLDS = 5
NODES = ["cnn", "se_temporal", "cnn_gru", "cnn_gru_attention"]
TARGETS = ["valence", "arousal"]

os.makedirs(out, exist_ok=True)
rng = random.Random(7)
songs = [str(i) for i in range(2, 2 + SONGS)]
labels = {s: {t: rng.uniform(1, 9) for t in TARGETS} for s in songs}
fold_of = {s: i % FOLDS for i, s in enumerate(songs)}

metrics_columns = ["node", "model", "fold", "epoch", "split", "target", "loss", "r2", "rmse", "mae", "mse",
                   "pearson", "ccc", "seed"]
with open(os.path.join(out, "metrics.csv"), "w") as f:
    f.write(",".join(metrics_columns) + "\n")
    for node in NODES:
        for fold in range(FOLDS):
            for epoch in range(1, EPOCHS + 1):
                for split in ["train", "inner_validation", "train_chunks", "inner_validation_chunks"]:
                    for target in TARGETS:
                        r2 = 0.5 - 0.4 / epoch + rng.gauss(0, 0.03)
                        loss = str(1.0 + 1.0 / epoch) if split.endswith("_chunks") else ""
                        f.write(f"{node},regressor.{node},{fold},{epoch},{split},{target},{loss},{r2},"
                                f"{1 - r2 / 2},{0.8 - r2 / 3},{(1 - r2 / 2) ** 2},{r2 ** 0.5},{r2 * 0.9},42\n")
            for split in ["validation", "validation_chunks"]:
                for target in TARGETS:
                    f.write(f"{node},regressor.{node},{fold},{EPOCHS},{split},{target},,0.45,0.84,0.67,0.7,0.67,"
                            f"0.6,42\n")

with open(os.path.join(out, "predictions.csv"), "w") as f:
    f.write("node,song_id,fold,target,true,predicted,seed\n")
    for node in NODES:
        for s in songs:
            for t in TARGETS:
                y = labels[s][t]
                f.write(f"{node},{s},{fold_of[s]},{t},{y},{y + rng.gauss(0, 0.8)},42\n")

with open(os.path.join(out, "pearson_features.csv"), "w") as f:
    f.write("target,feature,r,abs_rank,top15\n")
    for t in TARGETS:
        rs = sorted(((rng.uniform(-1, 1), f"mfcc_{i}_mean") for i in range(1, 387)), key=lambda x: -abs(x[0]))
        for rank, (r, name) in enumerate(rs, 1):
            f.write(f"{t},{name},{r},{rank},{int(rank <= 15)}\n")

open(os.path.join(out, "skipped.csv"), "w").write("song_id,path,reason,node\n")
summary = {"experiment": "deam-sized", "status": "finished", "split": {"kind": "kfold", "group_by": "song"},
           "nodes": {}}
for node in NODES:
    validation = {t: {m: {"mean": 0.45, "std": 0.03, "folds": [0.45] * FOLDS, "pooled": 0.45}
                      for m in ["r2", "rmse", "mae"]} for t in TARGETS}
    summary["nodes"][node] = {"model": "regressor." + node, "version": "1.0.0", "songs": SONGS, "folds": FOLDS,
                              "seconds": 1.0, "validation": validation, "validation_chunks": validation}
json.dump(summary, open(os.path.join(out, "summary.json"), "w"), indent=2)
json.dump({"mer_version": "0.1.0", "git_revision": "bench", "device": "cpu", "threads": 2, "seed": 42,
           "started_at": "2026-12-01T00:00:00Z", "host": "bench", "command": "deam_sized_run.py"},
          open(os.path.join(out, "environment.json"), "w"), indent=2)
open(os.path.join(out, "config.yaml"), "w").write(
    "name: deam-sized\nnodes:\n  data:\n    uses: dataset.deam\n    params: {root: data/DEAM}\n")
artifacts = [{"file": f, "kind": k, "node": n, "columns": [], "meaning": ""} for f, k, n in [
    ("metrics.csv", "metrics", ""), ("predictions.csv", "predictions", ""), ("summary.json", "summary", ""),
    ("skipped.csv", "skipped", ""), ("pearson_features.csv", "pearson", "features")]]
json.dump({"format": 1, "experiment": "deam-sized", "artifacts": artifacts},
          open(os.path.join(out, "run.json"), "w"), indent=2)
print(out)
