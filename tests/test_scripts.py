"""Every script in benchmarks/ and scripts/ runs: a tiny run of each, started as a user would.

A change that breaks a script fails here. A new script needs an entry in ``SMOKE`` (arguments
for a run of a few seconds, and a word its output must contain), a test of its own below
(listed in ``TESTED_BELOW``) or a reason in ``SKIPPED``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("benchmarks", "scripts")

SMOKE = {  # script: (arguments, a word of its output)
    "scripts/migrate_results.py": (["--check", "--quick"], " verified, 0 excluded, 0 damaged or incomplete"),
    "benchmarks/env_speed.py": (["--steps", "30", "--pixel-steps", "3"], "cheetah_pixels"),
    "benchmarks/agent_speed.py": (["--task", "cartpole", "--experiment", "a2c-cartpole",
                                   "--actors", "2", "--cycles", "1", "--eval-episodes", "2",
                                   "--raw-steps", "100"], "projected full a2c-cartpole"),
    "benchmarks/pixel_speed.py": (["--envs", "2", "--steps", "2", "--episode-steps", "3"],
                                  "projected reinforce-cheetah-pixels"),
    "benchmarks/study_speed.py": (["--experiment", "reinforce-cartpole", "--episodes", "2",
                                   "--seeds", "2", "--workers", "2"], "speed-up of 2 workers"),
    "scripts/spread_probe.py": (["reinforce-cartpole", "--at", "1,2"], "episode     2"),
    "scripts/velocity_readout.py": (["--episodes", "2", "--envs", "2", "--steps", "30",
                                     "--frames", "2", "--sensors", "2"], "front foot speed"),
}
TESTED_BELOW = ("scripts/import_original_results.py", "scripts/train_vae.py",
                "scripts/before_after.py")
SKIPPED = {
    "scripts/set_repository.py":
        "rewrites files of the repository: tests/test_repository_links.py runs it on a copy",
    "scripts/ppo_baseline.py":
        "needs stable-baselines3 and PyTorch, which the course does not install (a venv of its "
        "own, see its docstring); without them it exits naming what is missing",
    "scripts/record_pybullet_gym_reference.py":
        "runs the real pybullet-gym, which needs the old gym API and numpy < 2 in a virtual "
        "environment of its own (see its docstring); tests/test_fidelity.py replays its output, "
        "tests/data/pybullet_gym_reference.npz",
}


def run_script(script: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``python <script> <args>`` from the repository root, with this checkout's package."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    return subprocess.run([sys.executable, str(ROOT / script), *args], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT, env=env)


def test_every_script_is_smoke_tested_or_excused():
    found = {f"{folder}/{p.name}" for folder in FOLDERS for p in (ROOT / folder).iterdir()
             if p.is_file() and p.suffix not in (".md", ".txt")}
    tested = set(SMOKE) | set(TESTED_BELOW)
    forgotten = sorted(found - tested - set(SKIPPED))
    assert forgotten == [], (f"{forgotten}: add a smoke test to tests/test_scripts.py (SMOKE) "
                             f"or a reason to skip it (SKIPPED)")
    assert sorted(tested - found) == []  # an entry for a script that is gone
    assert not tested & set(SKIPPED)


@pytest.mark.parametrize("script", sorted(SMOKE))
def test_script_runs(script):
    args, expected = SMOKE[script]
    out = run_script(script, *args)
    assert out.returncode == 0, out.stderr[-3000:]
    assert expected in out.stdout, out.stdout


def test_import_original_results_converts_the_originals_files(tmp_path):
    """A file in the original's format, made from a shipped one, converts back to that file."""
    shipped = ROOT / "course_rl" / "data" / "original" / "a2c-cartpole-seed3.npz"
    with np.load(shipped) as d:
        expected = {k: d[k] for k in d.files}
    source = tmp_path / "source"
    source.mkdir()
    np.savez(source / "A2C-cartpole-3.npz",
             best_100_episode_return=expected["best_eval_return"],
             **{k: expected[k] for k in ("training_episode_returns", "eval_episode_returns",
                                         "value_rmse", "mean_objective")})
    out = run_script("scripts/import_original_results.py", str(source), "--out",
                     str(tmp_path / "out"))
    assert out.returncode == 0, out.stderr
    with np.load(tmp_path / "out" / "a2c-cartpole-seed3.npz") as d:
        assert sorted(d.files) == sorted(expected)
        for key in expected:
            np.testing.assert_array_equal(d[key], expected[key], err_msg=key)


def test_train_vae_writes_a_loadable_vae(tmp_path):
    from course_rl import vae
    out = run_script("scripts/train_vae.py", "--frames", "24", "--validation", "4",
                     "--batch-size", "8", "--epochs", "1", "--no-xla", "--out", str(tmp_path),
                     "--frames-file", str(tmp_path / "frames.npy"))
    assert out.returncode == 0, out.stderr[-3000:]
    assert np.load(tmp_path / "frames.npy").shape == (24, 96, 96, 3)
    model = vae.VAE.load(tmp_path / vae.SHIPPED_ENCODER, tmp_path / vae.SHIPPED_DECODER)
    assert model.latent_dim == 8
    history = vae.load_history(tmp_path / vae.SHIPPED_HISTORY)
    assert len(history["loss"]) == 20 // 8  # full minibatches of the 20 training frames
    assert history["info"]["runs"][0]["validation_frames"] == 4


def test_before_after_prints_the_superseded_scores_and_the_reruns():
    import json
    out = run_script("scripts/before_after.py")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    superseded = json.loads((ROOT / "course_rl/data/superseded/cheetah-pybullet-v1.json").read_text())
    for name, seeds in superseded["runs"].items():  # "before" is the file's per-seed scores
        before = next(line for line in lines if line.startswith(name + " ") and "before v1" in line)
        fields = before.split()
        assert int(fields[3]) == len(seeds)
        assert float(fields[4]) == pytest.approx(np.mean([s["best"] for s in seeds.values()]), abs=0.06)
    # "after" is the shipped v3 runs, read here with np.load (the improved ones re-ran as -stable)
    for name in ("a2c-cheetah", "a2c-cheetah-stable"):
        folders = sorted((ROOT / "course_rl/data/results" / name / "pybullet").glob("seed-*"))
        traces = [np.load(f / "trace.npz") for f in folders]
        best = [t["best_eval_return"] for t in traces  # v1 traces may predate the field
                if "task_version" in t.files and str(t["task_version"]).endswith("/v3")]
        after = next(line for line in lines if line.startswith(name + " ") and "after v3" in line)
        assert int(after.split()[3]) == len(best)
        assert float(after.split()[4]) == pytest.approx(np.mean(best), abs=0.06)
    bad = run_script("scripts/before_after.py", "--superseded", "nope")
    assert bad.returncode == 2 and "'nope'" in bad.stderr and "cheetah-pybullet-v1" in bad.stderr
