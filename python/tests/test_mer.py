"""The Python package against mer-run itself: the same files, the same
numbers. Run by ctest (python/CMakeLists.txt) with Debian's python3-pytest;
MER_RUN names the mer-run of the same build, PYTHONPATH its build/python."""

import json
import os
import re
import subprocess
import wave
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mer

MER_RUN = os.environ.get("MER_RUN", "mer-run")
SOURCE = Path(__file__).resolve().parents[2]


def mer_run(*args, cwd, check=True):
    done = subprocess.run([MER_RUN, *map(str, args)], cwd=cwd, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"mer-run {' '.join(map(str, args))}: exit {done.returncode}\n{done.stderr}")
    return done


EXPERIMENT = """name: py
seed: 42
nodes:
  deam: {uses: dataset.deam, params: {root: corpus, label_range: [1, 9]}}
  handcrafted: {uses: features.handcrafted, inputs: [deam]}
  ridge: {uses: regressor.ridge, inputs: [handcrafted], params: {alpha: 100.0}}
  baseline: {uses: regressor.mean, inputs: [handcrafted]}
evaluation:
  split: {kind: kfold, k: 3}
"""


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A synthetic corpus of 12 songs and one CLI run on it."""
    folder = tmp_path_factory.mktemp("mer-python")
    mer_run("synth", "--out", "corpus", "--songs", "12", "--seconds", "4", "--seed", "3", cwd=folder)
    (folder / "exp.yaml").write_text(EXPERIMENT)
    done = mer_run("run", "exp.yaml", "--quiet", cwd=folder)
    return folder, folder / done.stdout.strip()


def test_read_run_gives_every_file_as_it_is(work):
    folder, run_dir = work
    run = mer.read_run(run_dir)
    assert run.status == "finished"
    assert run.config["name"] == "py"
    assert run.config["nodes"]["ridge"]["params"]["alpha"] == 100.0
    for attribute, name in [("metrics", "metrics.csv"), ("predictions", "predictions.csv"),
                            ("results", "results.csv"), ("comparisons", "comparisons.csv")]:
        frame = getattr(run, attribute)
        pd.testing.assert_frame_equal(frame, pd.read_csv(run_dir / name))
        assert len(frame) > 0, name
    assert run.curves.empty  # no sequence model
    assert run.predictions["predicted"].dtype == np.float64
    assert set(run.artifacts["file"]) >= {"metrics.csv", "summary.json", "report.html"}
    assert run.report == run_dir.resolve() / "report.html"
    assert run.summary["nodes"]["ridge"]["validation"]["valence"]["r2"]["folds"]
    with pytest.raises(mer.Error, match="not a run folder"):
        mer.read_run(folder / "corpus")


def test_runs_has_a_column_per_override_and_the_seeds_run(work, tmp_path):
    folder, _ = work
    out = tmp_path / "runs"
    mer_run("run", "exp.yaml", "--quiet", "--out", out, "--set", "nodes.ridge.params.alpha=10", cwd=folder)
    mer_run("run", "exp.yaml", "--quiet", "--out", out, "--set", "seeds=[1, 2]", "--set",
            "nodes.ridge.params.alpha=1", cwd=folder)
    mer_run("run", "exp.yaml", "--quiet", "--out", out, "--unset", "nodes.baseline", cwd=folder)
    table = mer.runs(out).sort_values("started").reset_index(drop=True)
    assert len(table) == 3
    assert list(table["set:nodes.ridge.params.alpha"].iloc[:2]) == [10, 1]
    assert pd.isna(table["set:nodes.ridge.params.alpha"].iloc[2])
    assert table["set:nodes.baseline"].iloc[2] == "(unset)"
    assert list(table["seeds"].astype(str)) == ["42", "1 2", "42"]
    assert table["ridge.valence.r2"].dtype == np.float64
    assert pd.isna(table["baseline.valence.r2"].iloc[2])
    # runs/index.csv has the same rows, one column per key.
    index = pd.read_csv(out / "index.csv")
    assert set(index.columns) == set(table.columns)
    assert sorted(index["seeds"].astype(str)) == sorted(table["seeds"].astype(str))


def write_wav(path, samples, rate):
    pcm = np.clip(np.round(samples * 32767), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return pcm.astype(np.float32) / 32768.0  # the samples a decoder reads back


def test_extract_equals_the_run_and_arrays_equal_files(work, tmp_path):
    folder, run_dir = work
    run = mer.read_run(run_dir)
    features = pd.read_csv(run_dir / "features_handcrafted.csv", index_col="song_id")
    audio = sorted((folder / "corpus" / "MEMD_audio").glob("*.mp3"))[:3]
    table = mer.extract("features.handcrafted", audio)
    assert table.shape == (3, 386)
    assert list(table.columns[:3]) == ["mfcc_1_mean", "mfcc_2_mean", "mfcc_3_mean"]
    for path in audio:
        np.testing.assert_allclose(table.loc[str(path)].to_numpy(), features.loc[int(path.stem)].to_numpy(),
                                   rtol=1e-12, atol=1e-12)
    # Arrays: the same numbers as files holding the same samples.
    rng = np.random.default_rng(5)
    t = np.arange(22050 * 2) / 22050
    signal = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size)
    samples = write_wav(tmp_path / "tone.wav", signal, 22050)
    from_file = mer.extract("features.handcrafted", [tmp_path / "tone.wav"])
    from_array = mer.extract("features.handcrafted", [(samples, 22050)])
    assert list(from_array.index) == ["#0"]
    np.testing.assert_array_equal(from_array.to_numpy(), from_file.to_numpy())
    # A file that cannot be read is left out, with its reason.
    (tmp_path / "broken.mp3").write_bytes(b"not audio at all")
    partial = mer.extract("features.handcrafted", [tmp_path / "tone.wav", tmp_path / "broken.mp3"])
    assert len(partial) == 1 and len(partial.attrs["skipped"]) == 1
    assert "broken.mp3" in partial.attrs["skipped"][0]["song"]
    # Tensor features come back as arrays.
    chunks = mer.extract("features.logmel_chunks", [tmp_path / "tone.wav"], chunk_seconds=1.0, hop_seconds=1.0,
                         frames=44)
    assert chunks[str(tmp_path / "tone.wav")].shape == (2, 1, 128, 44)
    with pytest.raises(mer.Error, match="features.handcrafted parameters"):
        mer.extract("features.handcrafted", audio[:1], n_mfcc="many")


def test_model_predict_equals_the_cli(work, tmp_path):
    folder, run_dir = work
    audio = sorted((folder / "corpus" / "MEMD_audio").glob("*.mp3"))[:4]
    broken = tmp_path / "broken.mp3"
    broken.write_bytes(b"\x00" * 100)
    inputs = [*map(str, audio), str(broken)]
    model = mer.Model(run_dir, node="ridge", cache=folder / "cache")
    for options, flags in [({}, []), ({"excerpts": 2, "duration": 2.0}, ["--excerpts", "2", "--duration", "2"])]:
        mer_run("predict", "--model", run_dir, "--node", "ridge", *flags, "--out", tmp_path / "cli.csv", *inputs,
                cwd=folder)
        expected = pd.read_csv(tmp_path / "cli.csv", keep_default_na=False, na_values=[""])
        for column in ("quadrant", "outside_range", "audio_flag", "error"):
            expected[column] = expected[column].fillna("").astype(str)
        got = model.predict(inputs, **options)
        pd.testing.assert_frame_equal(got, expected)
        assert got["error"].iloc[-1] != ""  # the broken file is a row with its reason
        assert (got["error"].iloc[:-1] == "").all()
    rated = model.predict([(np.zeros(22050 * 3, dtype=np.float32), 22050)])
    assert list(rated["path"]) == ["#0"]
    assert rated["audio_flag"].iloc[0] != ""  # silence is flagged, not rated as music
    # Loaded once: with the bundle gone from disk, the model in memory still rates the same.
    first = model.predict(inputs)
    (run_dir / "model").rename(tmp_path / "model-away")
    try:
        pd.testing.assert_frame_equal(model.predict(inputs), first)
        with pytest.raises(mer.Error, match="no model/ folder"):
            mer.Model(run_dir, node="ridge")
    finally:
        (tmp_path / "model-away").rename(run_dir / "model")
    assert model.targets == ["valence", "arousal"]


def test_validate_and_run_raise_located_errors(work, tmp_path):
    folder, _ = work
    bad = folder / "bad.yaml"
    bad.write_text(EXPERIMENT.replace("alpha: 100.0", "alpha: -1"))
    cli = mer_run("validate", bad, cwd=folder, check=False)
    assert cli.returncode == 2
    location = re.search(r"bad\.yaml:(\d+):(\d+): ", cli.stderr)
    errors = mer.validate(bad)
    assert len(errors) == 1
    assert (errors[0].file, errors[0].line, errors[0].column) == (str(bad), int(location[1]), int(location[2]))
    assert errors[0].key == "nodes.ridge.params.alpha"
    with pytest.raises(mer.Error) as raised:
        mer.run(bad, out=tmp_path / "runs")
    assert raised.value.line == int(location[1]) and raised.value.kind == "input"
    assert not (tmp_path / "runs").exists()  # refused before anything ran
    # A dict experiment with set= runs as the CLI would, and is indexed.
    experiment = {"name": "py-dict", "seed": 42,
                  "nodes": {"deam": {"uses": "dataset.deam", "params": {"root": str(folder / "corpus")}},
                            "handcrafted": {"uses": "features.handcrafted", "inputs": ["deam"]},
                            "ridge": {"uses": "regressor.ridge", "inputs": ["handcrafted"]}},
                  "evaluation": {"split": {"kind": "kfold", "k": 3}}}
    run = mer.run(experiment, set={"nodes.ridge.params.alpha": 50}, out=tmp_path / "runs",
                  cache=folder / "cache")
    assert run.status == "finished"
    assert run.config["nodes"]["ridge"]["params"]["alpha"] == 50
    assert mer.runs(tmp_path / "runs")["set:nodes.ridge.params.alpha"].tolist() == [50]
    assert mer.validate(experiment, set={"nodes.ridge.params.alpha": -3})[0].key == "nodes.ridge.params.alpha"


def test_progress_and_log_lines_reach_pythons_stderr(work, tmp_path, capsys):
    # What a notebook shows is what goes through sys.stderr (capsys sees it; a write to the
    # process's fd 2 it does not): the run log and the features' progress bar with time left.
    folder, _ = work
    run = mer.run(folder / "exp.yaml", set={"nodes.deam.params.root": str(folder / "corpus")},
                  out=tmp_path / "runs", cache=tmp_path / "cache")
    shown = capsys.readouterr().err
    assert "node 'handcrafted' (features.handcrafted) [" in shown
    assert "12/12 songs" in shown and " left" in shown
    log = (run.folder / "log.txt").read_text()
    last_line = log.strip().splitlines()[-1].split("] ", 1)[1]
    assert last_line in shown  # every log line, as log.txt has it
    mer.run(folder / "exp.yaml", set={"nodes.deam.params.root": str(folder / "corpus")}, out=tmp_path / "runs",
            cache=tmp_path / "cache", quiet=True)
    mer.extract("features.handcrafted", [sorted((folder / "corpus" / "MEMD_audio").glob("*.mp3"))[0]], quiet=True)
    assert capsys.readouterr().err == ""
    mer.extract("features.handcrafted", sorted((folder / "corpus" / "MEMD_audio").glob("*.mp3"))[:2])
    assert "extract: features.handcrafted [" in capsys.readouterr().err


def test_a_wheel_installs_into_a_virtual_environment_without_network(work, tmp_path):
    # docs/python.md's recipe: pip wheel of the built folder, installed into a venv with --no-index.
    import shutil
    import sys
    folder, run_dir = work
    package = tmp_path / "package"
    shutil.copytree(Path(mer.__file__).resolve().parents[1], package,
                    ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "--no-index",
                    "-w", tmp_path / "wheels", package], check=True, capture_output=True, env=env)
    wheel = next((tmp_path / "wheels").glob("mer-*.whl"))
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", tmp_path / "venv"],
                   check=True, env=env)
    python = tmp_path / "venv" / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "--no-index", "--no-deps", wheel], check=True,
                   capture_output=True, env=env)
    probe = ("import mer, sys; r = mer.read_run(sys.argv[1]); "
             "print(mer.__file__); print(len(mer.plugins())); print(r.results.to_csv(index=False), end='')")
    done = subprocess.run([python, "-c", probe, run_dir], check=True, capture_output=True, text=True, env=env,
                          cwd=tmp_path)
    where, plugins, results = done.stdout.split("\n", 2)
    assert where.startswith(str(tmp_path / "venv"))  # the installed copy, not the build folder
    assert int(plugins) == len(mer.plugins()) > 20
    assert results == mer.read_run(run_dir).results.to_csv(index=False)


def test_read_run_of_a_sequence_run_and_of_a_failed_run(tmp_path):
    mer_run("synth", "--out", "corpus", "--songs", "8", "--seconds", "20", "--seed", "4", cwd=tmp_path)
    (tmp_path / "seq.yaml").write_text("""name: seq
