"""Statistics and figures: checked against independent computations and the original's table."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.figure import Figure
from scipy import stats as st

from course_rl import plots, results, stats, tasks
from course_rl.config import Config


@pytest.fixture(scope="module")
def original():
    return {name: results.load_original(name) for name in
            ("reinforce-cartpole", "a2c-cartpole", "reinforce-cheetah", "a2c-cheetah")}


# ---- running_mean --------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 3, 100, 250])
def test_running_mean_matches_a_loop(n):
    x = np.random.default_rng(n).normal(size=200)
    expected = [x[max(0, i + 1 - n):i + 1].mean() for i in range(x.size)]
    np.testing.assert_allclose(results.running_mean(x, n), expected, rtol=1e-12, atol=1e-12)


# ---- stats ---------------------------------------------------------------------------------------

def test_describe_matches_numpy_and_scipy():
    x = np.random.default_rng(0).normal(10, 3, size=17)
    d = stats.describe(x)
    mean = sum(x) / len(x)
    std = np.sqrt(sum((v - mean) ** 2 for v in x) / len(x))          # population (ddof=0)
    half = st.t.ppf(0.975, len(x) - 1) * np.std(x, ddof=1) / np.sqrt(len(x))
    assert d.n == 17
    np.testing.assert_allclose([d.mean, d.std, d.ci_low, d.ci_high],
                               [mean, std, mean - half, mean + half], rtol=1e-12)
    assert str(d) == f"{mean:.2f} +/- {std:.2f}"
    one = stats.describe([4.0])
    assert (one.n, one.mean, one.std) == (1, 4.0, 0.0) and np.isnan(one.ci_low)
    with pytest.raises(ValueError):
        stats.describe([])


@pytest.mark.parametrize("name, seeds_below, n, printed", [
    ("reinforce-cartpole", None, 20, "814.14 +/- 226.46"),
    ("a2c-cartpole", None, 20, "627.33 +/- 258.67"),
    ("reinforce-cheetah", 12, 12, "40.71 +/- 43.26"),
    ("a2c-cheetah", None, 10, "19.78 +/- 2.45"),
])
def test_describe_reproduces_the_original_table(original, name, seeds_below, n, printed):
    runs = original[name]
    if seeds_below is not None:
        runs = [r for r in runs if r.seed < seeds_below]
    d = stats.describe(stats.best_returns(runs))
    assert d.n == n
    assert f"{d.mean:.2f} +/- {d.std:.2f}" == printed


def test_complete_runs_drops_the_interrupted_reinforce_cheetah_seeds(original):
    runs = stats.complete_runs(original["reinforce-cheetah"])
    assert [r.seed for r in runs] == list(range(12))
    assert len(stats.complete_runs(original["a2c-cheetah"])) == 10


def test_compare_welch_and_bootstrap():
    rng = np.random.default_rng(1)
    a, b = rng.normal(100, 5, size=12), rng.normal(20, 5, size=9)
    c = stats.compare(a, b)
    t, p = st.ttest_ind(a, b, equal_var=False)
    assert c.welch_t == pytest.approx(t) and c.welch_p == pytest.approx(p)
    assert c.difference == pytest.approx(a.mean() - b.mean())
    assert stats.compare(a, b) == c                                   # seeded
    # symmetric samples, difference of means exactly 80: the bootstrap distribution is
    # symmetric about 80 and every resampled difference lies in [70, 90]
    a, b = 100 + np.arange(-5.0, 6.0), 20 + np.linspace(-5, 5, 9)
    c = stats.compare(a, b)
    assert c.difference == pytest.approx(80)
    assert 70 <= c.bootstrap_low < 80 < c.bootstrap_high <= 90
    assert c.welch_p < 1e-10
    assert c.interval_excludes_zero and stats.compare(b, a).interval_excludes_zero
    # the same two samples, each with its own mean: the difference is 0 and the interval,
    # symmetric about it, straddles 0
    assert not stats.compare(a - a.mean(), b - b.mean()).interval_excludes_zero


# ---- figures -------------------------------------------------------------------------------------

def line_lengths(ax):
    return [len(line.get_xdata()) for line in ax.get_lines()]


def test_training_curves_of_the_original_a2c_cheetah(original):
    runs = original["a2c-cheetah"]                      # 10 runs, 250 cycles of 10, 51 evals
    fig = plots.training_curves(runs)
    assert isinstance(fig, Figure) and len(fig.axes) == 4
    train, greedy, rmse, objective = fig.axes
    for ax in (train, rmse, objective):
        assert line_lengths(ax) == [250] * 11          # each run, then the mean
        assert len(ax.collections) == 1                # the 95% band
    assert line_lengths(greedy) == [51] * 11
    x = greedy.get_lines()[0].get_xdata()
    np.testing.assert_array_equal(x, np.r_[np.arange(0, 2500, 50), 2500])
    np.testing.assert_array_equal(train.get_lines()[0].get_xdata()[:2], [5, 15])
    mean = np.mean([r["eval_episode_returns"].mean(axis=1) for r in runs], axis=0)
    np.testing.assert_allclose(greedy.get_lines()[-1].get_ydata(), mean)


def test_training_curves_of_one_actor_runs_use_running_means(original):
    runs = original["reinforce-cartpole"][:3]
    fig = plots.training_curves(runs)
    train, greedy, *_ = fig.axes
    assert line_lengths(train) == [4000] * 4 and line_lengths(greedy) == [81] * 4
    expected = results.running_mean(runs[0]["training_episode_returns"][:, 0], 100)
    np.testing.assert_allclose(train.get_lines()[0].get_ydata(), expected)
    one = plots.training_curves(runs[:1])
    assert all(len(ax.collections) == 0 for ax in one.axes)   # no band for a single run


def test_training_curves_truncate_the_mean_to_the_shortest_run(original):
    runs = original["reinforce-cheetah"]                # seeds 12 and 14 were interrupted
    lengths = {r.seed: len(r["eval_episode_returns"]) for r in runs}
    assert (lengths[12], lengths[14]) == (18, 2)
    fig = plots.training_curves(runs)
    train, greedy, *_ = fig.axes
    assert line_lengths(greedy) == [lengths[r.seed] for r in runs] + [2]
    assert line_lengths(train) == [r["training_episode_returns"].shape[0] for r in runs] + [51]
    seed12 = greedy.get_lines()[[r.seed for r in runs].index(12)].get_xdata()
    assert seed12[-1] == 850                            # no final evaluation after a crash


def test_crop_to_runs_ignores_the_band_of_two_runs(original):
    runs = original["a2c-cheetah"][:2]                 # 2 runs: the band is the mean +/- 12.7 sem
    fig = plots.training_curves(runs)
    before = [ax.get_ylim() for ax in fig.axes]
    assert plots.crop_to_runs(fig, margin=0.1) is fig
    for ax, (low0, high0) in zip(fig.axes, before):
        y = np.concatenate([line.get_ydata() for line in ax.get_lines()])
        pad = 0.1 * (y.max() - y.min())
        np.testing.assert_allclose(ax.get_ylim(), (y.min() - pad, y.max() + pad))
        band = ax.collections[0].get_paths()[0].vertices[:, 1]
        assert band.min() < y.min() - pad or band.max() > y.max() + pad   # the band is cut
        assert low0 <= y.min() - pad and high0 >= y.max() + pad          # autoscale was wider


def test_violin_and_compare_curves_return_figures(original):
    groups = {k: stats.best_returns(v) for k, v in original.items()}
    groups["one run"] = np.array([3.0])
    fig = plots.violin(groups, "original study")
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    cartpole = original["reinforce-cartpole"]
    for key, n in (("eval", 81), ("train", 4000)):
        fig = plots.compare_curves({"a": cartpole[:10], "b": cartpole[10:]}, key=key)
        assert isinstance(fig, Figure)
        assert line_lengths(fig.axes[0]) == [n, n] and len(fig.axes[0].collections) == 2
    with pytest.raises(ValueError):
        plots.compare_curves({"a": cartpole}, key="loss")


def fake_run(root, name, actor_count, seed, episodes=200):
    config = Config(name=name, task="cartpole", episodes=episodes, actor_count=actor_count,
                    hidden_sizes=(8,), eval_every=50, eval_episodes=5)
    rng = np.random.default_rng(seed)
    cycles = config.cycles
    numbers = [c * actor_count for c in config.eval_cycles] + [episodes]
    evals = rng.uniform(0, 1000, size=(len(numbers), 5))
    results.save_trace(results.run_dir(root, name, "pybullet", seed), config, {
        "training_episode_returns": rng.uniform(0, 1000, size=(cycles, actor_count)),
        "training_episode_lengths": np.full((cycles, actor_count), 1000),
        "eval_episode_returns": evals,
        "eval_episode_numbers": np.array(numbers),
        "value_rmse": rng.uniform(size=cycles),
        "mean_objective": rng.normal(size=cycles),
        "best_eval_return": evals.mean(axis=1).max(),
    })


def test_write_figures(tmp_path):
    fake_run(tmp_path, "reinforce-cartpole", 1, 0)
    fake_run(tmp_path, "reinforce-cartpole", 1, 1)
    fake_run(tmp_path, "a2c-cartpole", 25, 0, episodes=250)
    out = tmp_path / "figures"
    written = plots.write_figures(tmp_path, ["reinforce-cartpole", "a2c-cartpole", "absent"],
                                  "pybullet", out)
    names = sorted(p.name for p in written)
    assert names == sorted(["reinforce-cartpole-curves.png", "reinforce-cartpole-vs-original.png",
                            "a2c-cartpole-curves.png", "a2c-cartpole-vs-original.png",
                            "cartpole-violin.png"])
    for path in written:
        assert path.parent == out and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.stat().st_size > 5000


def test_best_returns_at_common_evaluation_points(original):
    """The original A2C cheetah evaluated every 50 episodes; scored only at every 250th, each
    run's best is the max of those 11 evaluations (brute force over the raw arrays)."""
    runs = original["a2c-cheetah"]
    every_250 = range(0, 2501, 250)
    expected = [r["eval_episode_returns"].mean(axis=1)[::5].max() for r in runs]
    np.testing.assert_allclose(stats.best_returns_at(runs, every_250), expected)
    assert np.all(stats.best_returns_at(runs, every_250) <= stats.best_returns(runs) + 1e-9)
    with pytest.raises(ValueError, match=r"not evaluated at episodes \[25\]"):
        stats.best_returns_at(runs, [0, 25])


