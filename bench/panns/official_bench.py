#!/usr/bin/python3
"""The official PANNs CNN14 forward pass, timed as mer-bench-panns times mer's.

    /usr/bin/python3 bench/panns/official_bench.py --official AUDIOSET_TAGGING_CNN/pytorch \
        --torchlibrosa TORCHLIBROSA --checkpoint CKPT [--threads 2] [--batches 5]

The official code (qiuqiangkong/audioset_tagging_cnn, qiuqiangkong/torchlibrosa)
is not part of mer: fetch both repositories anywhere and point at them.
librosa is not packaged in Debian 12, so a stand-in provides what Cnn14's
constructor touches; every tensor it builds is replaced by the checkpoint's
(load_state_dict(strict=True)), as tests/fixtures/panns/README.md explains.
Prints one line: seconds per batch of 15 three-second chunks (one 45-s song).
"""
import argparse
import statistics
import sys
import time
import types

import numpy as np
import scipy.signal
import torch


def install_librosa_stand_in():
    def pad_center(data, *, size, axis=-1, **kwargs):
        lengths = [(0, 0)] * data.ndim
        lengths[axis] = ((size - data.shape[axis]) // 2, size - data.shape[axis] - (size - data.shape[axis]) // 2)
        return np.pad(data, lengths, **kwargs)

    lib = types.ModuleType("librosa")
    lib.filters = types.ModuleType("librosa.filters")
    lib.util = types.ModuleType("librosa.util")
    lib.util.exceptions = types.ModuleType("librosa.util.exceptions")
    lib.filters.get_window = lambda window, n, fftbins=True: scipy.signal.get_window(window, n, fftbins=fftbins)
    lib.filters.mel = lambda *, sr, n_fft, n_mels=128, **kw: np.full((n_mels, 1 + n_fft // 2), np.nan)
    lib.util.pad_center = pad_center
    lib.util.exceptions.ParameterError = type("ParameterError", (Exception,), {})
    for name, module in [("librosa", lib), ("librosa.filters", lib.filters), ("librosa.util", lib.util),
                         ("librosa.util.exceptions", lib.util.exceptions)]:
        sys.modules[name] = module


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--official", required=True)
    ap.add_argument("--torchlibrosa", required=True)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batches", type=int, default=5)
    ap.add_argument("--batch", type=int, default=15)
    args = ap.parse_args()
    sys.path[:0] = [args.official, args.torchlibrosa]
    install_librosa_stand_in()
    from models import Cnn14  # the official model

    model = Cnn14(sample_rate=32000, window_size=1024, hop_size=320, mel_bins=64, fmin=50, fmax=14000,
                  classes_num=527)
    model.load_state_dict(torch.load(args.checkpoint, map_location="cpu")["model"], strict=True)
    model.eval()
    torch.set_num_threads(args.threads)
    x = torch.from_numpy((np.random.default_rng(7).standard_normal((args.batch, 96000)) * 0.1).astype(np.float32))
    times = []
    with torch.no_grad():
        for _ in range(args.batches + 1):
            start = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - start)
    print(f"official PyTorch {torch.__version__}: {args.threads} thread(s), batch {args.batch} x 3 s: "
          f"median {statistics.median(times[1:]):.3f} s per batch (warm-up {times[0]:.2f} s)")


if __name__ == "__main__":
    main()
