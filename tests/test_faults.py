"""Fault injection: a training run killed at any write (and between cycles), then started again,
ends as a complete run identical to one never interrupted (issue 23, item 1).

A kill is simulated by making the k-th atomic write raise ``Killed`` (a BaseException, so no
``except Exception`` of the package can swallow it): before the file is written, after it is
renamed into place, or halfway, leaving the temporary file a real SIGKILL leaves behind. Every
write a run makes goes through ``files.atomic_write`` (checkpoints, weights, normaliser, config,
trace, manifest), so each point between two writes of the finish is hit; the checkpoint's
removal comes after the last write and is hit by killing after it.
"""

import itertools
import os
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from course_rl import results
from course_rl.config import Config
from course_rl.training import train

try:
    from course_rl import files as _files
except ImportError:  # (before course_rl.files existed the writes lived in results)
    _files = None

TINY = Config(name="tiny-faults", task="cartpole", episodes=4, actor_count=2, hidden_sizes=(4,),
              n_modes=2, policy_lr=1e-3, value_lr=1e-3, discount=0.9, persistence=0.5,
              entropy_weight=0.01, eval_every=2, eval_episodes=2, normalize_observations=True)
FINISHED_FILES = {results.CONFIG_FILE, results.TRACE_FILE, results.WEIGHTS_FILE,
                  results.NORMALIZER_FILE, results.MANIFEST_FILE}


class Killed(BaseException):
    """The process died here (nothing after this point ran)."""


def _write_modules():
    return [m for m in (results, _files) if m is not None and hasattr(m, "atomic_write")]


class KillAtWrite:
    """Patch the atomic write so that its ``k``-th call (from 1) dies ``when`` = "before" (the
    file is not written), "after" (it is in place) or "halfway" (a temporary file is left)."""

    def __init__(self, monkeypatch, k: int, when: str):
        self.k, self.when, self.calls, self.names = k, when, 0, []
        self.real = _write_modules()[-1].atomic_write
        for module in _write_modules():
            monkeypatch.setattr(module, "atomic_write", self)

    def __call__(self, path, write):
        self.calls += 1
        self.names.append(Path(path).name)
        if self.calls == self.k:
            if self.when == "before":
                raise Killed(f"before write {self.k}")
            if self.when == "halfway":
                junk = Path(path).parent / f".{Path(path).name}.tmp.killed{''.join(Path(path).suffixes)}"
                junk.parent.mkdir(parents=True, exist_ok=True)
                junk.write_bytes(b"half a file")
                raise Killed(f"halfway through write {self.k}")
        self.real(path, write)
        if self.calls == self.k:
            raise Killed(f"after write {self.k}")


def h5_arrays(file) -> dict:
    out = {}
    with h5py.File(file, "r") as f:
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()])
                     if isinstance(obj, h5py.Dataset) else None)
    return out