def test_compare_needs_two_runs_per_group():
    with pytest.raises(ValueError, match="at least 2 values in each group.*got 1 and 2"):
        stats.compare([1.0], [1.0, 2.0])


def test_summary_table_does_not_compare_pixel_runs_with_the_original(tmp_path):
    # the original's complete pixel run is a single, uncapped one: no Welch test, no crash
    for seed in (0, 1):
        fake_run(tmp_path, "a2c-cheetah-pixels", 10, seed)
    table = stats.summary_table(tmp_path, ["a2c-cheetah-pixels"])
    row = next(r for r in table.splitlines() if r.startswith("a2c-cheetah-pixels"))
    assert row.split()[1] == "2" and row.split()[-2] == "-"   # no p-value (then the task version)
    assert "the original study (" not in table and "a2c-cheetah " not in table
    assert "pixel experiments are not compared with the original's (see chapter 6)" in " ".join(table.split())
    assert [r.original for r in stats.summary_rows(tmp_path, ["a2c-cheetah-pixels"])] == [None]
    # nor its variants: the stable pixel experiment is not set beside the original's pixel runs
    for seed in (0, 1):
        fake_run(tmp_path, "a2c-cheetah-pixels-stable", 10, seed)
    rows = stats.summary_rows(tmp_path, ["a2c-cheetah-pixels-stable"])
    assert [(r.experiment, r.original) for r in rows] == [("a2c-cheetah-pixels-stable", None)]
    assert "the original study (" not in stats.summary_table(tmp_path, ["a2c-cheetah-pixels-stable"])


