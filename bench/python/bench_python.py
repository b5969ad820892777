#!/usr/bin/python3
"""The Python package's figures (docs/python.md, issue 29): import time of
`mer`; mer.extract (features.handcrafted) s/song on files and on the same
samples as in-memory arrays; Model.predict files/s with the model object
made once, against `mer-run predict` on the same files in the same run.

    PYTHONPATH=build/python /usr/bin/python3 bench/python/bench_python.py [--songs 20] [--seconds 45]

Writes a synthetic corpus and a quickstart-shaped run into a temporary
folder. librosa is not a Debian package: where it is importable, its
extraction of the same 386 features from the same WAV files is timed too
(librosa_features.py; the × figure)."""

import argparse
import os
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("--songs", type=int, default=20)
parser.add_argument("--seconds", type=float, default=45)
parser.add_argument("--mer-run", default=str(Path(__file__).resolve().parents[2] / "build" / "bin" / "mer-run"))
args = parser.parse_args()

start = time.perf_counter()
import mer  # noqa: E402

print(f"import mer: {time.perf_counter() - start:.3f} s")

with tempfile.TemporaryDirectory(prefix="mer-bench-python-") as tmp:
    tmp = Path(tmp)
    subprocess.run([args.mer_run, "synth", "--out", "corpus", "--songs", str(args.songs), "--seconds",
                    str(args.seconds), "--seed", "1"], cwd=tmp, check=True, capture_output=True)
    songs = sorted((tmp / "corpus" / "MEMD_audio").glob("*.mp3"))
    # Test tones as 22.05 kHz WAV files and the same samples as arrays.
    arrays = [None] * len(songs)
    rng = np.random.default_rng(0)
    rate = 22050
    for i in range(len(songs)):
        t = np.arange(int(rate * args.seconds)) / rate
        signal = (0.3 * np.sin(2 * np.pi * (220 + 20 * i) * t) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)
        pcm = np.clip(np.round(signal * 32767), -32768, 32767).astype("<i2")
        with wave.open(str(tmp / f"song{i}.wav"), "wb") as w:
            w.setnchannels(1), w.setsampwidth(2), w.setframerate(rate), w.writeframes(pcm.tobytes())
        arrays[i] = (pcm.astype(np.float32) / 32768.0, rate)
    wavs = [tmp / f"song{i}.wav" for i in range(len(songs))]

    def timed(label, call, n):
        call()  # warm: plugin loading, first-touch allocations
        start = time.perf_counter()
        call()
        seconds = time.perf_counter() - start
        print(f"{label}: {seconds / n:.4f} s/song ({n} songs, {seconds:.2f} s)")
        return seconds / n

    on_files = timed("mer.extract handcrafted, 22.05 kHz WAV files",
                     lambda: mer.extract("features.handcrafted", wavs, quiet=True), len(wavs))
    on_arrays = timed("mer.extract handcrafted, the same samples as arrays",
                      lambda: mer.extract("features.handcrafted", arrays, quiet=True), len(arrays))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from librosa_features import time_files  # noqa: E402

    librosa_s = time_files([str(w) for w in wavs])
    if librosa_s is not None:
        print(f"mer.extract on files: {librosa_s / on_files:.1f}× librosa's speed, same WAV files")

    (tmp / "exp.yaml").write_text(f"""name: bench
nodes:
  deam: {{uses: dataset.deam, params: {{root: corpus}}}}
  handcrafted: {{uses: features.handcrafted, inputs: [deam]}}
  ridge: {{uses: regressor.ridge, inputs: [handcrafted], params: {{alpha: 100.0}}}}
evaluation: {{split: {{kind: kfold, k: {min(5, args.songs)}}}}}
""")
    run_dir = subprocess.run([args.mer_run, "run", "exp.yaml", "--quiet"], cwd=tmp, check=True, capture_output=True,
                             text=True).stdout.strip()
    model = mer.Model(tmp / run_dir, node="ridge", cache=tmp / "cache")
    model.predict(songs[:1], quiet=True)
    start = time.perf_counter()
    model.predict(songs, quiet=True)
    python_s = time.perf_counter() - start
    start = time.perf_counter()
    subprocess.run([args.mer_run, "predict", "--model", run_dir, "--node", "ridge", *map(str, songs)], cwd=tmp,
                   check=True, capture_output=True)
    cli_s = time.perf_counter() - start
    print(f"Model.predict (features cached): {len(songs) / python_s:.1f} files/s; mer-run predict: "
          f"{len(songs) / cli_s:.1f} files/s, same files, same cache")
    print(f"load average: {os.getloadavg()[0]:.2f}")
