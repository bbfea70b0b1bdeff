"""Results on disk: one folder per run, plain arrays and JSON, written atomically.

Layout of a run folder (``<root>/<experiment>/<backend>/seed-<N>/``)::

    config.json          the run's Config (course_rl.config), human-readable
    trace.npz            the run's record (numpy .npz, no pickled objects), see TRACE_KEYS
    policy.weights.h5    the best policy's weights (Keras), for videos and replays
    normalizer.npz       only with normalize_observations: the observation mean and variance
                         the best policy was trained with
    checkpoint.npz       only while a run is unfinished: everything needed to resume it

``trace.npz`` holds ``format`` (the string ``course_rl.trace/1``), ``config_json`` (a copy of
config.json) and the arrays of ``TRACE_KEYS``. Every write goes to a temporary file in the
same folder and is renamed over the target, so a crash leaves either the old file or the new
one, never half of one. ``load_trace`` refuses a corrupt, truncated or foreign file with a
``ResultsError`` naming it.

The original study's traces ship as reference data under ``course_rl/data/original/``
(converted from its pickles; attribution: A. Leite, "continuous-rl-exploration", 2022).

Taught in notebooks/05_results.ipynb.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from .config import Config

FORMAT = "course_rl.trace/1"

TRACE_KEYS = {
    "training_episode_returns": "(cycles, actor_count) reported return of each training episode",
    "training_episode_lengths": "(cycles, actor_count) steps of each training episode",
    "eval_episode_returns": "(evaluations, eval_episodes) greedy returns at each evaluation",
    "eval_episode_numbers": "(evaluations,) x position of each evaluation as the original plotted "
                            "it: cycle * actor_count (the evaluation follows that cycle's update)",
    "value_rmse": "(cycles,) root-mean-square advantage over each cycle's updates",
    "mean_objective": "(cycles,) policy objective per sample over each cycle's updates",
    "best_eval_return": "() best mean greedy return over all evaluations",
    "wall_time": "() seconds the run took (summed over resumed pieces)",
    "env_steps": "() environment steps taken, training and evaluation",
    "task_version": "() the task's version string (course_rl.tasks.version); runs written "
                    "before versions existed lack it and read as v1",
    "backend": "() the physics backend the run trained on",
}
# the original study's runs have no lengths, episode numbers, wall time or step counts
REQUIRED_KEYS = ("training_episode_returns", "eval_episode_returns", "value_rmse",
                 "mean_objective", "best_eval_return")

DATA_ROOT = resources.files("course_rl") / "data"


_UMASK = os.umask(0)
os.umask(_UMASK)


class ResultsError(ValueError):
    """A results file is missing, corrupt, truncated or not a course_rl trace."""


@dataclass
class Run:
    """One loaded run: its config (or None for the original study's runs) and arrays."""

    path: Path
    config: Config | None
    experiment: str
    seed: int
    arrays: dict
    best_policy: list | None = None
    """Best policy weights, for runs trained without a folder (else see policy.weights.h5)."""
    best_normalizer: dict | None = None
    """Observation statistics (mean, var) of the best policy, if the run normalised them."""

    def __getitem__(self, key):
        return self.arrays[key]

    @property
    def best_eval_return(self) -> float:
        return float(self.arrays["best_eval_return"])

    @property
    def backend(self) -> str:
        """The physics backend: recorded in the trace, else the run folder's parent name."""
        if "backend" in self.arrays:
            return str(self.arrays["backend"])
        parent = Path(self.path).parent
        return parent.parent.name if parent.name.startswith("seed-") else "pybullet"

    @property
    def task_version(self) -> str:
        """Which version of its task produced the run (``course_rl.tasks.version``)."""
        if "task_version" in self.arrays:
            return str(self.arrays["task_version"])
        if self.config is None:
            return ""
        return legacy_task_version(self.config.task, self.backend, self.arrays)


def legacy_task_version(task: str, backend: str, arrays) -> str:
    """The version of a run or checkpoint written before runs recorded one: v1 of its task,
    with the VAE fingerprint that pixel runs recorded as ``task_fingerprint``."""
    text = f"{task}/{backend}/v1"
    fingerprint = str(arrays.get("task_fingerprint", ""))
    return f"{text}+vae:{fingerprint}" if fingerprint else text


def checkpoint_task_version(state: dict, task: str, backend: str) -> str:
    """The task version a checkpoint was made with (v1 if it predates versions)."""
    if "task_version" in state:
        return str(state["task_version"])
    return legacy_task_version(task, backend, state)


def version_number(task_version: str) -> int:
    """The N of ``task/backend/vN[+vae:...]``."""
    try:
        return int(task_version.split("/")[2].split("+")[0].removeprefix("v"))
    except (IndexError, ValueError):
        raise ResultsError(f"not a task version: {task_version!r}") from None


def require_one_task_version(runs) -> str:
    """Refuse to put runs of different task versions into one statistic; returns the version."""
    runs = [r for r in runs if r.config is not None]
    versions = sorted({r.task_version for r in runs})
    if len(versions) > 1:
        listing = "; ".join(f"{v}: " + ", ".join(str(Path(r.path).parent) for r in runs
                                                   if r.task_version == v) for v in versions)
        raise ResultsError(f"runs of different task versions cannot share a statistic "
                           f"({listing}); re-run the older ones or leave them out")
    return versions[0] if versions else ""


# ---- atomic writes -------------------------------------------------------------------------------

def atomic_write(path, write) -> None:
    """Call ``write(tmp_path)`` and then rename the temporary file onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # keep the target's suffixes: some writers (Keras) insist on them
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp.", suffix="".join(path.suffixes),
                               dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def save_npz(path, arrays: dict) -> None:
    """Write arrays to ``path`` atomically (compressed .npz, no pickles)."""
    def write(tmp):
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **{k: np.asarray(v) for k, v in arrays.items()})
    atomic_write(path, write)


def save_text(path, text: str) -> None:
    def write(tmp):
        Path(tmp).write_text(text)
    atomic_write(path, write)


def load_npz(path) -> dict:
    """Read a .npz written by ``save_npz``; a ResultsError names the file if it is unreadable."""
    path = Path(path)
    if not path.is_file():
        raise ResultsError(f"no results file at {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as err:
        raise ResultsError(f"{path} is corrupt or truncated ({type(err).__name__}: {err})") from None


# ---- traces --------------------------------------------------------------------------------------

def run_dir(root, experiment: str, backend: str, seed: int) -> Path:
    return Path(root) / experiment / backend / f"seed-{seed}"


def save_trace(folder, config: Config, arrays: dict) -> None:
    """Write ``trace.npz`` (and ``config.json``) in a run folder, atomically."""
    folder = Path(folder)
    missing = [k for k in REQUIRED_KEYS if k not in arrays]
    if missing:
        raise ValueError(f"trace is missing {missing}")
    save_text(folder / "config.json", config.to_json())
    save_npz(folder / "trace.npz", {"format": FORMAT, "config_json": config.to_json(), **arrays})


def load_trace(path) -> Run:
    """Load a run folder or its ``trace.npz``; refuses anything that is not a complete trace."""
    path = Path(path)
    file = path / "trace.npz" if path.is_dir() else path
    data = load_npz(file)
    fmt = str(data.pop("format", ""))
    if fmt != FORMAT:
        raise ResultsError(f"{file} is not a course_rl trace (format {fmt!r}, expected {FORMAT!r})")
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise ResultsError(f"{file} lacks {missing}: not a complete course_rl trace")
    try:
        config = Config.from_dict(json.loads(str(data.pop("config_json"))))
    except (KeyError, ValueError, TypeError) as err:
        raise ResultsError(f"{file} has no valid config ({err})") from None
    cycles = data["training_episode_returns"].shape[0]
    if data["value_rmse"].shape != (cycles,) or data["mean_objective"].shape != (cycles,):
        raise ResultsError(f"{file} is inconsistent: per-cycle arrays of different lengths")
    seed = int(file.parent.name.split("-")[-1]) if file.parent.name.startswith("seed-") else -1
    return Run(file, config, config.name, seed, data)


def load_runs(root, experiment: str, backend: str = "pybullet",
              task_version: str | None = "newest") -> list[Run]:
    """The finished runs of an experiment under ``root``, by seed, all of one task version.

    ``task_version="newest"`` keeps the runs of the newest task version among them and warns,
    naming them, about runs of older versions it leaves out (statistics never mix versions);
    a version string keeps that version's runs; ``None`` returns every run.
    """
    folder = Path(root) / experiment / backend
    runs = [load_trace(p) for p in folder.glob("seed-*") if (p / "trace.npz").exists()]
    runs.sort(key=lambda r: r.seed)
    if task_version is None or not runs:
        return runs
    if task_version == "newest":
        task_version = max({r.task_version for r in runs},
                           key=lambda v: (version_number(v), sum(r.task_version == v for r in runs)))
    left_out = [r for r in runs if r.task_version != task_version]
    if left_out:
        import warnings
        warnings.warn(f"{experiment} ({backend}): left out {len(left_out)} run(s) of another task "
                      f"version than {task_version}: "
                      + ", ".join(f"seed {r.seed} ({r.task_version})" for r in left_out),
                      stacklevel=2)
    return [r for r in runs if r.task_version == task_version]


# ---- shipped data --------------------------------------------------------------------------------

def shipped_root() -> Path:
    """Folder of the study's shipped results inside the installed package."""
    return Path(str(DATA_ROOT / "results"))


def load_original(experiment: str) -> list[Run]:
    """The original study's runs of ``experiment`` (e.g. "a2c-cheetah"), from package data.

    Arrays keep the original keys' meaning; ``best_eval_return`` is its best 100-episode mean.
    """
    folder = Path(str(DATA_ROOT / "original"))
    files = sorted(folder.glob(f"{experiment}-seed*.npz"),
                   key=lambda p: int(p.stem.rsplit("seed", 1)[1]))
    if not files:
        known = sorted({p.stem.rsplit("-seed", 1)[0] for p in folder.glob("*.npz")})
        raise ValueError(f"no original runs for {experiment!r}; available: {known}")
    runs = []
    for f in files:
        data = load_npz(f)
        if str(data.pop("format", "")) != "course_rl.original/1":
            raise ResultsError(f"{f} is not an original-study trace")
        runs.append(Run(f, None, experiment, int(f.stem.rsplit("seed", 1)[1]), data))
    return runs
