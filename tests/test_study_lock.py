"""Run locks: one process trains a run folder at a time, across studies and processes.

Scenarios: a free lock; a live holder in another process; a holder killed with SIGKILL (its
stale lock is taken over, and said so); a pid that was reused by another process; an
unreadable lock file, young and old; a holder on another host; many processes taking over one
stale lock at once; two real studies on one root at the same time; ``--no-wait``; ``train``
on a held folder; a training error; and killing a study's main process, whose workers must
stop with it, after which the study resumes to the same results.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from course_rl import results, study
from course_rl.config import Config
from course_rl.study import RunLock

REPO = Path(__file__).resolve().parents[1]
TINY = Config(name="tiny", task="cartpole", episodes=4, actor_count=2, hidden_sizes=(8,),
              n_modes=2, policy_lr=1e-3, value_lr=1e-3, discount=0.95, persistence=0.9,
              entropy_weight=0.01, eval_every=2, eval_episodes=3)


def python(code: str, *args, wait=True, **kw):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    cmd = [sys.executable, "-c", textwrap.dedent(code), *map(str, args)]
    if wait:
        return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, **kw)
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, **kw)


HOLD = """
    import sys, time
    from course_rl.study import RunLock
    lock = RunLock(sys.argv[1])
    assert lock.acquire() is None
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
    lock.release()
"""


def hold(folder, seconds=600):
    """Another process that holds ``folder``'s lock (until killed or ``seconds`` pass)."""
    proc = python(HOLD, folder, seconds, wait=False)
    assert proc.stdout.readline().strip() == "held", proc.stderr.read()
    return proc


def test_a_free_lock_is_taken_and_released(tmp_path):
    folder = tmp_path / "tiny" / "pybullet" / "seed-0"
    lock = RunLock(folder)
    assert lock.acquire() is None and lock.recovered is None
    assert lock.path == tmp_path / "tiny" / "pybullet" / "seed-0.lock"
    info = json.loads(lock.path.read_text())
    assert info["pid"] == os.getpid() and info["host"] == socket.gethostname()
    assert RunLock(folder).acquire() is not None  # held, even against this same process
    lock.release()
    assert not lock.path.exists()


def test_a_live_holder_in_another_process_keeps_the_lock(tmp_path):
    folder = tmp_path / "seed-0"
    proc = hold(folder)
    try:
        holder = RunLock(folder).acquire()
        assert holder is not None and holder.pid == proc.pid and holder.alive
        assert f"pid {proc.pid} on {socket.gethostname()}" in str(holder)
        assert str(folder) + ".lock" in str(holder)
    finally:
        proc.kill()
        proc.wait()


def test_the_stale_lock_of_a_killed_holder_is_taken_over_and_said_so(tmp_path):
    folder = tmp_path / "seed-0"
    proc = hold(folder)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (tmp_path / "seed-0.lock").exists()  # SIGKILL leaves it behind
    lock = RunLock(folder)
    assert lock.acquire() is None
    assert f"pid {proc.pid}" in lock.recovered and "which is gone" in lock.recovered
    assert json.loads(lock.path.read_text())["pid"] == os.getpid()
    lock.release()


def test_a_reused_pid_does_not_keep_a_stale_lock(tmp_path):
    """The lock's pid now belongs to another live process (here: this one's parent), which
    started at another time than the holder recorded."""
    folder = tmp_path / "seed-0"
    parent = os.getppid()
    (tmp_path / "seed-0.lock").write_text(json.dumps(
        {"pid": parent, "host": socket.gethostname(), "since": time.time() - 100,
         "process_start": psutil.Process(parent).create_time() - 1000.0}))
    lock = RunLock(folder)
    assert lock.acquire() is None and f"pid {parent}" in lock.recovered
    lock.release()


def test_an_unreadable_lock_file_is_respected_while_young_and_taken_over_when_old(tmp_path):
    folder = tmp_path / "seed-0"
    path = tmp_path / "seed-0.lock"
    path.write_text("{not json")
    assert RunLock(folder).acquire() is not None  # perhaps being written right now
    old = time.time() - 60
    os.utime(path, (old, old))
    lock = RunLock(folder)
    assert lock.acquire() is None and "unreadable" in lock.recovered
    lock.release()


def test_a_lock_held_on_another_host_is_not_taken(tmp_path):
    folder = tmp_path / "seed-0"
    (tmp_path / "seed-0.lock").write_text(json.dumps(
        {"pid": 1, "host": "elsewhere.example", "since": time.time() - 5, "process_start": 1.0}))
    holder = RunLock(folder).acquire()
    assert holder is not None and holder.alive is None
    assert "elsewhere.example" in str(holder) and "delete the lock file" in str(holder)


def _take_over(folder, barrier, queue):
    barrier.wait()
    lock = RunLock(folder)
    won = lock.acquire() is None
    queue.put((os.getpid(), won))
    time.sleep(1.0)  # hold it while the others look
    lock.release()


def test_many_processes_taking_over_one_stale_lock_give_it_to_one(tmp_path):
    folder = tmp_path / "seed-0"
    (tmp_path / "seed-0.lock").write_text(json.dumps(
        {"pid": 2**22 + 12345, "host": socket.gethostname(), "since": 0.0, "process_start": None}))
    ctx = multiprocessing.get_context("spawn")
    barrier, queue = ctx.Barrier(6), ctx.Queue()
    procs = [ctx.Process(target=_take_over, args=(folder, barrier, queue)) for _ in range(6)]
    for p in procs:
        p.start()
    outcomes = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(60)
    assert sum(won for _, won in outcomes) == 1, outcomes