def test_statistics_refuse_runs_of_different_task_versions(tmp_path, monkeypatch):
    """A run made before a task changed (no recorded version: v1) is not averaged with runs of
    the current version: load_runs keeps the newest and names the others; stats refuse a mix."""
    from course_rl import results
    for seed in (0, 1):
        fake_run(tmp_path, "a2c-cheetah", 10, seed)
    monkeypatch.setattr(tasks, "version", lambda task, backend: f"{task}/{backend}/v2")
    old = results.load_trace(tmp_path / "a2c-cheetah" / "pybullet" / "seed-1")
    arrays = dict(old.arrays, task_version="cartpole/pybullet/v2")
    results.save_trace(old.path.parent, old.config, arrays)
    with pytest.warns(UserWarning, match=r"left out 1 run.*seed 0 \(cartpole/pybullet/v1\)"):
        runs = results.load_runs(tmp_path, "a2c-cheetah")
    assert [r.seed for r in runs] == [1] and runs[0].task_version == "cartpole/pybullet/v2"
    both = results.load_runs(tmp_path, "a2c-cheetah", task_version=None)
    with pytest.raises(ValueError, match="different task versions.*v1.*seed-0.*v2.*seed-1"):
        stats.best_returns(both)
    row = next(r for r in stats.summary_table(tmp_path, ["a2c-cheetah"]).splitlines()
               if r.startswith("a2c-cheetah"))
    assert row.split()[1] == "1" and row.split()[-1] == "v2"   # the newest runs, current version