nodes:
  data: {uses: dataset.deam, params: {root: corpus, dynamic: true}}
  features: {uses: features.handcrafted, inputs: [data], params: {window_seconds: 1.0, groups: [mfcc]}}
  ridge: {uses: regressor.frame_ridge, inputs: [features], params: {alpha: 10}}
evaluation: {split: {kind: kfold, k: 2}}
""")
    run = mer.read_run(tmp_path / mer_run("run", "seq.yaml", "--quiet", cwd=tmp_path).stdout.strip())
    assert run.status == "finished" and run.reason == ""
    for name in ("frame_predictions", "curves"):
        expected = pd.read_csv(run.folder / f"{name}.csv")
        assert len(expected) > 0
        pd.testing.assert_frame_equal(getattr(run, name), expected)
    assert set(run.frame_predictions["song_id"].astype(str)) == {str(i) for i in range(1, 9)}
    # A node that fails: the run folder keeps what finished, its status and reason say why.
    (tmp_path / "fail.yaml").write_text("""name: fail
nodes:
  data: {uses: dataset.deam, params: {root: corpus}}
  features: {uses: features.handcrafted, inputs: [data], params: {groups: [mfcc]}}
  model: {uses: regressor.failing, inputs: [features], params: {fail_at_epoch: 2}}
