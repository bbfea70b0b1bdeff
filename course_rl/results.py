"""Results on disk: one folder per run, plain arrays and JSON, written atomically.

Layout of a run folder (``<root>/<experiment>/<backend>/seed-<N>/``)::

    config.json          the run's Config (course_rl.config), human-readable
    trace.npz            the run's record (numpy .npz, no pickled objects), see TRACE_KEYS
    policy.weights.h5    the best policy's weights (Keras), for videos and replays
    normalizer.npz       only with normalize_observations: the observation mean and variance
                         the best policy was trained with
    manifest.json        written last, it marks the run finished: the size and SHA-256 of
                         each file above, checked whenever one is loaded
    checkpoint.npz       only while a run is unfinished: everything needed to resume it

This module is the only one that writes these files (``finish_run`` writes a finished run,
``save_checkpoint`` the checkpoint) and the one that knows their names.

The commit protocol of a run folder: ``finish_run`` writes the weights, the normaliser, the
config and the trace, then ``manifest.json`` (the commit), then removes the checkpoint. A folder
is finished once its manifest exists; every earlier interruption leaves a folder that
``finished_run`` completes (all files there: it writes the manifest) or sends back to its
checkpoint (files missing: the run resumes and finishes again, to the same arrays). A folder
with a trace but no manifest, written by course_rl before manifests existed, is loaded as it
is (unverified); ``scripts/migrate_results.py`` gives such folders their manifest.

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

import hashlib
import os
import json
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from .config import Config
# the safe writes and reads every data file goes through (also results.ResultsError & co.)
from .files import ResultsError, atomic_write, load_npz, save_npz, save_text  # noqa: F401
from .files import _UMASK

FORMAT = "course_rl.trace/1"

CONFIG_FILE = "config.json"
TRACE_FILE = "trace.npz"
WEIGHTS_FILE = "policy.weights.h5"
NORMALIZER_FILE = "normalizer.npz"
"""Observation-normaliser statistics of a run with ``normalize_observations=True``: ``mean``
and ``var`` arrays, as ``agent.RunningNormalizer`` holds them, of the best policy's evaluation
(``finish_run`` writes it beside the weights; ``video.load_policy`` reads it)."""
CHECKPOINT_FILE = "checkpoint.npz"
MANIFEST_FILE = "manifest.json"
"""Written last by ``finish_run``: ``{"format": MANIFEST_FORMAT, "files": {name: {"bytes": n,
"sha256": hex}}}`` for each file of ``RUN_FILES`` the run has. Its presence means finished."""
MANIFEST_FORMAT = "course_rl.run/1"
RUN_FILES = (CONFIG_FILE, TRACE_FILE, WEIGHTS_FILE, NORMALIZER_FILE)
"""The files of a finished run, the ones its manifest records."""
REDO = "restore the run folder from a copy, or delete it and train the run again"
"""What to do about a damaged file of a finished run."""

WINDOW = 100
"""Episodes in the running means of one-actor (REINFORCE) runs, as in the original study."""
ORIGINAL_EVAL_EVERY = 50
"""The original study evaluated every 50 training episodes (and once at the end)."""

TRACE_KEYS = {
    "training_episode_returns": "(cycles, actor_count) reported return of each training episode",
    "training_episode_lengths": "(cycles, actor_count) steps of each training episode",
    "eval_episode_returns": "(evaluations, eval_episodes) greedy returns at each evaluation",
    "eval_episode_numbers": "(evaluations,) x position of each evaluation as the original plotted "
                            "it: cycle * actor_count (the evaluation follows that cycle's update)",
    "value_rmse": "(cycles,) root-mean-square advantage over each cycle's updates",
    "mean_objective": "(cycles,) policy objective per sample over each cycle's updates",
    # per-cycle diagnostics (agent.DIAGNOSTICS); runs written before them lack these keys
    "approx_kl": "(cycles,) approximate KL divergence of the updated policy from the one that "
                 "collected the cycle, mean of (r - 1) - ln r over the cycle's samples",
    "clip_fraction": "(cycles,) fraction of the cycle's samples whose ratio r = pi_new / pi_old "
                     "left [1 - eps, 1 + eps] in the update (eps = clip_ratio, 0.2 if 0)",
    "explained_variance": "(cycles,) 1 - Var(target - V) / Var(target) over the cycle's samples, "
                          "with the value network before the update",
    "entropy_bound": "(cycles,) mean entropy upper bound of the policy that collected the cycle",
    "mean_spread": "(cycles,) mean standard deviation of a coordinate's modes (weighted by the "
                   "mixture weights) in the policy that collected the cycle",
    "policy_grad_norm": "(cycles,) mean global norm of the policy gradient before clipping",
    "value_grad_norm": "(cycles,) mean global norm of the value gradient before clipping",
    "epochs_run": "(cycles,) passes made over the cycle's samples (fewer than epochs when "
                  "target_kl stopped them)",
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


# ---- traces --------------------------------------------------------------------------------------

def run_dir(root, experiment: str, backend: str, seed: int) -> Path:
    return Path(root) / experiment / backend / f"seed-{seed}"


def save_trace(folder, config: Config, arrays: dict) -> None:
    """Write ``trace.npz`` (and ``config.json``) in a run folder, atomically.

    A manifest already there no longer describes the folder and is removed first (``finish_run``
    writes a new one once the run's other files are there too).
    """
    folder = Path(folder)
    missing = [k for k in REQUIRED_KEYS if k not in arrays]
    if missing:
        raise ValueError(f"trace is missing {missing}")
    (folder / MANIFEST_FILE).unlink(missing_ok=True)
    save_text(folder / CONFIG_FILE, config.to_json())
    save_npz(folder / TRACE_FILE, {"format": FORMAT, "config_json": config.to_json(), **arrays})


def _parse_config(text: str, file) -> Config:
    try:
        return Config.from_dict(json.loads(text))
    except (ValueError, TypeError, KeyError, AttributeError) as err:  # (bad JSON is a ValueError)
        message = " ".join(str(err).split())[:200]
        raise ResultsError(f"{file} holds no valid config ({type(err).__name__}: {message}); "
                           f"{REDO}") from None


def load_trace(path) -> Run:
    """Load a run folder or its ``trace.npz``; refuses anything that is not a complete trace.

    In a run folder with a manifest, ``trace.npz`` and ``config.json`` must match their
    checksums; a ResultsError names any file that does not, or that is corrupt.
    """
    path = Path(path)
    file = path / TRACE_FILE if path.is_dir() else path
    folder = file.parent
    in_run_folder = file.name == TRACE_FILE
    if in_run_folder:
        checked_file(folder, TRACE_FILE)
    data = load_npz(file, advice=REDO)
    fmt = str(data.pop("format", ""))
    if fmt != FORMAT:
        raise ResultsError(f"{file} is not a course_rl trace (format {fmt!r}, expected {FORMAT!r})")
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise ResultsError(f"{file} lacks {missing}: not a complete course_rl trace")
    config = _parse_config(str(data.pop("config_json", "")), file)
    if in_run_folder and (folder / CONFIG_FILE).exists() and load_config(folder) != config:
        raise ResultsError(f"{folder / CONFIG_FILE} does not hold the config recorded in {file}: "
                           f"one of them is damaged; {REDO}")
    try:
        cycles = data["training_episode_returns"].shape[0]
        consistent = data["value_rmse"].shape == (cycles,) and \
            data["mean_objective"].shape == (cycles,) and data["best_eval_return"].shape == ()
    except IndexError:
        consistent = False
    if not consistent:
        raise ResultsError(f"{file} is inconsistent: arrays of unexpected shapes; {REDO}")
    seed = int(file.parent.name.split("-")[-1]) if file.parent.name.startswith("seed-") else -1
    return Run(file, config, config.name, seed, data)


class SkippedRunWarning(UserWarning):
    """A run folder that ``load_runs`` left out, with its path and the reason."""


def _belonging_runs(folder: Path, experiment: str, backend: str) -> list[Run]:
    """The runs in ``folder`` that belong to ``experiment``; a SkippedRunWarning names each
    folder left out and why: a name other than ``seed-<N>`` (``seed-abc``, or ``seed-01``
    beside ``seed-1``), an unreadable trace, another config or backend, a copy of another
    seed's run. The reference config is the registered experiment's if a run has it, else the
    most common among the runs (the lowest seed's on a tie)."""
    from .config import EXPERIMENTS

    skipped, runs = [], []
    for path in sorted(p for p in folder.glob("seed-*") if p.is_dir() and (p / TRACE_FILE).exists()):
        number = path.name.removeprefix("seed-")
        if not number.isdigit() or str(int(number)) != number:
            skipped.append((path, f"folder name {path.name!r} is not seed-<N> (N a whole number "
                                  f"without leading zeros)"))
            continue
        try:
            runs.append(load_trace(path))
        except ResultsError as err:
            skipped.append((path, str(err)))
    configs = [r.config for r in sorted(runs, key=lambda r: r.seed) if r.config.name == experiment]
    reference = EXPERIMENTS.get(experiment)
    if reference not in configs and configs:
        reference = max(configs, key=configs.count)
    kept, seen = [], {}
    for run in sorted(runs, key=lambda r: r.seed):
        path = Path(run.path).parent
        fingerprint = tuple(run[k].tobytes() for k in ("training_episode_returns", "value_rmse",
                                                        "eval_episode_returns"))
        if run.config.name != experiment or run.config != reference:
            skipped.append((path, f"holds a run of another config (experiment {run.config.name!r}"
                                  + ("" if run.config.name != experiment else ", other settings") + ")"))
        elif run.backend != backend:
            skipped.append((path, f"holds a run of backend {run.backend!r}, not {backend!r}"))
        elif fingerprint in seen:
            skipped.append((path, f"is a copy of the run of seed {seen[fingerprint]}"))
        else:
            seen[fingerprint] = run.seed
            kept.append(run)
    import warnings
    for path, reason in skipped:
        warnings.warn(f"{experiment} ({backend}): left out {path}: {reason}", SkippedRunWarning,
                      stacklevel=3)
    return kept


def load_runs(root, experiment: str, backend: str = "pybullet",
              task_version: str | None = "newest") -> list[Run]:
    """The finished runs of an experiment under ``root``, by seed, all of one task version.

    Folders that do not belong are left out with a ``SkippedRunWarning`` naming each (see
    ``_belonging_runs``). ``task_version="newest"`` keeps the runs of the newest task version
    among them and warns, naming them, about runs of older versions it leaves out (statistics
    never mix versions); a version string keeps that version's runs; ``None`` returns every run.
    """
    runs = _belonging_runs(Path(root) / experiment / backend, experiment, backend)
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


# ---- a run folder: finishing a run, its manifest, its policy, its checkpoint ---------------------

def sha256_of(path) -> str:
    """The SHA-256 of a file's bytes, in hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(folder) -> None:
    """Commit a run folder: record the size and SHA-256 of each of its ``RUN_FILES`` in
    ``manifest.json``. Called once every file is in place: the manifest is written last."""
    folder = Path(folder)
    entries = {name: {"bytes": (folder / name).stat().st_size, "sha256": sha256_of(folder / name)}
               for name in RUN_FILES if (folder / name).is_file()}
    save_text(folder / MANIFEST_FILE, json.dumps({"format": MANIFEST_FORMAT, "files": entries},
                                                 indent=1, sort_keys=True) + "\n")


def read_manifest(folder) -> dict | None:
    """``{file name: {"bytes", "sha256"}}`` of a finished run folder, or None for a folder
    without a manifest (unfinished, or finished by course_rl before manifests existed).

    A ResultsError names a damaged manifest, and a run file present but not recorded in it.
    """
    folder = Path(folder)
    file = folder / MANIFEST_FILE
    if not file.is_file():
        return None
    try:
        manifest = json.loads(file.read_text())
        entries = manifest["files"]
        valid = manifest["format"] == MANIFEST_FORMAT and {CONFIG_FILE, TRACE_FILE} <= set(entries) \
            <= set(RUN_FILES) and all(
                set(e) == {"bytes", "sha256"} and type(e["bytes"]) is int and
                isinstance(e["sha256"], str) and len(e["sha256"]) == 64 for e in entries.values())
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        valid = False
    if not valid:
        raise ResultsError(f"{file} is damaged (not a course_rl run manifest), so the run's files "
                           f"cannot be checked; {REDO}")
    for name in RUN_FILES:
        if name not in entries and (folder / name).exists():
            raise ResultsError(f"{folder / name} is not recorded in {file}: one of them is "
                               f"damaged or was changed after the run finished; {REDO}")
    return entries


def checked_file(folder, name: str) -> Path:
    """The path of a run file, after checking it against the folder's manifest (if it has one):
    a ResultsError names a file whose size or SHA-256 differs from what its run recorded."""
    folder = Path(folder)
    file = folder / name
    entries = read_manifest(folder)
    if entries is None or name not in entries:
        return file
    if not file.is_file():
        raise ResultsError(f"{file} is missing (its run recorded it in {folder / MANIFEST_FILE}); "
                           f"{REDO}")
    if file.stat().st_size != entries[name]["bytes"] or sha256_of(file) != entries[name]["sha256"]:
        raise ResultsError(f"{file} is damaged: its checksum differs from the one recorded in "
                           f"{folder / MANIFEST_FILE} when the run finished; {REDO}")
    return file


def _missing_files(folder: Path, config: Config) -> list[str]:
    """The files a finished run of ``config`` must have that ``folder`` lacks."""
    needed = [CONFIG_FILE, TRACE_FILE, WEIGHTS_FILE] + \
        ([NORMALIZER_FILE] if config.normalize_observations else [])
    return [name for name in needed if not (folder / name).is_file()]


def _remove_leftovers(folder: Path) -> None:
    """Drop a finished run's checkpoint and the temporary files of writes a kill cut short."""
    remove_checkpoint(folder)
    for name in RUN_FILES + (MANIFEST_FILE, CHECKPOINT_FILE):
        for tmp in folder.glob(f".{name}.tmp.*"):
            tmp.unlink(missing_ok=True)


def finished_run(folder, config: Config) -> Run | None:
    """The finished run in ``folder``, or None if it has none yet (``train`` then resumes it
    from its checkpoint, or starts it); refuses a run of another config.

    Completes what an interrupted finish left: a folder with all of a run's files but no
    manifest (a kill before the commit, or a run finished by course_rl before manifests) is
    committed; a kill after the commit left a checkpoint, which is removed. A folder with a
    trace but without its weights or normaliser (an older course_rl wrote the trace first) goes
    back to its checkpoint, with a warning; without a checkpoint, a ResultsError says so.
    """
    import warnings

    folder = Path(folder)
    committed = (folder / MANIFEST_FILE).exists()
    if not committed and not (folder / TRACE_FILE).exists():
        return None
    has_checkpoint = (folder / CHECKPOINT_FILE).exists()
    try:
        run = load_trace(folder)
    except ResultsError as err:
        if committed or not has_checkpoint:
            raise
        warnings.warn(f"{err}\nThe run's finish was interrupted: it resumes from "
                      f"{folder / CHECKPOINT_FILE} and finishes again", stacklevel=3)
        return None
    if run.config != config:
        raise ValueError(f"{folder} holds a finished run of another config; "
                         f"choose another --out folder or delete it")
    if committed:
        for name in (WEIGHTS_FILE, NORMALIZER_FILE):
            checked_file(folder, name)
    else:
        missing = _missing_files(folder, config)
        if missing and has_checkpoint:
            warnings.warn(f"{folder} has a trace but no {' or '.join(missing)}: the run's finish "
                          f"was interrupted; it resumes from {folder / CHECKPOINT_FILE} and "
                          f"finishes again", stacklevel=3)
            return None
        if missing:
            raise ResultsError(f"{folder} has a trace but no {' or '.join(missing)} (its finish "
                               f"was interrupted) and no checkpoint to finish it from: the run's "
                               f"policy is lost; delete the folder and train the run again")
        write_manifest(folder)
    _remove_leftovers(folder)
    return run


def finish_run(folder, config: Config, arrays: dict, best_policy, best_normalizer,
               obs_shape, action_shape) -> Run:
    """Write a finished run into its folder and drop its checkpoint; returns the loaded run.

    The commit protocol (see the module's docstring): the best policy, its normaliser
    statistics, the config and the trace, then the manifest (the commit), then the checkpoint
    goes. Each write is atomic; a crash between two leaves a folder without a manifest, which
    ``finished_run`` completes or resumes from the checkpoint.
    """
    folder = Path(folder)
    (folder / MANIFEST_FILE).unlink(missing_ok=True)  # the folder is not finished until rewritten
    if best_policy is not None:
        save_policy_weights(folder, config, obs_shape, action_shape, best_policy)
    else:
        (folder / WEIGHTS_FILE).unlink(missing_ok=True)
    if best_normalizer is not None:
        save_npz(folder / NORMALIZER_FILE, best_normalizer)
    else:
        (folder / NORMALIZER_FILE).unlink(missing_ok=True)
    save_trace(folder, config, arrays)
    write_manifest(folder)  # the commit
    _remove_leftovers(folder)
    return load_trace(folder)


def save_policy_weights(folder, config: Config, obs_shape, action_shape, weights) -> None:
    """Write policy weights into a run folder as a Keras ``.weights.h5`` file (atomically)."""
    from .networks import policy_network
    model = policy_network(obs_shape, action_shape, config.n_modes, config.hidden_sizes,
                           config.hidden_init)
    model.set_weights(weights)
    atomic_write(Path(folder) / WEIGHTS_FILE, lambda tmp: model.save_weights(tmp))


def load_policy_weights(folder, model, config: Config) -> None:
    """Load a run folder's best policy weights into ``model`` (a ``networks.policy_network``).

    A ValueError names the file when it is missing, damaged (checksum) or does not fit the model.
    """
    file = checked_file(folder, WEIGHTS_FILE)
    if not file.is_file():
        unfinished = (Path(folder) / TRACE_FILE).exists() and \
            not (Path(folder) / MANIFEST_FILE).exists()
        raise ResultsError(f"{file} does not exist: the run has no saved policy " + (
            "(its finish was interrupted: train it again with the same arguments to complete "
            "it, or delete the folder)" if unfinished else
            "(is it finished? runs write it when they end)"))
    try:
        model.load_weights(str(file))
    except Exception as err:  # Keras raises ValueError, OSError or KeyError here, h5py others
        message = " ".join(str(err).split())[:200]
        raise ResultsError(f"cannot load {file} into the policy network of "
                           f"{config.name!r} ({config.task}, hidden {config.hidden_sizes}, "
                           f"K={config.n_modes}): {type(err).__name__}: {message}") from None


def load_config(folder) -> Config:
    """The config of a run folder (its ``config.json``); a ValueError names a missing or bad file."""
    file = checked_file(folder, CONFIG_FILE)
    if not file.is_file():
        raise ResultsError(f"{file} does not exist: {folder} is not a run folder")
    try:
        text = file.read_text()
    except (OSError, ValueError) as err:
        raise ResultsError(f"{file} cannot be read ({type(err).__name__}); {REDO}") from None
    return _parse_config(text, file)


def load_normalizer(folder) -> dict | None:
    """The best policy's observation statistics (``mean``, ``var``), or None if not saved."""
    file = checked_file(folder, NORMALIZER_FILE)
    if not file.is_file():
        return None
    stats = load_npz(file, advice=REDO)
    if set(stats) != {"mean", "var"} or stats["mean"].shape != stats["var"].shape:
        raise ResultsError(f"{file} does not hold a normaliser's mean and var of one shape; {REDO}")
    return stats


def save_checkpoint(folder, arrays: dict) -> None:
    """Write an unfinished run's checkpoint (``training.Checkpoint`` decides what it holds)."""
    save_npz(Path(folder) / CHECKPOINT_FILE, arrays)


def load_checkpoint(folder) -> dict | None:
    """A run folder's checkpoint arrays, or None if it has none; a ResultsError names a damaged
    one (``training.Checkpoint`` then ignores it, with a warning)."""
    file = Path(folder) / CHECKPOINT_FILE
    return load_npz(file, advice="it is ignored and the run starts again from its first cycle") \
        if file.exists() else None


def remove_checkpoint(folder) -> None:
    (Path(folder) / CHECKPOINT_FILE).unlink(missing_ok=True)


def checkpoint_config(state: dict) -> Config:
    """The config a checkpoint was made for."""
    return Config.from_dict(json.loads(str(state["config_json"])))


# ---- curves of one run ---------------------------------------------------------------------------

def running_mean(values, n: int) -> np.ndarray:
    """Mean of the last ``n`` values at each position (fewer at the start, where fewer exist).

    The one-actor curves of ``plots.training_curves`` are smoothed with it, as the original's were.
    """
    x = np.asarray(values, np.float64)
    sums = np.concatenate([[0.0], np.cumsum(x)])
    end = np.arange(1, x.size + 1)
    start = np.maximum(end - n, 0)
    return (sums[end] - sums[start]) / (end - start)


def arrays_of(run) -> dict:
    """A ``Run``'s arrays, or the arrays dict itself (what a training callback receives)."""
    return run.arrays if isinstance(run, Run) else run


def cycle_series(run, key: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """``(episode, value)`` per training cycle of one run (a ``Run`` or its arrays).

    ``key`` is "train" (on-policy return: the mean over the cycle's actors), "value_rmse" or
    "mean_objective". The episode is the cycle's centre; one-actor runs are smoothed by a
    running mean over ``WINDOW`` episodes. (``plots`` draws these curves.)
    """
    a = arrays_of(run)
    train = np.asarray(a["training_episode_returns"], np.float64)
    actors = train.shape[1]
    y = train.mean(axis=1) if key == "train" else np.asarray(a[key], np.float64)
    if actors == 1:
        y = running_mean(y, WINDOW)
    return np.arange(len(y)) * actors + actors / 2, y


def eval_series(run) -> tuple[np.ndarray, np.ndarray]:
    """``(episode, mean greedy return)`` at each evaluation of one run (a ``Run`` or its arrays).

    The original study's runs do not record the episode numbers: they evaluated at episodes
    0, 50, 100, ... and once at the end (interrupted runs lack that last one). (``plots`` draws
    these curves, ``stats.evaluation_summary`` sums them up.)
    """
    a = arrays_of(run)
    y = np.asarray(a["eval_episode_returns"], np.float64).mean(axis=1)
    if "eval_episode_numbers" in a:
        x = np.asarray(a["eval_episode_numbers"], np.float64)
    else:
        total = np.asarray(a["training_episode_returns"]).size
        x = np.r_[np.arange(0, total, ORIGINAL_EVAL_EVERY), total][:len(y)].astype(np.float64)
    return x, y


# ---- moving a finished run between machines (a Ray worker's run to the study's root) ---------

def run_files(folder) -> dict:
    """The files of a finished run folder by name (checkpoints and hidden files left out)."""
    return {p.name: p.read_bytes() for p in sorted(Path(folder).iterdir())
            if p.is_file() and not p.name.startswith(".") and p.name != CHECKPOINT_FILE}


def write_run_files(folder, files: dict) -> None:
    """Put a finished run's files (``run_files``) in ``folder``, all at once: they are written
    to a folder beside it that is then renamed into place, replacing an unfinished run's
    folder (its checkpoint is superseded); a finished run already there is kept."""
    import shutil
    folder = Path(folder)
    if (folder / TRACE_FILE).exists():
        return
    folder.parent.mkdir(parents=True, exist_ok=True)
    incoming = Path(tempfile.mkdtemp(prefix=f".{folder.name}.incoming.", dir=folder.parent))
    try:
        for name, data in files.items():
            if Path(name).name != name or name.startswith("."):
                raise ResultsError(f"not a run file name: {name!r}")
            (incoming / name).write_bytes(data)
        os.chmod(incoming, 0o777 & ~_UMASK)
        if folder.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.replaced.", dir=folder.parent))
            os.replace(folder, old / folder.name)
            os.replace(incoming, folder)
            shutil.rmtree(old)
        else:
            os.replace(incoming, folder)
    finally:
        if incoming.exists():
            shutil.rmtree(incoming)


# ---- shipped data --------------------------------------------------------------------------------

def shipped_root() -> Path:
    """Folder of the study's shipped results inside the installed package."""
    return Path(str(DATA_ROOT / "results"))


def load_superseded(name: str) -> dict:
    """Per-seed scores of shipped runs that were later replaced (``data/superseded/<name>.json``:
    ``{"about": ..., "runs": {experiment: {seed: {"best", "final", "last_quarter", ...}}}}``),
    kept for before/after comparisons, e.g. ``load_superseded("improved-mujoco-first")``."""
    folder = Path(str(DATA_ROOT / "superseded"))
    file = folder / f"{name}.json"
    if not file.is_file():
        known = sorted(p.stem for p in folder.glob("*.json"))
        raise ValueError(f"no superseded scores named {name!r}; available: {known}")
    try:
        data = json.loads(file.read_text())
        valid = isinstance(data["runs"], dict) and all(
            isinstance(seeds, dict) and all({"best", "final", "last_quarter"} <= set(s)
                                            for s in seeds.values())
            for seeds in data["runs"].values())
    except (OSError, ValueError, KeyError, TypeError):
        valid = False
    if not valid:
        raise ResultsError(f"{file} is damaged (not a file of superseded scores)")
    return data


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