# ---- best, final and last quarter ------------------------------------------------------------

def t_interval(values):
    """Mean and 95% t-interval written out: mean -/+ t_{0.975, n-1} * s / sqrt(n)."""
    x = np.asarray(values, np.float64)
    half = st.t.ppf(0.975, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size)
    return x.mean(), x.mean() - half, x.mean() + half


def test_final_and_last_quarter_of_fake_runs_match_numpy(tmp_path):
    # 1000 episodes of 10 actors, evaluated every 50 episodes and at the end: 21 evaluations,
    # the last quarter is the last 5 (21 // 4), at 800, 850, 900, 950 and 1000
    for seed in range(4):
        fake_run(tmp_path, "a2c-cartpole", 10, seed, episodes=1000)
    runs = results.load_runs(tmp_path, "a2c-cartpole")
    raw = [np.load(tmp_path / "a2c-cartpole" / "pybullet" / f"seed-{s}" / "trace.npz")
           for s in range(4)]
    for a in raw:
        np.testing.assert_array_equal(a["eval_episode_numbers"][-6:], [750, 800, 850, 900, 950, 1000])
    means = [a["eval_episode_returns"].mean(axis=1) for a in raw]
    final = [m[-1] for m in means]
    late = [m[-5:].mean() for m in means]
    np.testing.assert_allclose(stats.final_returns(runs), final, rtol=1e-12)
    np.testing.assert_allclose(stats.last_quarter_returns(runs), late, rtol=1e-12)
    row, original_row = stats.summary_rows(tmp_path, ["a2c-cartpole"])
    assert row.n == 4 and row.source == "ours" and row.original == "a2c-cartpole"
    assert original_row.source == "original study" and original_row.n == 20
    # a variant is compared with the original experiment it changes, listed once
    for seed in range(2):
        fake_run(tmp_path, "a2c-cartpole-stable", 10, seed, episodes=1000)
    rows = stats.summary_rows(tmp_path, ["a2c-cartpole", "a2c-cartpole-stable"])
    assert [(r.experiment, r.original) for r in rows] == [
        ("a2c-cartpole", "a2c-cartpole"), ("a2c-cartpole-stable", "a2c-cartpole"),
        ("a2c-cartpole", None)]
    for d, values in ((row.best, [m.max() for m in means]), (row.final, final),
                      (row.last_quarter, late)):
        np.testing.assert_allclose([d.mean, d.ci_low, d.ci_high], t_interval(values), rtol=1e-12)
    # the printed table: the same numbers, the mean with one decimal below 100 (none from 100 on)
    # and the interval without decimals
    line = next(x for x in stats.summary_table(tmp_path, ["a2c-cartpole"]).splitlines()
                if x.startswith("a2c-cartpole "))
    for values in ([m.max() for m in means], final, late):
        mean, low, high = t_interval(values)
        shown = f"{mean:.0f}" if abs(mean) >= 100 else f"{mean:.1f}"
        assert f"{shown} [{low:.0f}, {high:.0f}]" in line


def test_last_quarter_of_a_run_evaluated_rarely_and_of_an_interrupted_one():
    def run(numbers, trained, evals):
        return {"eval_episode_returns": np.repeat(np.asarray(evals, float)[:, None], 2, axis=1),
                "eval_episode_numbers": np.asarray(numbers, float),
                "training_episode_returns": np.zeros((trained, 1))}
    # 11 evaluations (0, 250, ..., 2500): the last 2
    every_250 = run(np.arange(0, 2501, 250), 2500, np.arange(11.0))
    assert stats.last_quarter_return(every_250) == pytest.approx((9 + 10) / 2)
    # fewer than 4 evaluations (an interrupted run): the last one
    assert stats.last_quarter_return(run([0, 50], 90, [3.0, 7.0])) == 7.0