def assert_same_run(folder: Path, reference: Path) -> None:
    """``folder`` holds a finished, verified run with every array, weight and statistic of
    ``reference`` (wall time aside), and nothing else: no checkpoint, no temporary file."""
    assert sorted(os.listdir(folder)) == sorted(FINISHED_FILES), os.listdir(folder)
    got, want = results.load_trace(folder), results.load_trace(reference)
    assert got.config == want.config
    assert set(got.arrays) == set(want.arrays)
    for key in want.arrays:
        if key != "wall_time":
            np.testing.assert_array_equal(got[key], want[key], err_msg=key)
    for name in (results.WEIGHTS_FILE, results.NORMALIZER_FILE, results.CONFIG_FILE):
        results.checked_file(folder, name)  # every file matches the manifest
    a, b = h5_arrays(folder / results.WEIGHTS_FILE), h5_arrays(reference / results.WEIGHTS_FILE)
    assert set(a) == set(b) and a
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    na, nb = results.load_normalizer(folder), results.load_normalizer(reference)
    for key in ("mean", "var"):
        np.testing.assert_array_equal(na[key], nb[key])


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run, the names of the writes it made in order, and the folder as it
    was just before the finish (with ``finish_run``'s arguments) to replay the finish from."""
    root = tmp_path_factory.mktemp("faults")
    folder, before_finish = root / "whole", root / "before-finish"
    real_finish, finish_args = results.finish_run, []

    def finish_run(*args):
        shutil.copytree(folder, before_finish)
        finish_args.extend(args[1:])
        return real_finish(*args)
    mp = pytest.MonkeyPatch()
    counter = KillAtWrite(mp, k=0, when="never")
    mp.setattr(results, "finish_run", finish_run)
    try:
        train(TINY, seed=5, out=folder, progress=False)
    finally:
        mp.undo()
    return folder, counter.names, before_finish, finish_args


def test_the_finish_writes_the_manifest_last(reference):
    folder, names, _, _ = reference
    finish = names[-5:]
    assert finish == [results.WEIGHTS_FILE, results.NORMALIZER_FILE, results.CONFIG_FILE,
                      results.TRACE_FILE, results.MANIFEST_FILE]
    assert set(names[:-5]) == {results.CHECKPOINT_FILE}  # the run checkpointed before finishing
    assert_same_run(folder, folder)


def test_a_kill_at_any_write_then_a_rerun_gives_the_same_run(reference, tmp_path, monkeypatch):
    """Every write x {before, halfway, after}: the rerun completes the run, identical.

    Kills at a checkpoint's write interrupt a real ``train``; kills at the finish's writes
    replay ``finish_run`` on a copy of the folder as it was before the finish (the same call
    ``train`` makes, without training the run again for each)."""
    whole, names, before_finish, finish_args = reference
    n_checkpoints = len(names) - 5
    survived = []
    for k, when in itertools.product(range(1, len(names) + 1), ("before", "halfway", "after")):
        folder = tmp_path / f"kill-{k}-{when}"
        with monkeypatch.context() as mp:
            if k <= n_checkpoints:
                KillAtWrite(mp, k, when)
                with pytest.raises(Killed):
                    train(TINY, seed=5, out=folder, progress=False)
            else:
                shutil.copytree(before_finish, folder)
                KillAtWrite(mp, k - n_checkpoints, when)
                with pytest.raises(Killed):
                    results.finish_run(folder, *finish_args)
        with _any_warnings():
            train(TINY, seed=5, out=folder, progress=False)
        assert_same_run(folder, whole)
        survived.append((k, names[k - 1], when))
    assert len(survived) == 3 * len(names)
    print(f"\nkills survived: {len(survived)} of {len(survived)} "
          f"({len(names)} writes x before/halfway/after)")


def test_killed_again_in_every_rerun(reference, tmp_path, monkeypatch):
    """A run killed again in each rerun (the j-th attempt right after its j-th write) ends
    identical too."""
    whole, names, _, _ = reference
    folder = tmp_path / "again-and-again"
    for attempt in range(1, 3 * len(names)):
        with monkeypatch.context() as mp, _any_warnings():
            KillAtWrite(mp, attempt, "after")
            try:
                train(TINY, seed=5, out=folder, progress=False)
                break
            except Killed:
                pass
    assert attempt > 2  # (killed at least twice)
    assert_same_run(folder, whole)


def test_a_kill_between_cycles_resumes_to_the_same_run(reference, tmp_path):
    whole, _, _, _ = reference
    for cycle in range(1, TINY.cycles + 1):
        folder = tmp_path / f"cycle-{cycle}"

        def die(run_so_far, c, cycle=cycle):
            if c == cycle:
                raise Killed(f"after cycle {c}")
        with pytest.raises(Killed):
            train(TINY, seed=5, out=folder, progress=False, callback=die)
        train(TINY, seed=5, out=folder, progress=False)
        assert_same_run(folder, whole)


class _any_warnings:
    """Reruns may warn (an interrupted finish, a checkpoint ignored); warnings are not errors."""

    def __enter__(self):
        import warnings
        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)
