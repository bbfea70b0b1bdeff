"""The results store: round trips, atomic writes, and refusing bad files with their names."""

import numpy as np
import pytest

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