def test_original_runs_final_and_last_quarter_from_their_arrays(original):
    """The original study's runs record no episode numbers: they evaluated every 50 episodes
    and at the end (2500): 51 evaluations, the last quarter is their last 12 (1950 to 2500)."""
    runs = stats.complete_runs(original["a2c-cheetah"])
    files = [r.path for r in runs]
    means = [np.load(f)["eval_episode_returns"].mean(axis=1) for f in files]
    assert all(m.size == 51 for m in means)
    np.testing.assert_allclose(stats.final_returns(runs), [m[-1] for m in means], rtol=1e-12)
    np.testing.assert_allclose(stats.last_quarter_returns(runs), [m[-12:].mean() for m in means],
                               rtol=1e-12)


def test_scores_agree_with_the_ones_recorded_for_issue_19():
    """The first a2c-cheetah-improved MuJoCo runs, kept as curves and per-seed scores (computed
    by the study's own script): the same final and last-quarter scores from their curves, and
    issue 19's table (best 971, final 496, mean of 5)."""
    import json
    path = results.DATA_ROOT / "superseded" / "improved-mujoco-first.json"
    seeds = json.loads(path.read_text())["runs"]["a2c-cheetah-improved"]
    runs = [{"eval_episode_returns": np.asarray(s["curve"], float)[:, None],
             "eval_episode_numbers": np.arange(0, 2501, 250),
             "training_episode_returns": np.zeros((250, 10))} for s in seeds.values()]
    recorded = list(seeds.values())
    # the curves are rounded to 0.1: the scores agree to that
    np.testing.assert_allclose([stats.last_quarter_return(r) for r in runs],
                               [s["last_quarter"] for s in recorded], atol=0.051)
    np.testing.assert_allclose([results.eval_series(r)[1][-1] for r in runs],
                               [s["final"] for s in recorded], atol=0.051)
    assert round(np.mean([s["best"] for s in recorded])) == 971
    assert round(np.mean([results.eval_series(r)[1][-1] for r in runs])) == 496


def test_summary_rows_of_shipped_runs_match_their_trace_files():
    """Shipped MuJoCo runs, read with numpy alone: 11 evaluations, the last quarter their last 2."""
    root = results.shipped_root()
    for name in ("a2c-cheetah-stable", "a2c-cheetah-improved"):
        (row,) = stats.summary_rows(root, [name], "mujoco")
        folders = sorted((root / name / "mujoco").glob("seed-*"))
        means = [np.load(f / "trace.npz")["eval_episode_returns"].mean(axis=1) for f in folders]
        assert all(m.size == 11 for m in means)
        assert row.n == len(folders) >= 5 and row.original is None and np.isnan(row.welch_p)
        best, final, late = ([m.max() for m in means], [m[-1] for m in means],
                             [m[-2:].mean() for m in means])
        for d, values in ((row.best, best), (row.final, final), (row.last_quarter, late)):
            np.testing.assert_allclose([d.mean, d.ci_low, d.ci_high], t_interval(values), rtol=1e-12)


@pytest.mark.filterwarnings("ignore:Precision loss occurred")
def test_summary_table_sets_each_experiment_beside_its_original_and_fits_120_columns():
    root = results.shipped_root()
    names = ["reinforce-cartpole", "reinforce-cartpole-improved", "a2c-cartpole-ablation-no-normalization"]
    rows = stats.summary_rows(root, names)
    assert [(r.experiment, r.source) for r in rows] == [
        (names[0], "ours"), (names[1], "ours"), (names[2], "ours"),
        ("reinforce-cartpole", "original study")]
    assert [r.original for r in rows[:3]] == ["reinforce-cartpole", "reinforce-cartpole", None]
    original = stats.complete_runs(results.load_original("reinforce-cartpole"))
    assert f"{rows[3].best}" == "814.14 +/- 226.46" and rows[3].n == 20  # the original's table
    for row in rows[:2]:
        ours = results.load_runs(root, row.experiment)
        p = st.ttest_ind([r.best_eval_return for r in ours], [r.best_eval_return for r in original],
                         equal_var=False).pvalue
        assert row.welch_p == pytest.approx(p, rel=1e-12)
    assert np.isnan(rows[2].welch_p)
    table = stats.summary_table(root, names)
    assert max(len(line) for line in table.splitlines()) <= 120


