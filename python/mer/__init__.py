"""mer from Python: run folders into pandas, features and ratings as arrays,
experiments launched from a notebook.

Everything here calls the same C++ that ``mer-run`` runs (the extension
``mer._mer``); nothing is implemented twice. docs/python.md has the tour.

    import mer
    run = mer.read_run("runs/quickstart/latest")
    run.results                      # DataFrame of results.csv
    mer.runs("runs")                 # one row per run, one column per override and score
    mer.extract("features.handcrafted", ["a.mp3", "b.wav"])   # 386 librosa-named columns
    mer.Model(run.folder).predict(["new.mp3"])
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd

from . import _mer

__version__ = _mer.version
__all__ = ["Error", "Run", "Model", "read_run", "read_sweep", "runs", "extract", "run", "validate", "plugins",
           "describe"]

PathLike = Union[str, os.PathLike]


class Error(Exception):
    """A located mer error: ``.message``, ``.file``, ``.line``, ``.column``
    (1-based; 0 where not known), ``.node``, ``.song``, ``.key`` (the dotted
    experiment key it is about, where the message names one) and ``.kind``:
    ``input`` (fix a file, a parameter; mer-run's exit code 2), ``environment``
    (disk, permissions, a device; exit 3) or ``failed`` (a node failed while
    running; exit 1)."""

    def __init__(self, message: str, file: str = "", line: int = 0, column: int = 0, node: str = "",
                 song: str = "", kind: str = "input", errors: Optional[List["Error"]] = None):
        self.message, self.file, self.line, self.column = message, file, line, column
        self.node, self.song, self.kind = node, song, kind
        self.key = _key_of(message)
        self.errors = errors or [self]
        super().__init__(self._text())

    def _text(self) -> str:
        where = self.file
        if where and self.line:
            where += f":{self.line}" + (f":{self.column}" if self.column else "")
        if self.node:
            where += (": " if where else "") + f"node '{self.node}'"
        if self.song:
            where += (": " if where else "") + f"song '{self.song}'"
        return f"{where}: {self.message}" if where else self.message

    @classmethod
    def _from(cls, entry: Dict[str, Any], kind: str = "input") -> "Error":
        return cls(entry.get("message", ""), entry.get("file", ""), entry.get("line", 0), entry.get("column", 0),
                   entry.get("node", ""), entry.get("song", ""), entry.get("kind", kind))


def _key_of(message: str) -> str:
    unknown = re.search(r"unknown key '([^']+)' in ([A-Za-z0-9_.\-]+)", message)
    if unknown:
        return f"{unknown.group(2)}.{unknown.group(1)}"
    dotted = re.search(r"\b((?:nodes|evaluation|sweep|seed|seeds|name|device|runs_dir|cache_dir)"
                       r"(?:\.[A-Za-z0-9_\-]+)*)\b", message)
    return dotted.group(1) if dotted else ""


class _Display:
    """Progress bars and run-log lines of a running call, written to Python's
    ``sys.stderr``: a notebook shows them in the cell that runs the call (a
    carriage return redraws the bar in place), a terminal as mer-run would.
    mer's C++ calls ``progress`` and ``line`` (``quiet=True`` silences them)."""

    def __init__(self) -> None:
        self.bar_open = False

    def progress(self, bar: str, finished: bool) -> None:
        sys.stderr.write("\r" + bar + ("\n" if finished else ""))
        self.bar_open = not finished
        sys.stderr.flush()

    def line(self, text: str) -> None:
        if self.bar_open:
            sys.stderr.write("\n")
            self.bar_open = False
        sys.stderr.write(text + "\n")
        sys.stderr.flush()


_display = _Display()


def _native(call, *args):
    try:
        return call(*args)
    except _mer.NativeError as e:
        raise Error._from(json.loads(str(e))) from None


# ---------------------------------------------------------------- plugins

def plugins() -> pd.DataFrame:
    """Every plugin this build finds: name, kind, version, description, file,
    capabilities (a dict). Files refused (wrong ABI, broken) are in
    ``plugins().attrs['refused']``."""
    found = json.loads(_native(_mer.plugins_json))
    frame = pd.DataFrame(found["plugins"], columns=["name", "kind", "version", "description", "file", "abi",
                                                    "capabilities"])
    frame.attrs["refused"] = found["refused"]
    frame.attrs["host_abi"] = found["host_abi"]
    return frame


def describe(name: str) -> pd.DataFrame:
    """A plugin's parameters: name, type, default, required, description
    (its params.schema.json, as ``mer-run plugins describe`` prints it)."""
    schema = json.loads(_native(_mer.describe_json, name))["schema"]
    required = set(schema.get("required", []))
    rows = []
    for key, spec in schema.get("properties", {}).items():
        kind = spec.get("type", "enum" if "enum" in spec else "")
        rows.append({"name": key, "type": kind if isinstance(kind, str) else " | ".join(kind),
                     "default": spec.get("default"), "required": key in required,
                     "values": spec.get("enum"), "description": spec.get("description", "")})
    return pd.DataFrame(rows, columns=["name", "type", "default", "required", "values", "description"])


# ---------------------------------------------------------------- features

Audio = Union[PathLike, Tuple[np.ndarray, int]]


def _audio_files(items: Iterable[Audio], folder: Path, sample_rate: Optional[int]) -> Tuple[List[str], List[str]]:
    """Paths for mer: files as they are; (array, sample_rate) pairs (or bare
    arrays with ``sample_rate``) written as float32 WAVs holding exactly those
    samples. Returns the paths and each item's name (its path, or #i)."""
    paths, names = [], []
    for i, item in enumerate(items):
        if isinstance(item, (str, os.PathLike)):
            paths.append(os.fspath(item))
            names.append(os.fspath(item))
            continue
        if isinstance(item, tuple):
            samples, rate = item
        else:
            samples, rate = item, sample_rate
        if rate is None:
            raise Error(f"audio #{i} is an array without a sample rate: give (array, sample_rate) or sample_rate=")
        samples = np.asarray(samples, dtype=np.float32)
        if samples.ndim == 2:  # channels mixed down, whichever axis holds them
            samples = samples.mean(axis=0 if samples.shape[0] < samples.shape[1] else 1)
        if samples.ndim != 1:
            raise Error(f"audio #{i} has shape {samples.shape}: expected samples, or (channels, samples)")
        path = folder / f"array-{i:05d}.wav"
        _native(_mer.write_float_wav, str(path), np.ascontiguousarray(samples), int(rate))
        paths.append(str(path))
        names.append(f"#{i}")
    return paths, names


def extract(plugin: str, audio: Union[Audio, Sequence[Audio]], sample_rate: Optional[int] = None,
            cache: Optional[PathLike] = None, threads: int = 0, quiet: bool = False,
            **params) -> Union[pd.DataFrame, Dict[str, np.ndarray]]:
    """Runs a features plugin (``features.handcrafted``, ``features.logmel_chunks``,
    ``features.panns_cnn14``, ``features.torchscript``…) on audio files or
    arrays, with the plugin's own parameters as keywords.

    Song vectors come back as a DataFrame, one row per song (index: the path,
    or ``#i`` for the i-th array), columns as in the run's features CSV (the
    386 librosa-named handcrafted columns). Plugins that write tensors (log-mel
    chunks, embeddings per chunk, windows) return ``{song: numpy array}``.
    Songs that cannot be read are left out and listed in ``.attrs['skipped']``
    (DataFrame) with their reason. ``cache``: a feature cache folder (as a run's
    ``cache_dir``), so a second call reads what the first computed; none by
    default. A progress bar (songs done, rate, time left) shows on
    ``sys.stderr`` — in a notebook, under the cell — unless ``quiet``."""
    items = [audio] if isinstance(audio, (str, os.PathLike, tuple, np.ndarray)) else list(audio)
    with tempfile.TemporaryDirectory(prefix="mer-extract-") as tmp:
        paths, names = _audio_files(items, Path(tmp), sample_rate)
        name_of = dict(zip(paths, names))
        # Tensors go through a feature cache: the one given, else a throwaway one.
        folder = os.fspath(cache) if cache else os.path.join(tmp, "cache")
        out = _native(_mer.extract, plugin, paths, json.dumps(params), folder, threads, quiet)
        skipped = [{"song": name_of.get(s, s), "reason": r} for s, _, r in out.skipped]
        index = [name_of.get(s, s) for s in out.song_ids]
        if out.tensor_paths:
            tensors = {song: np.load(p) for song, p in zip(index, out.tensor_paths)}
            return tensors
    frame = pd.DataFrame(np.asarray(out.features), index=pd.Index(index, name="song"), columns=out.feature_names)
    frame.attrs["skipped"] = skipped
    return frame


# ---------------------------------------------------------------- runs

_CSV = {"metrics": "metrics.csv", "predictions": "predictions.csv", "results": "results.csv",
        "frame_predictions": "frame_predictions.csv", "curves": "curves.csv", "comparisons": "comparisons.csv",
        "skipped": "skipped.csv"}


class Run:
    """A run folder as written by ``mer-run run`` (or ``mer.run``): its files
    as dicts and DataFrames, read when first asked for. A file the run did not
    write (curves of a run without sequence models) gives an empty DataFrame."""

    def __init__(self, folder: PathLike):
        self.folder = Path(folder).resolve()
        if not (self.folder / "run.json").is_file():
            raise Error("not a run folder (it has no run.json): give a folder mer-run run printed, "
                        "or runs/<experiment>/latest", file=str(folder))
        self._cache: Dict[str, Any] = {}
        self._files: Optional[Dict[str, Any]] = None

    def __repr__(self) -> str:
        return f"mer.Run('{self.folder}', status={self.summary.get('status', 'unknown')!r})"

    def _json(self, part: str) -> Any:
        """run.json's artifacts, summary.json or environment.json, read by
        mer's own run-folder reader (the one the report and sweeps use)."""
        if self._files is None:
            self._files = json.loads(_native(_mer.run_files_json, str(self.folder)))
        return self._files[part]

    def _csv(self, name: str) -> pd.DataFrame:
        if name not in self._cache:
            path = self.folder / name
            self._cache[name] = _unguarded(pd.read_csv(path, keep_default_na=True)) if path.is_file() else pd.DataFrame()
        return self._cache[name]

    @property
    def config(self) -> Dict[str, Any]:
        """config.yaml: the experiment with overrides and defaults applied."""
        if "config" not in self._cache:
            self._cache["config"] = json.loads(_native(_mer.yaml_file_json, str(self.folder / "config.yaml")))
        return self._cache["config"]

    @property
    def summary(self) -> Dict[str, Any]:
        return self._json("summary")

    @property
    def environment(self) -> Dict[str, Any]:
        return self._json("environment")

    @property
    def status(self) -> str:
        return self.summary.get("status", "unknown")

    @property
    def reason(self) -> str:
        """Why a failed run failed, ``NODE: reason`` as summary.json records
        it; empty for a run that did not fail."""
        failed = self.summary.get("failed") or {}
        return f"{failed.get('node', '')}: {failed.get('reason', '')}" if failed else ""

    @property
    def artifacts(self) -> pd.DataFrame:
        """run.json: every file of the run with its kind, node, columns and meaning."""
        return pd.DataFrame(self._json("artifacts"),
                            columns=["file", "kind", "node", "columns", "meaning"])

    @property
    def report(self) -> Optional[Path]:
        page = self.folder / "report.html"
        return page if page.is_file() else None

    def model(self, node: Optional[str] = None) -> "Model":
        return Model(self.folder, node=node)


for _name, _file in _CSV.items():
    setattr(Run, _name, property(lambda self, _f=_file: self._csv(_f),
                                 doc=f"{_file} as a DataFrame (empty when the run has none)"))


def _unguarded(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells as mer wrote them: the ' that guards a cell a spreadsheet
    would run as a formula (=, +, -, @, TAB, CR, or ' first) is taken off,
    as mer's own CSV reader does."""
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].map(
                lambda v: v[1:] if isinstance(v, str) and len(v) > 1 and v[0] == "'" and v[1] in "=+-@\t\r'" else v)
    return frame


def read_run(path: PathLike) -> Run:
    """The run folder at ``path`` (``runs/<experiment>/latest`` works)."""
    return Run(path)


def _numeric(frame: pd.DataFrame) -> pd.DataFrame:
    for column in frame.columns:
        converted = pd.to_numeric(frame[column], errors="coerce")
        if converted.notna().sum() == frame[column].replace("", np.nan).notna().sum():
            frame[column] = converted
    return frame


def runs(root: PathLike = "runs") -> pd.DataFrame:
    """One row per run folder under ``root`` (at any depth, ``--out`` folders
    and sweep trials included): folder, experiment, started, status, seeds,
    ``set:KEY`` per override, ``NODE.TARGET.METRIC`` (mean over folds) and
    ``..._std`` per validation score — the columns of runs/index.csv, built
    by the same C++ from each folder's own files."""
    rows = []
    for manifest in sorted(Path(root).rglob("run.json")):
        folder = manifest.parent
        if folder.is_symlink() or any(p.name == "latest" for p in folder.parents):
            continue
        rows.append(dict(_native(_mer.run_row, str(folder))))
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=["folder", "experiment", "started", "status", "seeds"])
    frame = _numeric(frame)
    if "started" in frame:
        frame["started"] = pd.to_datetime(frame["started"], errors="coerce", utc=True)
    return frame


def read_sweep(path: PathLike) -> pd.DataFrame:
    """A sweep folder's trials.csv: one row per trial, each swept key a column
    (its value as parsed JSON), status, attempts, device, seconds, epochs,
    rung (ASHA sweeps: the highest rung reached, 0 the first), metric (the score), the trials' scores and folder."""
    trials = Path(path) / "trials.csv"
    if not trials.is_file():
        raise Error("not a sweep folder (it has no trials.csv)", file=str(path))
    frame = pd.read_csv(trials, dtype=str, keep_default_na=False)
    for column in frame.columns:
        def parse(text):
            try:
                return json.loads(text)
            except ValueError:
                return text
        if column not in ("trial", "status", "device", "reason", "folder"):
            frame[column] = frame[column].map(lambda t: parse(t) if t != "" else np.nan)
    return _numeric(frame)


# ---------------------------------------------------------------- models

class Model:
    """A trained model: a run folder or its ``model/<node>`` bundle, loaded
    once (every plugin checked, every fold's pipeline read) and kept for every
    ``predict`` call. ``node`` picks the regressor node in a run with several
    (a list combines per-target nodes). ``targets``: what it rates."""

    def __init__(self, bundle_or_run: PathLike, node: Union[None, str, Sequence[str]] = None,
                 cache: PathLike = "cache", threads: int = 0):
        self.path = Path(bundle_or_run)
        if not self.path.exists():
            raise Error("no such run folder or model bundle", file=str(bundle_or_run))
        self.nodes = [] if node is None else [node] if isinstance(node, str) else list(node)
        self.cache = os.fspath(cache)
        self.threads = threads
        self._predictor = _native(_mer.load_model, str(self.path), self.nodes)
        self.targets: List[str] = list(self._predictor.targets())

    def __repr__(self) -> str:
        return f"mer.Model('{self.path}', node={self.nodes or None})"

    def predict(self, audio: Union[Audio, Sequence[Audio]], sample_rate: Optional[int] = None, excerpts: int = 0,
                offset: float = 0.0, duration: float = 0.0, dynamic: bool = False, per_chunk: bool = False,
                clip: bool = False, quiet: bool = False) -> pd.DataFrame:
        """Rates audio files (or folders, searched for audio) or arrays: the
        DataFrame of the CSV ``mer-run predict`` writes with the same options
        (``dynamic``: one row per window, ``time_s`` its centre). A file that
        cannot be rated is a row with its ``error``, not an exception. The
        features' progress shows on ``sys.stderr`` unless ``quiet``."""
        items = [audio] if isinstance(audio, (str, os.PathLike, tuple, np.ndarray)) else list(audio)
        with tempfile.TemporaryDirectory(prefix="mer-predict-") as tmp:
            paths, names = _audio_files(items, Path(tmp), sample_rate)
            text = _native(_mer.predict_csv, self._predictor, paths, self.cache, self.threads, per_chunk, dynamic, clip,
                           float(offset), float(duration), int(excerpts), quiet)
            frame = pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=[""])
            rename = dict(zip(paths, names))
            frame["path"] = frame["path"].map(lambda p: rename.get(p, p))
        for column in ("quadrant", "outside_range", "audio_flag", "error"):
            if column in frame:
                frame[column] = frame[column].fillna("").astype(str)
        return frame


