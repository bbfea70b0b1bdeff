"""Statistics over runs: the original study's mean +/- std, confidence intervals, comparisons.

The score of a run is its best greedy 100-episode mean return (``best_eval_return``), as in the
original study, which printed mean +/- population standard deviation (ddof=0) over seeds.

Taught in notebooks/05_results.ipynb.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats as st

from . import results


@dataclass(frozen=True)
class Description:
    n: int
    mean: float
    std: float          # population std (ddof=0), as the original printed it
    ci_low: float       # 95% t-interval of the mean
    ci_high: float

    def __str__(self):
        return f"{self.mean:.2f} +/- {self.std:.2f}"


def describe(values) -> Description:
    """Mean, population std and the 95% t-interval of the mean of ``values``."""
    x = np.asarray(values, np.float64)
    if x.size == 0:
        raise ValueError("no values to describe")
    mean = float(x.mean())
    if x.size < 2:
        return Description(1, mean, 0.0, float("nan"), float("nan"))
    sem = st.sem(x)
    if sem == 0:  # all runs equal (e.g. every cart-pole run at the 1000-step cap)
        return Description(int(x.size), mean, 0.0, mean, mean)
    low, high = st.t.interval(0.95, x.size - 1, loc=mean, scale=sem)
    return Description(int(x.size), mean, float(x.std()), float(low), float(high))


@dataclass(frozen=True)
class Comparison:
    difference: float      # mean(a) - mean(b)
    welch_t: float
    welch_p: float
    bootstrap_low: float   # 95% bootstrap CI of the difference of means
    bootstrap_high: float

    @property
    def interval_excludes_zero(self) -> bool:
        """True when the bootstrap interval lies wholly above or wholly below 0."""
        return self.bootstrap_low > 0 or self.bootstrap_high < 0


def compare(a, b, seed: int = 0) -> Comparison:
    """Welch's t-test and a bootstrap 95% interval of ``mean(a) - mean(b)``."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.size < 2 or b.size < 2:
        raise ValueError(f"compare needs at least 2 values in each group (one per run), "
                         f"got {a.size} and {b.size}")
    with warnings.catch_warnings():
        # a group of identical scores (e.g. every run at the 1000-step cap) has variance 0,
        # which Welch's test handles exactly; scipy still warns about its moment calculation
        warnings.filterwarnings("ignore", "Precision loss occurred", RuntimeWarning)
        t, p = st.ttest_ind(a, b, equal_var=False)
    boot = st.bootstrap((a, b), lambda x, y, axis=-1: x.mean(axis=axis) - y.mean(axis=axis),
                        n_resamples=5000, confidence_level=0.95, method="percentile",
                        random_state=np.random.default_rng(seed))
    return Comparison(float(a.mean() - b.mean()), float(t), float(p),
                      float(boot.confidence_interval.low), float(boot.confidence_interval.high))


MIN_RUNS = 5
"""Fewest runs per group :func:`versus` compares: a bootstrap over fewer seeds understates the
uncertainty."""