# ---- helpers the chapters call -------------------------------------------------------------------

def test_versus_states_the_difference_and_what_it_shows():
    rng = np.random.default_rng(1)
    low, high = rng.normal(10, 1, 8), rng.normal(20, 1, 8)
    c = stats.compare(high, low)
    line = stats.versus("high - low", high, low)
    assert line == (f"high - low = {c.difference:+.1f}, bootstrap 95% CI [{c.bootstrap_low:+.1f}, "
                    f"{c.bootstrap_high:+.1f}], Welch p = {c.welch_p:.3g}: higher (the interval "
                    f"excludes 0 and p < 0.05)")
    assert stats.versus("x", low, high).endswith(": lower (the interval excludes 0 and p < 0.05)")
    same = rng.normal(10, 1, 8)
    assert stats.compare(same, low).welch_p > 0.05
    assert stats.versus("x", same, low).endswith("no difference shown (the interval includes 0)")
    assert stats.versus("few", low[:4], high) == ("few: 4 and 8 runs; a comparison waits for 5 "
                                                  "of each")


def test_evaluation_summary_averages_each_runs_first_last_mean_and_best():
    def run(evals):
        evals = np.asarray(evals, np.float64)
        return {"eval_episode_returns": np.repeat(evals[:, None], 3, axis=1),
                "eval_episode_numbers": np.arange(len(evals)) * 50.0,
                "training_episode_returns": np.zeros((len(evals), 1))}
    summary = stats.evaluation_summary([run([1, 5, 2]), run([3, 3, 9, 0])])
    assert summary == pytest.approx({"first": 2.0, "last": 1.0, "average": (8 / 3 + 15 / 4) / 2,
                                     "best": 7.0})
    with pytest.raises(ValueError, match="no runs"):
        stats.evaluation_summary([])


def test_cross_validated_r2_against_fits_written_out():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(60, 3))
    groups = np.repeat(np.arange(12), 5)
    exact = x @ [1.0, -2.0, 0.5] + 3.0
    noisy = exact + rng.normal(size=60)
    r2 = stats.cross_validated_r2(x, np.c_[exact, noisy, rng.normal(size=60)], groups)
    assert r2[0] == pytest.approx(1.0)
    # the noisy column by hand: normal equations on four fifths, predict the fifth
    design = np.c_[np.ones(60), x]
    predicted = np.zeros(60)
    for fold in range(5):
        test = groups % 5 == fold
        a, b = design[~test], noisy[~test]
        predicted[test] = design[test] @ np.linalg.solve(a.T @ a, a.T @ b)
    expected = 1 - np.sum((noisy - predicted) ** 2) / np.sum((noisy - noisy.mean()) ** 2)
    assert r2[1] == pytest.approx(expected, rel=1e-10)
    assert r2[2] < 0.1  # pure noise: no better than its mean
    assert stats.cross_validated_r2(x, exact, groups) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="fold"):
        stats.cross_validated_r2(x, exact, np.zeros(60, int))


def test_mean_band_is_the_t_interval_of_the_mean(original):
    runs = original["a2c-cheetah"][:3]
    fig = Figure()
    ax = fig.subplots()
    plots.mean_band(ax, runs, "C0", label="three", scale=0.5, individual=False)
    curves = np.stack([0.5 * r["eval_episode_returns"].mean(axis=1) for r in runs])
    half = st.t.ppf(0.975, 2) * curves.std(axis=0, ddof=1) / np.sqrt(3)
    (line,) = ax.get_lines()
    np.testing.assert_allclose(line.get_ydata(), curves.mean(axis=0))
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    np.testing.assert_allclose(band.max(), (curves.mean(axis=0) + half).max())
    np.testing.assert_allclose(band.min(), (curves.mean(axis=0) - half).min())
    with pytest.raises(ValueError, match="key"):
        plots.mean_band(ax, runs, "C0", key="value")


def test_training_curves_draw_extra_runs_dashed(original):
    runs = original["reinforce-cheetah"]
    complete = stats.complete_runs(runs)
    extra = [r for r in runs if r not in complete]
    fig = plots.training_curves(complete, extra=extra)
    for ax in fig.axes:
        dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
        assert len(dashed) == len(extra) == 2
        assert len(ax.get_lines()) == len(complete) + 1 + len(extra)