evaluation: {split: {kind: kfold, k: 2}}
""")
    test_plugins = Path(MER_RUN).resolve().parents[1] / "test-plugins" / "good"
    done = subprocess.run([MER_RUN, "run", "fail.yaml", "--quiet"], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "MER_PLUGIN_PATH": str(test_plugins)})
    assert done.returncode == 1, done.stderr
    failed = mer.read_run(next((tmp_path / "runs" / "fail").glob("2*")))
    assert failed.status == "failed"
    assert failed.reason == "model: deliberate failure at epoch 2"
    assert len(failed.metrics) > 0  # the epochs before the failure are kept


def test_song_ids_guarded_against_formulas_read_back_exactly(tmp_path):
    """A song id a spreadsheet would run is written with a ' before it; the package takes it off."""
    mer_run("synth-table", "--out", "songs.csv", "--songs", "30", "--seed", "2", cwd=tmp_path)
    table = pd.read_csv(tmp_path / "songs.csv")
    table.iloc[0, 0] = "=1+1"
    table.iloc[1, 0] = "-x"
    table.to_csv(tmp_path / "songs.csv", index=False)
    (tmp_path / "exp.yaml").write_text("""name: ids
nodes:
  songs: {uses: dataset.table, params: {path: songs.csv}}
  ridge: {uses: regressor.ridge, inputs: [songs]}
evaluation: {split: {kind: kfold, k: 2}}
""")
    run = mer.read_run(tmp_path / mer_run("run", "exp.yaml", "--quiet", cwd=tmp_path).stdout.strip())
    written = (run.folder / "predictions.csv").read_text()
    assert ",'=1+1," in written and ",'-x," in written  # node,song_id,…: guarded on disk
    assert set(run.predictions["song_id"].astype(str)) >= {"=1+1", "-x"}