def versus(label: str, a, b, min_runs: int = MIN_RUNS) -> str:
    """One line on ``mean(a) - mean(b)``: the difference, its bootstrap 95% interval, Welch's p,
    and what they show together.

    A difference is called "higher" or "lower" only when the interval excludes 0 *and* p < 0.05;
    "weakly" when only one of the two says so; otherwise "no difference shown". With fewer than
    ``min_runs`` values in a group the line says that the comparison waits for more runs.

    Taught in notebooks/05_results.ipynb.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if min(a.size, b.size) < min_runs:
        return f"{label}: {a.size} and {b.size} runs; a comparison waits for {min_runs} of each"
    c = compare(a, b)
    direction = "higher" if c.difference > 0 else "lower"
    if c.interval_excludes_zero and c.welch_p < 0.05:
        verdict = f"{direction} (the interval excludes 0 and p < 0.05)"
    elif c.interval_excludes_zero:
        verdict = f"weakly {direction} (the interval excludes 0, but p >= 0.05)"
    elif c.welch_p < 0.05:
        verdict = f"weakly {direction} (p < 0.05, but the interval includes 0)"
    else:
        verdict = "no difference shown (the interval includes 0)"
    return (f"{label} = {c.difference:+.1f}, bootstrap 95% CI [{c.bootstrap_low:+.1f}, "
            f"{c.bootstrap_high:+.1f}], Welch p = {c.welch_p:.3g}: {verdict}")


def evaluation_summary(runs) -> dict[str, float]:
    """Means over ``runs`` of each run's ``first``, ``last``, ``average`` and ``best`` greedy
    evaluation (the mean return of an evaluation round). ``best`` is the score.

    Taught in notebooks/05_results.ipynb.
    """
    runs = list(runs)
    if not runs:
        raise ValueError("no runs to summarise")
    curves = [results.eval_series(r)[1] for r in runs]
    return {name: float(np.mean([f(y) for y in curves]))
            for name, f in (("first", lambda y: y[0]), ("last", lambda y: y[-1]),
                            ("average", np.mean), ("best", np.max))}


def cross_validated_r2(inputs, targets, groups, folds: int = 5) -> np.ndarray:
    """Held-out R^2 of a linear least-squares read-out of ``targets`` from ``inputs``, per column.

    The samples are split into ``folds`` by ``groups % folds`` (e.g. the episode a sample
    comes from, so that no fold is fitted on the neighbours of the samples it predicts); each
    fold is predicted by the least-squares fit (with an intercept) to the other folds. R^2 is
    ``1 - SSE / SST`` of those held-out predictions: 1 is perfect, 0 is no better than the
    mean, below 0 is worse.

    Taught in notebooks/06_vision.ipynb.
    """
    x = np.asarray(inputs, np.float64)
    y = np.asarray(targets, np.float64)
    groups = np.asarray(groups)
    if x.ndim != 2 or y.ndim not in (1, 2) or len(x) != len(y) or len(groups) != len(x):
        raise ValueError(f"inputs (n, k), targets (n,) or (n, m) and groups (n,) must have one "
                         f"row per sample, got {x.shape}, {y.shape}, {groups.shape}")
    column = y.ndim == 1
    y = y.reshape(len(y), -1)
    design = np.c_[x, np.ones(len(x))]
    predicted = np.zeros_like(y)
    for fold in range(folds):
        test = groups % folds == fold
        if test.all() or not test.any():
            raise ValueError(f"fold {fold} of {folds} (groups % {folds}) holds "
                             f"{'every' if test.all() else 'no'} sample; use more groups")
        weights, *_ = np.linalg.lstsq(design[~test], y[~test], rcond=None)
        predicted[test] = design[test] @ weights
    r2 = 1 - ((y - predicted) ** 2).sum(0) / ((y - y.mean(0)) ** 2).sum(0)
    return r2[0] if column else r2


def best_returns(runs) -> np.ndarray:
    """Each run's best greedy 100-episode mean (the original's score); runs of different task
    versions are refused (``results.require_one_task_version``)."""
    results.require_one_task_version(runs)
    return np.array([r.best_eval_return for r in runs])


def best_returns_at(runs, episodes) -> np.ndarray:
    """Each run's best greedy mean over its evaluations at the given training ``episodes`` only.

    A best-of-evaluations score grows with the number of evaluations, so runs evaluated on
    different schedules are compared at their common evaluation points (e.g. the pixel runs,
    evaluated every 250 episodes, against proprioceptive runs evaluated every 50).
    """
    results.require_one_task_version(runs)
    wanted = np.asarray(sorted(set(float(e) for e in episodes)))
    scores = []
    for run in runs:
        x, y = results.eval_series(run)
        keep = np.isin(x, wanted)
        missing = np.setdiff1d(wanted, x)
        if missing.size:
            raise ValueError(f"run {getattr(run, 'path', run)} was not evaluated at episodes "
                             f"{missing.astype(int).tolist()}")
        scores.append(y[keep].max())
    return np.array(scores)


def complete_runs(runs) -> list:
    """The runs that trained as many episodes as the longest of them.

    The original study's reinforce-cheetah seeds 12 and 14 were interrupted (851 and 51 of
    2500 episodes); its printed table counts only its complete seeds 0-11.
    """
    runs = list(runs)
    if not runs:
        return runs
    longest = max(r["training_episode_returns"].size for r in runs)
    return [r for r in runs if r["training_episode_returns"].size == longest]


def summary_table(root, experiments, backend: str = "pybullet") -> str:
    """The original-style table: per experiment, ours beside the original study's.

    An ``-improved`` (or ``-defect1``) experiment is set beside the original experiment it
    changes (named in the column). On another backend than pybullet there is no original to
    compare with. Nor is there for the pixel experiments: the original's two pixel runs were
    interrupted, ran episodes of up to 1000 steps and were evaluated every 50 episodes
    (notebooks/06_vision.ipynb compares them with care).
    """
    from .tasks import version as current_version

    rows = [("experiment", "n", "mean +/- std", "95% CI", "original (n)", "Welch p", "task")]
    for name in experiments:
        try:
            row = _summary_row(root, name, backend, current_version)
        except ValueError as err:  # (ResultsError too) one experiment's trouble is not the table's
            warnings.warn(f"{name} ({backend}): left out of the table: {err}",
                          results.SkippedRunWarning, stacklevel=2)
            continue
        if row is not None:
            rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + f"\n(backend {backend}; score = best greedy 100-episode mean return per run)"


def _summary_row(root, name: str, backend: str, current_version):
    """One row of ``summary_table`` (None when the experiment has no runs)."""
    runs = results.load_runs(root, name, backend)
    if not runs:
        return None
    scores = best_returns(runs)
    ours = describe(scores)
    original, p = "-", "-"
    # an improved variant is compared with the original experiment it improves; the
    # original study ran on pybullet only (returns differ between engines)
    parent = name.removesuffix("-improved").removesuffix("-defect1")
    orig_runs = []
    if name.endswith("-pixels"):
        original = "not comparable (chapter 6)"
    elif backend == "pybullet":
        try:
            orig_runs = complete_runs(results.load_original(parent))
        except ValueError:
            pass
    if orig_runs:
        orig_scores = best_returns(orig_runs)
        orig = describe(orig_scores)
        original = f"{orig} ({orig.n})" + ("" if parent == name else f" {parent}")
        if ours.n > 1 and orig.n > 1:
            p = f"{compare(scores, orig_scores).welch_p:.3g}"
    ci = f"[{ours.ci_low:.1f}, {ours.ci_high:.1f}]" if ours.n > 1 else "-"
    task = runs[0].task_version
    now = current_version(runs[0].config.task, backend)
    task = task.split("+")[0].rsplit("/", 1)[1] + ("" if task == now else
                                                   f" (older; now {now.split('+')[0].split('/')[2]})")
    return (name, str(ours.n), str(ours), ci, original, p, task)