def test_image_grid_places_every_image_with_its_title():
    frames = np.zeros((5, 8, 8, 3), np.uint8)
    fig = plots.image_grid(frames, [f"f{k}" for k in range(5)], ncols=3, title="five")
    assert len(fig.axes) == 6 and not fig.axes[5].axison
    assert [ax.get_title() for ax in fig.axes[:5]] == ["f0", "f1", "f2", "f3", "f4"]
    maps = plots.image_grid(np.ones((2, 4, 4)), cmap="magma")
    assert maps.axes[0].images[0].get_cmap().name == "magma"
    with pytest.raises(ValueError, match="2 titles for 5 images"):
        plots.image_grid(frames, ["a", "b"])


def test_sweep_figure_shows_each_points_mean_and_t_interval(original):
    runs = original["a2c-cartpole"]
    points = {(0.0, 0.05): runs[:3], (0.9, 0.05): runs[3:5], (0.9, 0.2): runs[5:6]}
    fig = plots.sweep_figure(points, [0.0, 0.9], [0.05, 0.2], ylim=(0, 1050))
    heat, bars, _ = fig.axes  # the heatmap, the means with their intervals, the colour bar
    texts = {(t.get_position()): t.get_text() for t in heat.texts}
    d = stats.describe(stats.best_returns(runs[:3]))
    assert texts[(0, 0)] == f"{d.mean:.0f}\n(n=3)" and texts[(1, 0)] == "n/a"
    assert heat.images[0].get_array().mask.tolist() == [[False, True], [False, False]]
    # the error bar of (0, 0.05) is the package's t-interval of its three scores
    first = bars.containers[0]  # beta = 0.05: persistences 0 and 0.9
    _, caps, _ = first
    assert caps[1].get_ydata()[0] == pytest.approx(d.ci_high)
    assert bars.get_ylim() == (0, 1050)


# ---- the per-cycle diagnostics figure ------------------------------------------------------------

def diagnostic_arrays(cycles, actors, seed=0):
    """A run's arrays with every diagnostic, random but of the right signs and ranges."""
    rng = np.random.default_rng(seed)
    return {"training_episode_returns": rng.uniform(0, 100, (cycles, actors)),
            "eval_episode_returns": rng.uniform(0, 100, (2, 3)),
            "eval_episode_numbers": np.array([0, cycles * actors]),
            "value_rmse": rng.uniform(size=cycles), "mean_objective": rng.normal(size=cycles),
            "approx_kl": rng.uniform(1e-4, 0.2, cycles), "clip_fraction": rng.uniform(0, 1, cycles),
            "explained_variance": rng.uniform(-3, 1, cycles),
            "entropy_bound": rng.normal(1.5, 0.2, cycles), "mean_spread": rng.uniform(0.1, 0.6, cycles),
            "policy_grad_norm": rng.uniform(10, 500, cycles),
            "value_grad_norm": rng.uniform(1e2, 1e4, cycles),
            "epochs_run": rng.integers(1, 11, cycles).astype(float), "best_eval_return": 50.0}


DRAWN = ("approx_kl", "clip_fraction", "explained_variance", "mean_spread", "entropy_bound",
         "policy_grad_norm", "value_grad_norm")


def drawn(fig_or_axes, key):
    axes = fig_or_axes.axes if isinstance(fig_or_axes, Figure) else np.ravel(fig_or_axes)
    lines = [line for ax in axes for line in ax.get_lines() if line.get_gid() == key]
    assert len(lines) == 1, (key, len(lines))
    return lines[0]


def test_every_trace_key_the_diagnostics_draw_is_a_recorded_diagnostic():
    from course_rl.agent import DIAGNOSTICS
    assert set(DRAWN) == set(DIAGNOSTICS) - {"epochs_run"}