# ---------------------------------------------------------------- experiments

def _experiment_file(experiment: Union[PathLike, Dict[str, Any]], folder: Path) -> str:
    if isinstance(experiment, dict):
        path = folder / f"{experiment.get('name', 'experiment')}.yaml"
        path.write_text(json.dumps(experiment, indent=2))  # JSON is YAML
        return str(path)
    return os.fspath(experiment)


def _overrides(set: Optional[Dict[str, Any]], unset: Sequence[str]) -> List[str]:
    out = [f"{key}={json.dumps(value) if not isinstance(value, str) else value}" for key, value in (set or {}).items()]
    return out + [f"~{key}" for key in unset]


def validate(experiment: Union[PathLike, Dict[str, Any]], set: Optional[Dict[str, Any]] = None,
             unset: Sequence[str] = ()) -> List[Error]:
    """What ``mer-run validate`` reports: the located errors (empty: valid)."""
    with tempfile.TemporaryDirectory(prefix="mer-experiment-") as tmp:
        checked = json.loads(_native(_mer.validate_json, _experiment_file(experiment, Path(tmp)),
                                     _overrides(set, unset)))
    return [Error._from(e) for e in checked["errors"]]


def run(experiment: Union[PathLike, Dict[str, Any]], set: Optional[Dict[str, Any]] = None, unset: Sequence[str] = (),
        out: Optional[PathLike] = None, cache: Optional[PathLike] = None, quiet: bool = False) -> Run:
    """Runs an experiment (a YAML file, or the same as a dict) as ``mer-run
    run`` does, with ``set`` as ``--set KEY=VALUE``: the Run. An experiment
    refused before anything ran raises Error (every error in ``.errors``); a
    node that fails raises Error with kind ``failed`` and the run folder in
    ``.file``, its finished work kept there. The run log and progress bars
    (songs done, rate, time left) show on ``sys.stderr`` — in a notebook,
    under the cell running it — unless ``quiet``; log.txt has them either way."""
    with tempfile.TemporaryDirectory(prefix="mer-experiment-") as tmp:
        outcome = json.loads(_native(_mer.run_json, _experiment_file(experiment, Path(tmp)), _overrides(set, unset),
                                     os.fspath(out) if out else "", os.fspath(cache) if cache else "", quiet))
    if "errors" in outcome:
        errors = [Error._from(e) for e in outcome["errors"]]
        first = errors[0]
        raise Error(first.message, first.file, first.line, first.column, first.node, first.song, "input", errors)
    if not outcome["ok"]:
        raise Error(f"node '{outcome['failed_node']}' failed: {outcome['reason']} (finished work is kept in "
                    f"{outcome['folder']})", file=outcome["folder"], node=outcome["failed_node"],
                    kind="environment" if outcome["kind"] == "environment" else "failed")
    return Run(outcome["folder"])
