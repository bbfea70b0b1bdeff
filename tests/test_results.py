"""The results store: round trips, atomic writes, and refusing bad files with their names."""

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as st

from course_rl import results
from course_rl.config import Config

CFG = Config(name="store", task="cartpole", episodes=4, actor_count=2, hidden_sizes=(4,), n_modes=1,
             policy_lr=1e-3, value_lr=1e-3, discount=0.9, persistence=0.5, entropy_weight=0.0)


def arrays():
    return {"training_episode_returns": np.arange(4.0).reshape(2, 2),
            "eval_episode_returns": np.ones((2, 100)), "value_rmse": np.array([0.5, 0.4]),
            "mean_objective": np.array([-1.0, -0.5]), "best_eval_return": np.array(1.0)}


def test_round_trip(tmp_path):
    folder = results.run_dir(tmp_path, "store", "pybullet", 3)
    results.save_trace(folder, CFG, arrays())
    run = results.load_trace(folder)
    assert run.config == CFG and run.seed == 3 and run.best_eval_return == 1.0
    np.testing.assert_array_equal(run["training_episode_returns"], arrays()["training_episode_returns"])
    assert [r.seed for r in results.load_runs(tmp_path, "store")] == [3]
    assert not list(folder.glob(".*tmp*"))  # no temporary files left behind