@pytest.mark.parametrize("actors", [10, 1])
def test_diagnostics_figure_draws_the_trace_arrays(tmp_path, actors):
    arrays = diagnostic_arrays(300, actors)
    config = Config(name="diag", task="cartpole", episodes=300 * actors, actor_count=actors,
                    hidden_sizes=(8,), eval_every=50 * actors, eval_episodes=3, target_kl=0.02,
                    max_grad_norm=0.5)
    results.save_trace(tmp_path / "run", config, arrays)
    run = results.load_trace(tmp_path / "run")
    fig = plots.diagnostics(run)
    assert isinstance(fig, Figure) and len(fig.axes) == 6
    x = np.arange(300) * actors + actors / 2  # each cycle at its centre, in training episodes
    for key in DRAWN:
        np.testing.assert_array_equal(drawn(fig, key).get_ydata(), arrays[key])
        np.testing.assert_array_equal(drawn(fig, key).get_xdata(), x)
    # the config's limits, dotted: the KL target and the gradient-norm clip
    limits = sorted(float(line.get_ydata()[0]) for ax in fig.axes for line in ax.get_lines()
                    if line.get_gid() == "reference")
    assert limits == [0.02, 0.5]
    assert fig.axes[0].get_yscale() == "log" and fig.axes[5].get_yscale() == "log"
    assert fig.axes[2].get_ylim()[0] == pytest.approx(-1.1)  # explained variance cut at -1
    if actors == 1:  # one episode per update: a running mean of 100 cycles over the raw values
        smooth = [line for line in fig.axes[0].get_lines() if line.get_gid() is None
                  and len(line.get_ydata()) == 300]
        np.testing.assert_allclose(smooth[0].get_ydata()[150],
                                   arrays["approx_kl"][51:151].mean(), rtol=1e-12)


def test_diagnostics_of_runs_without_them_say_so(tmp_path):
    legacy = results.load_original("a2c-cheetah")[0]
    shipped = results.load_runs(results.shipped_root(), "a2c-cheetah-improved", "mujoco")[0]
    nan = dict(diagnostic_arrays(20, 2), **{k: np.full(20, np.nan) for k in DRAWN + ("epochs_run",)})
    for run in (legacy, shipped, nan):
        assert not plots.has_diagnostics(run)
        fig = plots.diagnostics(run)
        assert any("no diagnostics recorded" in t.get_text() for t in fig.texts)
        assert not fig.axes
    # beside a run that has them: that one is drawn, the other named in the title
    fresh = diagnostic_arrays(20, 2)
    fig = plots.diagnostics({"healthy": fresh, "legacy": legacy})
    np.testing.assert_array_equal(drawn(fig, "approx_kl").get_ydata(), fresh["approx_kl"])
    assert "no diagnostics recorded for legacy" in fig.get_suptitle()


def test_diagnostics_overlay_two_runs_in_their_colours():
    a, b = diagnostic_arrays(30, 5, seed=1), diagnostic_arrays(40, 5, seed=2)
    fig = plots.diagnostics({"collapsing": a, "healthy": b})
    for ax in fig.axes:
        ys = {len(line.get_ydata()): line for line in ax.get_lines() if line.get_gid() in DRAWN}
        assert set(ys) == {30, 40}
        assert ys[30].get_color() != ys[40].get_color()
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["collapsing", "healthy"]
    with pytest.raises(ValueError, match="no runs"):
        plots.diagnostics({})


def test_diagnostics_of_a_shipped_run_are_its_trace_arrays():
    """A shipped run with diagnostics (a2c-cheetah-stable on MuJoCo): each drawn line is the
    trace's array, read with numpy alone; the config's KL target and gradient clip dotted."""
    folder = results.shipped_root() / "a2c-cheetah-stable" / "mujoco" / "seed-0"
    run = results.load_trace(folder)
    trace = np.load(folder / "trace.npz")
    fig = plots.diagnostics(run)
    for key in DRAWN:
        np.testing.assert_array_equal(drawn(fig, key).get_ydata(), trace[key])
    limits = sorted(float(line.get_ydata()[0]) for ax in fig.axes for line in ax.get_lines()
                    if line.get_gid() == "reference")
    assert limits == sorted([run.config.target_kl, run.config.max_grad_norm])


def test_an_outlying_kl_is_named_not_drawn_to_scale():
    arrays = diagnostic_arrays(50, 5)
    arrays["approx_kl"] = np.r_[2e5, np.full(49, 0.01)]  # a first cycle far off the others
    ax = plots.diagnostics(arrays).axes[0]
    np.testing.assert_array_equal(drawn(ax.figure, "approx_kl").get_ydata(), arrays["approx_kl"])
    assert ax.get_ylim()[1] == pytest.approx(0.1)
    assert [t.get_text() for t in ax.texts] == ["max 2e+05 (off the chart)"]
    arrays["approx_kl"][0] = 0.5  # within a hundred times the usual: drawn to scale
    ax = plots.diagnostics(arrays).axes[0]
    assert ax.get_ylim()[1] > 0.5 and not ax.texts