STUDY = """
    import json, sys, warnings
    from course_rl.config import Config
    from course_rl.study import run_study
    cfg = Config(**json.loads(sys.argv[1]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = run_study(cfg, json.loads(sys.argv[2]), root=sys.argv[3], workers=int(sys.argv[4]),
                        progress=False, poll_seconds=0.3, wait=sys.argv[5] == "wait")
    print(json.dumps({"runs": out, "warnings": [str(w.message) for w in caught]}))
"""


def start_study(config, seeds, root, workers=1, wait=True):
    d = config.to_dict()
    d.pop("description")
    return python(STUDY, json.dumps(d), json.dumps(seeds), root, workers,
                  "wait" if wait else "no-wait", wait=False)


def finish(proc):
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr
    return json.loads(stdout.strip().splitlines()[-1])


def test_two_studies_on_one_root_train_each_seed_once(tmp_path):
    config = TINY.replace(episodes=40, eval_every=20)
    seeds = [0, 1, 2, 3]
    first, second = start_study(config, seeds, tmp_path), start_study(config, seeds, tmp_path)
    a, b = finish(first), finish(second)
    for outcome in (a, b):
        assert [r["seed"] for r in outcome["runs"]] == seeds  # each study ends with every seed
    trained = sorted(r["seed"] for o in (a, b) for r in o["runs"] if r["status"] == "trained")
    assert trained == seeds, (a, b)  # each seed trained by exactly one of the two
    loaded = sorted(r["seed"] for o in (a, b) for r in o["runs"] if r["status"] == "finished before")
    assert loaded == seeds
    for s in seeds:  # both report the same run
        assert [r["best_eval_return"] for o in (a, b) for r in o["runs"] if r["seed"] == s][0] == \
            [r["best_eval_return"] for o in (b, a) for r in o["runs"] if r["seed"] == s][0]
    assert not list(tmp_path.rglob("*.lock"))
    waited = [w for o in (a, b) for w in o["warnings"] if "being trained by another process" in w]
    assert waited and all("waiting for it" in w for w in waited)


def test_no_wait_skips_a_held_seed_and_says_so(tmp_path):
    proc = hold(results.run_dir(tmp_path, "tiny", "pybullet", 1))
    try:
        outcome = finish(start_study(TINY, [0, 1], tmp_path, wait=False))
    finally:
        proc.kill()
        proc.wait()
    status = {r["seed"]: r["status"] for r in outcome["runs"]}
    assert status == {0: "trained", 1: "held"}
    assert any(f"seed 1 is being trained by another process (pid {proc.pid}" in w and "skipped" in w
               for w in outcome["warnings"])
    assert not (tmp_path / "tiny" / "pybullet" / "seed-1").exists()


def test_train_on_a_held_folder_is_one_line(tmp_path):
    folder = tmp_path / "run"
    proc = hold(folder)
    try:
        out = subprocess.run([sys.executable, "-m", "course_rl", "train", "a2c-cartpole",
                              "--out", str(folder)], capture_output=True, text=True,
                             env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=300)
    finally:
        proc.kill()
        proc.wait()
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and f"pid {proc.pid}" in lines[0] and "wait for it or stop it" in lines[0]


def test_a_training_error_releases_the_lock(tmp_path, monkeypatch):
    import course_rl.training

    def broken(*args, **kwargs):
        raise FloatingPointError("made to fail")

    monkeypatch.setattr(course_rl.training, "train", broken)
    with pytest.raises(FloatingPointError):
        study.run_study(TINY, [0], root=tmp_path, progress=False)
    assert not list(tmp_path.rglob("*.lock"))


def test_killing_the_study_stops_its_workers_and_the_rerun_gives_the_same_runs(tmp_path):
    config = TINY.replace(episodes=200, eval_every=50)  # long enough to be killed mid-run
    root = tmp_path / "killed"
    proc = start_study(config, [0, 1], root, workers=2)
    locks = [results.run_dir(root, "tiny", "pybullet", s).with_name(f"seed-{s}.lock") for s in (0, 1)]
    deadline = time.time() + 300
    while not all(p.exists() for p in locks) and time.time() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    workers = [json.loads(p.read_text())["pid"] for p in locks]
    assert proc.pid not in workers and all(psutil.pid_exists(w) for w in workers)
    time.sleep(3)  # let them train a little (and perhaps checkpoint)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 20
    while any(psutil.pid_exists(w) and psutil.Process(w).status() != psutil.STATUS_ZOMBIE
              for w in workers) and time.time() < deadline:
        time.sleep(0.2)
    alive = [w for w in workers if psutil.pid_exists(w) and psutil.Process(w).status() != psutil.STATUS_ZOMBIE]
    assert not alive, f"workers {alive} outlived the study by 20 s"
    assert not any(p.exists() for p in locks)  # the workers released their locks on the way out
    again = finish(start_study(config, [0, 1], root, workers=2))
    assert {r["status"] for r in again["runs"]} <= {"trained", "resumed"}
    fresh = finish(start_study(config, [0, 1], tmp_path / "fresh", workers=1))
    for seed in (0, 1):
        a = results.load_trace(results.run_dir(root, "tiny", "pybullet", seed))
        b = results.load_trace(results.run_dir(tmp_path / "fresh", "tiny", "pybullet", seed))
        for key in ("training_episode_returns", "eval_episode_returns", "value_rmse"):
            np.testing.assert_array_equal(a[key], b[key])
    assert [r["best_eval_return"] for r in again["runs"]] == [r["best_eval_return"] for r in fresh["runs"]]
