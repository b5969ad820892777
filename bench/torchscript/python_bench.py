#!/usr/bin/python3
"""Python (Debian's python3-torch) running an exported TorchScript file as features.torchscript runs it.

    /usr/bin/python3 bench/torchscript/python_bench.py MODEL RATE CHUNK_SECONDS CHUNKS_PER_SONG BATCH THREADS [SONGS]

The network only: SONGS songs' worth of random chunks (CHUNKS_PER_SONG ×
CHUNK_SECONDS at RATE each) in batches of BATCH, no decoding or resampling
(mer's figure includes those), after one warm-up batch. Prints seconds per song.
"""
import sys
import time

import torch


def main():
    if len(sys.argv) < 7:
        sys.exit(__doc__)
    model, rate, chunk, per_song, batch, threads = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), \
        int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    songs = int(sys.argv[7]) if len(sys.argv) > 7 else 4
    torch.set_num_threads(threads)
    torch._C._jit_set_texpr_fuser_enabled(False)   # as mer runs TorchScript (core/torch/script_module.cpp)
    m = torch.jit.load(model).eval()
    samples = int(round(chunk * rate))
    total = songs * per_song
    x = torch.randn(total, samples) * 0.1
    with torch.no_grad():
        m(x[:batch])
        start = time.perf_counter()
        for b in range(0, total, batch):
            m(x[b:b + batch])
        seconds = time.perf_counter() - start
    print(f'python: {seconds / songs:.3f} s per song ({songs} songs × {per_song} chunks of {chunk} s, batch {batch}, '
          f'{threads} threads, torch {torch.__version__})')


if __name__ == '__main__':
    main()
