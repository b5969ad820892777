#!/usr/bin/python3
"""librosa's time for the 386 handcrafted features mer's features.handcrafted
computes (tests/fixtures/librosa/README.md says how each is defined): per file,
load at 22.05 kHz, one STFT for mel, MFCC, chroma and contrast, the CQT for
tonnetz, mean and std of every row. Prints "librosa VERSION: S s/file (N files)".

librosa is not a Debian package: where it cannot be imported this prints why
and exits 3, and the callers (mer-bench-handcrafted, bench_python.py) print no
× librosa figure. It runs from a source checkout on Debian's packages
(docs/features.md, "Speed"): python-soxr, which Debian lacks, is then
soxr_libsoxr.py (Debian's libsoxr through ctypes), and Debian's audioread
2.1.9, which starts ffmpeg to list its backends on every librosa.load,
keeps the list as audioread 3 does. One thread for BLAS, as mer's one.

    /usr/bin/python3 bench/python/librosa_features.py FILE...
"""

import functools
import os
import sys
import time

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):  # run as a program: before numpy loads BLAS
    os.environ.setdefault(_variable, "1")


def features(librosa, np, path):
    y, sr = librosa.load(path, sr=22050)
    magnitude = np.abs(librosa.stft(y, n_fft=2048, hop_length=512))
    power = magnitude ** 2
    mel = librosa.feature.melspectrogram(S=power, sr=sr, n_mels=128)
    rows = [
        librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=40),
        librosa.feature.chroma_stft(S=power, sr=sr),
        mel,
        librosa.feature.spectral_contrast(S=magnitude, sr=sr),
        librosa.feature.tonnetz(y=y, sr=sr),
    ]
    return np.concatenate([np.concatenate([r.mean(axis=1), r.std(axis=1)]) for r in rows])


def import_librosa():
    try:
        import soxr  # noqa: F401
    except ImportError:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import soxr_libsoxr

        sys.modules["soxr"] = soxr_libsoxr
    try:
        import audioread

        if not hasattr(audioread.available_backends, "cache_info"):
            audioread.available_backends = functools.lru_cache(maxsize=None)(audioread.available_backends)
    except ImportError:
        pass
    import librosa

    return librosa


def time_files(paths):
    """Seconds per file (after one warm-up file), or None without librosa."""
    try:
        librosa = import_librosa()
        import numpy as np
    except (ImportError, OSError) as e:  # OSError: no libsoxr for the stand-in
        print(f"librosa: not importable here ({e}; it is not a Debian package): no × librosa figure")
        return None
    vector = features(librosa, np, paths[0])  # numba compiles its kernels on the first call
    if vector.shape != (386,):
        raise SystemExit(f"librosa_features.py: {vector.shape[0]} features, expected 386")
    start = time.perf_counter()
    for path in paths:
        features(librosa, np, path)
    seconds = (time.perf_counter() - start) / len(paths)
    print(f"librosa {librosa.__version__}: {seconds:.4f} s/file ({len(paths)} files)")
    return seconds


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    sys.exit(0 if time_files(sys.argv[1:]) is not None else 3)
