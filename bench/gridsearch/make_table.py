#!/usr/bin/python3
"""A DEAM-sized synthetic song table for the grid-search benchmark (numpy only).

    /usr/bin/python3 bench/gridsearch/make_table.py --out songs.csv [--songs 1744] [--features 386] [--seed 42]

Writes what dataset.table reads: `song_id`, FEATURES numeric feature columns,
then `valence` and `arousal` on DEAM's 1-9 scale. The shape is DEAM's: the
1744 45-s excerpts × the 386 handcrafted features, so an 80/20 holdout leaves
1395 training songs, as issue 13 measures.

The structure is real but noisy, like audio features against ratings: eight
hidden factors per song, each feature a mix of two or three of them plus its
own noise, on its own scale and offset (as MFCC means, spectral centroids in
Hz and chroma shares are), a quarter of the features pure noise. Arousal
follows the factors more closely than valence (as on DEAM), both through
nonlinear terms (saturation, an interaction, a periodic term) that trees must
find and rating noise they cannot. Same seed → same file, byte for byte.
"""
import argparse

import numpy as np


def make(songs, features, seed):
    rng = np.random.default_rng(seed)
    factors = 8
    z = rng.standard_normal((songs, factors))

    # Features: three quarters mix two or three factors, the rest are noise.
    x = np.empty((songs, features))
    informative = (3 * features) // 4
    for j in range(features):
        if j < informative:
            picked = rng.choice(factors, size=rng.integers(2, 4), replace=False)
            signal = z[:, picked] @ rng.uniform(-1.0, 1.0, size=picked.size)
            column = signal + rng.uniform(0.3, 1.5) * rng.standard_normal(songs)
        else:
            column = rng.standard_normal(songs)
        x[:, j] = rng.uniform(-50.0, 50.0) + np.exp(rng.uniform(-3.0, 6.0)) * column
    x = x[:, rng.permutation(features)]  # informative and noise columns interleaved

    # Ratings: nonlinear in a few factors, plus noise no feature explains.
    arousal = (5.0 + 1.1 * np.tanh(1.2 * z[:, 0]) + 0.5 * z[:, 1] + 0.35 * z[:, 0] * z[:, 2]
               + 0.3 * np.maximum(z[:, 3], 0.0) + 0.55 * rng.standard_normal(songs))
    valence = (5.0 + 0.6 * z[:, 1] + 0.45 * np.sin(1.5 * z[:, 4]) + 0.3 * z[:, 0]
               - 0.25 * z[:, 5] * z[:, 1] + 0.8 * rng.standard_normal(songs))
    return x, np.clip(valence, 1.0, 9.0), np.clip(arousal, 1.0, 9.0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="CSV file to write")
    ap.add_argument("--songs", type=int, default=1744)
    ap.add_argument("--features", type=int, default=386)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    if args.songs < 10 or args.features < 1:
        ap.error("need at least 10 songs and 1 feature")

    x, valence, arousal = make(args.songs, args.features, args.seed)
    width = len(str(args.songs))
    with open(args.out, "w", encoding="ascii", newline="\n") as out:
        out.write(",".join(["song_id"] + [f"f{j:03d}" for j in range(args.features)] + ["valence", "arousal"]) + "\n")
        for i in range(args.songs):
            cells = [f"song_{i + 1:0{width}d}"] + [f"{v:.6g}" for v in x[i]]
            out.write(",".join(cells + [f"{valence[i]:.4f}", f"{arousal[i]:.4f}"]) + "\n")
    print(f"{args.out}: {args.songs} songs × {args.features} features + valence, arousal (seed {args.seed})")


if __name__ == "__main__":
    main()