def test_corrupt_truncated_and_foreign_files_are_refused_by_name(tmp_path):
    folder = tmp_path / "seed-0"
    results.save_trace(folder, CFG, arrays())
    good = (folder / "trace.npz").read_bytes()
    (folder / "trace.npz").write_bytes(good[: len(good) // 2])
    with pytest.raises(results.ResultsError, match="trace.npz"):
        results.load_trace(folder)
    (folder / "trace.npz").write_bytes(b"not a zip at all")
    with pytest.raises(results.ResultsError, match="trace.npz"):
        results.load_trace(folder)
    np.savez(folder / "trace.npz", something=np.ones(3))
    with pytest.raises(results.ResultsError, match="not a course_rl trace"):
        results.load_trace(folder)
    with pytest.raises(results.ResultsError, match="no results file"):
        results.load_trace(tmp_path / "missing")


def test_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "x.npz"
    results.save_npz(target, {"a": np.ones(2)})

    def explode(tmp):
        open(tmp, "wb").write(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        results.atomic_write(target, explode)
    np.testing.assert_array_equal(results.load_npz(target)["a"], np.ones(2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npz"]


def test_original_study_ships_as_reference_data():
    runs = results.load_original("a2c-cartpole")
    assert len(runs) == 20 and runs[0]["eval_episode_returns"].shape == (81, 100)
    with pytest.raises(ValueError, match="available"):
        results.load_original("no-such")


# ---- the commit protocol and legacy folders (issue 23) -------------------------------------------

def test_shipped_results_load_verified_or_as_legacy():
    root = results.shipped_root()
    folders = sorted(p.parent for p in root.rglob(results.TRACE_FILE))
    committed = [f for f in folders if results.read_manifest(f) is not None]
    assert len(folders) >= 176 and len(committed) >= 156
    for folder in folders:
        run = results.load_trace(folder)  # verifies trace and config against the manifest
        for name in (results.WEIGHTS_FILE, results.NORMALIZER_FILE):
            results.checked_file(folder, name)
        assert run.config is not None


def _old_protocol_damage(tmp_path, with_checkpoint: bool):
    """A run folder an older course_rl left when killed after the trace, before the weights."""
    from course_rl.training import Interrupted, stop_after, train
    from test_faults import TINY
    whole = tmp_path / "whole"
    train(TINY, seed=2, out=whole, progress=False)
    folder = tmp_path / "damaged"
    if with_checkpoint:
        with pytest.raises(Interrupted):
            train(TINY, seed=2, out=folder, progress=False, callback=stop_after(1))
    for name in (results.CONFIG_FILE, results.TRACE_FILE):
        folder.mkdir(exist_ok=True)
        (folder / name).write_bytes((whole / name).read_bytes())
    return whole, folder


def test_a_trace_without_its_weights_resumes_from_the_checkpoint(tmp_path):
    from course_rl.training import train
    from test_faults import TINY, assert_same_run
    whole, folder = _old_protocol_damage(tmp_path, with_checkpoint=True)
    with pytest.warns(UserWarning, match="no policy.weights.h5 or normalizer.npz.*resumes from"):
        train(TINY, seed=2, out=folder, progress=False)
    assert_same_run(folder, whole)


def test_a_trace_without_its_weights_nor_a_checkpoint_is_named(tmp_path):
    from course_rl import video
    from course_rl.training import train
    from test_faults import TINY
    _, folder = _old_protocol_damage(tmp_path, with_checkpoint=False)
    with pytest.raises(ValueError, match=f"{folder}.*no policy.weights.h5.*delete the folder"):
        train(TINY, seed=2, out=folder, progress=False)
    assert results.load_trace(folder)["best_eval_return"].shape == ()  # curves still load
    with pytest.raises(ValueError, match="policy.weights.h5 does not exist.*interrupted"):
        video.load_policy(folder)


def test_a_legacy_folder_is_committed_by_a_rerun_and_loads_before(tmp_path):
    """A run finished by an older course_rl (no manifest, a stale checkpoint) loads as it is;
    a rerun commits it without training."""
    from course_rl.training import train
    from test_faults import TINY
    whole = tmp_path / "whole"
    train(TINY, seed=2, out=whole, progress=False)
    (whole / results.MANIFEST_FILE).unlink()
    (whole / results.CHECKPOINT_FILE).write_bytes(b"stale")
    assert results.read_manifest(whole) is None and results.load_trace(whole).seed == -1
    results.load_trace(whole)
    rerun = train(TINY, seed=2, out=whole, progress=False)
    assert (whole / results.MANIFEST_FILE).exists() and not (whole / results.CHECKPOINT_FILE).exists()
    assert rerun["wall_time"] == results.load_trace(whole)["wall_time"]


def test_a_file_changed_after_the_commit_is_named(tmp_path):
    folder = tmp_path / "seed-0"
    results.save_trace(folder, CFG, arrays())
    results.write_manifest(folder)
    results.load_trace(folder)
    (folder / results.CONFIG_FILE).write_text((folder / results.CONFIG_FILE).read_text() + " ")
    with pytest.raises(ValueError, match="config.json is damaged: its checksum differs"):
        results.load_trace(folder)
    results.save_trace(folder, CFG, arrays())  # a rewrite drops the stale manifest
    assert results.read_manifest(folder) is None and results.load_trace(folder).seed == 0


# ---- superseded scores (runs replaced by re-runs, kept for before/after comparisons) -----------

@pytest.mark.parametrize("name", ["improved-mujoco-first", "cartpole-stable-no-floor-pybullet",
                                  "cartpole-stable-no-floor-mujoco"])
def test_superseded_scores_are_the_shipped_json_and_match_their_curves(name):
    import json
    raw = json.loads((Path(str(results.DATA_ROOT)) / "superseded" / f"{name}.json").read_text())
    data = results.load_superseded(name)
    assert data == raw and data["runs"]
    for seeds in data["runs"].values():
        assert len(seeds) == 5
        for seed, s in seeds.items():
            curve = np.array(s["curve"])
            assert s["final"] == pytest.approx(curve[-1], abs=0.05)
            assert s["best"] == pytest.approx(curve.max(), abs=0.05)
            assert s["last_quarter"] == pytest.approx(curve[-(len(curve) // 4):].mean(), abs=0.05)


def test_superseded_scores_refuse_unknown_names_and_damaged_files(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="no superseded scores named 'nope'; available: .*cheetah-pybullet-v1"):
        results.load_superseded("nope")
    (tmp_path / "superseded").mkdir()
    monkeypatch.setattr(results, "DATA_ROOT", tmp_path)
    for text in ("{", '{"runs": {"x": {"0": {"best": 1}}}}', '{"about": "no runs"}'):
        (tmp_path / "superseded" / "bad.json").write_text(text)
        with pytest.raises(results.ResultsError, match=r"bad\.json is damaged"):
            results.load_superseded("bad")


# ---- the README's study table is what the shipped runs give -------------------------------------

README_ROWS = {"REINFORCE cart-pole": "reinforce-cartpole", "A2C cart-pole": "a2c-cartpole",
               "REINFORCE half-cheetah": "reinforce-cheetah", "A2C half-cheetah": "a2c-cheetah"}


def _best_scores(runs) -> np.ndarray:
    """Each run's best greedy 100-episode mean, straight from its evaluation array."""
    return np.array([r["eval_episode_returns"].mean(axis=1).max() for r in runs])


def _as_printed(x) -> tuple[str, str, str]:
    """Mean, population std and count as the README prints them."""
    return f"{x.mean():.2f}", f"{x.std():.2f}", str(x.size)


def test_readme_study_table_is_the_shipped_runs_scores():
    """Every row of the README's study table, recomputed from the shipped runs (the current task
    version only) and the original study's complete runs, with numpy and scipy directly."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    rows = re.findall(r"^\| (.+?) \| ([-\d.]+) \+/- ([\d.]+) \((\d+) seeds\) \| ([-\d.]+) \+/- ([\d.]+) "
                      r"\((\d+)\) \| ([\d.]+) \|$", readme, re.MULTILINE)
    assert sorted(r[0] for r in rows) == sorted(README_ROWS)
    for label, mean, std, n, o_mean, o_std, o_n, p in rows:
        with warnings.catch_warnings():
            warnings.simplefilter("error")           # no run of another task version is left out
            ours = results.load_runs(results.shipped_root(), README_ROWS[label])
        original = results.load_original(README_ROWS[label])
        longest = max(r["training_episode_returns"].size for r in original)
        original = [r for r in original if r["training_episode_returns"].size == longest]  # complete
        best, o_best = _best_scores(ours), _best_scores(original)
        assert _as_printed(best) == (mean, std, n), label
        assert _as_printed(o_best) == (o_mean, o_std, o_n), label
        assert f"{st.ttest_ind(best, o_best, equal_var=False).pvalue:.2f}" == p, label