def test_plugins_and_describe():
    table = mer.plugins()
    assert {"features.handcrafted", "regressor.ridge", "dataset.deam"} <= set(table["name"])
    assert table.attrs["refused"] == []
    ridge = table.set_index("name").loc["regressor.ridge"]
    assert ridge["kind"] == "regressor" and "independent_targets" in ridge["capabilities"]
    params = mer.describe("regressor.ridge").set_index("name")
    assert params.loc["alpha", "default"] == 1.0
    with pytest.raises(mer.Error, match="did you mean 'regressor.ridge'"):
        mer.describe("regressor.ridg")


def test_the_docs_notebook_session_runs(tmp_path):
    """docs/python.md's example, as written, in a folder that has what it names."""
    text = (SOURCE / "docs" / "python.md").read_text()
    block = re.search(r"## A notebook session.*?```python\n(.*?)```", text, re.S).group(1)
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "quickstart.yaml").write_text((SOURCE / "experiments" / "quickstart.yaml").read_text())
    mer_run("synth", "--out", "data/synthetic-deam", "--songs", "12", "--seconds", "4", "--seed", "8", cwd=tmp_path)
    mer_run("run", "experiments/quickstart.yaml", "--quiet", cwd=tmp_path)
    songs = sorted((tmp_path / "data" / "synthetic-deam" / "MEMD_audio").glob("*.mp3"))
    for name, song in [("a.mp3", songs[0]), ("new-song.mp3", songs[1])]:
        (tmp_path / name).write_bytes(song.read_bytes())
    (tmp_path / "album").mkdir()
    (tmp_path / "album" / "track.mp3").write_bytes(songs[2].read_bytes())
    rng = np.random.default_rng(1)
    write_wav(tmp_path / "b.wav", 0.2 * rng.standard_normal(22050 * 3), 22050)
    write_wav(tmp_path / "long-track.wav", 0.2 * np.sin(np.arange(22050 * 8) * 0.05), 22050)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        scope = {}
        exec(compile(block, "docs/python.md", "exec"), scope)
    finally:
        os.chdir(cwd)
    assert scope["new"].status == "finished"
    assert len(scope["table"]) == 1  # taken before the session's own run
    assert len(mer.runs(tmp_path / "runs")) == 2
    assert scope["features"].shape == (2, 386)
